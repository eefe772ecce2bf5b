"""The database itself refuses states the governance model forbids."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import IntegrityError, transaction
from psycopg.types.range import Range

from grids.models import Generation, Grid, Role, RoleAssignment
from tests.factories import (
    CatchmentAssignmentFactory,
    GenerationFactory,
    GridFactory,
    RoleAssignmentFactory,
    StationFactory,
    VillageFactory,
    WorkerFactory,
    since,
)

pytestmark = pytest.mark.django_db


def refused(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def test_second_active_grid_leader_is_refused():
    grid = GridFactory()
    RoleAssignmentFactory(grid=grid, role=Role.GRID_LEADER)
    assert refused(lambda: RoleAssignmentFactory(grid=grid, role=Role.GRID_LEADER))


def test_second_active_party_guide_is_refused_but_members_may_be_several():
    grid = GridFactory()
    RoleAssignmentFactory(grid=grid, role=Role.PARTY_GUIDE)
    assert refused(lambda: RoleAssignmentFactory(grid=grid, role=Role.PARTY_GUIDE))
    RoleAssignmentFactory(grid=grid, role=Role.GRID_MEMBER)
    RoleAssignmentFactory(grid=grid, role=Role.GRID_MEMBER)
    assert RoleAssignment.objects.filter(grid=grid, role=Role.GRID_MEMBER).count() == 2


def test_successive_leaders_with_adjacent_periods_are_allowed():
    grid = GridFactory()
    handover = dt.date.today() - dt.timedelta(days=30)
    RoleAssignmentFactory(
        grid=grid, role=Role.GRID_LEADER, period=Range(dt.date(2020, 1, 1), handover, "[)")
    )
    RoleAssignmentFactory(grid=grid, role=Role.GRID_LEADER, period=Range(handover, None, "[)"))
    assert RoleAssignment.objects.active().filter(grid=grid, role=Role.GRID_LEADER).count() == 1


def test_grid_role_needs_a_grid_and_only_a_grid():
    village = VillageFactory()
    worker = WorkerFactory()
    assert refused(
        lambda: RoleAssignment.objects.create(
            worker=worker, role=Role.GRID_LEADER, village=village, period=since()
        )
    )


def test_one_active_station_per_village():
    village = VillageFactory()
    s1 = StationFactory(town=village.town)
    s2 = StationFactory(town=village.town)
    CatchmentAssignmentFactory(village=village, station=s1)
    assert refused(lambda: CatchmentAssignmentFactory(village=village, station=s2))


def test_code_is_unique_per_generation_but_may_repeat_across_generations():
    grid = GridFactory()
    assert refused(lambda: GridFactory(village=grid.village, code=grid.code))
    # Close the row at its generation; a new version in a later generation is fine.
    later = GenerationFactory()
    Grid.objects.filter(pk=grid.pk).update(generation_high=grid.generation_low)
    GridFactory(village=grid.village, code=grid.code, generation_low=later)
    assert Grid.objects.filter(code=grid.code).count() == 2
    assert Grid.objects.current().filter(code=grid.code).get().generation_low == later


def test_invalid_geometry_is_refused():
    bowtie = MultiPolygon(
        Polygon(((100, 0), (100.01, 0.01), (100.01, 0), (100, 0.01), (100, 0))), srid=4326
    )
    assert refused(lambda: GridFactory(geom=bowtie))


def test_badly_formed_code_is_refused():
    village = VillageFactory()
    assert refused(lambda: GridFactory(village=village, code=village.code + "1"))


def test_generation_range_must_be_ordered():
    grid = GridFactory()
    earlier = Generation.objects.create(description="earlier")
    Generation.objects.filter(pk=earlier.pk)  # ids grow; grid.generation_low < earlier
    assert refused(
        lambda: Grid.objects.filter(pk=grid.pk).update(
            generation_low=earlier, generation_high=grid.generation_low
        )
    )
