"""GET /api/kpis/ and reports.kpis.

Acceptance 3: the KPI figures from the API equal figures computed independently here from
the case history. Cases are driven through real histories with ``incidents.workflow
.case_act`` (a seeded random walk over the actions the rule allows), then every figure is
recomputed in Python from ``CaseEvent`` rows only (the report time, the first acknowledge,
the last resolve, the close-out not undone by a later reopen, the resolve deadline in force
from the events' data, grant_extension and reopen counts, the latest callback rating) and
compared with the API's, for every kind of unit.

The world is ``tests.incidents.test_routing``'s: district D, towns T1 and T2, village V1
(grids W and E) and V2 (no grid) in T1, station S1 over V1 and V2, nothing below T2.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import AccountRole
from incidents import services
from incidents.models import (
    CaseEvent,
    Category,
    Incident,
    IncidentRecipient,
    RecipientKind,
    Status,
)
from incidents.workflow import Action, allowed_actions, case_act, place_code_at
from reports import kpis
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_routing import World, build_world, world_generation

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
POINTS = {
    "W": (100.02, 0.05),  # grid W of village V1
    "E": (100.07, 0.05),  # grid E of village V1
    "V2": (100.12, 0.05),  # village V2, no grid
    "T2": (100.25, 0.05),  # town T2, no village
}


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def root(db):
    return UserFactory(username="kpi-root", is_superuser=True, is_staff=True)


@pytest.fixture
def api(api_client, root):
    api_client.force_authenticate(root)
    return api_client


def local(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def get(client, **params: Any):
    return client.get("/api/kpis/", {k.rstrip("_"): v for k, v in params.items()})


# --- driving real histories ---------------------------------------------------------------
# How often the walk picks each allowed action (the rule decides which are allowed).
WEIGHTS = {
    Action.ACKNOWLEDGE: 6,
    Action.START: 5,
    Action.RESOLVE: 5,
    Action.VERIFY: 5,
    Action.CLOSE_OUT: 5,
    Action.CALLBACK: 4,
    Action.REQUEST_EXTENSION: 1.5,
    Action.GRANT_EXTENSION: 4,
    Action.REFUSE_EXTENSION: 1,
    Action.REDISPATCH: 6,
    Action.RETURN_CASE: 0.3,
    Action.ESCALATE: 0.4,
    Action.REOPEN: 0.8,
    Action.CANCEL: 0.15,
    Action.ASSESS: 0.3,
}


def _arguments(rng: random.Random, incident: Incident, action: str) -> dict[str, Any]:
    if action == Action.REQUEST_EXTENSION:
        return {"data": {"working_days": rng.randint(1, 4)}}
    if action == Action.CALLBACK:
        return {"data": {"rating": rng.choice([1, 2, 3, 4, 4, 5, 5, 5])}}
    if action == Action.REDISPATCH:
        level = incident.responsible_level
        return {"data": {"level": level, "code": place_code_at(level, incident.place_code)}}
    if action in (Action.RETURN_CASE, Action.ESCALATE, Action.CANCEL):
        return {"note": "reason"}
    if action == Action.RESOLVE:
        return {"note": "the written result"}
    if action == Action.ASSESS:
        other = [s for s in ("blue", "yellow", "red") if s != incident.severity]
        return {"note": "re-graded", "data": {"severity": rng.choice(other)}}
    return {}


def drive(rng: random.Random, actor, incident: Incident, until: dt.datetime, closer=None) -> None:
    """A random walk through the actions the workflow allows, at increasing times; ``closer``
    (another person) closes out what ``actor`` verified (separation of duties)."""
    at = incident.reported_at
    for _ in range(rng.randint(0, 16)):
        at += dt.timedelta(minutes=rng.choice([15, 40, 90, 240, 600, 1500, 3000, 6000]))
        if at >= until:
            return
        incident = Incident.objects.get(pk=incident.pk)
        allowed = allowed_actions(user=actor, incident=incident, at=at)
        by = dict.fromkeys(allowed, actor)
        if (
            closer is not None
            and Action.CLOSE_OUT not in by
            and Action.CLOSE_OUT in allowed_actions(user=closer, incident=incident, at=at)
        ):
            allowed.append(Action.CLOSE_OUT)
            by[Action.CLOSE_OUT] = closer
        if not allowed:
            return
        action = rng.choices(allowed, [WEIGHTS[a] for a in allowed])[0]
        case_act(
            actor=by[action],
            incident_id=incident.pk,
            action=action,
            version=incident.version,
            at=at,
            **_arguments(rng, incident, action),
        )


def report(actor, where: str, at: dt.datetime, severity: str = "blue") -> Incident:
    incident, created = services.incident_create(
        actor=actor,
        point=Point(*POINTS[where], srid=4326),
        category=Category.objects.get(code="dispute"),
        severity=severity,
        description="Two neighbours quarrel over a wall",
        reported_at=at,
    )
    assert created
    return incident


@dataclass
class Period:
    start: dt.date
    end: dt.date


@pytest.fixture
def driven(world, root, settings) -> Period:
    """~90 cases with random real histories around a 6-week period (some exactly on its
    edges), in every kind of place; returns the period."""
    # Histories of four months ago, reported then: wider than the window a live report has.
    settings.GRIDMAP_REPORT_MAX_AGE_DAYS = 365
    rng = random.Random(20260401)
    closer = UserFactory(username="kpi-closer", is_superuser=True, is_staff=True)
    today = timezone.localdate()
    period = Period(today - dt.timedelta(days=120), today - dt.timedelta(days=78))
    first = local(period.start) - dt.timedelta(days=8)
    span = (local(period.end) + dt.timedelta(days=8) - first).total_seconds()
    until = timezone.now() - dt.timedelta(hours=1)
    times = [first + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(86)]
    times += [local(period.start), local(period.start), local(period.end)]  # the edges
    times += [local(period.end) - dt.timedelta(microseconds=1)]
    for n, at in enumerate(times):
        where = rng.choice(["W", "W", "W", "E", "E", "V2", "T2"])
        incident = report(root, where, at, rng.choice(["blue", "blue", "yellow", "red"]))
        if n % 9 != 0:  # a few stay as reported
            drive(rng, root, incident, until, closer)
    return period


# --- the figures, recomputed from the history only -----------------------------------------
def _due(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def case_from_history(events: list[CaseEvent]) -> dict[str, Any]:
    """One case's facts, read from its events alone (in seq order)."""
    assert events[0].action == "report"
    acknowledged = resolved = closed_at = None
    closed_on_time = None
    due = None
    extensions = reopens = 0
    rating = None
    for e in events:
        if "resolve_due_at" in e.data:  # report, escalate, redispatch, grant_extension
            due = _due(e.data["resolve_due_at"])
        if e.action == "acknowledge" and acknowledged is None:
            acknowledged = e.at
        elif e.action == "resolve":
            resolved = e.at
        elif e.action == "close_out":
            closed_at = e.at
            closed_on_time = resolved is not None and due is not None and resolved <= due
        elif e.action == "reopen":
            reopens += 1
            closed_at = closed_on_time = None  # a reopened case is no longer closed out
        elif e.action == "grant_extension":
            extensions += 1
        elif e.action == "callback":
            rating = e.data["rating"]
    return {
        "reported": events[0].at,
        "acknowledged": acknowledged,
        "resolved": resolved,
        "closed": closed_at is not None,
        "on_time": bool(closed_on_time),
        "extended": extensions > 0,
        "reworked": reopens > 0,
        "rating": rating,
    }


def figures_from_history(incident_ids: Iterable[int], period: Period) -> dict[str, Any]:
    events: dict[int, list[CaseEvent]] = {}
    for e in CaseEvent.objects.filter(incident_id__in=list(incident_ids)).order_by("seq"):
        events.setdefault(e.incident_id, []).append(e)
    lo, hi = local(period.start), local(period.end)
    cases = [case_from_history(ev) for ev in events.values()]
    cases = [c for c in cases if lo <= c["reported"] < hi]

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    received = len(cases)
    closed = sum(c["closed"] for c in cases)
    on_time = sum(c["closed"] and c["on_time"] for c in cases)
    reworked = sum(c["reworked"] for c in cases)
    extended = sum(c["extended"] for c in cases)
    ack = [(c["acknowledged"] - c["reported"]).total_seconds() / 3600 for c in cases
           if c["acknowledged"]]  # fmt: skip
    res = [(c["resolved"] - c["reported"]).total_seconds() / 3600 for c in cases
           if c["resolved"]]  # fmt: skip
    ratings = [c["rating"] for c in cases if c["rating"] is not None]
    satisfied = sum(r >= 4 for r in ratings)
    return {
        "received": received,
        "closed": closed,
        "closure_rate": share(closed, received),
        "closed_on_time": on_time,
        "on_time_closure_rate": share(on_time, closed),
        "reworked": reworked,
        "rework_rate": share(reworked, received),
        "extended": extended,
        "extension_rate": share(extended, received),
        "acknowledged": len(ack),
        "mean_hours_to_acknowledge": mean(ack),
        "resolved": len(res),
        "mean_hours_to_resolve": mean(res),
        "rated": len(ratings),
        "mean_satisfaction": mean(ratings),
        "satisfied": satisfied,
        "satisfied_share": share(satisfied, len(ratings)),
    }


def assert_same_figures(api: dict[str, Any], expected: dict[str, Any], unit: Any = "") -> None:
    assert set(api) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float):
            assert api[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (unit, key)
        else:
            assert api[key] == value, (unit, key)


def ids_with_prefix(*prefixes: str) -> list[int]:
    return [
        pk
        for pk, code in Incident.objects.values_list("pk", "place_code")
        if any(code.startswith(p) for p in prefixes)
    ]


# --- acceptance 3 -------------------------------------------------------------------------
UNITS = [
    ("grid", lambda w: w.west.code),
    ("grid", lambda w: w.east.code),
    ("village", lambda w: w.v1.code),
    ("village", lambda w: w.v2.code),
    ("station", lambda w: w.station.code),
    ("town", lambda w: w.t1.code),
    ("town", lambda w: w.t2.code),
    ("district", lambda w: w.district.code),
    ("city", lambda w: w.district.code[:4] + "00"),
]


def test_kpis_from_the_api_equal_kpis_recomputed_from_the_history(driven, world, api, settings):
    # The walk produced what the comparison needs (so that it can fail).
    actions = set(CaseEvent.objects.values_list("action", flat=True))
    assert {"acknowledge", "resolve", "close_out", "grant_extension", "reopen", "callback",
            "escalate", "redispatch"} <= actions  # fmt: skip
    closed = Incident.objects.filter(closed_at__isnull=False)
    assert closed.filter(closed_on_time=True).exists()
    assert closed.filter(closed_on_time=False).exists()
    assert Incident.objects.filter(status=Status.REPORTED).exists()

    from grids.models import City

    city = world.district.code[:4] + "00"
    City.objects.create(
        code=city, name="Test city", geom=world.district.geom, generation_low=world.generation
    )
    period = {"from_": driven.start, "to": driven.end}
    for level, code_of in UNITS:
        code = code_of(world)
        res = get(api, level=level, code=code, **period)
        assert res.status_code == 200, res.content
        prefixes = {"station": [world.v1.code, world.v2.code], "city": [code[:4]]}.get(
            level, [code]
        )
        expected = figures_from_history(ids_with_prefix(*prefixes), driven)
        assert expected["received"] > 0, (level, code)
        assert_same_figures(res.json()["figures"], expected, (level, code))

    # A person: the cases routed to the grid leader of W.
    leader = world.people["W leader"].worker
    routed = IncidentRecipient.objects.filter(worker=leader, kind=RecipientKind.ROUTED)
    ids = set(routed.values_list("incident_id", flat=True))
    res = get(api, level="person", code=leader.pk, **period)
    assert res.json()["name"] == "W leader"
    expected = figures_from_history(ids, driven)
    assert expected["received"] > 0
    assert_same_figures(res.json()["figures"], expected, "person")

    # Each child of a breakdown, and the weeks adding up to the period.
    settings.GRIDMAP_KPI_MIN_CASES = 5
    body = get(api, level="town", code=world.t1.code, breakdown="village", weeks=1,
               **period).json()  # fmt: skip
    assert [c["code"] for c in body["children"]] == [world.v1.code, world.v2.code]
    for child in body["children"]:
        expected = figures_from_history(ids_with_prefix(child["code"]), driven)
        assert_same_figures(child["figures"], expected, child["code"])
        assert child["rankable"] is (expected["received"] >= 5)
    weeks = body["weeks"]
    assert sum(w["received"] for w in weeks) == body["figures"]["received"]
    assert sum(w["closed"] for w in weeks) == body["figures"]["closed"]
    assert all(dt.date.fromisoformat(w["week"]).weekday() == 0 for w in weeks)


# --- the unit and the period --------------------------------------------------------------
def case(world: World, code: str, at: dt.datetime, **fields: Any) -> Incident:
    """An incident with its case fields set directly (no history): for the API's rules."""
    return Incident.objects.create(
        location=Point(100.02, 0.05, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="blue",
        description="x",
        reporter=UserFactory(),
        reported_at=at,
        generation=world.generation,
        place_code=code,
        responsible_level="grid",
        owner_code=code,
        **fields,
    )


DAY = dt.date(2026, 3, 2)  # a Monday


def test_the_period_includes_from_and_excludes_to_at_local_midnight(world, api):
    start, end = DAY, DAY + dt.timedelta(days=7)
    case(world, world.west.code, local(start))
    case(world, world.west.code, local(start) - dt.timedelta(microseconds=1))
    case(world, world.west.code, local(end) - dt.timedelta(microseconds=1))
    case(world, world.west.code, local(end))
    res = get(api, level="grid", code=world.west.code, from_=start, to=end)
    assert res.json()["figures"]["received"] == 2
    assert (res.json()["from"], res.json()["to"]) == (start.isoformat(), end.isoformat())


def test_rates_and_means_without_cases_are_null_not_zero(world, api):
    res = get(api, level="village", code=world.v2.code, from_=DAY, to=DAY + dt.timedelta(1))
    figures = res.json()["figures"]
    assert figures["received"] == 0
    for key in ("closure_rate", "on_time_closure_rate", "rework_rate", "extension_rate",
                "mean_hours_to_acknowledge", "mean_hours_to_resolve", "mean_satisfaction",
                "satisfied_share"):  # fmt: skip
        assert figures[key] is None, key


def test_figures_follow_their_definitions(world, api):
    t0 = local(DAY, 9)
    hour = dt.timedelta(hours=1)
    case(
        world,
        world.west.code,
        t0,
        acknowledged_at=t0 + 2 * hour,
        resolved_at=t0 + 10 * hour,
        closed_at=t0 + 20 * hour,
        closed_on_time=True,
        satisfaction=5,
        extension_count=2,
    )
    case(
        world,
        world.west.code,
        t0,
        acknowledged_at=t0 + 4 * hour,
        resolved_at=t0 + 30 * hour,
        closed_at=t0 + 40 * hour,
        closed_on_time=False,
        satisfaction=3,
        rework_count=1,
    )
    case(world, world.east.code, t0, acknowledged_at=t0 + 6 * hour, satisfaction=4)
    case(world, world.east.code, t0)  # fmt: skip
    res = get(api, level="village", code=world.v1.code, from_=DAY, to=DAY + dt.timedelta(1))
    assert res.json()["figures"] == {
        "received": 4,
        "closed": 2,
        "closure_rate": 0.5,
        "closed_on_time": 1,
        "on_time_closure_rate": 0.5,
        "reworked": 1,
        "rework_rate": 0.25,
        "extended": 1,
        "extension_rate": 0.25,
        "acknowledged": 3,
        "mean_hours_to_acknowledge": pytest.approx(4.0),
        "resolved": 2,
        "mean_hours_to_resolve": pytest.approx(20.0),
        "rated": 3,
        "mean_satisfaction": pytest.approx(4.0),
        "satisfied": 2,
        "satisfied_share": pytest.approx(2 / 3),
    }


# --- breakdown and ranking ----------------------------------------------------------------
def test_children_with_too_few_cases_are_listed_but_not_ranked(world, api, settings):
    settings.GRIDMAP_KPI_MIN_CASES = 3
    t0 = local(DAY, 9)
    for closed in (True, True, False):
        case(world, world.west.code, t0, closed_at=t0 if closed else None, closed_on_time=closed)
    for closed in (True, False, False, False):
        case(world, world.east.code, t0, closed_at=t0 if closed else None)
    case(world, world.v1.code, t0, closed_at=t0)  # in the village, in no grid
    res = get(api, level="village", code=world.v1.code, from_=DAY, to=DAY + dt.timedelta(1),
              breakdown=1)  # fmt: skip
    body = res.json()
    assert body["child_level"] == "grid"
    assert body["figures"]["received"] == 8
    west, east = body["children"]
    assert (west["code"], west["rankable"], west["figures"]["closure_rate"]) == (
        world.west.code, True, pytest.approx(2 / 3))  # fmt: skip
    assert west["ranks"]["closure_rate"] == 1
    assert east["ranks"]["closure_rate"] == 2
    assert east["ranks"]["on_time_closure_rate"] == 2  # 0 of 1 closed on time
    assert west["ranks"]["mean_satisfaction"] is None  # nobody rated

    settings.GRIDMAP_KPI_MIN_CASES = 4
    body = get(api, level="village", code=world.v1.code, from_=DAY, to=DAY + dt.timedelta(1),
               breakdown=1).json()  # fmt: skip
    west, east = body["children"]
    assert (west["rankable"], west["ranks"]) == (False, None)
    assert east["rankable"] is True
    assert east["ranks"]["closure_rate"] == 1
    assert body["min_cases"] == 4


def test_equal_rates_share_a_rank(world, api, settings):
    settings.GRIDMAP_KPI_MIN_CASES = 1
    t0 = local(DAY, 9)
    case(world, world.v1.code, t0, closed_at=t0)
    case(world, world.v2.code, t0, closed_at=t0)
    body = get(api, level="town", code=world.t1.code, from_=DAY, to=DAY + dt.timedelta(1),
               breakdown="village").json()  # fmt: skip
    assert [c["ranks"]["closure_rate"] for c in body["children"]] == [1, 1]


def test_a_town_breaks_down_into_villages_or_stations(world, api):
    t0 = local(DAY, 9)
    case(world, world.west.code, t0)
    case(world, world.v2.code, t0)
    case(world, world.t1.code, t0)  # in the town, in no village
    villages = get(api, level="town", code=world.t1.code, from_=DAY, to=DAY + dt.timedelta(1),
                   breakdown=1).json()  # fmt: skip
    assert villages["child_level"] == "village"
    assert [(c["code"], c["figures"]["received"]) for c in villages["children"]] == [
        (world.v1.code, 1), (world.v2.code, 1)]  # fmt: skip
    stations = get(api, level="town", code=world.t1.code, from_=DAY, to=DAY + dt.timedelta(1),
                   breakdown="station").json()  # fmt: skip
    assert [(c["code"], c["figures"]["received"]) for c in stations["children"]] == [
        (world.station.code, 2)]  # fmt: skip
    assert stations["figures"]["received"] == 3


def test_weeks_run_monday_to_monday_in_local_time(world, api):
    monday = DAY
    case(world, world.west.code, local(monday, 0, 0))
    case(world, world.west.code, local(monday) - dt.timedelta(minutes=1), closed_at=local(monday))
    body = get(api, level="grid", code=world.west.code, from_=monday - dt.timedelta(days=3),
               to=monday + dt.timedelta(days=2), weeks=1).json()  # fmt: skip
    assert body["weeks"] == [
        {"week": (monday - dt.timedelta(days=7)).isoformat(), "received": 1, "closed": 1},
        {"week": monday.isoformat(), "received": 1, "closed": 0},
    ]


# --- jurisdiction -------------------------------------------------------------------------
def login(api_client, role: str, code: str):
    user = AccountFactory(user=UserFactory(), role=role, codes=[code]).user
    api_client.force_authenticate(user)
    return api_client


@pytest.mark.parametrize(
    "role, own, allowed, refused",
    [
        (AccountRole.TOWN_STAFF, "t1", [("town", "t1"), ("village", "v2"), ("station", "station")],
         [("district", "district"), ("town", "t2")]),
        (AccountRole.STATION_STAFF, "station", [("station", "station"), ("village", "v1")],
         [("town", "t1")]),
        (AccountRole.VILLAGE_STAFF, "v1", [("village", "v1"), ("grid", "west")],
         [("village", "v2"), ("station", "station"), ("town", "t1")]),
        (AccountRole.GRID_WORKER, "west", [("grid", "west")], [("grid", "east")]),
    ],
)  # fmt: skip
def test_units_outside_the_jurisdiction_are_not_found(world, api_client, role, own, allowed,
                                                      refused):  # fmt: skip
    def code(key: str) -> str:
        return getattr(world, key).code

    client = login(api_client, role, code(own))
    for level, key in allowed:
        assert get(client, level=level, code=code(key)).status_code == 200, (level, key)
    for level, key in refused:
        res = get(client, level=level, code=code(key))
        assert res.status_code == 404, (level, key)
        assert res.json()["detail"] == gettext(kpis.MSG_NOT_FOUND) % {
            "level": kpis.LEVEL_LABELS[level], "code": code(key)}  # fmt: skip


def test_a_persons_figures_are_limited_to_the_jurisdiction(world, api_client, api):
    leader = world.people["W leader"].worker
    t0 = local(DAY, 9)
    for code in (world.west.code, world.v2.code):
        incident = case(world, code, t0)
        IncidentRecipient.objects.create(
            incident=incident, worker=leader, kind=RecipientKind.ROUTED,
            responder="grid_leader", role="grid_leader", name=leader.name,
        )  # fmt: skip
    copied = case(world, world.west.code, t0)
    IncidentRecipient.objects.create(
        incident=copied,
        worker=leader,
        kind=RecipientKind.COPIED,
        responder="party_guide",
        role="party_guide",
        name="x",
    )
    params = {"level": "person", "code": leader.pk, "from_": DAY, "to": DAY + dt.timedelta(1)}
    assert get(api, **params).json()["figures"]["received"] == 2
    client = login(api_client, AccountRole.VILLAGE_STAFF, world.v1.code)
    assert get(client, **params).json()["figures"]["received"] == 1


def test_anonymous_users_get_nothing(world, api_client):
    assert get(api_client, level="town", code=world.t1.code).status_code in (401, 403)


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, field, msgid, args",
    [
        ({"level": "county", "code": "990101"}, "level", kpis.MSG_UNKNOWN_LEVEL,
         {"level": "county", "levels": ", ".join(kpis.LEVELS)}),
        ({"level": "town", "code": "9901"}, "code", kpis.MSG_BAD_CODE,
         {"code": "9901", "level": kpis.LEVEL_LABELS["town"]}),
        ({"level": "town", "code": "T1", "from": "2026-13-01"}, "from", kpis.MSG_BAD_DATE,
         {"value": "2026-13-01"}),
        ({"level": "town", "code": "T1", "from": "2026-03-02", "to": "2026-03-02"}, "to",
         kpis.MSG_DATE_ORDER, {}),
        ({"level": "town", "code": "T1", "from": "2020-01-01", "to": "2026-03-02"}, "from",
         kpis.MSG_PERIOD_TOO_LONG, {"days": kpis.MAX_DAYS}),
        ({"level": "grid", "code": "W", "breakdown": "1"}, "breakdown", kpis.MSG_NO_BREAKDOWN,
         {"level": kpis.LEVEL_LABELS["grid"]}),
        ({"level": "town", "code": "T1", "breakdown": "grid"}, "breakdown",
         kpis.MSG_BAD_BREAKDOWN, {"level": kpis.LEVEL_LABELS["town"],
                                  "levels": "village, station"}),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_message(world, api, params, field, msgid, args):
    codes = {"T1": world.t1.code, "W": world.west.code}
    params = {k: codes.get(v, v) for k, v in params.items()}
    res = api.get("/api/kpis/", params)
    assert res.status_code == 400
    message = gettext(msgid) % args if args else gettext(msgid)
    assert res.json() == {"detail": message, "errors": {field: [message]}}


def test_an_unknown_code_is_not_found(world, api):
    res = get(api, level="village", code="990199999999")
    assert res.status_code == 404


# --- the statement ------------------------------------------------------------------------
def test_one_aggregate_statement_per_request(world, api):
    from django.test.utils import CaptureQueriesContext

    case(world, world.west.code, local(DAY, 9))
    with CaptureQueriesContext(connection) as queries:
        res = get(api, level="town", code=world.t1.code, from_=DAY, to=DAY + dt.timedelta(1),
                  breakdown=1, weeks=1)  # fmt: skip
    assert res.json()["figures"]["received"] == 1
    sql = [q["sql"] for q in queries.captured_queries]
    # the unit, the child units, and the aggregate with its planner setting (in a savepoint)
    assert len([q for q in sql if "incidents_incident" in q]) == 1
    assert len([q for q in sql if q.startswith("SET LOCAL random_page_cost")]) == 1
    assert len([q for q in sql if "SAVEPOINT" not in q]) == 4, sql


def test_the_statement_is_an_index_range_on_the_kpi_index(world):
    """The whole WHERE clause is index conditions on the covering index ``incident_kpi``:
    a range on place_code and the period, no per-row pattern re-check. (The test tables are
    tiny and never vacuumed, so the planner is steered: sequential scans off and, inside this
    test's transaction, the other indexes on place_code or reported_at dropped. On vacuumed
    data it is an index-only scan: see the ``kpi`` bench scenario.)"""
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'incident_kpi'")
        (definition,) = cur.fetchone()
        assert "(place_code varchar_pattern_ops, reported_at) INCLUDE (" in definition
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'incidents_incident' "
            "AND indexname <> 'incident_kpi' "
            "AND (indexdef LIKE '%%place_code%%' OR indexdef LIKE '%%reported_at%%')"
        )
        for (name,) in cur.fetchall():
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        unit = kpis.Unit("district", world.district.code, "D", (world.district.code,))
        sql, params = kpis.kpi_sql(unit, DAY, DAY + dt.timedelta(7), children=None, weekly=False)
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "using incident_kpi" in plan, plan
    code = world.district.code
    assert f"Index Cond: ((place_code ~>=~ '{code}'::text) AND" in plan, plan
    assert "(reported_at >= " in plan, plan
    assert "Filter" not in plan, plan  # nothing re-checked row by row
