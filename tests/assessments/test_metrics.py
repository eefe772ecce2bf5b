"""The metrics beyond the case KPIs, by hand: service requests, the weekly reports'
punctuality, key persons' visits, presence; the default schemes compute over them; formulas
are evaluated safely."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from assessments import services
from assessments.formulas import check_formula, evaluate
from assessments.metrics import METRICS, Context, Subject, measure
from assessments.models import Scheme, Score
from grids.models import Role
from households.models import Household
from presence.models import CareCategory, KeyPerson
from servicedesk import services as desk
from servicedesk.models import ServiceItem, ServiceRequest
from tests.factories import RoleAssignmentFactory, UserFactory, WorkerFactory
from weekly.models import VillageWeeklyReport
from weekly.selectors import village_report_due

from .conftest import MARCH, at, cycle_of

pytestmark = pytest.mark.django_db


def ctx() -> Context:
    return Context(start=MARCH[0], end=MARCH[1] + dt.timedelta(days=1), today=dt.date(2026, 5, 1))


def request(world, n: int, *, receiver=None, done_days: int | None = None, promised: int = 5,
            status: str = "acknowledged", rating: int | None = None) -> ServiceRequest:  # fmt: skip
    item, _ = ServiceItem.objects.get_or_create(
        code="T1", district=None,
        defaults={"name": "item", "kind": "government", "approving_level": "town",
                  "promised_days": 5},
    )  # fmt: skip
    received = at(MARCH[0].replace(day=2 + n))
    done = received + dt.timedelta(days=done_days) if done_days is not None else None
    return ServiceRequest.objects.create(
        item=item, applicant_name="x", reporter=UserFactory(), village=world.a, town=world.town,
        place_code=world.grids["A"].code, owner_level="village", owner_code=world.a.code,
        reported_at=received, acknowledged_at=received, short_code=f"S{n:05d}",
        resolve_due_at=received + dt.timedelta(days=promised), resolved_at=done,
        status=("resolved" if done else status), satisfaction=rating, first_receiver=receiver,
    )  # fmt: skip


def test_service_metrics_by_hand(world):
    worker = WorkerFactory()
    request(world, 0, done_days=2, rating=5, receiver=worker)  # on time
    request(world, 1, done_days=9, rating=3)  # late
    request(world, 2)  # open
    request(world, 3, status="cancelled")  # withdrawn
    keys = ["service_completion_rate", "service_on_time_rate", "service_mean_days",
            "service_rating", "residents_rating"]  # fmt: skip
    m = measure(Subject("village", world.a.code, "A"), keys, ctx())
    assert m["service_completion_rate"] == {"value": round(2 / 3, 6), "samples": 3}
    assert m["service_on_time_rate"] == {"value": 0.5, "samples": 2}
    assert m["service_mean_days"] == {"value": 5.5, "samples": 2}
    assert m["service_rating"] == {"value": 4.0, "samples": 2}
    assert m["residents_rating"] == {"value": 4.0, "samples": 2}
    # A person: the requests they first received.
    person = measure(Subject("person", world.a.code, "p", worker.pk), keys[:2], ctx())
    assert person["service_completion_rate"] == {"value": 1.0, "samples": 1}
    # Another village: nothing to measure.
    other = measure(Subject("village", world.c.code, "C"), keys[:1], ctx())
    assert other["service_completion_rate"] == {"value": None, "samples": 0}


def test_weekly_punctuality_by_hand(world):
    weeks = [dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 3, 16)]
    VillageWeeklyReport.objects.create(
        village_code=world.a.code, station_code=world.station.code, week=weeks[0],
        submitted_at=village_report_due(weeks[0]) - dt.timedelta(hours=1),
    )  # fmt: skip
    VillageWeeklyReport.objects.create(
        village_code=world.a.code, station_code=world.station.code, week=weeks[1],
        submitted_at=village_report_due(weeks[1]) + dt.timedelta(hours=1),
    )  # fmt: skip
    # March 2026 has five Mondays (2, 9, 16, 23, 30); one report on time of five.
    m = measure(Subject("village", world.a.code, "A"), ["weekly_punctuality"], ctx())
    assert m["weekly_punctuality"] == {"value": 0.2, "samples": 5}
    # The station: its two villages, ten reports due.
    m = measure(Subject("station", world.station.code, "S"), ["weekly_punctuality"], ctx())
    assert m["weekly_punctuality"] == {"value": 0.1, "samples": 10}


def test_key_person_visits_by_hand(world):
    category = CareCategory.objects.create(
        code="t", name="t", visit_every_days=30, visitor=CareCategory.Visitor.GRID_LEADER
    )
    for n in range(2):
        household = Household.objects.create(
            address=f"a{n}", head_name="h", location=world.grids["A"].geom.centroid,
            grid=world.grids["A"], size=1,
        )  # fmt: skip
        # One became a key person long ago (overdue), one on the 20th of March (not yet due).
        since = dt.date(2026, 1, 1) if n == 0 else dt.date(2026, 3, 20)
        KeyPerson.objects.create(household=household, category=category, since=since)
    leader = WorkerFactory()
    RoleAssignmentFactory(worker=leader, role=Role.GRID_LEADER, grid=world.grids["A"])
    unit = measure(Subject("grid", world.grids["A"].code, "G"), ["key_person_visits"], ctx())
    assert unit["key_person_visits"] == {"value": 0.5, "samples": 2}
    person = measure(
        Subject("person", world.grids["A"].code, "L", leader.pk), ["key_person_visits"], ctx()
    )
    assert person["key_person_visits"] == {"value": 0.5, "samples": 2}


def test_the_default_schemes_compute(world):
    assistant = WorkerFactory(name="Assistant A")
    RoleAssignmentFactory(worker=assistant, role=Role.VILLAGE_ASSISTANT, village=world.a)
    request(world, 0, done_days=2, rating=5, receiver=assistant)
    for scheme in Scheme.objects.filter(district=None, name__in=[
        "村级助理月考评", "网格工作季度考核", "党建工作站月考评",
    ]):  # fmt: skip
        cycle = cycle_of(scheme, MARCH, world.district)
        assert services.compute_cycle(actor=world.root, cycle=cycle) >= 1
    score = Score.objects.get(worker=assistant)
    assert score.metrics["days_present"] == {"value": 0.0, "samples": 1}
    assert score.metrics["service_completion_rate"] == {"value": 1.0, "samples": 1}
    by_key = {r["key"]: r for r in score.indicators}
    assert by_key["presence"]["points"] == "0.00"
    assert not by_key["completion"]["assessable"]  # 1 request < 5 samples
    assert not by_key["party_org"]["assessable"]  # nobody entered it yet
    assert score.total == Decimal("0.00") and not score.complete and score.rank is None


def test_formulas_are_arithmetic_over_known_metrics_only():
    assert check_formula("min(100, days_present / 20 * 100)", METRICS) == ["days_present"]
    assert evaluate("100 * x", {"x": 0.25}) == 25.0
    for bad in ("__import__('os')", "x.__class__", "unknown_metric * 2", "", "1 +",
                "open('f')", "[x for x in range(10**9)]", "100"):  # fmt: skip
        with pytest.raises(ValidationError):
            check_formula(bad, [*METRICS, "x"])
    # One subject's figures that break the arithmetic make that indicator not assessable
    # for them (None), never the whole cycle's computation fail.
    assert evaluate("1 / x", {"x": 0.0}) is None
    assert evaluate("10.0 ** x", {"x": 1000.0}) is None
    assert check_formula("100 / (x - 1)", [*METRICS, "x"]) == ["x"]


def test_service_metrics_of_requests_driven_through_the_engine(world):
    """Requests taken and handled through ``servicedesk.services`` (the case engine): the
    assistant who took them is their first receiver; done, late, withdrawn, rated."""
    user = UserFactory()
    assistant = WorkerFactory(user=user)
    RoleAssignmentFactory(worker=assistant, role=Role.VILLAGE_ASSISTANT, village=world.a)
    item = ServiceItem.objects.create(
        code="ENG", name="item", kind="government", approving_level="town", promised_days=3
    )
    monday = dt.datetime(2026, 3, 2, 9, tzinfo=timezone.get_default_timezone())

    def take(day: int) -> ServiceRequest:
        return desk.service_request_create(
            actor=user, item=item, village=world.a, applicant_name="居民",
            at=monday + dt.timedelta(days=day),
        )  # fmt: skip

    def act(r: ServiceRequest, action: str, at: dt.datetime, **kw) -> ServiceRequest:
        return desk.service_request_act(
            actor=user, request_id=r.pk, action=action, version=r.version, at=at, **kw
        )

    on_time, late, withdrawn = take(0), take(1), take(2)
    r = act(on_time, "resolve", monday + dt.timedelta(days=1), note="done")
    act(r, "close_out", monday + dt.timedelta(days=2), data={"how": "pickup"})
    desk.service_request_rate_public(short_code=on_time.short_code, rating=5)
    act(late, "resolve", monday + dt.timedelta(days=10), note="done late")
    desk.service_request_rate_public(short_code=late.short_code, rating=2)
    act(withdrawn, "cancel", monday + dt.timedelta(days=3), note="the resident went himself")

    keys = ["service_completion_rate", "service_on_time_rate", "service_rating"]
    for subject in (Subject("village", world.a.code, "A"),
                    Subject("person", world.a.code, "p", assistant.pk)):  # fmt: skip
        m = measure(subject, keys, ctx())
        assert m["service_completion_rate"] == {"value": 1.0, "samples": 2}
        assert m["service_on_time_rate"] == {"value": 0.5, "samples": 2}
        assert m["service_rating"] == {"value": 3.5, "samples": 2}
