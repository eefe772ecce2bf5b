"""load_demo_cases: generated cases whose case fields agree with their generated history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from demo.cases import DEMO_REPORTER, demo_case_count, load_demo_cases
from incidents.models import CaseEvent, Incident, IncidentRecipient, IncidentReport
from tests.reports.test_kpis import case_from_history

pytestmark = pytest.mark.django_db

END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def cases(demo):
    load_demo_cases(count=1500, seed=3, days=120, end=END)
    return Incident.objects.filter(reporter__username=DEMO_REPORTER)


def test_the_case_fields_are_what_the_generated_history_says(cases):
    assert cases.count() == 1500
    events: dict[int, list[CaseEvent]] = {}
    for e in CaseEvent.objects.filter(incident__in=cases).order_by("seq"):
        events.setdefault(e.incident_id, []).append(e)
    assert len(events) == 1500  # every case has at least its report
    for incident in cases:
        history = events[incident.pk]
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        for before, after in zip(history, history[1:], strict=False):
            assert after.at >= before.at
            assert (after.from_status, after.from_level) == (before.to_status, before.to_level)
        facts = case_from_history(history)
        assert facts["reported"] == incident.reported_at
        assert facts["acknowledged"] == incident.acknowledged_at
        assert facts["resolved"] == incident.resolved_at
        assert facts["closed"] == (incident.closed_at is not None)
        if facts["closed"]:
            assert facts["on_time"] == incident.closed_on_time
        assert facts["extended"] == (incident.extension_count > 0)
        assert facts["reworked"] == (incident.rework_count > 0)
        assert facts["rating"] == incident.satisfaction
        assert (incident.status, incident.owner_level) == (
            history[-1].to_status, history[-1].to_level)  # fmt: skip
        assert incident.version == len(history) + 1
        assert all(e.at < END for e in history)


def test_closed_demo_cases_keep_the_separation_of_duties(cases):
    """Every resolve has a written result; verification and close-out are by two different
    people, neither of them the one who resolved (cases.workflow, issue 12 item 6)."""
    closed = 0
    for incident in cases.filter(status="closed"):
        history = list(CaseEvent.objects.filter(incident=incident).order_by("seq"))
        assert all(e.note.strip() for e in history if e.action == "resolve")
        verify = [e for e in history if e.action == "verify"][-1]
        close = next(e for e in history if e.action == "close_out")
        resolve = [e for e in history if e.action == "resolve"][-1]
        assert (verify.actor_id, verify.actor_name) != (close.actor_id, close.actor_name)
        assert close.actor_name not in (verify.actor_name, resolve.actor_name)
        closed += 1
    assert closed > 100


def test_cases_are_spread_over_statuses_places_and_time(cases):
    statuses = set(cases.values_list("status", flat=True))
    assert {"closed", "in_progress", "reported", "cancelled"} <= statuses
    assert (
        cases.filter(closed_on_time=True).exists() and cases.filter(closed_on_time=False).exists()
    )
    from grids.models import Grid

    grids = Grid.objects.current().filter(code__startswith="4507").count()
    assert cases.order_by().values("grid").distinct().count() == grids > 10
    first, last = min(cases.values_list("reported_at", flat=True)), max(
        cases.values_list("reported_at", flat=True))  # fmt: skip
    assert END - dt.timedelta(days=120) <= first and last < END
    assert last - first > dt.timedelta(days=100)
    assert IncidentReport.objects.filter(incident__in=cases).count() == 1500
    assert IncidentRecipient.objects.filter(incident__in=cases, kind="routed").count() > 1400


def test_loading_again_needs_replace_and_replace_deletes_the_history_too(cases):
    with pytest.raises(CommandError, match="--replace"):
        call_command("load_demo_cases", count=10, verbosity=0)
    call_command("load_demo_cases", count=10, replace=True, no_events=True, verbosity=0)
    assert demo_case_count() == 10
    assert not CaseEvent.objects.filter(incident__reporter__username=DEMO_REPORTER).exists()
    # The append-only history is still protected after the demo cases were replaced.
    from django.db import IntegrityError, transaction

    event = CaseEvent.objects.first()
    if event is not None:
        with pytest.raises(IntegrityError), transaction.atomic():
            CaseEvent.objects.filter(pk=event.pk).delete()


def test_delete_removes_only_the_demo_cases(cases, capsys):
    call_command("load_demo_cases", delete=True)
    assert "Deleted 1,500 demo cases." in capsys.readouterr().out
    assert demo_case_count() == 0
    assert not IncidentReport.objects.filter(reporter__username=DEMO_REPORTER).exists()


def test_delete_removes_the_delivery_records_of_their_notifications(cases):
    from inbox.models import Delivery
    from incidents.notifications import notify_incident

    notify_incident(cases.filter(recipients__isnull=False).first())
    assert Delivery.objects.exists()
    call_command("load_demo_cases", delete=True)
    assert demo_case_count() == 0
    assert not Delivery.objects.exists()


def test_same_seed_same_cases(demo):
    load_demo_cases(count=50, seed=11, days=30, end=END)
    first = list(Incident.objects.filter(reporter__username=DEMO_REPORTER)
                 .order_by("id").values_list("place_code", "reported_at", "status"))  # fmt: skip
    load_demo_cases(count=50, seed=11, days=30, end=END, replace=True)
    again = list(Incident.objects.filter(reporter__username=DEMO_REPORTER)
                 .order_by("id").values_list("place_code", "reported_at", "status"))  # fmt: skip
    assert first == again
    assert timezone.is_aware(first[0][1])
