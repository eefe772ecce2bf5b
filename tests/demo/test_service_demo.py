"""load_demo_service_requests: months of proxy service carried through the engine, so each
request's history, promise, steps and rating are what the application itself writes, with a
realistic spread of outcomes (done on time or late, escalated, declined, withdrawn, open)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, Max

from cases.models import Status
from demo.service_requests import (
    delete_demo_service_requests,
    demo_service_count,
    load_demo_service_requests,
)
from demo.servicedesk import load_demo_catalogue
from inbox.models import Notification
from servicedesk.models import ServiceRequest, ServiceRequestEvent, ServiceStep

pytestmark = pytest.mark.django_db

END = dt.datetime(2026, 11, 30, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def loaded(demo):
    load_demo_catalogue()
    return load_demo_service_requests(months=2, seed=3, end=END)


def test_it_makes_requests_with_every_outcome(loaded):
    assert loaded["service requests"] == demo_service_count() == ServiceRequest.objects.count()
    assert loaded["service requests"] >= 60
    statuses = set(ServiceRequest.objects.values_list("status", flat=True))
    assert {Status.CLOSED, Status.IN_PROGRESS} <= statuses
    assert loaded["completed"] > loaded["service requests"] * 0.6
    assert loaded["rated"] > 0
    assert ServiceStep.objects.exists()
    # Nothing happens after the end.
    assert ServiceRequestEvent.objects.aggregate(m=Max("at"))["m"] < END


def test_histories_are_the_engines(loaded):
    # Every history starts with the report and runs without gaps.
    rows = ServiceRequest.objects.annotate(n=Count("events"), top=Max("events__seq"))
    for request in rows:
        assert request.n == request.top
        first = request.events.order_by("seq").first()
        assert first.action == "report"
    # Completed requests' on-time flag is the engine's: resolved by the promise.
    for request in ServiceRequest.objects.filter(status=Status.CLOSED):
        assert request.closed_on_time == (request.resolved_at <= request.resolve_due_at)


def test_late_requests_were_escalated_once_and_kept_their_promise(loaded):
    escalations = ServiceRequestEvent.objects.filter(action="escalate")
    assert loaded["escalated"] == escalations.values("request").distinct().count()
    for event in escalations.select_related("request"):
        report = event.request.events.get(seq=1)
        assert event.actor_id is None  # the clock
        promised = report.data.get("resolve_due_at")
        if promised:
            assert dt.datetime.fromisoformat(promised) == event.request.resolve_due_at


def test_delete(loaded):
    deleted = delete_demo_service_requests()
    assert deleted["service requests"] == loaded["service requests"]
    assert demo_service_count() == 0
    assert not ServiceRequestEvent.objects.exists()
    # Their inbox entries go with them (cases.history.purge_cases).
    assert not Notification.objects.filter(subject_type="service_request").exists()
