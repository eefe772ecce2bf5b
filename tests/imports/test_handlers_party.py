"""The import handlers of party branches, party members, central households, service centres
and ten-household units (imports.handlers.party, .centres, .units), on the small demo county
with tiny hand-made CSVs: new rows, re-import unchanged, a changed row updating exactly it,
each refusal, the jurisdiction."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import geopandas as gpd
import prcoords
import pytest
import shapely
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils.timezone import now
from openpyxl import Workbook

from gridmap.crypto import keyed_hash
from grids.models import ServiceCentre, Village, Worker
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    TenHouseholdUnit,
)
from households.services import WARN_UNIT_GRIDS, WARN_UNIT_SIZE, central_household_workers
from imports import normalise
from imports.handlers import centres, party, units
from imports.handlers.common import MSG_OUTSIDE_DISTRICTS, MSG_OUTSIDE_JURISDICTION
from imports.handlers.people import MSG_NO_WORKER, MSG_PHONE_SHARED
from imports.handlers.places import MSG_UNKNOWN_VILLAGE_CODE as MSG_UNKNOWN_VILLAGE
from imports.handlers.refs import MSG_RECORD_ELSEWHERE, MSG_UNKNOWN_HOUSEHOLD
from imports.pipeline import run_import
from incidents.models import Category
from incidents.routing import route
from tests.factories import VillageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def places(demo):
    """Two current grids of two different villages: a point inside each, their codes."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT ON (v.code) g.id, g.code, v.id, v.code,
                      ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))
                 FROM grids_grid g JOIN grids_village v ON v.id = g.village_id
                WHERE g.generation_high_id IS NULL AND v.generation_high_id IS NULL
                ORDER BY v.code, g.code LIMIT 2"""
        )
        rows = cur.fetchall()
    return [
        {
            "grid_id": r[0],
            "grid": r[1],
            "village_id": r[2],
            "village": r[3],
            "lon": r[4],
            "lat": r[5],
        }
        for r in rows
    ]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def reasons(result) -> list[tuple[int, str, str]]:
    return [(r.row, r.column, r.reason["msgid"]) for r in result.refusals]


def counts(result) -> tuple[int, int, int, int]:
    return result.new, result.updated, result.unchanged, result.refused


def household(code: str, p: dict, i: int = 0, phone: str = "13800000000") -> Household:
    return Household.objects.create(
        code=code,
        address=f"一村{i}号",
        head_name=f"户主{i}",
        location=Point(p["lon"] + i * 1e-6, p["lat"], srid=4326),
        grid_id=p["grid_id"],
        phone=phone,
    )


def branch(code: str, p: dict) -> PartyBranch:
    return PartyBranch.objects.create(code=code, name="测试支部", village_id=p["village_id"])


# --- Party branches -----------------------------------------------------------------------------
BRANCH_HEADER = ["支部编码", "支部名称", "村编码"]


def test_branches_import_reimport_and_update(tmp_path, places):
    p, q = places
    rows = [["PB01", "一村党支部", p["village"]], ["PB02", "二村党支部", q["village"]]]
    path = write_csv(tmp_path / "b.csv", BRANCH_HEADER, rows)
    assert counts(run_import("party_branches", path, commit=True)) == (2, 0, 0, 0)
    assert PartyBranch.objects.get(code="PB02").village_id == q["village_id"]
    assert counts(run_import("party_branches", path, commit=True)) == (0, 0, 2, 0)
    rows[0][1] = "一村第一党支部"
    path = write_csv(tmp_path / "b2.csv", BRANCH_HEADER, rows)
    assert counts(run_import("party_branches", path, commit=True)) == (0, 1, 1, 0)
    assert PartyBranch.objects.get(code="PB01").name == "一村第一党支部"
    assert PartyBranch.objects.get(code="PB02").name == "二村党支部"


def test_branch_refusals(tmp_path, places):
    p = places[0]
    rows = [
        ["PB01", "一村党支部", "999999999999"],
        ["PB02", "支部", p["village"]],
        ["PB02", "支部", p["village"]],
        ["PB03", "", p["village"]],
    ]
    result = run_import("party_branches", write_csv(tmp_path / "b.csv", BRANCH_HEADER, rows))
    assert reasons(result) == [
        (2, "村编码", MSG_UNKNOWN_VILLAGE),
        (3, "支部编码", party.MSG_DUPLICATE_BRANCH),
        (4, "支部编码", party.MSG_DUPLICATE_BRANCH),
        (5, "支部名称", normalise.MSG_REQUIRED),
    ]


def test_a_superseded_village_is_unknown(tmp_path, places):
    old = VillageFactory()
    Village.objects.filter(pk=old.pk).update(generation_high=old.generation_low)
    rows = [["PB01", "支部", old.code]]
    result = run_import("party_branches", write_csv(tmp_path / "b.csv", BRANCH_HEADER, rows))
    assert reasons(result) == [(2, "村编码", MSG_UNKNOWN_VILLAGE)]


def test_branch_jurisdiction(tmp_path, places):
    p, q = places
    rows = [["PB01", "一村党支部", p["village"]], ["PB02", "二村党支部", q["village"]]]
    path = write_csv(tmp_path / "b.csv", BRANCH_HEADER, rows)
    result = run_import("party_branches", path, prefixes=[p["village"]])
    assert reasons(result) == [(3, "村编码", MSG_OUTSIDE_JURISDICTION)]
    # A branch of another area is not taken over by naming a village here.
    branch("PB09", q)
    path = write_csv(tmp_path / "c.csv", BRANCH_HEADER, [["PB09", "支部", p["village"]]])
    result = run_import("party_branches", path, prefixes=[p["village"]])
    assert reasons(result) == [(2, "支部编码", MSG_RECORD_ELSEWHERE)]


# --- Party members ------------------------------------------------------------------------------
MEMBER_HEADER = ["户编号", "姓名", "支部编码", "入党日期", "手机号"]


@pytest.fixture
def party_world(places):
    p, q = places
    homes = [household(f"T{i:03d}", p, i) for i in range(1, 4)] + [household("T100", q, 9)]
    branches = [branch("PB01", p), branch("PB02", q)]
    return {"households": homes, "branches": branches}


def test_members_import_reimport_and_update(tmp_path, party_world):
    worker = Worker.objects.create(name="王五", phone="13900000001")
    rows = [
        ["T001", "王五", "PB01", "2010-07-01", "139 0000 0001"],
        ["T001", "赵六", "PB01", "2012年7月1日", ""],
        ["T002", "王五", "PB01", "", ""],
    ]
    path = write_csv(tmp_path / "m.csv", MEMBER_HEADER, rows)
    result = run_import("party_members", path, commit=True)
    assert counts(result) == (3, 0, 0, 0), result.refusals
    assert result.normalised_columns == {"phone": 1}
    member = PartyMember.objects.get(household__code="T001", name="王五")
    assert member.worker == worker and str(member.joined_on) == "2010-07-01"
    worker.refresh_from_db()
    assert worker.is_party_member
    assert counts(run_import("party_members", path, commit=True)) == (0, 0, 3, 0)
    rows[1][3] = "2013-07-01"
    result = run_import(
        "party_members", write_csv(tmp_path / "m2.csv", MEMBER_HEADER, rows), commit=True
    )
    assert counts(result) == (0, 1, 2, 0)
    assert str(PartyMember.objects.get(household__code="T001", name="赵六").joined_on) == (
        "2013-07-01"
    )
    assert PartyMember.objects.filter(household__code__in=["T001", "T002"]).count() == 3


def test_members_from_a_workbook_with_a_title_row_date_cells_and_number_phones(
    tmp_path, party_world
):
    worker = Worker.objects.create(name="王五", phone="13900000001")
    book = Workbook()
    sheet = book.active
    sheet.title = "党员"
    sheet.append(["某村党员名册"])
    sheet.append(MEMBER_HEADER)
    sheet.append(["T001", "王五", "PB01", dt.date(2010, 7, 1), 13900000001])
    sheet.append(["T002", "赵六", "PB01", dt.datetime(2012, 7, 1), None])
    book.save(tmp_path / "m.xlsx")
    result = run_import("party_members", tmp_path / "m.xlsx", commit=True)
    assert (result.sheet, result.header_row, result.new) == ("党员", 2, 2), result.refusals
    member = PartyMember.objects.get(household__code="T001", name="王五")
    assert member.worker == worker and member.joined_on == dt.date(2010, 7, 1)


def test_an_empty_or_masked_phone_keeps_the_worker(tmp_path, party_world):
    worker = Worker.objects.create(name="王五", phone="13900000001")
    rows = [["T001", "王五", "PB01", "2010-07-01", "13900000001"]]
    run_import("party_members", write_csv(tmp_path / "a.csv", MEMBER_HEADER, rows), commit=True)
    for phone in ("", "139****0001"):
        rows[0][4] = phone
        path = write_csv(tmp_path / "b.csv", MEMBER_HEADER, rows)
        assert counts(run_import("party_members", path, commit=True)) == (0, 0, 1, 0)
        assert PartyMember.objects.get(household__code="T001").worker == worker
    # A masked phone cannot make a new member's link.
    path = write_csv(
        tmp_path / "c.csv", MEMBER_HEADER, [["T002", "李四", "PB01", "", "139****0001"]]
    )
    result = run_import("party_members", path)
    assert reasons(result) == [(2, "手机号", party.MSG_MASKED_NEW)]


def test_member_refusals(tmp_path, party_world):
    Worker.objects.create(name="甲", phone="13900000002")
    Worker.objects.create(name="乙", phone="13900000002")
    taken = Worker.objects.create(name="丙", phone="13900000003")
    Worker.objects.create(name="丁", phone="13900000004")
    PartyMember.objects.create(
        name="丙",
        branch=party_world["branches"][0],
        household=party_world["households"][2],
        worker=taken,
    )
    rows = [
        ["T999", "王五", "PB01", "", ""],
        ["T001", "王五", "PB99", "", ""],
        ["T001", "赵六", "PB01", "", "13900000009"],
        ["T001", "钱七", "PB01", "", "13900000002"],
        ["T001", "孙八", "PB01", "", "13900000003"],
        ["T002", "周九", "PB01", "昨天", ""],
        ["T002", "吴十", "PB01", "", ""],
        ["T002", "吴十", "PB01", "", ""],
        ["T001", "郑一", "PB01", "", "13900000004"],
        ["T002", "郑二", "PB01", "", "13900000004"],
    ]
    result = run_import("party_members", write_csv(tmp_path / "m.csv", MEMBER_HEADER, rows))
    assert sorted(reasons(result)) == [
        (2, "户编号", MSG_UNKNOWN_HOUSEHOLD),
        (3, "支部编码", party.MSG_UNKNOWN_BRANCH),
        (4, "手机号", MSG_NO_WORKER),
        (5, "手机号", MSG_PHONE_SHARED),
        (6, "手机号", party.MSG_WORKER_TAKEN),
        (7, "入党日期", normalise.MSG_DATE_INVALID),
        (8, "姓名", party.MSG_DUPLICATE_MEMBER),
        (9, "姓名", party.MSG_DUPLICATE_MEMBER),
        (10, "手机号", party.MSG_DUPLICATE_MEMBER_PHONE),
        (11, "手机号", party.MSG_DUPLICATE_MEMBER_PHONE),
    ]
    taken_reason = next(r for r in result.refusals if r.row == 6)
    assert taken_reason.reason["params"] == {"name": "丙", "household": "T003"}


def test_member_jurisdiction(tmp_path, party_world, places):
    p = places[0]
    rows = [["T001", "王五", "PB01", "", ""], ["T100", "赵六", "PB02", "", ""]]
    path = write_csv(tmp_path / "m.csv", MEMBER_HEADER, rows)
    result = run_import("party_members", path, prefixes=[p["grid"]])
    assert (result.new, reasons(result)) == (1, [(3, "户编号", MSG_OUTSIDE_JURISDICTION)])


# --- Central households -------------------------------------------------------------------------
CENTRAL_HEADER = ["户编号", "党员姓名", "党员户编号", "认定日期"]


@pytest.fixture
def members(party_world):
    pb = party_world["branches"][0]
    homes = {h.code: h for h in party_world["households"]}
    return {
        "王五": PartyMember.objects.create(name="王五", branch=pb, household=homes["T001"]),
        "赵六": PartyMember.objects.create(name="赵六", branch=pb, household=homes["T002"]),
    }


def test_central_households_import_reimport_and_update(tmp_path, members):
    rows = [["T001", "王五", "", "2023-03-01"], ["T003", "赵六", "T002", "2023-03-02"]]
    path = write_csv(tmp_path / "c.csv", CENTRAL_HEADER, rows)
    workers = Worker.objects.count()
    assert counts(run_import("central_households", path, commit=True)) == (2, 0, 0, 0)
    central = CentralHousehold.objects.get(household__code="T003")
    assert central.party_member == members["赵六"]
    # Each member got a worker: routing reaches a central household through it.
    assert Worker.objects.count() == workers + 2
    worker = PartyMember.objects.get(pk=members["王五"].pk).worker
    assert worker.name == "王五" and worker.is_party_member
    assert worker.phone == "13800000000" and worker.phone_hash == keyed_hash("13800000000")
    assert counts(run_import("central_households", path, commit=True)) == (0, 0, 2, 0)
    assert Worker.objects.count() == workers + 2
    rows[1][3] = "2024-01-01"
    path = write_csv(tmp_path / "c2.csv", CENTRAL_HEADER, rows)
    assert counts(run_import("central_households", path, commit=True)) == (0, 1, 1, 0)
    assert str(CentralHousehold.objects.get(household__code="T003").designated_on) == "2024-01-01"
    assert str(CentralHousehold.objects.get(household__code="T001").designated_on) == "2023-03-01"
    # Another member takes over a central household: they get a worker too.
    rows[0][1:3] = ["李四", "T002"]
    PartyMember.objects.create(
        name="李四", branch=members["王五"].branch, household=Household.objects.get(code="T002")
    )
    path = write_csv(tmp_path / "c3.csv", CENTRAL_HEADER, rows)
    assert counts(run_import("central_households", path, commit=True)) == (0, 1, 1, 0)
    central = CentralHousehold.objects.get(household__code="T001")
    assert central.party_member.name == "李四" and central.party_member.worker.name == "李四"
    assert Worker.objects.count() == workers + 3


def test_central_household_refusals(tmp_path, members):
    rows = [
        ["T999", "王五", "", "2023-03-01"],
        ["T001", "王五", "T998", "2023-03-01"],
        ["T002", "王五", "", "2023-03-01"],
        ["T003", "赵六", "T002", ""],
        ["T100", "王五", "T001", "2023-03-01"],
        ["T100", "王五", "T001", "2023-03-01"],
    ]
    result = run_import("central_households", write_csv(tmp_path / "c.csv", CENTRAL_HEADER, rows))
    assert sorted(reasons(result)) == [
        (2, "户编号", MSG_UNKNOWN_HOUSEHOLD),
        (3, "党员户编号", MSG_UNKNOWN_HOUSEHOLD),
        (4, "党员姓名", party.MSG_UNKNOWN_MEMBER),
        (5, "认定日期", normalise.MSG_REQUIRED),
        (6, "户编号", party.MSG_DUPLICATE_CENTRAL),
        (7, "户编号", party.MSG_DUPLICATE_CENTRAL),
    ]


def test_central_household_jurisdiction(tmp_path, members, places):
    rows = [["T001", "王五", "", "2023-03-01"], ["T100", "王五", "T001", "2023-03-01"]]
    path = write_csv(tmp_path / "c.csv", CENTRAL_HEADER, rows)
    result = run_import("central_households", path, prefixes=[places[0]["grid"]])
    assert (result.new, reasons(result)) == (1, [(3, "户编号", MSG_OUTSIDE_JURISDICTION)])


def test_central_household_workers_gives_one_worker_per_member(members):
    """The service the demo and the import share: a member without a worker gets one, once."""
    for code in ("T001", "T003"):
        CentralHousehold.objects.create(
            household=Household.objects.get(code=code),
            party_member=members["王五"],
            designated_on="2023-03-01",
        )
    ids = list(Household.objects.filter(code__in=["T001", "T003"]).values_list("id", flat=True))
    assert central_household_workers(household_ids=ids) == 1
    assert central_household_workers(household_ids=ids) == 0
    assert PartyMember.objects.get(pk=members["王五"].pk).worker.name == "王五"


# --- Service centres ----------------------------------------------------------------------------
CENTRE_HEADER = ["编码", "名称", "村编码", "经度", "纬度"]


def test_centres_import_reimport_and_move(tmp_path, places):
    p, q = places
    rows = [
        ["SCT1", "一村中心", "", p["lon"], p["lat"]],
        ["SCT2", "二村中心", q["village"], q["lon"], q["lat"]],
    ]
    path = write_csv(tmp_path / "s.csv", CENTRE_HEADER, rows)
    result = run_import("service_centres", path, commit=True)
    assert counts(result) == (2, 0, 0, 0), result.refusals
    assert len(result.points) == 2
    assert ServiceCentre.objects.get(code="SCT1").village_id == p["village_id"]
    assert counts(run_import("service_centres", path, commit=True)) == (0, 0, 2, 0)
    # Moved into the other village: its village is derived again.
    rows[0][3:] = [q["lon"], q["lat"]]
    path = write_csv(tmp_path / "s2.csv", CENTRE_HEADER, rows)
    assert counts(run_import("service_centres", path, commit=True)) == (0, 1, 1, 0)
    centre = ServiceCentre.objects.get(code="SCT1")
    assert centre.village_id == q["village_id"] and abs(centre.location.x - q["lon"]) < 1e-9


def test_a_stored_centre_keeps_its_position_without_coordinates(tmp_path, places):
    p = places[0]
    ServiceCentre.objects.create(
        code="SCT1",
        name="旧名",
        location=Point(p["lon"], p["lat"], srid=4326),
        village_id=p["village_id"],
    )
    path = write_csv(tmp_path / "s.csv", ["code", "name"], [["SCT1", "新名"]])
    assert counts(run_import("service_centres", path, commit=True)) == (0, 1, 0, 0)
    centre = ServiceCentre.objects.get(code="SCT1")
    assert centre.name == "新名" and centre.village_id == p["village_id"]
    assert abs(centre.location.y - p["lat"]) < 1e-9


def test_centre_refusals(tmp_path, places):
    p = places[0]
    rows = [
        ["SCT1", "中心", "", "", ""],
        ["SCT2", "中心", "", 2.35, 48.85],
        ["SCT3", "中心", "999999999999", p["lon"], p["lat"]],
        ["SCT4", "中心", "", p["lon"], p["lat"]],
        ["SCT4", "中心", "", p["lon"], p["lat"]],
    ]
    result = run_import("service_centres", write_csv(tmp_path / "s.csv", CENTRE_HEADER, rows))
    assert reasons(result) == [
        (2, "经度", centres.MSG_CENTRE_NO_LOCATION),
        (3, "经度", MSG_OUTSIDE_DISTRICTS),
        (4, "村编码", MSG_UNKNOWN_VILLAGE),
        (5, "编码", centres.MSG_DUPLICATE_CENTRE),
        (6, "编码", centres.MSG_DUPLICATE_CENTRE),
    ]


def test_centre_jurisdiction(tmp_path, places):
    p, q = places
    rows = [["SCT1", "中心", "", p["lon"], p["lat"]], ["SCT2", "中心", "", q["lon"], q["lat"]]]
    path = write_csv(tmp_path / "s.csv", CENTRE_HEADER, rows)
    result = run_import("service_centres", path, prefixes=[p["village"]])
    assert (result.new, reasons(result)) == (1, [(3, "村编码", MSG_OUTSIDE_JURISDICTION)])
    # A centre of another area is not taken over by moving it here.
    ServiceCentre.objects.create(
        code="SCT9",
        name="二村中心",
        location=Point(q["lon"], q["lat"], srid=4326),
        village_id=q["village_id"],
    )
    path = write_csv(tmp_path / "s2.csv", CENTRE_HEADER, [["SCT9", "中心", "", p["lon"], p["lat"]]])
    result = run_import("service_centres", path, prefixes=[p["village"]])
    assert reasons(result) == [(2, "编码", MSG_RECORD_ELSEWHERE)]
    assert result.refusals[0].reason["params"] == {"value": "SCT9", "place": q["village"]}


def test_centres_from_a_geopackage_in_gcj02_take_their_points(tmp_path, places):
    p = places[0]
    shifted = prcoords.wgs_gcj(prcoords.Coords(p["lat"], p["lon"]))
    frame = gpd.GeoDataFrame(
        [{"code": "SCG1", "name": "一村中心"}],
        geometry=[shapely.Point(shifted.lon, shifted.lat)],
        crs="EPSG:4326",
    )
    path = tmp_path / "s.gpkg"
    frame.to_file(path, engine="pyogrio")
    result = run_import("service_centres", path, crs="gcj02", commit=True)
    assert counts(result) == (1, 0, 0, 0), result.refusals
    centre = ServiceCentre.objects.get(code="SCG1")
    assert centre.village_id == p["village_id"]
    with connection.cursor() as cur:
        cur.execute(
            """SELECT ST_Distance(location::geography,
                                  ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)
                 FROM grids_servicecentre WHERE code = 'SCG1'""",
            [p["lon"], p["lat"]],
        )
        assert cur.fetchone()[0] < 10


# --- Ten-household units ------------------------------------------------------------------------
UNIT_HEADER = ["联户长户编号", "联户名称", "中心户户编号", "成员户编号"]


@pytest.fixture
def unit_world(places):
    p, q = places
    homes = {f"U{i:02d}": household(f"U{i:02d}", p, i) for i in range(1, 13)}
    homes["U99"] = household("U99", q, 99)
    homes["V01"] = household("V01", q, 98)
    pb = branch("PB01", p)
    member = PartyMember.objects.create(name="王五", branch=pb, household=homes["U12"])
    central = CentralHousehold.objects.create(
        household=homes["U12"], party_member=member, designated_on="2023-03-01"
    )
    return {"households": homes, "central": central}


def unit_members(head: str) -> list[str]:
    unit = TenHouseholdUnit.objects.get(head_household__code=head)
    return sorted(unit.members.values_list("code", flat=True))


def test_units_import_reimport_and_change_members(tmp_path, unit_world, places):
    rows = [
        ["U01", "第1联户", "U12", "U02、U03，U04 U05"],
        ["U06", "第2联户", "", "U07,U08"],
    ]
    path = write_csv(tmp_path / "u.csv", UNIT_HEADER, rows)
    result = run_import("ten_household_units", path, commit=True)
    assert counts(result) == (2, 0, 0, 0), result.refusals
    assert sorted(p[2] for p in result.points) == ["new", "new"]
    unit = TenHouseholdUnit.objects.get(head_household__code="U01")
    assert unit_members("U01") == ["U01", "U02", "U03", "U04", "U05"]
    assert unit.central_household == unit_world["central"]
    assert unit.grid_id == places[0]["grid_id"] and unit.geom is not None
    assert unit.warnings == [{"msgid": WARN_UNIT_SIZE, "params": {"count": 5}}]
    assert counts(run_import("ten_household_units", path, commit=True)) == (0, 0, 2, 0)
    # U05 leaves the first unit, U09 joins it; the second unit is unchanged.
    rows[0][3] = "U02、U03、U04、U09"
    path = write_csv(tmp_path / "u2.csv", UNIT_HEADER, rows)
    assert counts(run_import("ten_household_units", path, commit=True)) == (0, 1, 1, 0)
    assert unit_members("U01") == ["U01", "U02", "U03", "U04", "U09"]
    assert Household.objects.get(code="U05").ten_household_unit is None
    assert unit_members("U06") == ["U06", "U07", "U08"]
    # An empty member cell (or no member column) keeps the members.
    rows[0][3] = ""
    path = write_csv(tmp_path / "u3.csv", UNIT_HEADER, rows)
    assert counts(run_import("ten_household_units", path, commit=True)) == (0, 0, 2, 0)
    path = write_csv(tmp_path / "u4.csv", UNIT_HEADER[:2], [r[:2] for r in rows])
    assert counts(run_import("ten_household_units", path, commit=True)) == (0, 0, 2, 0)
    assert unit_members("U01") == ["U01", "U02", "U03", "U04", "U09"]
    # A kept member is still a member: another row may not take it.
    rows[1][3] = "U07、U08、U02"
    path = write_csv(tmp_path / "u5.csv", UNIT_HEADER, rows)
    result = run_import("ten_household_units", path)
    assert [r[2] for r in reasons(result)] == [units.MSG_MEMBER_IN_TWO_ROWS] * 2


def test_a_household_moves_between_two_units_of_the_same_file(tmp_path, unit_world):
    rows = [["U01", "第1联户", "", "U02、U03"], ["U06", "第2联户", "", "U07"]]
    run_import("ten_household_units", write_csv(tmp_path / "a.csv", UNIT_HEADER, rows), commit=True)
    rows = [["U01", "第1联户", "", "U02"], ["U06", "第2联户", "", "U07、U03"]]
    result = run_import(
        "ten_household_units", write_csv(tmp_path / "b.csv", UNIT_HEADER, rows), commit=True
    )
    assert counts(result) == (0, 2, 0, 0), result.refusals
    assert unit_members("U01") == ["U01", "U02"]
    assert unit_members("U06") == ["U03", "U06", "U07"]
    # Nor when the first unit's row is refused.
    rows = [["U01", "第1联户", "U99", "U03"], ["U06", "第2联户", "", "U07、U02"]]
    result = run_import("ten_household_units", write_csv(tmp_path / "d.csv", UNIT_HEADER, rows))
    assert reasons(result) == [
        (2, "中心户户编号", units.MSG_NOT_CENTRAL),
        (3, "成员户编号", units.MSG_MEMBER_IN_REFUSED_UNIT),
    ]
    assert result.refusals[1].reason["params"] == {"code": "U02", "unit": "第1联户", "row": 2}
    # Alone, the same move is refused: the first unit is not in the file.
    rows = [["U06", "第2联户", "", "U07、U02"]]
    result = run_import("ten_household_units", write_csv(tmp_path / "c.csv", UNIT_HEADER, rows))
    assert reasons(result) == [(2, "成员户编号", units.MSG_MEMBER_IN_OTHER_UNIT)]
    assert result.refusals[0].reason["params"] == {"code": "U02", "unit": "第1联户", "head": "U01"}


def test_unit_refusals(tmp_path, unit_world):
    run_import(
        "ten_household_units",
        write_csv(tmp_path / "a.csv", UNIT_HEADER, [["U11", "已有联户", "", "U09"]]),
        commit=True,
    )
    # A unit whose head is (wrongly) not its member: the head still cannot join another.
    TenHouseholdUnit.objects.create(name="空联户", head_household=unit_world["households"]["U10"])
    rows = [
        ["U98", "联户", "", ""],
        ["U01", "联户", "U02", ""],
        ["U03", "联户", "", "X1、X2"],
        ["U04", "联户", "", "U06"],
        ["U05", "联户", "", "U06"],
        ["U07", "联户", "", "U09"],
        ["U08", "联户", "", "U10"],
        ["U02", "", "", ""],
    ]
    result = run_import("ten_household_units", write_csv(tmp_path / "u.csv", UNIT_HEADER, rows))
    assert reasons(result) == [
        (2, "联户长户编号", MSG_UNKNOWN_HOUSEHOLD),
        (3, "中心户户编号", units.MSG_NOT_CENTRAL),
        (4, "成员户编号", units.MSG_UNKNOWN_MEMBERS),
        (5, "成员户编号", units.MSG_MEMBER_IN_TWO_ROWS),
        (6, "成员户编号", units.MSG_MEMBER_IN_TWO_ROWS),
        (7, "成员户编号", units.MSG_MEMBER_IN_OTHER_UNIT),
        (8, "成员户编号", units.MSG_MEMBER_HEADS_OTHER_UNIT),
        (9, "联户名称", normalise.MSG_REQUIRED),
    ]
    assert result.refusals[2].reason["params"] == {"codes": "X1、X2"}
    assert result.refusals[3].reason["params"] == {"code": "U06", "rows": "5, 6"}


def test_a_head_household_twice_refuses_both_rows(tmp_path, unit_world):
    rows = [["U01", "联户", "", "U02"], ["U01", "联户", "", "U03"]]
    result = run_import("ten_household_units", write_csv(tmp_path / "u.csv", UNIT_HEADER, rows))
    assert reasons(result) == [
        (2, "联户长户编号", units.MSG_DUPLICATE_UNIT),
        (2, "成员户编号", units.MSG_MEMBER_IN_TWO_ROWS),
        (3, "联户长户编号", units.MSG_DUPLICATE_UNIT),
        (3, "成员户编号", units.MSG_MEMBER_IN_TWO_ROWS),
    ]


def test_a_unit_across_two_grids_is_saved_with_a_warning(tmp_path, unit_world, places):
    path = write_csv(tmp_path / "u.csv", UNIT_HEADER, [["U01", "联户", "", "U02、U99"]])
    assert run_import("ten_household_units", path, commit=True).new == 1
    warnings = TenHouseholdUnit.objects.get(head_household__code="U01").warnings
    assert [w["msgid"] for w in warnings] == [WARN_UNIT_SIZE, WARN_UNIT_GRIDS]
    assert warnings[1]["params"]["codes"] == ", ".join(sorted(p["grid"] for p in places))


def test_unit_jurisdiction(tmp_path, unit_world, places):
    p = places[0]
    rows = [["U01", "联户", "", "U02、U99"], ["V01", "联户", "", ""], ["U03", "联户", "", "U04"]]
    path = write_csv(tmp_path / "u.csv", UNIT_HEADER, rows)
    result = run_import("ten_household_units", path, prefixes=[p["grid"]])
    assert result.new == 1
    assert reasons(result) == [
        (2, "成员户编号", units.MSG_MEMBERS_OUTSIDE),
        (3, "联户长户编号", MSG_OUTSIDE_JURISDICTION),
    ]


def test_blue_incidents_reach_the_imported_central_household(tmp_path, unit_world):
    """Central household and unit imported: a blue incident in the unit goes to the central
    household's member, through the worker the import gave them (incidents' routing)."""
    path = write_csv(tmp_path / "c.csv", CENTRAL_HEADER, [["U12", "王五", "", "2023-03-01"]])
    assert run_import("central_households", path, commit=True).unchanged == 1
    member = PartyMember.objects.get(name="王五", household__code="U12")
    assert member.worker is None  # the fixture's central household had no worker
    # Re-designated (another date): the member gets the worker routing needs.
    path = write_csv(tmp_path / "c2.csv", CENTRAL_HEADER, [["U12", "王五", "", "2024-03-01"]])
    assert run_import("central_households", path, commit=True).updated == 1
    member.refresh_from_db()
    assert member.worker is not None
    path = write_csv(tmp_path / "u.csv", UNIT_HEADER, [["U01", "联户", "U12", "U02、U03"]])
    assert run_import("ten_household_units", path, commit=True).new == 1
    point = Household.objects.get(code="U01").location
    # The demo's units around lose their area, so that the imported one is the nearest.
    TenHouseholdUnit.objects.exclude(head_household__code="U01").filter(
        geom__dwithin=(point, 0.01)
    ).update(geom=None)
    result = route(
        point=point, at=now(), category=Category.objects.get(code="dispute"), severity="blue"
    )
    central = [r for r in result.recipients if r.responder == "central_household"]
    assert [r.worker_id for r in central] == [member.worker_id]


# --- The demo's own records -----------------------------------------------------------------------
DEMO_FILES = {
    "party_branches": (
        ["code", "name", "village_code"],
        """SELECT b.code, b.name, v.code FROM households_partybranch b
             JOIN grids_village v ON v.id = b.village_id ORDER BY b.id""",
    ),
    "central_households": (
        ["household_code", "member_name", "member_household_code", "designated_on"],
        """SELECT h.code, pm.name, CASE WHEN mh.id = h.id THEN '' ELSE mh.code END,
                  c.designated_on::text
             FROM households_centralhousehold c
             JOIN households_household h ON h.id = c.household_id
             JOIN households_partymember pm ON pm.id = c.party_member_id
             JOIN households_household mh ON mh.id = pm.household_id ORDER BY c.id""",
    ),
    "service_centres": (
        ["code", "name", "village_code", "lon", "lat"],
        """SELECT c.code, c.name, coalesce(v.code, ''), ST_X(c.location), ST_Y(c.location)
             FROM grids_servicecentre c LEFT JOIN grids_village v ON v.id = c.village_id
            ORDER BY c.id""",
    ),
    "ten_household_units": (
        ["head_household_code", "name", "central_household_code", "member_codes"],
        """SELECT hh.code, u.name, coalesce(ch.code, ''),
                  (SELECT string_agg(m.code, '、' ORDER BY m.code) FROM households_household m
                    WHERE m.ten_household_unit_id = u.id)
             FROM households_tenhouseholdunit u
             JOIN households_household hh ON hh.id = u.head_household_id
             LEFT JOIN households_centralhousehold c ON c.id = u.central_household_id
             LEFT JOIN households_household ch ON ch.id = c.household_id ORDER BY u.id""",
    ),
}
# What each kind's records are, by their keys (ids only where the import keeps them).
DEMO_SNAPSHOTS = [
    """SELECT b.code, b.name, v.code FROM households_partybranch b
         JOIN grids_village v ON v.id = b.village_id ORDER BY 1""",
    """SELECT h.code, m.name, b.code, m.joined_on, m.worker_id FROM households_partymember m
         JOIN households_household h ON h.id = m.household_id
         JOIN households_partybranch b ON b.id = m.branch_id ORDER BY 1, 2""",
    """SELECT h.code, mh.code, pm.name, c.designated_on FROM households_centralhousehold c
         JOIN households_household h ON h.id = c.household_id
         JOIN households_partymember pm ON pm.id = c.party_member_id
         JOIN households_household mh ON mh.id = pm.household_id ORDER BY 1""",
    """SELECT c.code, c.name, v.code, round(ST_X(c.location)::numeric, 9),
              round(ST_Y(c.location)::numeric, 9)
         FROM grids_servicecentre c LEFT JOIN grids_village v ON v.id = c.village_id ORDER BY 1""",
    """SELECT hh.code, u.name, ch.code, u.grid_id, round(ST_Area(u.geom)::numeric, 12),
              (SELECT string_agg(m.code, ',' ORDER BY m.code) FROM households_household m
                WHERE m.ten_household_unit_id = u.id)
         FROM households_tenhouseholdunit u
         JOIN households_household hh ON hh.id = u.head_household_id
         LEFT JOIN households_centralhousehold c ON c.id = u.central_household_id
         LEFT JOIN households_household ch ON ch.id = c.household_id ORDER BY 1""",
    "SELECT count(*) FROM grids_worker",
]


def fetch(sql: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def demo_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        kind: write_csv(tmp_path / f"{kind}.csv", header, fetch(sql))
        for kind, (header, sql) in DEMO_FILES.items()
    }
    members = PartyMember.objects.select_related("household", "branch", "worker").order_by("id")
    files["party_members"] = write_csv(
        tmp_path / "party_members.csv",
        ["household_code", "name", "branch_code", "joined_on", "phone"],
        [
            [
                m.household.code,
                m.name,
                m.branch.code,
                m.joined_on or "",
                m.worker.phone if m.worker else "",
            ]
            for m in members
        ],
    )
    return files


ORDER = [
    "party_branches",
    "party_members",
    "central_households",
    "service_centres",
    "ten_household_units",
]


def test_the_demos_records_reimport_unchanged_and_from_nothing_equal(tmp_path, demo):
    """The demo's own party records, centres and units, written as files: re-imported they
    change nothing; imported after deleting them they come back the same (worker links,
    unit grids and areas included), with no new worker."""
    files = demo_files(tmp_path)
    before = [fetch(sql) for sql in DEMO_SNAPSHOTS]
    for kind in ORDER:
        result = run_import(kind, files[kind], commit=True)
        assert (result.new, result.updated, result.refused) == (0, 0, 0), (kind, result.refusals)
        assert result.unchanged == result.rows > 0
    with connection.cursor() as cur:
        cur.execute("UPDATE households_household SET ten_household_unit_id = NULL")
        for table in (
            "households_tenhouseholdunit",
            "households_centralhousehold",
            "households_partymember",
            "households_partybranch",
            "grids_servicecentre",
        ):
            cur.execute(f"DELETE FROM {table}")
    for kind in ORDER:
        result = run_import(kind, files[kind], commit=True)
        assert result.new == result.rows and result.refused == 0, (kind, result.refusals)
    assert [fetch(sql) for sql in DEMO_SNAPSHOTS] == before
