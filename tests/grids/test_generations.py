"""Generations: a changed boundary gets a new version; history stays, the present follows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.contrib.gis.geos import Point
from psycopg.types.range import Range

from grids.importers import import_boundaries
from grids.models import Generation, Grid, Role, RoleAssignment, Village
from grids.selectors import grid_at_point
from grids.services import LATER_GENERATION, NOT_CURRENT, boundary_supersede
from households.models import Household, PartyBranch
from households.services import households_assign_grids
from tests.factories import (
    CatchmentAssignmentFactory,
    GenerationFactory,
    GridFactory,
    HouseholdFactory,
    RoleAssignmentFactory,
    StationFactory,
    VillageFactory,
    rect,
)

pytestmark = pytest.mark.django_db


def ended() -> Range:
    today = dt.date.today()
    return Range(today - dt.timedelta(days=800), today - dt.timedelta(days=400), "[)")


def previous(generation: Generation | int) -> Generation:
    pk = generation.pk if isinstance(generation, Generation) else generation
    return Generation.objects.filter(pk__lt=pk).order_by("-pk").first()


def grid_file(tmp_path: Path, grid: Grid, geometry: shapely.Geometry, name: str = "") -> Path:
    path = tmp_path / "grids.geojson"
    frame = gpd.GeoDataFrame(
        [{"code": grid.code, "name": name or grid.name}], geometry=[geometry], crs="EPSG:4326"
    )
    frame.to_file(path)
    return path


def household_at(lon: float, lat: float) -> Household:
    household = HouseholdFactory(location=Point(lon, lat, srid=4326))
    households_assign_grids(ids=[household.pk])
    household.refresh_from_db()
    return household


@pytest.fixture
def grid() -> Grid:
    """The west half of a village; the east half has no grid yet."""
    village = VillageFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
    return GridFactory(village=village, geom=rect(100.0, 0.0, 100.05, 0.1))


def test_reimport_of_a_changed_grid_adds_a_version_and_keeps_history(tmp_path: Path, grid: Grid):
    old_generation = grid.generation_low
    old_geom = grid.geom.clone()
    active_leader = RoleAssignmentFactory(grid=grid, role=Role.GRID_LEADER)
    ended_leader = RoleAssignmentFactory(grid=grid, role=Role.GRID_LEADER, period=ended())
    west = household_at(100.01, 0.01)
    east = household_at(100.07, 0.05)
    assert (west.grid, east.grid) == (grid, None)

    # The grid grows east to lon 100.08.
    path = grid_file(tmp_path, grid, shapely.box(100.0, 0.0, 100.08, 0.1))
    report = import_boundaries(level="grid", path=path, commit=True)

    assert report.changed == [grid.code]
    assert report.changes[grid.code] == ["geometry"]
    old = Grid.objects.get(pk=grid.pk)
    new = Grid.objects.current().get(code=grid.code)
    assert new.pk != old.pk
    assert new.generation_low_id == report.generation
    assert old.generation_high == previous(report.generation)
    assert old.geom.equals_exact(old_geom, tolerance=0)  # history is not rewritten
    assert new.village == grid.village

    # Lookups by generation see the old shape, current lookups the new one.
    assert grid_at_point(Point(100.01, 0.01, srid=4326), generation=old_generation) == old
    assert grid_at_point(Point(100.07, 0.05, srid=4326), generation=old_generation) is None
    assert grid_at_point(Point(100.01, 0.01, srid=4326)) == new
    assert grid_at_point(Point(100.07, 0.05, srid=4326)) == new

    active_leader.refresh_from_db()
    ended_leader.refresh_from_db()
    assert active_leader.grid == new
    assert ended_leader.grid == old
    west.refresh_from_db()
    east.refresh_from_db()
    assert (west.grid, east.grid) == (new, new)


def test_unchanged_reimport_changes_nothing(tmp_path: Path, grid: Grid):
    # Noise far below the snapping tolerance is not a change.
    geometry = shapely.box(100.0, 0.0, 100.05 + 1e-12, 0.1)
    path = grid_file(tmp_path, grid, geometry)
    generations = Generation.objects.count()

    report = import_boundaries(level="grid", path=path, commit=True)

    assert report.unchanged == [grid.code]
    assert report.created == report.changed == []
    assert report.generation is None
    assert Generation.objects.count() == generations
    assert list(Grid.objects.filter(code=grid.code)) == [grid]
    assert Grid.objects.get(pk=grid.pk).generation_high is None


@pytest.mark.parametrize(
    ("south_midpoint_lat", "tolerance", "changed"),
    [
        (0.0, 0.0, False),  # an extra vertex on the edge: the same shape, other vertices
        (-1e-6, 0.05, True),  # the edge bent 0.11 m south: about 300 m² more
        (-1e-6, None, False),  # ... but within the default tolerance of 0.5 m
    ],
)
def test_geometry_equality_is_topological_with_a_tolerance(
    tmp_path: Path, grid: Grid, south_midpoint_lat: float, tolerance: float | None, changed: bool
):
    ring = [(100.0, 0.0), (100.025, south_midpoint_lat), (100.05, 0.0), (100.05, 0.1), (100.0, 0.1)]
    path = grid_file(tmp_path, grid, shapely.Polygon(ring))
    report = import_boundaries(level="grid", path=path, commit=True, tolerance=tolerance)
    assert report.changed == ([grid.code] if changed else [])
    assert report.unchanged == ([] if changed else [grid.code])


def test_a_new_name_alone_is_a_new_version_with_the_same_shape(tmp_path: Path, grid: Grid):
    path = grid_file(tmp_path, grid, shapely.box(100.0, 0.0, 100.05, 0.1), name="Renamed")
    report = import_boundaries(level="grid", path=path, commit=True)
    assert report.changes == {grid.code: ["name"]}
    new = Grid.objects.current().get(code=grid.code)
    assert new.name == "Renamed"
    assert new.geom.equals(grid.geom)
    assert Grid.objects.get(pk=grid.pk).name == grid.name


def test_superseding_a_village_moves_its_present_but_not_its_past():
    village = VillageFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
    g0 = village.generation_low
    abolished = GridFactory(village=village, generation_low=g0, generation_high=g0)
    g1 = GenerationFactory()
    grid = GridFactory(village=village, geom=rect(100.0, 0.0, 100.1, 0.1), generation_low=g1)
    leader = RoleAssignmentFactory(grid=grid, role=Role.GRID_LEADER)
    secretary = RoleAssignmentFactory(village=village, role=Role.VILLAGE_SECRETARY)
    former_secretary = RoleAssignmentFactory(
        village=village, role=Role.VILLAGE_SECRETARY, period=ended()
    )
    station = StationFactory(town=village.town)
    catchment = CatchmentAssignmentFactory(village=village, station=station)
    former_catchment = CatchmentAssignmentFactory(
        village=village, station=StationFactory(town=village.town), period=ended()
    )
    branch = PartyBranch.objects.create(name="Branch", village=village)
    household = household_at(100.01, 0.01)
    assert household.grid == grid
    g2 = GenerationFactory()

    new_village = boundary_supersede(village, generation=g2, name="Renamed village")

    village.refresh_from_db()
    assert village.generation_high == g1
    assert (new_village.generation_low, new_village.name) == (g2, "Renamed village")
    assert new_village.code == village.code and new_village.town == village.town
    # The current grid follows in a new version of its own; its old version stays put.
    new_grid = Grid.objects.current().get(code=grid.code)
    assert (new_grid.village, new_grid.generation_low) == (new_village, g2)
    grid.refresh_from_db()
    assert (grid.village, grid.generation_high) == (village, g1)
    abolished.refresh_from_db()
    assert (abolished.village, abolished.generation_high) == (village, g0)
    # Current references follow; ended ones keep the old row.
    for row, expected in [
        (secretary, new_village),
        (former_secretary, village),
        (catchment, new_village),
        (former_catchment, village),
        (branch, new_village),
    ]:
        row.refresh_from_db()
        assert row.village == expected
    leader.refresh_from_db()
    household.refresh_from_db()
    assert leader.grid == new_grid
    assert household.grid == new_grid


def test_superseding_a_town_moves_its_stations_and_cascades_two_levels():
    grid = GridFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
    town = grid.village.town
    station = StationFactory(town=town)
    generation = GenerationFactory()

    new_town = boundary_supersede(town, generation=generation, geom=rect(100.0, 0.0, 100.2, 0.1))

    station.refresh_from_db()
    assert station.town == new_town
    new_village = Village.objects.current().get(code=grid.village.code)
    assert new_village.town == new_town
    assert Grid.objects.current().get(code=grid.code).village == new_village
    assert Village.objects.get(pk=grid.village.pk).town == town


def test_only_a_current_boundary_is_superseded_and_only_forwards(grid: Grid):
    later = GenerationFactory()
    boundary_supersede(grid, generation=later, name="Next")
    grid.refresh_from_db()
    with pytest.raises(ValueError) as exc:
        boundary_supersede(grid, generation=GenerationFactory())
    assert str(exc.value) == NOT_CURRENT.format(boundary=grid, high=grid.generation_high_id)

    current = Grid.objects.current().get(code=grid.code)
    earlier = previous(later)
    with pytest.raises(ValueError) as exc:
        boundary_supersede(current, generation=earlier)
    assert str(exc.value) == LATER_GENERATION.format(
        boundary=current, low=later.pk, generation=earlier.pk
    )


def test_a_row_of_the_same_generation_is_updated_in_place(grid: Grid):
    same = boundary_supersede(grid, generation=grid.generation_low, name="Fixed typo")
    assert same.pk == grid.pk
    assert list(Grid.objects.filter(code=grid.code).values_list("name", flat=True)) == [
        "Fixed typo"
    ]


def test_a_grid_leader_handover_in_the_future_follows_too(grid: Grid):
    today = dt.date.today()
    current = RoleAssignmentFactory(
        grid=grid,
        role=Role.GRID_LEADER,
        period=Range(today - dt.timedelta(days=30), today + dt.timedelta(days=10), "[)"),
    )
    upcoming = RoleAssignmentFactory(
        grid=grid, role=Role.GRID_LEADER, period=Range(today + dt.timedelta(days=10), None, "[)")
    )
    new = boundary_supersede(grid, generation=GenerationFactory(), name="Next")
    assert set(RoleAssignment.objects.filter(grid=new)) == {current, upcoming}
