"""Importing workers, roles, stations, catchments and buildings (imports.handlers.people and
.places) on the small demo county: new rows, re-import unchanged, changed rows, each refusal,
the handover of a grid to a new leader (and routing using the new leader), dated catchments."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from gridmap.crypto import keyed_hash
from grids.models import (
    Building,
    CatchmentAssignment,
    Grid,
    Role,
    RoleAssignment,
    Station,
    Town,
    Village,
    Worker,
)
from households.routing import route_unit
from imports.handlers import people, places
from imports.handlers.common import MSG_OUTSIDE_DISTRICTS, MSG_OUTSIDE_JURISDICTION
from imports.pipeline import run_import

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 6)


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def msgids(result) -> list[str]:
    return [r.reason["msgid"] for r in result.refusals]


# --- Workers ------------------------------------------------------------------------------
WORKER_HEADER = ["姓名", "手机号", "身份证号", "邮箱", "是否党员"]


def test_workers_are_found_by_phone_and_updated(tmp_path, demo):
    rows = [
        ["李一", "13700000001", "", "li1@example.cn", "是"],
        ["李二", "+86 137 0000 0002", "", "", "否"],
    ]
    path = write_csv(tmp_path / "w.csv", WORKER_HEADER, rows)
    result = run_import("workers", path, commit=True)
    assert (result.new, result.normalised) == (2, 1), result.refusals
    one = Worker.objects.get(phone_hash=keyed_hash("13700000001"))
    assert (one.name, one.is_party_member, one.email) == ("李一", True, "li1@example.cn")
    assert run_import("workers", path).unchanged == 2
    rows[0][0] = "李壹"
    result = run_import("workers", write_csv(tmp_path / "w2.csv", WORKER_HEADER, rows), commit=True)
    assert (result.new, result.updated, result.unchanged) == (0, 1, 1)
    one.refresh_from_db()
    assert one.name == "李壹"
    assert Worker.objects.filter(phone_hash=keyed_hash("13700000001")).count() == 1


@pytest.mark.parametrize(
    ("phone", "email", "msgid"),
    [
        ("0777-2822222", "", people.MSG_NOT_MOBILE),
        ("137****0001", "", people.MSG_PHONE_MASKED_KEY),
        ("13700000009", "not-an-address", people.MSG_EMAIL_INVALID),
    ],
)
def test_worker_refusals(tmp_path, demo, phone, email, msgid):
    path = write_csv(tmp_path / "w.csv", WORKER_HEADER, [["王", phone, "", email, ""]])
    assert msgids(run_import("workers", path)) == [msgid]


def test_a_worker_twice_in_the_file_is_refused(tmp_path, demo):
    rows = [["甲", "13700000001", "", "", ""], ["乙", "137 0000 0001", "", "", ""]]
    result = run_import("workers", write_csv(tmp_path / "w.csv", WORKER_HEADER, rows))
    assert msgids(result) == [people.MSG_DUPLICATE_WORKER] * 2


# --- Roles --------------------------------------------------------------------------------
ROLE_HEADER = ["手机号", "姓名", "角色", "地点编码", "起始日期", "结束日期"]


@pytest.fixture
def grid_with_leader(demo):
    """A demo grid with its current leader, and a point inside it."""
    leader = (
        RoleAssignment.objects.active()
        .filter(role=Role.GRID_LEADER, grid__generation_high__isnull=True)
        .select_related("grid", "worker")
        .order_by("grid__code")
        .first()
    )
    return leader.grid, leader, leader.grid.geom.point_on_surface


def add_worker(name: str, phone: str) -> Worker:
    return Worker.objects.create(name=name, phone=phone)


def test_a_role_file_handing_a_grid_to_a_new_leader_ends_the_old_term_the_day_before(
    tmp_path, grid_with_leader
):
    grid, old, point = grid_with_leader
    new = add_worker("新网格长", "13700000011")
    start = timezone.localdate() - dt.timedelta(days=1)
    path = write_csv(
        tmp_path / "r.csv",
        ROLE_HEADER,
        [["13700000011", "新网格长", "网格长", grid.code, start, ""]],
    )
    result = run_import("roles", path, commit=True)
    assert result.new == 1, result.refusals
    old.refresh_from_db()
    assert old.period.upper == start  # exclusive: the last day is the day before
    assigned = RoleAssignment.objects.get(worker=new, role=Role.GRID_LEADER, grid=grid)
    assert assigned.period.lower == start and assigned.period.upper is None
    routed = route_unit(point=point, at=timezone.now())
    leaders = [p.worker_id for p in routed.recipients if p.role == Role.GRID_LEADER]
    assert leaders == [new.pk]
    # The same file again changes nothing.
    again = run_import("roles", path, commit=True)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)


def test_a_role_overlapping_a_dated_holder_is_refused(tmp_path, grid_with_leader):
    grid, old, _point = grid_with_leader
    start = old.period.lower
    RoleAssignment.objects.filter(pk=old.pk).update(
        period=(start, timezone.localdate() + dt.timedelta(days=30))
    )
    add_worker("新网格长", "13700000011")
    path = write_csv(
        tmp_path / "r.csv",
        ROLE_HEADER,
        [["13700000011", "", "网格长", grid.code, timezone.localdate(), ""]],
    )
    result = run_import("roles", path)
    assert msgids(result) == [people.MSG_ROLE_OVERLAPS_HOLDER]
    assert result.refusals[0].reason["params"]["holder"] == old.worker.name


@pytest.mark.parametrize(
    ("row", "msgid"),
    [
        (["13700000011", "", "村长助理", "CODE", "2026-01-01", ""], people.MSG_UNKNOWN_ROLE),
        (
            ["13700000011", "", "网格长", "999999999999999", "2026-01-01", ""],
            people.MSG_UNKNOWN_GRID,
        ),
        (["13700000011", "", "站长", "450702100S99", "2026-01-01", ""], people.MSG_UNKNOWN_STATION),
        (["13799999999", "", "网格员", "CODE", "2026-01-01", ""], people.MSG_NO_WORKER),
        (
            ["13700000011", "", "网格员", "CODE", "2026-01-05", "2026-01-01"],
            people.MSG_END_BEFORE_START,
        ),
    ],
)
def test_role_refusals(tmp_path, grid_with_leader, row, msgid):
    grid = grid_with_leader[0]
    add_worker("某人", "13700000011")
    row = [grid.code if c == "CODE" else c for c in row]
    assert msgids(run_import("roles", write_csv(tmp_path / "r.csv", ROLE_HEADER, [row]))) == [msgid]


def test_two_rows_giving_one_grid_two_leaders_are_refused(tmp_path, grid_with_leader):
    grid = grid_with_leader[0]
    add_worker("甲", "13700000011")
    add_worker("乙", "13700000012")
    rows = [
        ["13700000011", "", "网格长", grid.code, "2026-11-01", ""],
        ["13700000012", "", "网格长", grid.code, "2026-11-15", ""],
    ]
    result = run_import("roles", write_csv(tmp_path / "r.csv", ROLE_HEADER, rows))
    assert msgids(result) == [people.MSG_ROLE_OVERLAPS_FILE] * 2
    rows[0][5] = "2026-11-14"  # the first gives it up the day before: accepted
    result = run_import("roles", write_csv(tmp_path / "r2.csv", ROLE_HEADER, rows))
    assert result.refused == 0, result.refusals


def test_chinese_role_names_and_synonyms(tmp_path, grid_with_leader):
    grid = grid_with_leader[0]
    add_worker("某人", "13700000011")
    rows = [
        ["13700000011", "", "调解主任", grid.village.code, "2026-11-01", ""],
        ["13700000011", "", "网格员", grid.code, "2026-11-01", ""],
    ]
    result = run_import("roles", write_csv(tmp_path / "r.csv", ROLE_HEADER, rows))
    assert result.refused in (0, 1)  # the village may already have a mediation director
    assert people.MSG_UNKNOWN_ROLE not in msgids(result)


def test_a_role_outside_the_jurisdiction_is_refused(tmp_path, grid_with_leader):
    grid = grid_with_leader[0]
    add_worker("某人", "13700000011")
    path = write_csv(
        tmp_path / "r.csv",
        ROLE_HEADER,
        [["13700000011", "", "网格员", grid.code, "2026-11-01", ""]],
    )
    assert msgids(run_import("roles", path, prefixes=["999"])) == [MSG_OUTSIDE_JURISDICTION]
    assert run_import("roles", path, prefixes=[grid.code[:6]]).new == 1


# --- Stations and catchments ---------------------------------------------------------------
STATION_HEADER = ["工作站编码", "名称", "乡镇编码", "地址", "经度", "纬度"]


def test_stations_new_unchanged_updated_and_refused(tmp_path, demo):
    town = Town.objects.current().order_by("code").first()
    p = town.geom.point_on_surface
    rows = [[town.code + "S90", "新建工作站", town.code, "某路1号", p.x, p.y]]
    path = write_csv(tmp_path / "s.csv", STATION_HEADER, rows)
    assert run_import("stations", path, commit=True).new == 1
    assert run_import("stations", path).unchanged == 1
    rows[0][1] = "改名工作站"
    result = run_import(
        "stations", write_csv(tmp_path / "s2.csv", STATION_HEADER, rows), commit=True
    )
    assert result.updated == 1
    assert Station.objects.get(code=town.code + "S90").name == "改名工作站"
    bad = [
        ["XS91", "无镇", "999999999", "", p.x, p.y],
        ["XS92", "无位置", town.code, "", "", ""],
    ]
    result = run_import("stations", write_csv(tmp_path / "s3.csv", STATION_HEADER, bad))
    assert msgids(result) == [places.MSG_UNKNOWN_TOWN_CODE, places.MSG_STATION_NO_LOCATION]


CATCHMENT_HEADER = ["村编码", "工作站编码", "起始日期"]


def test_a_catchment_row_moves_a_village_and_keeps_its_history(tmp_path, demo):
    current = CatchmentAssignment.objects.active().select_related("village", "station").first()
    village = current.village
    other = (
        Station.objects.filter(retired_on__isnull=True, town=current.station.town)
        .exclude(pk=current.station_id)
        .first()
        or Station.objects.filter(retired_on__isnull=True).exclude(pk=current.station_id).first()
    )
    start = timezone.localdate()
    path = write_csv(
        tmp_path / "c.csv", CATCHMENT_HEADER, [[village.code, other.code, start.isoformat()]]
    )
    result = run_import("catchments", path, commit=True)
    assert result.new == 1, result.refusals
    current.refresh_from_db()
    assert current.period.upper == start
    now = CatchmentAssignment.objects.active().get(village=village)
    assert now.station == other
    assert run_import("catchments", path).unchanged == 1
    # Back-dating before the new assignment is refused.
    earlier = write_csv(
        tmp_path / "c2.csv",
        CATCHMENT_HEADER,
        [[village.code, current.station.code, (start - dt.timedelta(days=3)).isoformat()]],
    )
    assert msgids(run_import("catchments", earlier)) == [places.MSG_LATER_CATCHMENT]


def test_catchment_refusals(tmp_path, demo):
    station = Station.objects.filter(retired_on__isnull=True).first()
    village = Village.objects.current().first()
    rows = [["999999999999", station.code, ""], [village.code, "NOPE", ""]]
    result = run_import("catchments", write_csv(tmp_path / "c.csv", CATCHMENT_HEADER, rows))
    assert msgids(result) == [places.MSG_UNKNOWN_VILLAGE_CODE, places.MSG_UNKNOWN_STATION_CODE]


# --- Buildings ----------------------------------------------------------------------------
BUILDING_HEADER = ["建筑编号", "名称", "地址", "经度", "纬度", "层数", "轮廓"]


def test_buildings_by_point_and_by_footprint(tmp_path, demo):
    grid = Grid.objects.current().order_by("code").first()
    p = grid.geom.point_on_surface
    square = (
        f"POLYGON (({p.x} {p.y}, {p.x + 0.0001} {p.y}, {p.x + 0.0001} {p.y + 0.0001}, "
        f"{p.x} {p.y + 0.0001}, {p.x} {p.y}))"
    )
    rows = [
        ["BX1", "", "某村1号", p.x, p.y, 3, ""],
        ["BX2", "二号楼", "", "", "", "", square],
    ]
    path = write_csv(tmp_path / "b.csv", BUILDING_HEADER, rows)
    result = run_import("buildings", path, commit=True)
    assert result.new == 2, result.refusals
    one, two = Building.objects.get(code="BX1"), Building.objects.get(code="BX2")
    assert one.name == "某村1号" and one.floors == 3 and one.grid_id == grid.pk
    assert one.footprint.contains(Point(p.x, p.y, srid=4326))
    assert two.name == "二号楼" and two.floors == 1
    assert run_import("buildings", path).unchanged == 2


def test_building_refusals(tmp_path, demo):
    rows = [
        ["BY1", "", "", "", "", "", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"],
        ["BY2", "", "", "", "", "", "POINT (108 21)"],
        ["BY3", "", "", 108.1, 21.1, "", ""],
        ["BY3", "", "", 108.1, 21.1, "", ""],
        ["BY4", "", "", 2.35, 48.85, "", ""],
    ]
    result = run_import("buildings", write_csv(tmp_path / "b.csv", BUILDING_HEADER, rows))
    assert msgids(result) == [
        places.MSG_FOOTPRINT_BROKEN,
        places.MSG_FOOTPRINT_NOT_POLYGON,
        places.MSG_DUPLICATE_BUILDING,
        places.MSG_DUPLICATE_BUILDING,
        MSG_OUTSIDE_DISTRICTS,
    ]
