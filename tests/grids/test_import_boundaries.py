"""The boundary importer (grids.importers) and its command, on small files written here.

Codes live under 9901xx and polygons near lon 100, lat 0 (see tests/factories.py), except for
the Qinzhou GCJ-02 acceptance test, which imports the real file.
"""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from pyproj import Geod

from demo.loader import boundaries_path
from grids import importers
from grids.importers import (
    BAD_CODE,
    FILE_NOT_FOUND,
    GENERATION_NOT_FOUND,
    MISSING_FIELD,
    MISSING_PARENT,
    NO_CRS,
    NOTHING_AT_LEVEL,
    OBFUSCATED_NEEDS_LONLAT,
    OTHER_LEVEL,
    UNKNOWN_CRS,
    UNKNOWN_KIND,
    UNREADABLE,
    BoundaryImportError,
    Outside,
    Repair,
    Skip,
    import_boundaries,
    normalise_code,
)
from grids.models import City, District, Generation, Grid, Town
from tests.factories import DistrictFactory, GenerationFactory, TownFactory, VillageFactory, rect

pytestmark = pytest.mark.django_db

GEOD = Geod(ellps="WGS84")
QINZHOU = boundaries_path()
QINZHOU_DISTRICTS = ["450702", "450703", "450721", "450722"]


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def write(path: Path, rows: list[dict], *, crs: str | None = "EPSG:4326") -> Path:
    """Write ``rows`` (properties plus a "geometry" key) with the driver of the file suffix."""
    frame = gpd.GeoDataFrame(
        [{k: v for k, v in row.items() if k != "geometry"} for row in rows],
        geometry=[row["geometry"] for row in rows],
        crs=crs,
    )
    frame.to_file(path)
    return path


def counts() -> tuple[int, int, int]:
    return District.objects.count(), Town.objects.count(), Generation.objects.count()


def run(*args: str, **options: object) -> str:
    out = StringIO()
    call_command("import_boundaries", *args, stdout=out, **options)
    return out.getvalue()


def command_error(*args: str, **options: object) -> str:
    with pytest.raises(CommandError) as exc:
        run(*args, **options)
    return str(exc.value)


@pytest.fixture
def two_districts(tmp_path: Path) -> Path:
    return write(
        tmp_path / "districts.geojson",
        [
            {"code": "990181", "name": "East", "geometry": box(100.0, 0.0, 100.1, 0.1)},
            {"code": "990182", "name": "West", "geometry": box(100.1, 0.0, 100.2, 0.1)},
        ],
    )


# --- Dry run and commit ----------------------------------------------------------------------
def test_dry_run_goes_through_every_check_and_writes_nothing(two_districts: Path):
    before = counts()
    report = import_boundaries(level="district", path=two_districts)
    assert report.created == ["990181", "990182"]
    assert report.generation is None
    assert counts() == before
    assert not District.objects.filter(code__in=["990181", "990182"]).exists()

    output = run("district", str(two_districts))
    assert "Dry run: nothing was written" in output
    assert counts() == before


def test_commit_writes_current_rows_in_a_new_generation(two_districts: Path):
    districts, towns, generations = counts()
    output = run("district", str(two_districts), commit=True)
    assert counts() == (districts + 2, towns, generations + 1)
    generation = Generation.objects.order_by("-pk").first()
    assert f"Committed as generation {generation.pk}" in output
    east = District.objects.current().get(code="990181")
    assert east.name == "East"
    assert east.generation_low == generation
    assert east.city is None  # no city 990100 row: a district's city is optional
    assert east.geom.equals_exact(shapely_to_geos(box(100.0, 0.0, 100.1, 0.1)), tolerance=1e-12)


def shapely_to_geos(geom: shapely.Geometry):
    from django.contrib.gis.geos import GEOSGeometry

    return GEOSGeometry(memoryview(shapely.to_wkb(shapely.MultiPolygon([geom]))), srid=4326)


# --- Geometry repair and CRS -----------------------------------------------------------------
def test_bow_tie_is_repaired_and_listed(tmp_path: Path):
    bow_tie = shapely.Polygon([(100, 0), (100.01, 0.01), (100.01, 0), (100, 0.01), (100, 0)])
    assert not bow_tie.is_valid
    path = write(tmp_path / "bow.geojson", [{"code": 990183, "name": "Bow", "geometry": bow_tie}])
    report = import_boundaries(level="district", path=path, commit=True)
    reason = shapely.is_valid_reason(bow_tie)
    assert reason.startswith("Self-intersection")
    assert report.repaired == [Repair(code="990183", reason=reason)]
    stored = District.objects.current().get(code="990183").geom
    assert stored.valid
    assert len(stored) == 2  # both triangles kept
    assert stored.area == pytest.approx(0.00005)


# The west edge of a 1 km wide box, from (x, y0) to (x, y1), and where it must land.
@pytest.mark.parametrize(
    ("crs", "x", "y0", "y1", "lonlat"),
    [
        # CGCS2000 / 3-degree Gauss-Kruger CM 108E: the central meridian at the equator is the
        # false origin, and 1 degree of latitude along it is 110,574.389 m on the ellipsoid.
        ("EPSG:4545", 500000.0, 0.0, 110574.389, [(108.0, 0.0), (108.0, 1.0)]),
        # Web Mercator: x = R * lon (radians), y = R * ln(tan(pi/4 + lat/2)) with R = 6378137.
        (
            "EPSG:3857",
            6378137 * math.radians(100),
            0.0,
            6378137 * math.log(math.tan(math.pi / 4 + math.radians(0.1) / 2)),
            [(100.0, 0.0), (100.0, 0.1)],
        ),
    ],
)
def test_shapefile_with_prj_is_reprojected(
    tmp_path: Path, crs: str, x: float, y0: float, y1: float, lonlat: list
):
    path = write(
        tmp_path / "projected.shp",
        [{"code": "990184", "name": "Projected", "geometry": box(x, y0, x + 1000, y1)}],
        crs=crs,
    )
    assert path.with_suffix(".prj").exists()
    import_boundaries(level="district", path=path, commit=True)
    stored = shapely.from_wkb(bytes(District.objects.current().get(code="990184").geom.wkb))
    vertices = shapely.get_coordinates(stored)
    for expected in lonlat:
        nearest = np.abs(vertices - np.array(expected)).sum(axis=1).min()
        assert nearest < 1e-7  # about a centimetre


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_shapefile_without_prj_needs_crs(tmp_path: Path):
    path = write(
        tmp_path / "noprj.shp",
        [{"code": "990185", "name": "No prj", "geometry": box(100.0, 0.0, 100.1, 0.1)}],
        crs=None,
    )
    assert not path.with_suffix(".prj").exists()
    assert command_error("district", str(path), commit=True) == NO_CRS.format(path=path)
    assert not District.objects.filter(code="990185").exists()
    # Told the CRS, the same file imports.
    run("district", str(path), crs="EPSG:4326", commit=True)
    assert District.objects.current().filter(code="990185").exists()


def test_unknown_crs_is_an_error(two_districts: Path):
    message = command_error("district", str(two_districts), crs="EPSG:999999")
    assert message == UNKNOWN_CRS.format(crs="EPSG:999999")
    assert command_error("district", str(two_districts), crs="mars") == UNKNOWN_CRS.format(
        crs="mars"
    )


def test_geojson_without_crs_member_is_wgs84_and_numeric_codes_become_strings(tmp_path: Path):
    path = tmp_path / "plain.geojson"
    feature = {
        "type": "Feature",
        "properties": {"code": 990186.0, "name": "Plain"},
        "geometry": shapely.geometry.mapping(box(100.0, 0.0, 100.1, 0.1)),
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    report = import_boundaries(level="district", path=path, commit=True)
    assert report.created == ["990186"]
    stored = District.objects.current().get(code="990186").geom
    assert stored.extent == pytest.approx((100.0, 0.0, 100.1, 0.1))


def test_geopackage_is_read(tmp_path: Path):
    path = write(
        tmp_path / "districts.gpkg",
        [{"code": "990187", "name": "Packaged", "geometry": box(100.0, 0.0, 100.1, 0.1)}],
    )
    report = import_boundaries(level="district", path=path, commit=True)
    assert report.created == ["990187"]


def test_gcj02_file_must_be_lon_lat(tmp_path: Path):
    path = write(
        tmp_path / "projected.gpkg",
        [{"code": "990188", "name": "X", "geometry": box(500000, 0, 501000, 1000)}],
        crs="EPSG:4545",
    )
    message = command_error("district", str(path), crs="gcj02")
    assert message.startswith(OBFUSCATED_NEEDS_LONLAT.split("{path}")[0].format(crs="gcj02"))


# --- Bad input -------------------------------------------------------------------------------
def test_missing_field_is_named_with_the_fields_the_file_has(two_districts: Path):
    message = command_error("district", str(two_districts), code_field="adcode")
    assert message == MISSING_FIELD.format(
        field="adcode", option="--code-field", path=two_districts, fields="code, name"
    )
    message = command_error("district", str(two_districts), parent_code_field="city_code")
    assert "'city_code'" in message and "code, name" in message


def test_missing_and_unreadable_files(tmp_path: Path):
    missing = tmp_path / "nope.geojson"
    assert command_error("district", str(missing)) == FILE_NOT_FOUND.format(path=missing)
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("this is not GeoJSON")
    message = command_error("district", str(garbage))
    assert message.startswith(UNREADABLE.split("{path}")[0] + str(garbage))


def test_a_bad_code_in_the_middle_refuses_the_whole_file(tmp_path: Path):
    path = write(
        tmp_path / "bad.geojson",
        [
            {"code": "990189", "name": "First", "geometry": box(100.0, 0.0, 100.1, 0.1)},
            {"code": "99019", "name": "Second", "geometry": box(100.1, 0.0, 100.2, 0.1)},
            {"code": "990190", "name": "Third", "geometry": box(100.2, 0.0, 100.3, 0.1)},
        ],
    )
    before = counts()
    message = command_error("district", str(path), commit=True)
    assert BAD_CODE.format(number=2, code="99019") in message
    assert counts() == before
    assert not District.objects.filter(code__in=["990189", "990190"]).exists()


def test_a_database_failure_half_way_writes_nothing(two_districts: Path, monkeypatch):
    calls = []
    real_create = importers.boundary_create

    def failing_create(**kwargs: object):
        calls.append(kwargs["code"])
        if len(calls) == 2:
            raise IntegrityError("simulated failure on the second feature")
        return real_create(**kwargs)

    monkeypatch.setattr(importers, "boundary_create", failing_create)
    before = counts()
    with pytest.raises(BoundaryImportError, match="simulated failure"):
        import_boundaries(level="district", path=two_districts, commit=True)
    assert calls == ["990181", "990182"]  # the first row had been written ...
    assert counts() == before  # ... and was rolled back with the generation


def test_missing_parent_is_an_error(tmp_path: Path):
    assert not District.objects.filter(code="990199").exists()
    path = write(
        tmp_path / "towns.geojson",
        [{"code": "990199001", "name": "Orphan", "geometry": box(100.0, 0.0, 100.1, 0.1)}],
    )
    message = command_error("town", str(path), commit=True)
    expected = MISSING_PARENT.format(
        code="990199001", parent_level="district", parent_code="990199"
    )
    assert expected in message
    assert not Town.objects.filter(code="990199001").exists()


def test_parent_from_a_parent_code_field(tmp_path: Path):
    district = DistrictFactory()
    other = DistrictFactory()
    path = write(
        tmp_path / "towns.geojson",
        [
            {
                "code": f"{district.code}001",
                "name": "Filed under the other district",
                "district": other.code,
                "geometry": box(100.0, 0.0, 100.05, 0.05),
            }
        ],
    )
    import_boundaries(level="town", path=path, parent_code_field="district", commit=True)
    assert Town.objects.current().get(code=f"{district.code}001").district == other


def test_features_of_another_level_are_skipped_and_reported(tmp_path: Path):
    path = write(
        tmp_path / "mixed.geojson",
        [
            {"code": "990100", "name": "The city", "geometry": box(100.0, 0.0, 100.3, 0.1)},
            {"code": "990191", "name": "A district", "geometry": box(100.0, 0.0, 100.1, 0.1)},
        ],
    )
    report = import_boundaries(level="district", path=path)
    assert report.skipped == [
        Skip(
            code="990100",
            name="The city",
            reason=OTHER_LEVEL.format(other="city", level="district"),
        )
    ]
    assert report.created == ["990191"]
    # Nothing at the level at all is an error.
    message = command_error("town", str(path))
    assert message == NOTHING_AT_LEVEL.format(
        path=path, level="town", length=9, codes="990100, 990191"
    )


def test_grid_outside_its_village_is_reported_not_refused(tmp_path: Path):
    village = VillageFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
    inside, outside, edge = (f"{village.code}{n:03d}" for n in (1, 2, 3))
    path = write(
        tmp_path / "grids.geojson",
        [
            {"code": inside, "name": "Inside", "geometry": box(100.0, 0.0, 100.05, 0.05)},
            # Half of it lies east of the village.
            {"code": outside, "name": "Sticks out", "geometry": box(100.05, 0.05, 100.15, 0.1)},
            # Shares the village's edge exactly: inside.
            {"code": edge, "name": "On the edge", "geometry": box(100.05, 0.0, 100.1, 0.05)},
        ],
    )
    report = import_boundaries(level="grid", path=path, commit=True)
    assert sorted(report.created) == sorted([inside, outside, edge])
    assert [o.code for o in report.outside_parent] == [outside]
    found: Outside = report.outside_parent[0]
    assert found.parent_code == village.code
    lons, lats = (100.1, 100.15, 100.15, 100.1), (0.05, 0.05, 0.1, 0.1)
    expected_area = abs(GEOD.polygon_area_perimeter(lons, lats)[0])
    assert found.area_m2 == pytest.approx(expected_area, rel=1e-3)
    assert found.share == pytest.approx(0.5, rel=1e-3)
    assert Grid.objects.current().filter(code=outside).exists()


def test_kind_field_takes_choices_and_chinese_words(tmp_path: Path):
    district = DistrictFactory()
    rows = [
        {"code": f"{district.code}001", "name": "Street", "kind": "街道"},
        {"code": f"{district.code}002", "name": "Township", "kind": "township"},
        {"code": f"{district.code}003", "name": "Unsaid", "kind": None},
    ]
    for row in rows:
        row["geometry"] = box(100.0, 0.0, 100.01, 0.01)
    path = write(tmp_path / "towns.geojson", rows)
    import_boundaries(level="town", path=path, kind_field="kind", commit=True)
    kinds = dict(Town.objects.current().filter(district=district).values_list("code", "kind"))
    assert kinds == {
        f"{district.code}001": Town.Kind.STREET,
        f"{district.code}002": Town.Kind.TOWNSHIP,
        f"{district.code}003": Town.Kind.TOWN,  # the default
    }
    rows[0]["kind"] = "hamlet"
    message = command_error("town", str(write(tmp_path / "bad.geojson", rows)), kind_field="kind")
    assert UNKNOWN_KIND.split(": kind")[0].format(code=f"{district.code}001") in message
    assert "'hamlet'" in message


def test_explicit_generation_and_rows_left_alone(tmp_path: Path):
    district = DistrictFactory()
    kept = TownFactory(district=district)
    generation = GenerationFactory()
    path = write(
        tmp_path / "towns.geojson",
        [{"code": f"{district.code}900", "name": "New", "geometry": box(100.0, 0.0, 100.01, 0.01)}],
    )
    report = import_boundaries(level="town", path=path, generation=generation.pk, commit=True)
    assert report.generation == generation.pk
    assert Town.objects.current().get(code=f"{district.code}900").generation_low == generation
    # The town of the same district that the file does not mention is listed and kept.
    assert report.not_in_file == [kept.code]
    assert Town.objects.get(pk=kept.pk).generation_high is None
    message = command_error("town", str(path), generation=10**9)
    assert message == GENERATION_NOT_FOUND.format(generation=10**9)


def test_normalise_code():
    assert normalise_code(450702.0) == "450702"
    assert normalise_code(np.float64(450702001001001.0)) == "450702001001001"
    assert normalise_code(np.int64(450702)) == "450702"
    assert normalise_code(" 450702 ") == "450702"
    assert normalise_code("450702.0") == "450702"
    assert normalise_code(450702.5) == "450702.5"
    assert normalise_code(float("nan")) is None
    assert normalise_code(None) is None


# --- GCJ-02 acceptance: the Qinzhou file -----------------------------------------------------
def test_qinzhou_gcj02_districts_land_within_10_m_of_their_wgs84_truth():
    # The demo may already have imported these districts through this very command; then the
    # re-import reports them unchanged and the stored vertices are checked all the same.
    run("city", str(QINZHOU), crs="gcj02", code_field="adcode", name_field="name", commit=True)
    output = run(
        "district", str(QINZHOU), crs="gcj02", code_field="adcode", name_field="name", commit=True
    )
    assert "450700 钦州市: " + OTHER_LEVEL.format(other="city", level="district") in output
    assert City.objects.current().filter(code="450700").exists()

    raw = gpd.read_file(QINZHOU).set_index("adcode")
    worst_error, offsets = 0.0, []
    for code in QINZHOU_DISTRICTS:
        district = District.objects.current().get(code=code)
        assert district.city.code == "450700"
        stored = shapely.get_coordinates(shapely.from_wkb(bytes(district.geom.wkb)))
        gcj = shapely.get_coordinates(raw.loc[code].geometry)
        assert len(stored) == len(gcj)
        # The WGS84 truth of a GCJ-02 vertex is the point that the obfuscation sends onto it.
        pushed = np.array(
            [prcoords.wgs_gcj(prcoords.Coords(lat, lon))[::-1] for lon, lat in stored]
        )
        tree = shapely.STRtree(shapely.points(gcj))
        nearest = gcj[tree.nearest(shapely.points(pushed))]
        errors = GEOD.inv(pushed[:, 0], pushed[:, 1], nearest[:, 0], nearest[:, 1])[2]
        shifts = GEOD.inv(stored[:, 0], stored[:, 1], nearest[:, 0], nearest[:, 1])[2]
        worst_error = max(worst_error, float(errors.max()))
        offsets += [float(shifts.min()), float(shifts.max())]
    assert worst_error < 10.0
    # Stored districts are not the raw GCJ-02 coordinates: they moved by the obfuscation.
    assert min(offsets) >= 100 and max(offsets) <= 700
    print(f"GCJ round trip <= {worst_error:.1e} m; offsets {min(offsets):.0f}-{max(offsets):.0f} m")
