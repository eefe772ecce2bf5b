"""Acceptance 3 of issue 15: a small scheme (three indicators) over hand-made cases checks
every score, the weights, the minimum-sample rule, the freeze on closing (a change to an
underlying case afterwards does not change the closed score; recomputing a closed cycle is
refused, by the service and by the database) and the appeal.

The scheme (tests/assessments/conftest.py ``village_scheme``), per village and month:

| indicator | formula | weight | min samples | samples |
|---|---|---|---|---|
| closure | 100 * case_closure_rate | 50 | 4 | cases received |
| on time | 100 * case_on_time_rate | 30 | 2 | cases closed |
| rework | 100 * case_rework_rate, lower is better | 20 | 4 | cases received |

March, by hand:

- A: 4 cases, 3 closed (2 on time), 1 reopened: closure 75, on time 66.67, rework
  100 - 25 = 75; total (75 x 50 + 66.67 x 30 + 75 x 20) / 100 = 72.501 -> 72.50; complete.
- B: 2 cases, both closed on time: closure and rework have 2 < 4 samples (not assessable),
  on time 100 (2 >= 2): total 100 over the one assessable indicator (its weight takes the
  others'), incomplete, so no rank.
- C: 5 cases all closed on time, none reopened: 100, 100, 100; total 100; rank 1; A rank 2.
- February (the previous cycle): A had 4 cases all closed on time: total 100, so A's March
  trend is down.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import AccountRole
from assessments import selectors, services
from assessments.models import Appeal, Cycle, Scheme, Score
from grids.models import Role
from incidents.models import Incident
from tests.factories import AccountFactory, UserFactory

from .conftest import FEBRUARY, MARCH, admin_login, at, case, cycle_of, person_login, village_scheme

pytestmark = pytest.mark.django_db


def march_cases(world) -> list[Incident]:
    a = world.grids["A"].code
    days = [MARCH[0].replace(day=d) for d in (2, 3, 4, 5, 6)]
    made = [
        case(a, at(days[0]), closed=True, on_time=True),
        case(a, at(days[1]), closed=True, on_time=True, rework=1),
        case(a, at(days[2]), closed=True, on_time=False),
        case(a, at(days[3])),
    ]
    for d in days[:2]:
        case(world.b.code, at(d), closed=True, on_time=True)
    for d in days:
        case(world.c.code, at(d), closed=True, on_time=True)
    # Outside the period (the 1st of April, local midnight) and outside the villages.
    case(a, at(dt.date(2026, 4, 1), 0))
    case(world.town.code, at(days[0]), closed=True)
    return made


def scores(cycle: Cycle) -> dict[str, Score]:
    return {s.code: s for s in Score.objects.filter(cycle=cycle)}


def points(score: Score) -> dict[str, str | None]:
    return {row["key"]: row["points"] for row in score.indicators}


@pytest.fixture
def computed(world):
    scheme = village_scheme()
    february = cycle_of(scheme, FEBRUARY, world.district)
    for d in (2, 3, 4, 5):
        case(world.grids["A"].code, at(FEBRUARY[0].replace(day=d)), closed=True, on_time=True)
    services.close_cycle(actor=world.root, cycle=february)
    march = cycle_of(scheme, MARCH, world.district)
    made = march_cases(world)
    assert services.compute_cycle(actor=world.root, cycle=march) == 3
    return march, made


def test_every_score_the_weights_and_the_minimum_samples(world, computed):
    march, _ = computed
    s = scores(march)
    a, b, c = s[world.a.code], s[world.b.code], s[world.c.code]

    assert points(a) == {"closure": "75.00", "on_time": "66.67", "rework": "75.00"}
    assert a.metrics["case_closure_rate"] == {"value": 0.75, "samples": 4}
    assert a.metrics["case_on_time_rate"]["samples"] == 3
    assert a.metrics["case_rework_rate"] == {"value": 0.25, "samples": 4}
    assert a.total == Decimal("72.50")
    assert a.complete and a.rank == 2

    # B: two of three indicators lack samples; the third carries the whole weight.
    assert points(b) == {"closure": None, "on_time": "100.00", "rework": None}
    assert [r["assessable"] for r in b.indicators] == [False, True, False]
    assert [r["samples"] for r in b.indicators] == [2, 2, 2]
    assert b.total == Decimal("100.00")
    assert not b.complete and b.rank is None

    assert points(c) == {"closure": "100.00", "on_time": "100.00", "rework": "100.00"}
    assert c.total == Decimal("100.00") and c.rank == 1

    # The trend against February (A: 100 then).
    assert a.previous_total == Decimal("100.00") and a.trend == "down"
    assert c.previous_total is None and c.trend == ""


def test_recomputing_an_open_cycle_follows_the_data(world, computed):
    march, made = computed
    Incident.objects.filter(pk=made[3].pk).update(
        status="closed", closed_at=made[3].reported_at, closed_on_time=True
    )
    services.compute_cycle(actor=world.root, cycle=march)
    a = scores(march)[world.a.code]
    assert points(a)["closure"] == "100.00"
    assert points(a)["on_time"] == "75.00"


def test_closing_freezes_the_scores(world, computed):
    march, made = computed
    services.close_cycle(actor=world.root, cycle=march)
    march.refresh_from_db()
    assert march.is_closed and march.closed_by == world.root
    before = scores(march)[world.a.code]
    assert before.total == Decimal("72.50")

    # A change to an underlying case afterwards: the closed score does not move.
    Incident.objects.filter(pk=made[3].pk).update(
        status="closed", closed_at=made[3].reported_at, closed_on_time=True
    )
    after = scores(march)[world.a.code]
    assert after.total == before.total and after.indicators == before.indicators

    # Recomputing is refused by the service ...
    with pytest.raises(ValidationError):
        services.compute_cycle(actor=world.root, cycle=march)
    with pytest.raises(ValidationError):
        services.close_cycle(actor=world.root, cycle=march)
    # ... and by the database: no update, insert or delete of a closed score, no reopening.
    with pytest.raises(IntegrityError), transaction.atomic():
        Score.objects.filter(pk=after.pk).update(total=Decimal(1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Score.objects.filter(pk=after.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Score.objects.create(
            cycle=march, level="village", code="990150001009", name="x",
            computed_at=march.closed_at,
        )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Cycle.objects.filter(pk=march.pk).update(state="open", closed_at=None)
    assert scores(march)[world.a.code].total == Decimal("72.50")

    # The scheme changing afterwards (an indicator renamed, another added) leaves the closed
    # cycle's columns as they were computed: its table and its export read the scores' own.
    columns = selectors.cycle_indicators(march)
    header = selectors.export_header(march)
    first = march.scheme.indicators.order_by("order", "id").first()
    march.scheme.indicators.filter(pk=first.pk).update(name="renamed afterwards")
    march.scheme.indicators.create(
        key="late_addition", name="late addition", formula="100", weight=10, order=99
    )
    assert selectors.cycle_indicators(march) == columns
    assert selectors.export_header(march) == header
    assert "renamed afterwards" not in header


def test_only_the_districts_administrators_compute_and_close(world, computed):
    march, _ = computed
    march.district = world.district
    march.save(update_fields=["district"])
    other = admin_login(type(world.district).objects.create(
        code="990151", name="Other", geom=world.district.geom,
        generation_low=world.district.generation_low,
    ))  # fmt: skip
    with pytest.raises(PermissionDenied):
        services.close_cycle(actor=other, cycle=march)
    assistant = person_login(Role.VILLAGE_ASSISTANT, village=world.a)
    with pytest.raises(PermissionDenied):
        services.compute_cycle(actor=assistant, cycle=march)
    services.close_cycle(actor=admin_login(world.district), cycle=march)


def test_the_appeal_and_its_answer(world, computed):
    march, _ = computed
    a = scores(march)[world.a.code]
    staff = person_login(Role.VILLAGE_SECRETARY, village=world.a)
    # Not while the cycle is open.
    with pytest.raises(ValidationError):
        services.appeal_create(actor=staff, score=a, reason="A case was closed late by the town.")
    closer = admin_login(world.district)
    march.district = world.district
    march.save(update_fields=["district"])
    services.close_cycle(actor=closer, cycle=march)
    a = Score.objects.select_related("cycle").get(pk=a.pk)

    # Another village's staff may not appeal A's score.
    neighbour = person_login(Role.VILLAGE_SECRETARY, village=world.b)
    with pytest.raises(PermissionDenied):
        services.appeal_create(actor=neighbour, score=a, reason="x")
    with pytest.raises(ValidationError):
        services.appeal_create(actor=staff, score=a, reason="  ")

    appeal = services.appeal_create(
        actor=staff, score=a, reason="A case was closed late by the town."
    )
    with pytest.raises(ValidationError):  # one open appeal per score
        services.appeal_create(actor=staff, score=a, reason="Again.")
    with pytest.raises(IntegrityError), transaction.atomic():
        Appeal.objects.create(score=a, reason="raw", by=staff, at=appeal.at)

    # The answer: whoever closed the cycle (or the district's administrators); not the staff.
    with pytest.raises(PermissionDenied):
        services.appeal_answer(actor=staff, appeal=appeal, answer="No.")
    answered = services.appeal_answer(
        actor=closer, appeal=appeal, answer="The town's delay is not counted against A."
    )
    assert answered.answered_by == closer and answered.answered_at is not None
    with pytest.raises(ValidationError):
        services.appeal_answer(actor=closer, appeal=answered, answer="Again.")
    # The score stays frozen; a new appeal may follow the answer.
    assert Score.objects.get(pk=a.pk).total == Decimal("72.50")
    services.appeal_create(actor=staff, score=a, reason="A second reason.")


def test_a_cycle_is_not_closed_before_its_period_is_over(world):
    """Closing freezes for good: a cycle whose period still runs is refused (its scores would
    be frozen on part of the data)."""
    today = dt.date.today()
    running = services.cycle_open(
        actor=world.root, scheme=village_scheme(),
        starts_on=today.replace(day=1), ends_on=today + dt.timedelta(days=1), district=None,
    )  # fmt: skip
    with pytest.raises(ValidationError) as err:
        services.close_cycle(actor=world.root, cycle=running)
    assert (today + dt.timedelta(days=1)).isoformat() in str(err.value)
    running.refresh_from_db()
    assert not running.is_closed


def test_the_town_evaluates_what_lies_below_it_never_itself(world):
    """Town staff enter the party organisation's and the cadres' scores of its villages,
    stations and people, not of the town's own score."""
    scheme = Scheme.objects.create(name="Towns", level="town", kind="monthly")
    cycle = Cycle.objects.create(
        scheme=scheme, kind="monthly", starts_on=MARCH[0], ends_on=MARCH[1]
    )
    town_score = Score.objects.create(
        cycle=cycle, level="town", code=world.town.code, name="town", computed_at=at(MARCH[1])
    )
    village_score = Score.objects.create(
        cycle=cycle, level="village", code=world.a.code, name="A", computed_at=at(MARCH[1])
    )
    staff = UserFactory()
    AccountFactory(user=staff, role=AccountRole.TOWN_STAFF, codes=[world.town.code])
    for source in ("party_org", "cadres"):
        assert selectors.may_evaluate(staff, village_score, source)
        assert not selectors.may_evaluate(staff, town_score, source)
