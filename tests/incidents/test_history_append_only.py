"""The case history cannot be edited or deleted: the database refuses it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.models import CaseEvent, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(two_grids):
    from django.contrib.gis.geos import Point

    from incidents.models import Category, Incident
    from tests.factories import GenerationFactory, UserFactory

    west, _ = two_grids
    user = UserFactory()
    incident = Incident.objects.create(
        location=Point(100.01, 0.01, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="blue",
        description="x",
        reporter=user,
        reported_at=timezone.now(),
        generation=west.generation_low or GenerationFactory(),
        grid=west,
        place_code=west.code,
        responsible_level="grid",
        owner_code=west.code,
    )
    return CaseEvent.objects.create(
        incident=incident,
        seq=1,
        action="acknowledge",
        actor=user,
        actor_name="x",
        at=timezone.now(),
        from_status=Status.REPORTED,
        to_status=Status.ACKNOWLEDGED,
        from_level="grid",
        to_level="grid",
    )


def test_an_event_cannot_be_updated(event):
    with pytest.raises(IntegrityError, match="cannot be edited"), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).update(note="rewritten")


def test_an_event_cannot_be_deleted(event):
    with pytest.raises(IntegrityError, match="cannot be edited"), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).delete()


def test_events_can_be_appended(event):
    CaseEvent.objects.create(
        incident=event.incident,
        seq=2,
        action="start",
        actor=event.actor,
        actor_name="x",
        at=timezone.now(),
        from_status=Status.ACKNOWLEDGED,
        to_status=Status.IN_PROGRESS,
        from_level="grid",
        to_level="grid",
    )
    assert event.incident.events.count() == 2
