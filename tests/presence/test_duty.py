"""Duty rosters (issue 14, item 1): who may edit them, who may go on them, a town's day and
its on-duty officer, the roster page, the import kind and the public village page."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from psycopg.types.range import Range

from accounts.models import AccountRole
from grids.models import Role, RoleAssignment, ServiceCentre, Station, Town, Village, Worker
from grids.selectors import holders
from imports.handlers import duty as duty_import
from imports.handlers.common import MSG_OUTSIDE_JURISDICTION
from imports.pipeline import run_import
from presence import duty
from presence.models import DutyShift
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    DistrictFactory,
    GridFactory,
    RoleAssignmentFactory,
    StationFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)

pytestmark = pytest.mark.django_db

FROM = Range(dt.date(2024, 1, 1), None, "[)")
DAY = dt.date(2026, 3, 2)


@dataclass
class Places:
    town: Town
    village: Village
    other_village: Village  # same town, no station
    station: Station
    far_village: Village  # another district


@pytest.fixture
def places(db) -> Places:
    district = DistrictFactory(geom=rect(100.0, 0.0, 100.2, 0.1))
    town = TownFactory(district=district, geom=rect(100.0, 0.0, 100.1, 0.1))
    village = VillageFactory(town=town, geom=rect(100.0, 0.0, 100.05, 0.1))
    other = VillageFactory(town=town, geom=rect(100.05, 0.0, 100.1, 0.1))
    station = StationFactory(town=town)
    CatchmentAssignmentFactory(village=village, station=station, period=FROM)
    far_district = DistrictFactory(geom=rect(100.3, 0.0, 100.4, 0.1))
    far = VillageFactory(town=TownFactory(district=far_district), geom=far_district.geom)
    return Places(town, village, other, station, far)


def shifts_of(p: Places) -> QuerySet[DutyShift]:
    """The shifts of this test's places (the database may hold the demo's)."""
    district = p.town.district
    return DutyShift.objects.filter(
        Q(village__town__district=district)
        | Q(station__town__district=district)
        | Q(town__district=district)
        | Q(village=p.far_village)
    )


def person(role: str, **place: object) -> object:
    """A login whose worker holds ``role`` on ``place`` from 2024."""
    user = UserFactory()
    worker = WorkerFactory(user=user)
    RoleAssignmentFactory(worker=worker, role=role, period=FROM, **place)
    return user


def account(role: str, code: str) -> object:
    return AccountFactory(user=UserFactory(), role=role, codes=[code]).user


def holder(role: str, **place: object) -> Worker:
    worker = WorkerFactory()
    RoleAssignmentFactory(worker=worker, role=role, period=FROM, **place)
    return worker


# --- who may edit -----------------------------------------------------------------------------
def test_who_may_edit_which_roster(places):
    p = places
    secretary = person(Role.VILLAGE_SECRETARY, village=p.village)
    mediator = person(Role.MEDIATION_DIRECTOR, village=p.village)
    head = person(Role.STATION_HEAD, station=p.station)
    deputy = person(Role.STATION_DEPUTY, station=p.station)
    station_worker = person(Role.STATION_WORKER, station=p.station)
    dispatcher = person(Role.TOWN_DISPATCHER, town=p.town)
    district_admin = account(AccountRole.DISTRICT_ADMIN, p.town.district.code)
    town_staff = account(AccountRole.TOWN_STAFF, p.town.code)
    planner = account(AccountRole.PLANNER, p.town.code)
    far_admin = account(AccountRole.DISTRICT_ADMIN, p.far_village.code[:6])
    root = UserFactory(is_superuser=True)
    may = {
        secretary: {p.village},
        mediator: set(),
        head: {p.station},
        deputy: {p.station},
        station_worker: set(),
        dispatcher: {p.town},
        district_admin: {p.village, p.other_village, p.station, p.town},
        town_staff: {p.village, p.other_village, p.station, p.town},
        planner: set(),
        far_admin: {p.far_village},
        root: {p.village, p.other_village, p.station, p.town, p.far_village},
        AnonymousUser(): set(),
    }
    every = [p.village, p.other_village, p.station, p.town, p.far_village]
    for user, allowed in may.items():
        assert {pl for pl in every if duty.may_edit_roster(user, pl)} == allowed, user


def test_a_station_head_sees_their_station_roster_though_its_code_is_no_village(places):
    head = person(Role.STATION_HEAD, station=places.station)
    assert duty.may_see_roster(head, places.station)
    assert duty.may_see_roster(head, places.village)  # their catchment
    assert not duty.may_see_roster(head, places.other_village)
    station_worker = person(Role.STATION_WORKER, station=places.station)
    assert duty.may_see_roster(station_worker, places.station)
    assert not duty.may_edit_roster(station_worker, places.station)
    assert places.station in duty.roster_places(station_worker)
    grid_worker = account(AccountRole.GRID_WORKER, places.village.code + "001")
    assert not duty.may_see_roster(grid_worker, places.village)


# --- who goes on it ---------------------------------------------------------------------------
def test_only_the_places_people_go_on_its_roster(places):
    p = places
    root = UserFactory(is_superuser=True)
    assistant = holder(Role.VILLAGE_ASSISTANT, village=p.village)
    neighbour = holder(Role.VILLAGE_ASSISTANT, village=p.other_village)
    shift = duty.add_shift(actor=root, place=p.village, worker=assistant, date=DAY)
    assert (shift.village, shift.span, shift.created_by) == (p.village, "day", root)
    with translation.override("en"), pytest.raises(duty.DutyRefused) as refused:
        duty.add_shift(actor=root, place=p.village, worker=neighbour, date=DAY)
    assert refused.value.msgid == duty.MSG_NOT_HERE
    assert neighbour.name in refused.value.message and "任职" in refused.value.message
    with translation.override("en"):
        assert "holds no role" in refused.value.message
    # A village role in a catchment village puts the worker on the station's roster.
    assert duty.add_shift(actor=root, place=p.station, worker=assistant, date=DAY).station
    with pytest.raises(duty.DutyRefused):
        duty.add_shift(actor=root, place=p.station, worker=neighbour, date=DAY)
    # Not twice at once: the whole day overlaps the morning; the afternoon of a morning is free.
    with pytest.raises(duty.DutyRefused) as refused:
        duty.add_shift(actor=root, place=p.village, worker=assistant, date=DAY, span="morning")
    assert refused.value.msgid == duty.MSG_ALREADY_ON_DUTY
    other_day = DAY + dt.timedelta(days=1)
    duty.add_shift(actor=root, place=p.village, worker=assistant, date=other_day, span="morning")
    duty.add_shift(actor=root, place=p.village, worker=assistant, date=other_day, span="afternoon")
    # A role that ended before the day does not count.
    former = WorkerFactory()
    RoleAssignmentFactory(
        worker=former, role=Role.VILLAGE_LAWYER, village=p.village,
        period=Range(dt.date(2024, 1, 1), dt.date(2025, 1, 1), "[)"),
    )  # fmt: skip
    with pytest.raises(duty.DutyRefused):
        duty.add_shift(actor=root, place=p.village, worker=former, date=DAY)


def test_a_secretary_may_not_edit_the_next_village(places):
    secretary = person(Role.VILLAGE_SECRETARY, village=places.village)
    neighbour = holder(Role.VILLAGE_ASSISTANT, village=places.other_village)
    with pytest.raises(duty.DutyRefused) as refused:
        duty.add_shift(actor=secretary, place=places.other_village, worker=neighbour, date=DAY)
    assert refused.value.msgid == duty.MSG_NOT_YOURS
    assert not shifts_of(places).exists()


# --- a town's day: the on-duty officer ------------------------------------------------------------
def test_a_towns_day_makes_the_on_duty_officer_and_removing_it_unmakes_it(places):
    town = places.town
    dispatcher = person(Role.TOWN_DISPATCHER, town=town)
    officer = holder(Role.TOWN_DISPATCHER, town=town)
    other = holder(Role.TOWN_DISPATCHER, town=town)
    shift = duty.add_shift(actor=dispatcher, place=town, worker=officer, date=DAY)
    # Routing reads the dated assignment: the officer of that day, and only that day.
    assert [a.worker for a in holders(role=Role.TOWN_DUTY_OFFICER, on=DAY, town=town)] == [officer]
    assert not holders(role=Role.TOWN_DUTY_OFFICER, on=DAY + dt.timedelta(days=1), town=town)
    # A second officer the same day is refused, with who holds it.
    with pytest.raises(duty.DutyRefused) as refused:
        duty.add_shift(actor=dispatcher, place=town, worker=other, date=DAY)
    assert refused.value.msgid == duty.MSG_OFFICER_TAKEN
    assert officer.name in refused.value.message
    assert DutyShift.objects.filter(town=town).count() == 1
    # A half day makes no officer.
    duty.add_shift(actor=dispatcher, place=town, worker=other, date=DAY + dt.timedelta(days=1),
                   span="morning")  # fmt: skip
    assert not holders(role=Role.TOWN_DUTY_OFFICER, on=DAY + dt.timedelta(days=1), town=town)
    duty.remove_shift(actor=dispatcher, shift=shift)
    assert not holders(role=Role.TOWN_DUTY_OFFICER, on=DAY, town=town)
    assert not DutyShift.objects.filter(pk=shift.pk).exists()
    # A former officer of the town (a rota member) may go on its roster again.
    rota = WorkerFactory()
    RoleAssignment.objects.create(
        worker=rota, role=Role.TOWN_DUTY_OFFICER, town=town,
        period=Range(dt.date(2025, 5, 1), dt.date(2025, 5, 2), "[)"),
    )  # fmt: skip
    duty.add_shift(actor=dispatcher, place=town, worker=rota, date=DAY)
    assert [a.worker for a in holders(role=Role.TOWN_DUTY_OFFICER, on=DAY, town=town)] == [rota]


def test_removing_is_for_editors_only(places):
    root = UserFactory(is_superuser=True)
    assistant = holder(Role.VILLAGE_ASSISTANT, village=places.village)
    shift = duty.add_shift(actor=root, place=places.village, worker=assistant, date=DAY)
    other_secretary = person(Role.VILLAGE_SECRETARY, village=places.other_village)
    with pytest.raises(duty.DutyRefused):
        duty.remove_shift(actor=other_secretary, shift=shift)
    assert DutyShift.objects.filter(pk=shift.pk).exists()


# --- the page ---------------------------------------------------------------------------------
def test_the_roster_page_shows_adds_and_removes(client, places):
    secretary = person(Role.VILLAGE_SECRETARY, village=places.village)
    assistant = holder(Role.VILLAGE_ASSISTANT, village=places.village)
    client.force_login(secretary)
    page = client.get("/duty/", {"place": places.village.code, "month": "2026-03"})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-may-edit="true"' in text and assistant.name in text  # the worker picker
    form = {
        "action": "add",
        "place": places.village.code,
        "month": "2026-03",
        "worker": assistant.pk,
        "date": "2026-03-02",
        "span": "morning",
        "note": "接待",
    }
    answer = client.post("/duty/", form)
    assert answer.status_code == 302 and "month=2026-03" in answer["Location"]
    shift = shifts_of(places).get()
    assert (shift.worker, shift.date, shift.span, shift.note) == (
        assistant, DAY, "morning", "接待",
    )  # fmt: skip
    page = client.get(answer["Location"])
    assert f'data-shift="{shift.pk}"' in page.content.decode()
    # Refused: a worker of another village, shown as a message.
    neighbour = holder(Role.VILLAGE_ASSISTANT, village=places.other_village)
    form = {"action": "add", "place": places.village.code, "worker": neighbour.pk,
            "date": "2026-03-03"}  # fmt: skip
    answer = client.post("/duty/", form, follow=True)
    assert 'data-message="error"' in answer.content.decode()
    assert shifts_of(places).count() == 1
    client.post("/duty/", {"action": "remove", "place": places.village.code, "shift": shift.pk})
    assert not shifts_of(places).exists()


def test_the_roster_page_answers_404_outside_and_reads_only_without_the_right(client, places):
    client.force_login(person(Role.VILLAGE_SECRETARY, village=places.village))
    assert client.get("/duty/", {"place": places.far_village.code}).status_code == 404
    assert client.get("/duty/", {"place": places.station.code}).status_code == 404
    assert client.get("/duty/", {"place": "nonsense"}).status_code == 404
    mediator = person(Role.MEDIATION_DIRECTOR, village=places.village)
    client.force_login(mediator)
    page = client.get("/duty/", {"place": places.village.code})
    assert page.status_code == 200 and 'data-may-edit="false"' in page.content.decode()
    assistant = holder(Role.VILLAGE_ASSISTANT, village=places.village)
    client.post("/duty/", {"action": "add", "place": places.village.code,
                           "worker": assistant.pk, "date": "2026-03-02"})  # fmt: skip
    assert not shifts_of(places).exists()
    # Opened without a place: where the person acts.
    assert client.get("/duty/").status_code == 200


# --- the public village page -------------------------------------------------------------
def test_the_public_page_shows_the_roles_on_duty_and_the_centre_phone_never_names(client, places):
    root = UserFactory(is_superuser=True)
    assistant = holder(Role.VILLAGE_ASSISTANT, village=places.village)
    assistant.name = "韦小宝"
    assistant.save()
    secretary = holder(Role.VILLAGE_SECRETARY, village=places.village)
    secretary.name = "黄大年"
    secretary.save()
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    duty.add_shift(actor=root, place=places.village, worker=assistant, date=monday)
    duty.add_shift(actor=root, place=places.village, worker=secretary,
                   date=monday + dt.timedelta(days=2), span="afternoon")  # fmt: skip
    # Last week's shift is not this week's.
    duty.add_shift(actor=root, place=places.village, worker=secretary,
                   date=monday - dt.timedelta(days=1))  # fmt: skip
    ServiceCentre.objects.create(
        name="一村党群服务中心", village=places.village, location=Point(100.01, 0.01, srid=4326),
        phone="0777-5551234",
    )  # fmt: skip
    with translation.override("zh-hans"):
        page = client.get(
            f"/public/villages/{places.village.code}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
    assert page.status_code == 200
    text = page.content.decode()
    assert "0777-5551234" in text and "一村党群服务中心" in text
    assert "韦小宝" not in text and "黄大年" not in text
    week = duty.public_week(places.village, monday)
    assert [len(d.duties) for d in week] == [1, 0, 1, 0, 0, 0, 0]
    with translation.override("en"):
        week = duty.public_week(places.village, monday)
        assert week[0].duties == [("village assistant", "all day")]
        assert week[2].duties == [("village party secretary", "afternoon")]
    assert f'data-duty-day="{monday.isoformat()}"' in text


# --- the import kind ------------------------------------------------------------------------------
HEADER = ["地点编码", "日期", "手机号", "姓名", "班次", "备注"]


def write_csv(path: Path, rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_the_import_kind_writes_refuses_and_is_idempotent(tmp_path, places):
    p = places
    assistant = holder(Role.VILLAGE_ASSISTANT, village=p.village)
    assistant.phone = "13712340001"
    assistant.save()
    officer = holder(Role.TOWN_DISPATCHER, town=p.town)
    officer.phone = "13712340002"
    officer.save()
    neighbour = holder(Role.VILLAGE_ASSISTANT, village=p.other_village)
    neighbour.phone = "13712340003"
    neighbour.save()
    rows = [
        [p.village.code, "2026-03-02", "13712340001", "", "全天", "值班"],
        [p.village.code, "2026/3/3", "13712340001", "", "上午", ""],
        [p.station.code, "2026-03-04", "13712340001", "", "", ""],
        [p.town.code, "2026-03-05", "13712340002", "", "全天", ""],
        # Refused: the neighbour holds no role in this village.
        [p.village.code, "2026-03-02", "13712340003", "", "全天", ""],
        # Refused: an unknown span.
        [p.village.code, "2026-03-06", "13712340001", "", "夜班", ""],
    ]
    path = write_csv(tmp_path / "duty.csv", rows)
    with translation.override("en"):
        result = run_import("duty_shifts", path, commit=True)
    assert (result.new, result.refused) == (4, 2), result.refusals
    reasons = {r.row: r for r in result.refusals}
    assert reasons[6].reason["msgid"] == duty.MSG_NOT_HERE
    assert neighbour.name in reasons[6].message
    assert reasons[7].reason["msgid"] == duty_import.MSG_UNKNOWN_SPAN
    shifts = shifts_of(p).order_by("date")
    assert [(s.date.day, s.span, s.place.code) for s in shifts] == [
        (2, "day", p.village.code), (3, "morning", p.village.code),
        (4, "day", p.station.code), (5, "day", p.town.code),
    ]  # fmt: skip
    assert shifts[0].note == "值班"
    # The town's day made the on-duty officer of the 5th.
    on_duty = holders(role=Role.TOWN_DUTY_OFFICER, on=dt.date(2026, 3, 5), town=p.town)
    assert [a.worker for a in on_duty] == [officer]
    # The same file again: nothing new, nothing changed.
    again = run_import("duty_shifts", path, commit=True)
    assert (again.new, again.updated, again.unchanged, again.refused) == (0, 0, 4, 2)
    assert shifts_of(p).count() == 4
    assert RoleAssignment.objects.filter(role=Role.TOWN_DUTY_OFFICER, town=p.town).count() == 1
    # A changed note updates; another officer for the town's day is refused.
    rows[0][5] = "值班室"
    other = holder(Role.TOWN_DISPATCHER, town=p.town)
    other.phone = "13712340004"
    other.save()
    changed = run_import("duty_shifts", write_csv(tmp_path / "d2.csv", rows), commit=True)
    assert (changed.updated, changed.unchanged, changed.refused) == (1, 3, 2)
    second = [p.town.code, "2026-03-05", "13712340004", "", "全天", ""]
    taken = run_import("duty_shifts", write_csv(tmp_path / "d3.csv", [second]), commit=True)
    assert [r.reason["msgid"] for r in taken.refusals] == [duty.MSG_OFFICER_TAKEN]
    twice = run_import(
        "duty_shifts",
        write_csv(tmp_path / "d4.csv", [second, second[:2] + ["13712340002", "", "", ""]]),
    )
    assert [r.reason["msgid"] for r in twice.refusals] == [duty_import.MSG_OFFICER_TWICE_FILE] * 2
    assert shifts_of(p).get(date=dt.date(2026, 3, 2)).note == "值班室"


def test_the_import_kind_keeps_to_the_jurisdiction(tmp_path, places):
    far = holder(Role.VILLAGE_ASSISTANT, village=places.far_village)
    far.phone = "13712340009"
    far.save()
    path = write_csv(tmp_path / "d.csv", [[places.far_village.code, "2026-03-02",
                                           "13712340009", "", "", ""]])  # fmt: skip
    result = run_import("duty_shifts", path, commit=True, prefixes=[places.town.district.code])
    assert [r.reason["msgid"] for r in result.refusals] == [MSG_OUTSIDE_JURISDICTION]
    assert not shifts_of(places).exists()


def test_someone_without_a_roster_is_told_so_not_not_found(client, places):
    """A grid's people keep no roster: /duty/ says so (the menu links everyone to it)."""
    grid = GridFactory(village=places.village, geom=places.village.geom)
    client.force_login(person(Role.GRID_MEMBER, grid=grid))
    page = client.get("/duty/")
    assert page.status_code == 200
    assert "no roster for you to see" in page.content.decode() or "暂无可查看的值班表" in (
        page.content.decode()
    )
