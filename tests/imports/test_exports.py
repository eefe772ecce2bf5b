"""Exports of every kind and boundary level (imports.exports, export_records).

One small county of each kind of record, made with the factories under district 9901xx and
exported with ``area`` set to it, so rows of the demo (when the session loaded it) never enter.
Every export is read back: XLSX, CSV, GeoPackage and Shapefile through the import's own reader
(``imports.sources.open_source``), whose header must match the kind's columns.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest
import shapely
from django.contrib.gis.geos import Point, Polygon
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import load_workbook
from psycopg.types.range import Range

from accounts.models import AccountRole
from gridmap.personal_data import answering
from grids.models import (
    Building,
    City,
    District,
    Grid,
    Role,
    ServiceCentre,
    Station,
    Town,
    Village,
    Worker,
)
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    Tag,
    TenHouseholdUnit,
)
from imports.exports import (
    BOUNDARY_LEVELS,
    EXPORT_KIND_NAMES,
    GEOMETRY_TYPES,
    MSG_NO_GEOMETRY,
    MSG_UNKNOWN_AREA,
    MSG_UNKNOWN_FORMAT,
    ExportError,
    download_name,
    export,
    export_columns,
    export_formats,
    export_kind,
)
from imports.kinds import KIND_NAMES, KINDS
from imports.pipeline import HANDLERS, run_import
from imports.sources import open_source
from presence.models import DutyShift
from servicedesk.models import ServiceItem
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    DistrictFactory,
    GridFactory,
    RoleAssignmentFactory,
    StationFactory,
    TownFactory,
    VillageFactory,
    WorkerFactory,
    current_generation,
    rect,
)

pytestmark = pytest.mark.django_db

ID_NUMBER = "450702199001011234"
PHONE = "13800000001"
STAFF_ID = "450702198507150018"
START = dt.date(2024, 1, 1)


@dataclass
class County:
    city: City
    district: District
    towns: tuple[Town, Town]
    villages: tuple[Village, Village]
    grids: tuple[Grid, Grid]
    building: Building
    households: tuple[Household, Household]
    leader: Worker
    resident: Worker
    station: Station
    branch: PartyBranch
    member: PartyMember
    central: CentralHousehold
    centre: ServiceCentre
    unit: TenHouseholdUnit


@pytest.fixture
def county(db) -> County:
    district = DistrictFactory(geom=rect(100.0, 0.0, 100.2, 0.1))
    city = City.objects.create(
        code=district.code[:4] + "00",
        name="测试市",
        geom=district.geom,
        generation_low=current_generation(),
    )
    District.objects.filter(pk=district.pk).update(city=city)
    t1 = TownFactory(district=district, geom=rect(100.0, 0.0, 100.1, 0.1))
    t2 = TownFactory(district=district, geom=rect(100.1, 0.0, 100.2, 0.1))
    v1 = VillageFactory(town=t1, geom=t1.geom)
    v2 = VillageFactory(town=t2, geom=t2.geom)
    g1 = GridFactory(village=v1, geom=v1.geom)
    g2 = GridFactory(village=v2, geom=v2.geom)
    ring = ((100.01, 0.01), (100.011, 0.01), (100.011, 0.011), (100.01, 0.011), (100.01, 0.01))
    building = Building.objects.create(
        code="B9901", name="一号楼", footprint=Polygon(ring, srid=4326), grid=g1, floors=4
    )
    h1 = Household.objects.create(
        code="H9901",
        address="=一村1号",
        location=Point(100.0105, 0.0105, srid=4326),
        building=building,
        grid=g1,
        size=4,
        tags=[Tag.LEFT_BEHIND_ELDERLY, Tag.LOW_INCOME],
        head_name="张三",
        id_number=ID_NUMBER,
        phone=PHONE,
    )
    h2 = Household.objects.create(
        code="0099020",
        address="二村2号",
        location=Point(100.15, 0.05, srid=4326),
        grid=g2,
        head_name="李四",
        id_number="",
        phone="",
    )
    leader = WorkerFactory(name="王网格", phone="13900000001", id_number=STAFF_ID)
    RoleAssignmentFactory(
        worker=leader, role=Role.GRID_LEADER, grid=g1, period=Range(START, dt.date(2025, 7, 1))
    )
    secretary = WorkerFactory(name="赵书记", phone="13900000002")
    RoleAssignmentFactory(
        worker=secretary, role=Role.VILLAGE_SECRETARY, village=v2, period=Range(START, None)
    )
    # The secretary on duty at the village (issue 14's duty_shifts kind).
    DutyShift.objects.create(
        worker=secretary, village=v2, date=dt.date(2025, 3, 3), span="morning", note="接待"
    )
    # An item of the district's service catalogue (issue 15's service_items kind).
    ServiceItem.objects.create(
        code="YB004", name="高龄津贴申领", kind="health", approving_level="county",
        promised_days=15, district=district, materials="居民身份证\n户口簿",
    )  # fmt: skip
    station = StationFactory(town=t1, code=f"{t1.code}S01", name="一站", address="站前路1号")
    CatchmentAssignmentFactory(village=v1, station=station, period=Range(START, None))
    branch = PartyBranch.objects.create(code=f"{v1.code}01", name="一村党支部", village=v1)
    resident = WorkerFactory(name="张三", phone=PHONE, is_party_member=True)
    member = PartyMember.objects.create(
        name="张三", branch=branch, household=h1, joined_on=dt.date(2010, 7, 1), worker=resident
    )
    central = CentralHousehold.objects.create(
        household=h1, party_member=member, designated_on=dt.date(2023, 3, 1)
    )
    centre = ServiceCentre.objects.create(
        code="SC9901", name="一村服务中心", location=Point(100.02, 0.02, srid=4326), village=v1
    )
    unit = TenHouseholdUnit.objects.create(
        name="一联户", head_household=h1, central_household=central, grid=g1
    )
    Household.objects.filter(pk__in=[h1.pk, h2.pk]).update(ten_household_unit=unit)
    return County(
        city=city,
        district=district,
        towns=(t1, t2),
        villages=(v1, v2),
        grids=(g1, g2),
        building=building,
        households=(h1, h2),
        leader=leader,
        resident=resident,
        station=station,
        branch=branch,
        member=member,
        central=central,
        centre=centre,
        unit=unit,
    )


def read_back(name: str, path: Path) -> list[dict]:
    """The rows of an export as the import reads them (values by key); the header must match
    the export's columns and hold nothing else."""
    fmt = path.suffix[1:]
    columns = export_columns(name, fmt)
    with open_source(path, export_kind(name)) as source:
        rows = [r.values for r in source]
        keys = sorted(source.header.keys.values())
        if fmt in ("gpkg", "shp"):
            # A boundary's geometry column is the geo file's own geometry field.
            keys = [k for k in keys if k != "geometry"]
        assert keys == sorted(c.key for c in columns)
        assert source.header.unknown == []
    return rows


CASES = [(name, fmt) for name in EXPORT_KIND_NAMES for fmt in ("xlsx", "csv")] + [
    (name, fmt) for name in GEOMETRY_TYPES for fmt in ("gpkg", "shp")
]


@pytest.mark.parametrize(("name", "fmt"), CASES)
def test_every_kind_and_format_exports_and_reads_back(county, tmp_path, name, fmt):
    path = tmp_path / f"{name}.{fmt}"
    written = export(name, path, area=county.district.code, unmasked=True)
    rows = read_back(name, path)
    assert written == len(rows) >= 1
    if fmt in ("gpkg", "shp"):
        info = pyogrio.read_info(path)
        expected = GEOMETRY_TYPES[name]
        if fmt == "shp":
            # A Shapefile has one polygon type for polygons and multipolygons.
            expected = expected.removeprefix("Multi")
        assert info["geometry_type"] == expected
        assert info["crs"] == "EPSG:4326"
        assert all(r["geometry"] is not None for r in rows)


def test_households_values_are_as_the_import_reads_them(county, tmp_path):
    path = tmp_path / "h.xlsx"
    with translation.override("en"):
        export("households", path, area=county.district.code, unmasked=True)
    first, second = read_back("households", path)
    assert first == {
        "code": "H9901",
        "head_name": "张三",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "address": "=一村1号",  # written guarded ('=...), read back as it was
        "size": 4,
        "tags": "留守老人,低保户",
        "lon": pytest.approx(100.0105),
        "lat": pytest.approx(0.0105),
        "building_code": "B9901",
    }
    # A code with a leading zero stays text; empty personal fields are empty cells.
    assert second["code"] == "0099020"
    assert second["id_number"] is None and second["building_code"] is None
    ws = load_workbook(path).worksheets[0]
    assert [c.value for c in ws[1]] == [c.header for c in KINDS["households"].columns]
    assert ws["A2"].number_format == "@" and ws["A2"].data_type == "s"
    assert ws["E2"].value == "'=一村1号"


def test_values_of_the_other_kinds(county, tmp_path):
    def rows(name: str) -> list[dict]:
        export(name, tmp_path / f"{name}.csv", area=county.district.code, unmasked=True)
        # A CSV's empty cell reads as "" (an XLSX's as None).
        rows = read_back(name, tmp_path / f"{name}.csv")
        return [{k: v if v != "" else None for k, v in r.items()} for r in rows]

    (building,) = rows("buildings")
    assert building["code"] == "B9901" and building["floors"] == "4"
    assert building["address"] == building["name"] == "一号楼"
    assert shapely.from_wkt(building["footprint"]).equals(
        shapely.from_wkt(county.building.footprint.wkt)
    )
    assert float(building["lon"]) == pytest.approx(100.0105)

    roles = {r["role"]: r for r in rows("roles")}
    assert roles["网格长"] == {
        "phone": "13900000001",
        "name": "王网格",
        "role": "网格长",
        "place_code": county.grids[0].code,
        "start": "2024-01-01",
        "end": "2025-06-30",  # the last day held: the period ends (exclusive) on 2025-07-01
    }
    assert roles["村党组织书记"]["place_code"] == county.villages[1].code
    assert roles["村党组织书记"]["end"] is None

    (station,) = rows("stations")
    assert station["code"] == county.station.code and station["town_code"] == county.towns[0].code
    (catchment,) = rows("catchments")
    assert catchment == {
        "village_code": county.villages[0].code,
        "station_code": county.station.code,
        "start": "2024-01-01",
    }
    (branch,) = rows("party_branches")
    assert branch == {
        "code": county.branch.code,
        "name": "一村党支部",
        "village_code": county.villages[0].code,
    }
    (member,) = rows("party_members")
    assert member == {
        "household_code": "H9901",
        "name": "张三",
        "branch_code": county.branch.code,
        "joined_on": "2010-07-01",
        "phone": PHONE,
    }
    (central,) = rows("central_households")
    assert central == {
        "household_code": "H9901",
        "member_name": "张三",
        "member_household_code": None,  # the member lives in the central household
        "designated_on": "2023-03-01",
    }
    (centre,) = rows("service_centres")
    assert centre["code"] == "SC9901" and centre["village_code"] == county.villages[0].code
    (unit,) = rows("ten_household_units")
    assert unit == {
        "head_household_code": "H9901",
        "name": "一联户",
        "central_household_code": "H9901",
        "member_codes": "0099020、H9901",
    }
    workers = {w["name"]: w for w in rows("workers")}
    assert workers["王网格"]["id_number"] == STAFF_ID
    assert workers["王网格"]["party_member"] == "否" and workers["张三"]["party_member"] == "是"
    assert set(workers) == {"王网格", "赵书记", "张三"}


def test_boundary_levels_carry_code_name_parent_and_geometry(county, tmp_path):
    export("villages", tmp_path / "v.csv", area=county.district.code)
    rows = read_back("villages", tmp_path / "v.csv")
    assert [(r["code"], r["parent_code"]) for r in rows] == [
        (county.villages[0].code, county.towns[0].code),
        (county.villages[1].code, county.towns[1].code),
    ]
    assert shapely.from_wkt(rows[0]["geometry"]).equals(
        shapely.from_wkt(county.villages[0].geom.wkt)
    )
    # No geometry in an XLSX (a cell holds 32,767 characters at most).
    export("villages", tmp_path / "v.xlsx", area=county.district.code)
    assert "geometry" not in read_back("villages", tmp_path / "v.xlsx")[0]
    export("districts", tmp_path / "d.gpkg", area=county.district.code)
    (district,) = read_back("districts", tmp_path / "d.gpkg")
    assert district["code"] == county.district.code
    assert shapely.from_wkb(district["geometry"]).equals(shapely.from_wkt(county.district.geom.wkt))


def test_shapefile_uses_the_10_byte_names_and_gpkg_the_chinese_headers(county, tmp_path):
    export("households", tmp_path / "h.shp", area=county.district.code, unmasked=True)
    fields = list(pyogrio.read_info(tmp_path / "h.shp")["fields"])
    assert fields == [c.field_name for c in export_columns("households", "shp")]
    assert "bldg_code" in fields and all(len(f.encode()) <= 10 for f in fields)
    export("households", tmp_path / "h.gpkg", area=county.district.code, unmasked=True)
    fields = list(pyogrio.read_info(tmp_path / "h.gpkg")["fields"])
    assert fields[:2] == ["户编号", "户主姓名"]
    # The Chinese text survives the Shapefile's encoding.
    rows = read_back("households", tmp_path / "h.shp")
    assert rows[0]["head_name"] == "张三" and rows[0]["tags"] == "留守老人,低保户"


def test_buildings_in_a_geo_file_have_the_footprint_as_geometry(county, tmp_path):
    export("buildings", tmp_path / "b.gpkg", area=county.district.code)
    (row,) = read_back("buildings", tmp_path / "b.gpkg")
    # No WKT and no centre beside it: the import would take a point for the footprint.
    assert not {"footprint", "lon", "lat"} & set(row)
    assert shapely.from_wkb(row["geometry"]).equals(shapely.from_wkt(county.building.footprint.wkt))


def test_csv_is_utf8_with_a_bom_and_the_chinese_header(county, tmp_path):
    export("households", tmp_path / "h.csv", area=county.district.code)
    raw = (tmp_path / "h.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + "户编号,户主姓名".encode())


# --- Masking -----------------------------------------------------------------------------------


def test_a_district_admin_export_masks_id_numbers_and_phones(county, tmp_path):
    admin = AccountFactory(role=AccountRole.DISTRICT_ADMIN, codes=[county.district.code]).user
    export("households", tmp_path / "h.xlsx", user=admin)
    first = read_back("households", tmp_path / "h.xlsx")[0]
    assert first["id_number"] == "450702********1234" and first["phone"] == "138****0001"
    # --unmasked is for an operator without a user: the user's rule wins.
    export("households", tmp_path / "h2.xlsx", user=admin, unmasked=True)
    assert read_back("households", tmp_path / "h2.xlsx")[0]["phone"] == "138****0001"

    export("workers", tmp_path / "w.csv", user=admin)
    workers = {w["name"]: w for w in read_back("workers", tmp_path / "w.csv")}
    # Staff ID numbers are masked; staff phones are published work numbers, a resident
    # party member's phone (a central household's) is masked.
    assert workers["王网格"]["id_number"] == "450702********0018"
    assert workers["王网格"]["phone"] == "13900000001"
    assert workers["张三"]["phone"] == "138****0001"
    export("party_members", tmp_path / "m.csv", user=admin)
    assert read_back("party_members", tmp_path / "m.csv")[0]["phone"] == "138****0001"


def test_a_grid_worker_sees_personal_data_and_only_their_grid(county, tmp_path):
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[county.grids[0].code]).user
    assert export("households", tmp_path / "h.xlsx", user=worker) == 1
    (row,) = read_back("households", tmp_path / "h.xlsx")
    assert (row["code"], row["id_number"], row["phone"]) == ("H9901", ID_NUMBER, PHONE)


def test_the_command_masks_unless_unmasked(county, tmp_path, capsys):
    path = tmp_path / "h.xlsx"
    with translation.override("en"):
        call_command("export_records", "households", str(path), "--area", county.district.code)
    out = capsys.readouterr().out
    assert "2 rows of households written" in out and "masked" in out
    assert read_back("households", path)[0]["id_number"] == "450702********1234"
    call_command(
        "export_records", "households", str(path), "--area", county.district.code, "--unmasked"
    )
    assert read_back("households", path)[0]["id_number"] == ID_NUMBER


def test_the_command_exports_as_a_user(county, tmp_path):
    admin = AccountFactory(role=AccountRole.DISTRICT_ADMIN, codes=[county.towns[1].code]).user
    path = tmp_path / "h.csv"
    call_command("export_records", "households", str(path), "--user", admin.username)
    (row,) = read_back("households", path)
    assert row["code"] == "0099020"
    with pytest.raises(CommandError):
        call_command("export_records", "households", str(path), "--user", "nobody-such")


# --- Which rows --------------------------------------------------------------------------------


def test_area_keeps_the_records_inside_it(county, tmp_path):
    town = county.towns[0].code
    counts = {
        name: export(name, tmp_path / f"{name}.csv", area=town)
        for name in ("households", "buildings", "stations", "roles", "workers", "grids", "towns")
    }
    assert counts == {
        "households": 1,
        "buildings": 1,
        "stations": 1,
        "roles": 1,
        "workers": 2,  # the grid leader, and the resident party member of the town
        "grids": 1,
        "towns": 1,
    }
    assert export("households", tmp_path / "g2.csv", area=county.grids[1].code) == 1
    assert read_back("households", tmp_path / "g2.csv")[0]["code"] == "0099020"


def test_unknown_area_kind_format_and_geometry_are_refused(county, tmp_path):
    with pytest.raises(ExportError) as caught:
        export("households", tmp_path / "h.csv", area="990199")
    assert caught.value.message["msgid"] == MSG_UNKNOWN_AREA
    with pytest.raises(ExportError) as caught:
        export("households", tmp_path / "h.txt")
    assert caught.value.message["msgid"] == MSG_UNKNOWN_FORMAT
    with pytest.raises(ExportError):
        export("residents", tmp_path / "h.csv")
    with pytest.raises(ExportError) as caught:
        export("workers", tmp_path / "w.gpkg")
    assert caught.value.message["msgid"] == MSG_NO_GEOMETRY
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        call_command("export_records", "roles", str(tmp_path / "r.shp"))
    assert "职务任命" in str(refused.value)


def test_an_empty_export_writes_the_header(county, tmp_path):
    far = VillageFactory(town=county.towns[0]).code
    assert export("households", tmp_path / "h.xlsx", area=far) == 0
    assert [c.value for c in load_workbook(tmp_path / "h.xlsx").worksheets[0][1]][:2] == [
        "户编号",
        "户主姓名",
    ]
    assert export("households", tmp_path / "h.gpkg", area=far) == 0
    assert pyogrio.read_info(tmp_path / "h.gpkg")["features"] == 0


def test_every_import_kind_and_boundary_level_can_be_exported():
    assert set(EXPORT_KIND_NAMES) == set(KIND_NAMES) | set(BOUNDARY_LEVELS)
    assert [c.key for c in export_columns("households", "xlsx")] == [
        c.key for c in KINDS["households"].columns
    ]


def test_an_xlsx_goes_on_to_a_second_sheet_when_one_is_full(county, tmp_path, monkeypatch):
    """Excel's sheet holds 1,048,576 rows: the records go on on further sheets, each with the
    header (made small here)."""
    monkeypatch.setattr("imports.exports.writers.XLSX_SHEET_ROWS", 1)
    path = tmp_path / "h.xlsx"
    with translation.override("zh-hans"):
        assert export("households", path, area=county.district.code) == 2
    assert load_workbook(path).sheetnames == ["住户", "住户 2"]
    first = [r.values["code"] for r in open_source(path, KINDS["households"])]
    second = [r.values["code"] for r in open_source(path, KINDS["households"], sheet="住户 2")]
    assert (first, second) == (["H9901"], ["0099020"])


# --- An export re-imports unchanged ----------------------------------------------------------


def _reimport_cases() -> list[tuple[str, str]]:
    return [
        (name, fmt)
        for name in KIND_NAMES
        if name in HANDLERS
        for fmt in ("xlsx", "csv", "gpkg", "shp")
        if fmt in ("xlsx", "csv") or name in GEOMETRY_TYPES
    ]


@pytest.mark.parametrize(("name", "fmt"), _reimport_cases())
def test_an_export_re_imports_unchanged(county, tmp_path, name, fmt):
    """The export of a kind, imported (a dry run) into the database it came from: every row
    is found unchanged, none refused, none new or updated."""
    path = tmp_path / f"{name}.{fmt}"
    written = export(name, path, area=county.district.code, unmasked=True)
    result = run_import(name, path)
    assert result.refusals == []
    assert (result.rows, result.new, result.updated, result.unchanged) == (written, 0, 0, written)


def test_an_export_in_a_request_marks_the_answer_as_carrying_personal_data(county, tmp_path):
    with answering() as answer:
        export("stations", tmp_path / "s.csv", area=county.district.code)
        assert not answer.carries
        export("households", tmp_path / "h.csv", area=county.district.code)
        assert answer.carries


@pytest.mark.parametrize("name", ["h.zip", "h.shp.zip"])
def test_a_shapefile_named_zip_is_zipped_and_re_imports(county, tmp_path, name):
    path = tmp_path / name
    assert export("households", path, area=county.district.code, unmasked=True) == 2
    with zipfile.ZipFile(path) as archive:
        parts = sorted(Path(n).suffix for n in archive.namelist())
    assert parts == [".cpg", ".dbf", ".prj", ".shp", ".shx"]
    assert [r["code"] for r in read_back("households", path)] == ["H9901", "0099020"]
    assert run_import("households", path).unchanged == 2


def test_an_export_replaces_an_existing_file(county, tmp_path):
    for suffix in ("gpkg", "shp", "zip"):
        path = tmp_path / f"h.{suffix}"
        export("households", path, area=county.district.code)
        assert export("households", path, area=county.grids[1].code) == 1
        assert len(read_back("households", path)) == 1


def test_formats_and_download_names_for_a_page():
    assert export_formats("households") == ("xlsx", "csv", "gpkg", "shp")
    assert export_formats("grids") == ("xlsx", "csv", "gpkg", "shp")
    assert export_formats("workers") == ("xlsx", "csv")
    with pytest.raises(ExportError):
        export_formats("residents")
    assert download_name("households", "xlsx", "450702") == "households-450702.xlsx"
    assert download_name("villages", "shp") == "villages.zip"


# --- History ----------------------------------------------------------------------------------


def test_a_handed_over_role_exports_both_terms_and_re_imports_unchanged(county, tmp_path):
    new = WorkerFactory(name="新网格长", phone="13900000009")
    RoleAssignmentFactory(
        worker=new,
        role=Role.GRID_LEADER,
        grid=county.grids[0],
        period=Range(dt.date(2025, 7, 1), None),
    )
    path = tmp_path / "r.csv"
    n = export("roles", path, area=county.district.code, unmasked=True)
    assert n == 3
    rows = read_back("roles", path)
    assert [(r["name"], r["start"], r["end"]) for r in rows[:2]] == [
        ("王网格", "2024-01-01", "2025-06-30"),
        ("新网格长", "2025-07-01", ""),
    ]
    result = run_import("roles", path)
    assert (result.unchanged, result.refused) == (3, 0)


def test_a_village_given_to_another_station_exports_the_assignment_in_force(county, tmp_path):
    other = StationFactory(town=county.towns[0], code=f"{county.towns[0].code}S02")
    a = county.station.catchment_assignments.get()
    a.period = Range(dt.date(2024, 1, 1), dt.date(2025, 1, 1))
    a.save()
    CatchmentAssignmentFactory(
        village=county.villages[0], station=other, period=Range(dt.date(2025, 1, 1), None)
    )
    path = tmp_path / "c.csv"
    n = export("catchments", path, area=county.district.code, unmasked=True)
    assert n == 1
    (row,) = read_back("catchments", path)
    assert (row["station_code"], row["start"]) == (other.code, "2025-01-01")
    result = run_import("catchments", path)
    assert (result.unchanged, result.refused) == (1, 0)


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("cities", "city"),
        ("districts", "district"),
        ("towns", "town"),
        ("villages", "village"),
        ("grids", "grid"),
    ],
)
def test_a_boundary_export_re_imports_unchanged_through_import_boundaries(
    county, tmp_path, capsys, name, level, fmt
):
    """A boundary level's geo file has the fields import_boundaries reads by default (code,
    name; the kind of a town or village as 镇/乡/街道, 村/社区 with --kind-field kind)."""
    path = tmp_path / f"{name}.{fmt}"
    written = export(name, path, area=county.district.code)
    kind_field = ["--kind-field", "kind"] if level in ("town", "village") else []
    capsys.readouterr()
    call_command("import_boundaries", level, str(path), *kind_field)
    out = capsys.readouterr().out
    assert f"Unchanged: {written}" in out and "Changed: 0" in out and "Created: 0" in out


def test_the_kind_of_towns_and_villages_is_exported_in_chinese(county, tmp_path):
    Town.objects.filter(pk=county.towns[1].pk).update(kind=Town.Kind.STREET)
    Village.objects.filter(pk=county.villages[1].pk).update(kind=Village.Kind.COMMUNITY)
    export("towns", tmp_path / "t.csv", area=county.district.code)
    assert [r["kind"] for r in read_back("towns", tmp_path / "t.csv")] == ["镇", "街道"]
    export("villages", tmp_path / "v.csv", area=county.district.code)
    assert [r["kind"] for r in read_back("villages", tmp_path / "v.csv")] == ["村", "社区"]
    assert "kind" not in [c.key for c in export_columns("grids", "csv")]


def test_cities_are_exported_and_re_import_through_import_boundaries(county, tmp_path, capsys):
    city = county.city
    path = tmp_path / "c.gpkg"
    assert export("cities", path, area=county.towns[0].code) == 1
    (row,) = read_back("cities", path)
    assert (row["code"], row["name"], row["parent_code"]) == (city.code, "测试市", None)
    capsys.readouterr()
    call_command("import_boundaries", "city", str(path))
    assert "Unchanged: 1" in capsys.readouterr().out
    admin = AccountFactory(role=AccountRole.DISTRICT_ADMIN, codes=[county.district.code]).user
    assert export("cities", tmp_path / "c.csv", user=admin) == 1
    other = AccountFactory(role=AccountRole.DISTRICT_ADMIN, codes=["450702"]).user
    assert export("cities", tmp_path / "c.csv", user=other, area=county.district.code) == 0
