"""/lists/: the problem, responsibility and close-out lists per station, town and county,
their filters, their jurisdiction, their exports (CSV, XLSX) and their query counts.

The cases are made by ``incident_create`` in the literal routing world (tests/incidents/
test_routing.py) plus a second town's village under a second station; their state is then
set directly (the workflow is tested on its own), with a close-out event in the history
where the list reads one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AccountRole
from cases.lists import row_cells
from incidents import lists
from incidents.lists import ListKind, ListSpec, list_queryset
from incidents.models import CaseEvent, Category, Incident, Level, Status
from incidents.services import incident_create
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    StationFactory,
    UserFactory,
    VillageFactory,
    rect,
)
from tests.incidents.test_routing import World, build_world, world_generation

pytestmark = pytest.mark.django_db

LISTS = reverse("lists")
# Points of the world: grid W and grid E of village V1, village V2 (no grid), both in town
# T1 under station S1; and village V3 of town T2 under another station.
WEST = (100.02, 0.05)
EAST = (100.07, 0.05)
V2 = (100.12, 0.05)
V3 = (100.25, 0.05)


@pytest.fixture
def world(db) -> World:
    world = build_world(world_generation())
    world.v3 = VillageFactory(town=world.t2, geom=rect(100.2, 0.0, 100.3, 0.1))
    world.station2 = StationFactory(town=world.t2)
    CatchmentAssignmentFactory(village=world.v3, station=world.station2)
    return world


@pytest.fixture
def reporter(world):
    return UserFactory(username="reporter", first_name="Lin Fang")


def make_case(
    reporter: Any,
    where: tuple[float, float],
    *,
    category: str = "dispute",
    severity: str | None = "blue",
    description: str = "Two neighbours quarrel over a drain",
    days_ago: float = 1,
    **state: Any,
) -> Incident:
    """A case reported ``days_ago`` days ago at ``where``, then put in ``state``."""
    reported = timezone.now() - dt.timedelta(days=days_ago)
    incident, _created = incident_create(
        actor=reporter,
        point=Point(*where, srid=4326),
        category=Category.objects.get(code=category),
        severity=severity,
        description=description,
        reported_at=reported,
    )
    defaults = {
        "owner_level": Level.GRID if incident.grid_id else Level.VILLAGE,
        "owner_code": incident.place_code,
        # Far enough that the light is green whatever the time of day or holidays.
        "acknowledge_due_at": reported + dt.timedelta(days=15),
        "resolve_due_at": reported + dt.timedelta(days=30),
    }
    Incident.objects.filter(pk=incident.pk).update(**{**defaults, **state})
    incident.refresh_from_db()
    return incident


def add_event(incident: Incident, action: str, actor_name: str, at: dt.datetime, **kw: Any) -> None:
    seq = (CaseEvent.objects.filter(incident=incident).aggregate(m=Max("seq"))["m"] or 0) + 1
    CaseEvent.objects.create(
        incident=incident,
        seq=seq,
        action=action,
        actor_name=actor_name,
        at=at,
        from_status=kw.pop("from_status", Status.VERIFIED),
        to_status=kw.pop("to_status", Status.CLOSED),
        from_level=incident.owner_level,
        to_level=incident.owner_level,
        **kw,
    )


def close_out(incident: Incident, *, by: str, days_ago: float = 0, on_time: bool = True) -> None:
    at = timezone.now() - dt.timedelta(days=days_ago)
    add_event(incident, "close_out", by, at)
    Incident.objects.filter(pk=incident.pk).update(
        status=Status.CLOSED,
        resolved_at=at - dt.timedelta(hours=2),
        closed_at=at,
        closed_on_time=on_time,
        satisfaction=5,
    )


@pytest.fixture
def cases(world, reporter) -> dict[str, Incident]:
    """One case of each kind the lists tell apart."""
    now = timezone.now()
    out = {
        # open, well within its deadline (green)
        "west_open": make_case(reporter, WEST, days_ago=0.01),
        # open and overdue (red), escalated to the town
        "east_overdue": make_case(
            reporter,
            EAST,
            category="hazard",
            severity="yellow",
            days_ago=10,
            status=Status.IN_PROGRESS,
            resolve_due_at=now - dt.timedelta(days=1),
            owner_level=Level.TOWN,
            owner_code=world.t1.code,
        ),
        # village V2 (no grid): closed out on time
        "v2_closed": make_case(reporter, V2, days_ago=6),
        # the other town's village: closed out late
        "v3_closed": make_case(reporter, V3, days_ago=20),
        # cancelled
        "west_cancelled": make_case(reporter, WEST, days_ago=3, status=Status.CANCELLED),
    }
    close_out(out["v2_closed"], by="S1 head", days_ago=1, on_time=True)
    close_out(out["v3_closed"], by="S2 head", days_ago=2, on_time=False)
    for incident in out.values():
        incident.refresh_from_db()
    return out


def login(client, role: AccountRole, codes: list[str], username: str = "viewer") -> Any:
    account = AccountFactory(user=UserFactory(username=username), role=role, codes=codes)
    client.force_login(account.user)
    return account.user


def ids(qs) -> set[int]:
    return {i.pk for i in qs}


def page_ids(response) -> set[int]:
    return {incident.pk for incident in response.context["rows"]}


def page_cells(response) -> dict[int, dict[str, Any]]:
    """The page's cells by case and column key (``cases.lists.row_cells``)."""
    now = timezone.now()
    columns = response.context["columns"]
    return {
        case.pk: {cell.key: cell for cell in row_cells(case, columns, now)}
        for case in response.context["rows"]
    }


# --- areas -------------------------------------------------------------------------------------
def test_station_town_and_county_areas(world, cases):
    root = UserFactory(username="root", is_superuser=True)
    every = {k: v.pk for k, v in cases.items()}

    def listed(**spec: Any) -> set[int]:
        return ids(list_queryset(user=root, spec=ListSpec(**spec)))

    s1 = listed(level="station", code=world.station.code)
    assert s1 == {every[k] for k in ("west_open", "east_overdue", "v2_closed", "west_cancelled")}
    assert listed(level="station", code=world.station2.code) == {every["v3_closed"]}
    assert listed(level="town", code=world.t1.code) == s1
    assert listed(level="town", code=world.t2.code) == {every["v3_closed"]}
    assert listed(level="county", code=world.district.code) == set(every.values())


def test_a_station_area_follows_its_current_catchment(world, cases):
    """V2 moves to station 2 today: its cases leave station 1's lists and join station 2's."""
    root = UserFactory(username="root", is_superuser=True)
    assignment = world.v2.catchment_assignments.get()
    from psycopg.types.range import Range

    assignment.period = Range(assignment.period.lower, dt.date.today(), "[)")
    assignment.save()
    CatchmentAssignmentFactory(
        village=world.v2, station=world.station2, period=Range(dt.date.today(), None, "[)")
    )
    s1 = ids(list_queryset(user=root, spec=ListSpec(level="station", code=world.station.code)))
    s2 = ids(list_queryset(user=root, spec=ListSpec(level="station", code=world.station2.code)))
    assert cases["v2_closed"].pk not in s1
    assert cases["v2_closed"].pk in s2


def test_jurisdiction_applies_on_top_of_the_area(client, world, cases):
    """A station account sees its catchment only, whatever area it asks for; a village
    account asking for its town sees its village only."""
    login(client, AccountRole.STATION_STAFF, [world.station.code])
    response = client.get(LISTS, {"level": "county", "code": world.district.code})
    assert response.status_code == 200
    assert cases["v3_closed"].pk not in page_ids(response)
    assert cases["west_open"].pk in page_ids(response)

    client.logout()
    login(client, AccountRole.VILLAGE_STAFF, [world.v2.code], username="v2-staff")
    response = client.get(LISTS, {"code": world.t1.code})
    assert page_ids(response) == {cases["v2_closed"].pk}

    client.logout()
    login(client, AccountRole.GRID_WORKER, ["990999999999999"], username="elsewhere")
    response = client.get(LISTS, {"list": "closeout"})
    assert page_ids(response) == set()


def test_the_area_choice_offers_what_is_inside_the_jurisdiction(client, world, cases):
    login(client, AccountRole.TOWN_STAFF, [world.t1.code])
    response = client.get(LISTS)
    offered = {code for _group, choices in response.context["areas"] for code, _label in choices}
    assert world.station.code in offered and world.t1.code in offered
    assert world.station2.code not in offered and world.t2.code not in offered
    assert world.district.code not in offered  # bigger than the jurisdiction

    client.logout()
    login(client, AccountRole.STATION_STAFF, [world.station.code], username="s1")
    response = client.get(LISTS)
    offered = {code for _group, choices in response.context["areas"] for code, _label in choices}
    assert offered == {world.station.code}


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(LISTS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- the three lists ---------------------------------------------------------------------------
def test_problem_list_has_every_case_with_status_light_and_place(client, world, cases):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    response = client.get(LISTS, {"list": "problems"})
    assert response.status_code == 200
    assert page_ids(response) == {c.pk for c in cases.values()}
    rows = page_cells(response)
    west, east = rows[cases["west_open"].pk], rows[cases["east_overdue"].pk]
    assert west["status"].value == Status.REPORTED
    assert west["traffic_light"].value == "green"
    assert east["traffic_light"].value == "red"
    assert rows[cases["v2_closed"].pk]["traffic_light"].value is None  # closed: no light
    assert west["place"].value == f"{world.t1.name} · {world.v1.name} · {world.west.name}"
    assert west["place_code"].value == world.west.code
    assert east["owner"].value == f"{world.t1.name} ({world.t1.code})"
    html = response.content.decode()
    assert f'href="{reverse("case", args=[cases["west_open"].pk])}"' in html
    assert 'data-traffic-light="red"' in html
    # Newest first.
    order = [incident.pk for incident in response.context["rows"]]
    assert order[0] == cases["west_open"].pk


def test_responsibility_list_has_open_cases_with_owner_people_and_deadlines(client, world, cases):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    response = client.get(LISTS, {"list": "responsibility"})
    assert page_ids(response) == {cases["west_open"].pk, cases["east_overdue"].pk}
    rows = page_cells(response)
    west = rows[cases["west_open"].pk]
    # The routed recipients' names as recorded (blue in grid W: its leader and guide, the
    # central household, the mediation director).
    assert {"W leader", "W guide"} <= set(west["responsible"].value)
    assert west["owner_level"].value == Level.GRID
    assert west["resolve_due_at"].value == cases["west_open"].resolve_due_at
    assert west["acknowledge_due_at"].value == cases["west_open"].acknowledge_due_at
    # The most urgent first: the overdue one.
    order = [incident.pk for incident in response.context["rows"]]
    assert order[0] == cases["east_overdue"].pk
    assert "W leader" in response.content.decode()


def test_closeout_list_has_who_signed_off_when_and_on_time(client, world, cases):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    response = client.get(LISTS, {"list": "closeout"})
    assert page_ids(response) == {cases["v2_closed"].pk, cases["v3_closed"].pk}
    rows = page_cells(response)
    v2, v3 = rows[cases["v2_closed"].pk], rows[cases["v3_closed"].pk]
    assert v2["signed_off_by"].value == "S1 head"
    assert v2["signed_off_at"].value == cases["v2_closed"].closed_at
    assert v2["closed_on_time"].value is True and v3["closed_on_time"].value is False
    with translation.override("en"):
        assert v2["closed_on_time"].text == "on time" and v3["closed_on_time"].text == "late"


def test_filters_status_category_severity_and_period(client, world, cases):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])

    def shown(**params: str) -> set[int]:
        response = client.get(LISTS, params)
        assert response.status_code == 200, response.content
        return page_ids(response)

    assert shown(status="in_progress") == {cases["east_overdue"].pk}
    assert shown(category="hazard") == {cases["east_overdue"].pk}
    assert shown(severity="yellow") == {cases["east_overdue"].pk}
    today = timezone.localdate()
    # Reported in the last two days: the green one only (the cancelled one is 3 days old).
    recent = shown(**{"from": (today - dt.timedelta(days=2)).isoformat()})
    assert recent == {cases["west_open"].pk}
    # Reported 25 to 5 days ago.
    older = shown(
        **{
            "from": (today - dt.timedelta(days=25)).isoformat(),
            "to": (today - dt.timedelta(days=5)).isoformat(),
        }
    )
    assert older == {cases["east_overdue"].pk, cases["v2_closed"].pk, cases["v3_closed"].pk}
    # The close-out list's period is of the close-out: V2 yesterday, V3 two days ago.
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert shown(list="closeout", **{"from": yesterday}) == {cases["v2_closed"].pk}


@pytest.mark.parametrize(
    "params",
    [
        {"code": "12345"},
        {"level": "town", "code": "990101"},
        {"level": "station"},
        {"from": "2025-02-01", "to": "2025-01-01"},
        {"from": "yesterday"},
        {"list": "everything"},
        {"status": "lost"},
    ],
)
def test_bad_filters_are_a_400_with_a_message(client, world, params):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    response = client.get(LISTS, params)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert "data-error" in response.content.decode()
    response = client.get(LISTS, {**params, "format": "csv"})
    assert response.status_code == 400
    assert response.content.decode().strip()


# --- exports -----------------------------------------------------------------------------------
def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_with_translated_headers(client, world, cases):
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    response = client.get(LISTS, {"list": "closeout", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="closeout-all-' in response["Content-Disposition"]
    rows = _csv_rows(response)
    with translation.override("en"):
        assert rows[0] == [str(c.label) for c in lists.COLUMNS[ListKind.CLOSEOUT]]
    assert rows[0][:2] == ["No.", "category"]
    assert len(rows) == 3
    by_id = {int(r[0]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_id[cases["v2_closed"].pk]["signed off by"] == "S1 head"
    assert by_id[cases["v2_closed"].pk]["on time"] == "on time"
    assert by_id[cases["v3_closed"].pk]["on time"] == "late"
    closed = timezone.localtime(cases["v2_closed"].closed_at).strftime("%Y-%m-%d %H:%M")
    assert by_id[cases["v2_closed"].pk]["signed off at"] == closed

    # The same in Chinese: other headers, the same rows.
    response = client.get(
        LISTS, {"list": "closeout", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    zh = _csv_rows(response)
    with translation.override("zh-hans"):
        assert zh[0] == [str(c.label) for c in lists.COLUMNS[ListKind.CLOSEOUT]]
    assert len(zh) == 3


def test_xlsx_export_with_dates_as_dates(client, world, cases):
    from openpyxl import load_workbook

    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    response = client.get(
        LISTS, {"list": "responsibility", "format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    with translation.override("en"):
        assert list(values[0]) == [str(c.label) for c in lists.COLUMNS[ListKind.RESPONSIBILITY]]
    assert sheet.title == "Responsibility list"
    body = {row[0]: dict(zip(values[0], row, strict=True)) for row in values[1:]}
    assert set(body) == {cases["west_open"].pk, cases["east_overdue"].pk}
    west = body[cases["west_open"].pk]
    due = timezone.localtime(cases["west_open"].resolve_due_at).replace(tzinfo=None)
    assert west["resolve by"].replace(microsecond=0) == due.replace(microsecond=0)
    assert "W leader" in west["responsible people"]


def test_xlsx_refuses_more_rows_than_it_can_hold(client, world, cases, monkeypatch):
    monkeypatch.setattr(lists, "XLSX_MAX_ROWS", 2)
    login(client, AccountRole.DISTRICT_ADMIN, [world.district.code])
    response = client.get(LISTS, {"format": "xlsx"})
    assert response.status_code == 400
    assert "CSV" in response.content.decode()


# --- query counts ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(ListKind.values))
def test_each_list_is_one_query_whatever_the_rows(world, cases, kind, django_assert_num_queries):
    root = UserFactory(username="root", is_superuser=True)
    now = timezone.now()
    with django_assert_num_queries(1):
        rows = list(lists.rows(list_queryset(user=root, spec=ListSpec(kind=kind)), kind, now))
    assert rows
    for _incident, cells in rows:
        assert all(cell.text is not None for cell in cells)


@pytest.mark.parametrize("kind", list(ListKind.values))
def test_the_page_costs_the_same_for_more_rows(client, world, reporter, kind):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, AccountRole.STATION_STAFF, [world.station.code])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LISTS, {"list": kind})
        assert response.status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            incident = make_case(reporter, WEST, status=Status.IN_PROGRESS)
            if kind == ListKind.CLOSEOUT:
                close_out(incident, by="S1 head")

    add(1)
    few = count()
    add(5)
    assert count() == few
