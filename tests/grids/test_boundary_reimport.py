"""Re-importing boundaries that did not really move (issue 16 point 6): a boundary within the
tolerance (a Hausdorff distance, metres) of its current version is unchanged, adds no
generation and re-derives nothing; a real move still makes a new version."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.management import CommandError, call_command
from pyproj import Geod

from grids.importers import BAD_CODE, BAD_TOLERANCE, BoundaryImportError, import_boundaries
from grids.models import Generation, Grid, Village
from households.models import Household
from households.services import households_assign_grids
from tests.factories import GridFactory, HouseholdFactory, VillageFactory, rect

pytestmark = pytest.mark.django_db

GEOD = Geod(ellps="WGS84")
# The split of the village into four grids: not on any decimal grid, so rounding moves it.
SPLIT_X, SPLIT_Y = 0.0512345678912, 0.0487654321987


def wobbly_box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A box with 40 vertices an edge, each edge bent by up to ~2 m: vertices with many digits,
    as real boundaries have."""
    ring = shapely.segmentize(shapely.box(x0, y0, x1, y1).exterior, (x1 - x0) / 40)
    coords = shapely.get_coordinates(ring)
    inner = (coords[:, 0] > x0) & (coords[:, 0] < x1) & (coords[:, 1] > y0) & (coords[:, 1] < y1)
    assert not inner.any()
    # Bend only the outer edges of the village, so that neighbouring grids still share theirs.
    bend = 2e-5 * np.sin(np.arange(len(coords)) * 1.7)
    on_west = coords[:, 0] == x0
    coords[on_west, 0] += np.where(np.isclose(x0, X0), bend[on_west], 0.0)
    coords[-1] = coords[0]
    return shapely.Polygon(coords)


X0 = 100.0


@pytest.fixture(params=[0.0, 45.0], ids=["equator", "lat45"])
def grids(request: pytest.FixtureRequest) -> list[Grid]:
    """A village of four grids near (100, lat) (south-west, south-east, north-west,
    north-east, in code order), a household in each, and one in the south-east grid 2 m east
    of its border with the south-west grid."""
    lat = request.param
    village = VillageFactory(geom=rect(X0 - 0.001, lat - 0.001, 100.101, lat + 0.101))
    xs = [X0, X0 + SPLIT_X, X0 + 0.1]
    ys = [lat, lat + SPLIT_Y, lat + 0.1]
    rows = []
    for j in range(2):
        for i in range(2):
            polygon = wobbly_box(xs[i], ys[j], xs[i + 1], ys[j + 1])
            geom = GEOSGeometry(memoryview(shapely.MultiPolygon([polygon]).wkb), srid=4326)
            rows.append(GridFactory(village=village, geom=geom))
    for grid in rows:
        centre = grid.geom.point_on_surface
        HouseholdFactory(location=centre)
    near_border = GEOD.fwd(xs[1], lat + 0.02, 90, 2.0)[0]
    HouseholdFactory(location=Point(near_border, lat + 0.02, srid=4326))
    households_assign_grids()
    return rows


def export(tmp_path: Path, grids: list[Grid], *, decimals: int = 7, **moves: float) -> Path:
    """The current versions of ``grids`` as a GeoJSON, coordinates rounded to ``decimals``
    (7: about 1 cm); ``moves`` shifts the grid of that code east by so many metres."""
    rows, geoms = [], []
    for grid in Grid.objects.current().filter(pk__in=[g.pk for g in grids]).order_by("code"):
        geom = shapely.from_wkb(bytes(grid.geom.wkb))
        metres = moves.get(f"g{grid.code}", 0.0)
        if metres:
            lon, lat = geom.centroid.x, geom.centroid.y
            geom = shapely.affinity.translate(geom, GEOD.fwd(lon, lat, 90, metres)[0] - lon)
        geoms.append(shapely.transform(geom, lambda c: np.round(c, decimals)))
        rows.append({"code": grid.code, "name": grid.name})
    path = tmp_path / "grids.geojson"
    gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326").to_file(path)
    return path


def state() -> tuple[int, list[tuple[int, int | None]], list[int]]:
    """Generations, households with their grid, current grid ids."""
    households = list(Household.objects.order_by("pk").values_list("pk", "grid_id"))
    current = list(Grid.objects.current().order_by("pk").values_list("pk", flat=True))
    return Generation.objects.count(), households, current


def test_a_file_rounded_to_1_cm_changes_nothing(tmp_path: Path, grids: list[Grid]):
    path = export(tmp_path, grids)
    before = state()
    assert all(grid is not None for _, grid in before[1])

    dry = import_boundaries(level="grid", path=path)
    report = import_boundaries(level="grid", path=path, commit=True)

    for r in (dry, report):
        assert r.changed == r.created == []
        assert r.unchanged == sorted(g.code for g in grids)
        assert r.generation is None
    assert state() == before
    # Rounding did move the vertices: with no tolerance every grid is a change.
    strict = import_boundaries(level="grid", path=path, tolerance=0)
    assert strict.changed == sorted(g.code for g in grids)
    assert state() == before


def test_one_grid_moved_5_m_is_the_only_new_version(tmp_path: Path, grids: list[Grid]):
    south_west, south_east = grids[0], grids[1]
    near_border = Household.objects.order_by("-pk").first()
    assert near_border.grid_id == south_east.pk
    assert south_west.code < south_east.code
    generations, households, _ = state()

    path = export(tmp_path, grids, **{f"g{south_west.code}": 5.0})
    report = import_boundaries(level="grid", path=path, commit=True)

    assert report.changed == [south_west.code]
    assert report.changes == {south_west.code: ["geometry"]}
    assert len(report.unchanged) == 3
    assert Generation.objects.count() == generations + 1
    new = Grid.objects.current().get(code=south_west.code)
    assert new.pk != south_west.pk and new.generation_low_id == report.generation
    # The moved grid's households are derived again and follow its new version; the one 2 m
    # east of its old border now lies in it and in the south-east grid, and goes to the
    # smaller code (grids.selectors.EDGE_TIE_BREAK); every other household stays.
    after = dict(Household.objects.values_list("pk", "grid_id"))
    for pk, grid_id in households:
        if grid_id == south_west.pk or pk == near_border.pk:
            assert after[pk] == new.pk
        else:
            assert after[pk] == grid_id
    # Every other grid keeps its row.
    for grid in grids[1:]:
        assert Grid.objects.current().get(code=grid.code).pk == grid.pk


@pytest.mark.parametrize(("metres", "changed"), [(0.4, False), (0.6, True)])
def test_the_tolerance_is_half_a_metre(
    tmp_path: Path, grids: list[Grid], metres: float, changed: bool
):
    moved = grids[3]
    path = export(tmp_path, grids, decimals=9, **{f"g{moved.code}": metres})
    report = import_boundaries(level="grid", path=path, commit=True)
    assert report.changed == ([moved.code] if changed else [])
    assert len(report.unchanged) == (3 if changed else 4)


def test_the_tolerance_option_of_the_command(tmp_path: Path, grids: list[Grid]):
    moved = grids[3]
    path = export(tmp_path, grids, **{f"g{moved.code}": 3.0})
    out = StringIO()
    call_command("import_boundaries", "grid", str(path), tolerance=5.0, stdout=out)
    assert "Changed: 0" in out.getvalue() and "Unchanged: 4" in out.getvalue()
    out = StringIO()
    call_command("import_boundaries", "grid", str(path), "--tolerance", "1", stdout=out)
    assert f"Changed: 1: {moved.code} (geometry)" in out.getvalue()
    with pytest.raises(CommandError) as exc:
        call_command("import_boundaries", "grid", str(path), tolerance=-1.0, stdout=StringIO())
    assert str(exc.value) == BAD_TOLERANCE.format(tolerance=-1.0)


def test_a_refused_file_writes_nothing(tmp_path: Path, grids: list[Grid]):
    path = export(tmp_path, grids, **{f"g{grids[0].code}": 50.0})
    frame = gpd.read_file(path)
    frame.loc[len(frame)] = {"code": "12x", "name": "Bad", "geometry": frame.geometry[0]}
    frame.to_file(path)
    before = state()
    villages = Village.objects.count()
    with pytest.raises(BoundaryImportError) as exc:
        import_boundaries(level="grid", path=path, commit=True)
    assert BAD_CODE.format(number=5, code="12x") in str(exc.value)
    assert state() == before
    assert Village.objects.count() == villages
