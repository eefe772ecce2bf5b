"""The import pipeline on households (imports.pipeline, imports.handlers.households), on the
small demo county: every refusal reason with a tiny hand-made file, headers in Chinese and
English, GB18030, a title row, GCJ-02 and BD-09, a household placed at its building,
idempotency, changed rows, the jurisdiction, masked values, dry run and cancel."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import prcoords
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import translation
from openpyxl import Workbook, load_workbook

from gridmap.crypto import keyed_hash
from grids.models import Building, Grid
from households.models import Household
from imports import normalise
from imports.handlers.common import MSG_OUTSIDE_DISTRICTS
from imports.handlers.households import MSG_UNKNOWN_TAG
from imports.pipeline import ImportCancelled, run_import

pytestmark = pytest.mark.django_db

HEADER_ZH = ["户编号", "户主姓名", "身份证号", "联系电话", "地址", "人口数", "标签", "经度", "纬度"]
HEADER_EN = ["code", "head_name", "id_number", "phone", "address", "size", "tags", "lon", "lat"]
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def id_number(seq: int) -> str:
    """A valid GB 11643 number (the check character computed)."""
    from imports.normalise import id_check_character

    body = f"45070219900101{seq:03d}"
    return body + id_check_character(body)


@pytest.fixture
def points(demo):
    """Two points, each inside a different current grid of the demo, and their grids."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT id, code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
                 FROM grids_grid WHERE generation_high_id IS NULL ORDER BY code LIMIT 2"""
        )
        rows = cur.fetchall()
    return [{"grid_id": r[0], "code": r[1], "lon": r[2], "lat": r[3]} for r in rows]


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "户籍"
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def row(code: str, p: dict, **over) -> list:
    values = {
        "code": code,
        "head_name": "张三",
        "id_number": id_number(int(code[-3:]) % 1000),
        "phone": "13800000000",
        "address": "沙埠镇一村1号",
        "size": 3,
        "tags": "留守老人",
        "lon": p["lon"],
        "lat": p["lat"],
    }
    values.update(over)
    return [values[k] for k in HEADER_EN]


def reasons(result) -> list[tuple[int, str, str]]:
    return [(r.row, r.column, r.reason["msgid"]) for r in result.refusals]


def test_a_good_file_is_imported_with_its_grid(tmp_path, points):
    p = points[0]
    path = write_csv(tmp_path / "h.csv", HEADER_ZH, [row("T001", p), row("T002", p)])
    result = run_import("households", path, commit=True)
    assert (result.rows, result.new, result.refused, result.committed) == (2, 2, 0, True)
    household = Household.objects.get(code="T001")
    assert household.grid_id == p["grid_id"]
    assert household.tags == ["left_behind_elderly"]
    assert household.id_number == id_number(1) and household.phone == "13800000000"
    assert household.phone_hash == keyed_hash("13800000000")


def test_a_dry_run_writes_nothing(tmp_path, points):
    path = write_csv(tmp_path / "h.csv", HEADER_EN, [row("T001", points[0])])
    result = run_import("households", path)
    assert result.new == 1 and not result.committed
    assert not Household.objects.filter(code="T001").exists()
    # The staging table went with the transaction: a second run starts clean.
    assert run_import("households", path).new == 1


@pytest.mark.parametrize(
    ("over", "column", "msgid"),
    [
        ({"id_number": "450702199001011235"}, "身份证号", normalise.MSG_ID_NUMBER_CHECK),
        ({"id_number": "4.50702E+17"}, "身份证号", normalise.MSG_EXCEL_DAMAGED),
        ({"id_number": "450702199001011000"}, "身份证号", normalise.MSG_EXCEL_DAMAGED),
        ({"phone": "12345"}, "联系电话", normalise.MSG_PHONE_INVALID),
        ({"phone": "+86 138 0000 0000 / 13900000000"}, "联系电话", normalise.MSG_PHONE_SEVERAL),
        ({"lon": 2.35, "lat": 48.85}, "经度", MSG_OUTSIDE_DISTRICTS),
        ({"tags": "富裕户"}, "标签", MSG_UNKNOWN_TAG),
        ({"size": "很多"}, "人口数", normalise.MSG_INTEGER_INVALID),
    ],
)
def test_each_reason_refuses_the_row_and_names_the_column(tmp_path, points, over, column, msgid):
    path = write_csv(
        tmp_path / "h.csv", HEADER_ZH, [row("T001", points[0]), row("T002", points[0], **over)]
    )
    result = run_import("households", path, commit=True)
    assert (result.new, result.refused) == (1, 1)
    assert reasons(result) == [(3, column, msgid)]
    assert Household.objects.filter(code__in=["T001", "T002"]).count() == 1


def test_a_household_number_twice_refuses_both_rows(tmp_path, points):
    p = points[0]
    path = write_csv(
        tmp_path / "h.csv", HEADER_ZH, [row("T001", p), row("T002", p), row("T001", p)]
    )
    result = run_import("households", path)
    assert result.refused == 2 and result.new == 1
    assert [(r.row, r.reason["params"]["rows"]) for r in result.refusals] == [
        (2, "2, 4"),
        (4, "2, 4"),
    ]
    with translation.override("zh-hans"):
        assert "T001" in run_import("households", path).refusals[0].message


def test_an_unknown_building_number_is_refused(tmp_path, points):
    header = [*HEADER_EN[:7], "building_code"]
    path = write_csv(tmp_path / "h.csv", header, [row("T001", points[0])[:7] + ["NOPE"]])
    result = run_import("households", path)
    assert reasons(result)[0][1:] == ("building_code", reasons(result)[0][2])
    assert "No building" in reasons(result)[0][2]


def test_a_household_without_coordinates_is_placed_at_its_building(tmp_path, points):
    p = points[0]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_AsText(ST_Buffer(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 0.0001, 1))",
            [p["lon"], p["lat"]],
        )
        footprint = cur.fetchone()[0]
    Building.objects.create(code="BT01", name="一号楼", footprint=f"SRID=4326;{footprint}")
    header = [*HEADER_ZH[:7], "建筑编号"]
    path = write_csv(tmp_path / "h.csv", header, [row("T001", p)[:7] + ["BT01"]])
    result = run_import("households", path, commit=True)
    assert result.new == 1, result.refusals
    household = Household.objects.get(code="T001")
    assert household.building.code == "BT01"
    assert household.location.distance(household.building.footprint.point_on_surface) < 1e-9
    assert household.grid_id == p["grid_id"]


def test_english_headers_gb18030_and_a_title_row(tmp_path, points):
    p = points[0]
    path = tmp_path / "h.csv"
    with path.open("w", newline="", encoding="gb18030") as f:
        writer = csv.writer(f)
        writer.writerow(["沙埠镇一村户籍台账（2026年）"])
        writer.writerow(HEADER_EN)
        writer.writerow(row("T001", p, head_name="欧阳娜娜", address="沙埠镇一村𠀀号"))
    result = run_import("households", path, commit=True)
    assert result.new == 1, result.refusals
    household = Household.objects.get(code="T001")
    assert household.head_name == "欧阳娜娜"


def test_an_xlsx_with_a_title_row_and_chinese_headers(tmp_path, points):
    path = write_xlsx(
        tmp_path / "h.xlsx",
        [["户籍台账"], HEADER_ZH, row("T001", points[0]), row("T002", points[0])],
    )
    result = run_import("households", path, commit=True)
    assert (result.sheet, result.header_row, result.new) == ("户籍", 2, 2)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_gcj02_and_bd09_coordinates_land_within_10_m_of_truth(tmp_path, points, crs):
    p = points[0]
    truth = prcoords.Coords(p["lat"], p["lon"])
    shifted = prcoords.wgs_gcj(truth)
    if crs == "bd09":
        shifted = prcoords.gcj_bd(shifted)
    path = write_csv(
        tmp_path / "h.csv", HEADER_EN, [row("T001", p, lon=shifted.lon, lat=shifted.lat)]
    )
    result = run_import("households", path, crs=crs, commit=True)
    assert result.new == 1, result.refusals
    with connection.cursor() as cur:
        cur.execute(
            """SELECT ST_Distance(location::geography,
                                  ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)
                 FROM households_household WHERE code = 'T001'""",
            [p["lon"], p["lat"]],
        )
        assert cur.fetchone()[0] < 10


def test_normalised_values_are_counted(tmp_path, points):
    p = points[0]
    path = write_csv(
        tmp_path / "h.csv",
        HEADER_EN,
        [
            row("T001", p, phone="+86 138 0000 0000"),
            row("T002", p, id_number=" " + id_number(2) + " "),
            row("T003", p, id_number=id_number(3).translate(FULL_WIDTH)),
            row("T004", p),
        ],
    )
    result = run_import("households", path, commit=True)
    assert result.refused == 0, result.refusals
    assert result.normalised == 3
    assert result.normalised_columns == {"id_number": 2, "phone": 1}
    assert Household.objects.get(code="T003").id_number == id_number(3)
    assert Household.objects.get(code="T001").phone == "13800000000"


def table_counts() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(
            """SELECT tablename FROM pg_tables WHERE schemaname = 'public'
                AND tablename NOT LIKE 'procrastinate%' ORDER BY tablename"""
        )
        names = [r[0] for r in cur.fetchall()]
        counts = {}
        for name in names:
            cur.execute(f'SELECT count(*) FROM "{name}"')
            counts[name] = cur.fetchone()[0]
    return counts


def household_rows(codes: list[str]) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT code, * FROM households_household WHERE code = ANY(%s) ORDER BY code", [codes]
        )
        return cur.fetchall()


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tmp_path, points, capsys):
    p, q = points
    rows = [row(f"T{i:03d}", p if i % 2 else q) for i in range(1, 11)]
    path = write_csv(tmp_path / "h.csv", HEADER_ZH, rows)
    assert run_import("households", path, commit=True).new == 10
    before, stored = table_counts(), household_rows([r[0] for r in rows])
    with translation.override("en"):
        call_command("import_records", "households", str(path), "--commit")
    out = capsys.readouterr().out
    assert "10 rows read: 0 new, 0 updated, 10 unchanged, 0 refused" in out
    assert "Nothing changes" in out
    assert table_counts() == before
    assert household_rows([r[0] for r in rows]) == stored


def test_one_changed_phone_and_one_moved_household_update_exactly_those(tmp_path, points):
    p, q = points
    rows = [row(f"T{i:03d}", p) for i in range(1, 6)]
    path = write_csv(tmp_path / "h.csv", HEADER_ZH, rows)
    run_import("households", path, commit=True)
    stored = {r[0]: r for r in household_rows([r[0] for r in rows])}
    rows[1] = row("T002", p, phone="13911112222")
    rows[3] = row("T004", q)
    path = write_csv(tmp_path / "h2.csv", HEADER_ZH, rows)
    result = run_import("households", path, commit=True)
    assert (result.new, result.updated, result.unchanged) == (0, 2, 3)
    after = {r[0]: r for r in household_rows([r[0] for r in rows])}
    assert [c for c in stored if stored[c] != after[c]] == ["T002", "T004"]
    assert Household.objects.get(code="T002").phone == "13911112222"
    assert Household.objects.get(code="T004").grid_id == q["grid_id"]
    assert Household.objects.get(code="T001").grid_id == p["grid_id"]


def test_a_masked_number_keeps_the_stored_one(tmp_path, points):
    p = points[0]
    run_import(
        "households", write_csv(tmp_path / "a.csv", HEADER_EN, [row("T001", p)]), commit=True
    )
    masked = row("T001", p, id_number="450702********0013", phone="138****0000")
    result = run_import(
        "households", write_csv(tmp_path / "b.csv", HEADER_EN, [masked]), commit=True
    )
    assert result.unchanged == 1, result.refusals
    assert Household.objects.get(code="T001").id_number == id_number(1)
    new = row("T009", p, phone="138****0000")
    result = run_import("households", write_csv(tmp_path / "c.csv", HEADER_EN, [new]))
    assert result.refused == 1 and "masked" in result.refusals[0].reason["msgid"]


def test_a_row_outside_the_jurisdiction_is_refused(tmp_path, points):
    p = points[0]
    path = write_csv(tmp_path / "h.csv", HEADER_EN, [row("T001", p)])
    inside = run_import("households", path, prefixes=[p["code"][:6]])
    assert inside.new == 1
    outside = run_import("households", path, prefixes=["999999"])
    assert outside.refused == 1 and "jurisdiction" in outside.refusals[0].reason["msgid"]


def test_cancelling_writes_nothing(tmp_path, points):
    path = write_csv(tmp_path / "h.csv", HEADER_EN, [row("T001", points[0])])
    seen = []
    with pytest.raises(ImportCancelled):
        run_import("households", path, commit=True, progress=seen.append, cancelled=lambda: True)
    assert seen == [1]
    assert not Household.objects.filter(code="T001").exists()


def test_the_error_workbook_has_the_refused_rows_with_their_reasons(tmp_path, points):
    p = points[0]
    path = write_xlsx(
        tmp_path / "h.xlsx",
        [["户籍台账"], HEADER_ZH, row("T001", p), row("T002", p, phone="12"), row("T003", p)],
    )
    report = tmp_path / "errors.xlsx"
    with translation.override("zh-hans"):
        result = run_import("households", path, report=report)
    assert result.refused == 1
    rows = list(load_workbook(report).active.iter_rows(values_only=True))
    assert rows[0][: len(HEADER_ZH)] == tuple(HEADER_ZH)
    assert rows[1][0] == "T002" and rows[1][-2] == 4 and "联系电话" in rows[1][-1]
    assert len(rows) == 2
    # Re-importing the error workbook reads the same rows (a clerk fixes and re-imports it).
    again = run_import("households", report)
    assert again.rows == 1 and again.refused == 1


def test_rows_land_on_the_map_sample(tmp_path, points):
    p = points[0]
    path = write_csv(tmp_path / "h.csv", HEADER_EN, [row("T001", p)])
    (point,) = run_import("households", path).points
    assert point[2] == "new" and abs(point[0] - p["lon"]) < 1e-9


def test_grid_derivation_matches_the_application(tmp_path, points):
    """The grid the import writes is the one households_assign_grids derives."""
    from households.services import households_assign_grids

    p, q = points
    path = write_csv(tmp_path / "h.csv", HEADER_EN, [row("T001", p), row("T002", q)])
    run_import("households", path, commit=True)
    imported = dict(Household.objects.filter(code__in=["T001", "T002"]).values_list("code", "grid"))
    households_assign_grids(
        ids=list(Household.objects.filter(code__in=["T001", "T002"]).values_list("id", flat=True))
    )
    assert (
        dict(Household.objects.filter(code__in=["T001", "T002"]).values_list("code", "grid"))
        == imported
    )
    assert Grid.objects.get(pk=imported["T001"]).code == p["code"]


# --- Geo files ------------------------------------------------------------------------------
def write_geo(path: Path, records: list[dict], geoms: list, crs: str = "EPSG:4326") -> Path:
    import geopandas as gpd

    frame = gpd.GeoDataFrame(records, geometry=geoms, crs=crs)
    frame.to_file(path, engine="pyogrio")
    return path


def test_households_from_a_geopackage_take_the_points(tmp_path, points):
    import shapely

    p, q = points
    records = [
        {"户编号": "G001", "户主姓名": "张三", "地址": "一号", "人口数": 2},
        {"户编号": "G002", "户主姓名": "李四", "地址": "二号", "人口数": 3},
    ]
    geoms = [shapely.Point(p["lon"], p["lat"]), shapely.Point(q["lon"], q["lat"])]
    path = write_geo(tmp_path / "h.gpkg", records, geoms)
    result = run_import("households", path, commit=True)
    assert result.new == 2, result.refusals
    assert Household.objects.get(code="G002").grid_id == q["grid_id"]


def test_households_from_a_projected_shapefile_with_short_names(tmp_path, points):
    import shapely
    from pyproj import Transformer

    p = points[0]
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True)
    x, y = to_utm.transform(p["lon"], p["lat"])
    records = [{"code": "S001", "head_name": "王五", "address": "三号", "bldg_code": ""}]
    path = write_geo(tmp_path / "h.shp", records, [shapely.Point(x, y)], crs="EPSG:32649")
    result = run_import("households", path, commit=True)
    assert result.new == 1, result.refusals
    with connection.cursor() as cur:
        cur.execute(
            """SELECT ST_Distance(location::geography,
                                  ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)
                 FROM households_household WHERE code = 'S001'""",
            [p["lon"], p["lat"]],
        )
        assert cur.fetchone()[0] < 0.01


def test_buildings_from_geojson_in_gcj02(tmp_path, points):
    import shapely

    from grids.coords import wgs84_to_gcj02_coords

    p = points[0]
    ring = np.array(
        [
            [p["lon"], p["lat"]],
            [p["lon"] + 0.0002, p["lat"]],
            [p["lon"] + 0.0002, p["lat"] + 0.0002],
            [p["lon"], p["lat"] + 0.0002],
            [p["lon"], p["lat"]],
        ]
    )
    footprint = shapely.Polygon(wgs84_to_gcj02_coords(ring))
    path = write_geo(tmp_path / "b.geojson", [{"code": "GB1", "floors": 2}], [footprint])
    result = run_import("buildings", path, crs="gcj02", commit=True)
    assert result.new == 1, result.refusals
    building = Building.objects.get(code="GB1")
    truth = shapely.Polygon(ring)
    assert shapely.hausdorff_distance(shapely.from_wkt(building.footprint.wkt), truth) < 1e-6
    assert building.grid_id == p["grid_id"]


def test_worker_processes_clean_as_the_importing_process_does(
    tmp_path, points, monkeypatch, settings
):
    """A large file's chunks are cleaned by worker processes: same rows, same refusals."""
    from imports import pipeline

    p, q = points
    rows = [row(f"T{i:03d}", p if i % 2 else q) for i in range(1, 40)]
    rows[5] = row("T006", p, phone="12")
    rows[7] = row("T008", p, phone="+86 139 0000 0000")
    path = write_csv(tmp_path / "h.csv", HEADER_ZH, rows)
    settings.GRIDMAP_IMPORT_WORKERS = 0
    serial = run_import("households", path)
    monkeypatch.setattr(pipeline, "CHUNK", 7)
    monkeypatch.setattr(pipeline, "SERIAL_ROWS", 10)
    settings.GRIDMAP_IMPORT_WORKERS = 2
    seen = []
    pooled = run_import("households", path, commit=True, progress=seen.append)
    assert (pooled.new, pooled.refused, pooled.normalised) == (serial.new, 1, 1)
    assert [r.row for r in pooled.refusals] == [7]
    assert seen == sorted(seen) and seen[-1] == 39
    assert Household.objects.get(code="T008").phone == "13900000000"
