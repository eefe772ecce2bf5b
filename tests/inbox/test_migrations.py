"""The move of the inbox entries from ``incidents`` to ``inbox`` keeps every entry.

Migrating with ``django.db.migrations.executor.MigrationExecutor`` inside the test's
transaction (PostgreSQL rolls the DDL back with it): back to ``incidents.0006`` (the old
layout: ``incidents.Notification`` with its two foreign keys), entries written there, then
forward through ``incidents.0007_move_notification_to_inbox``, ``inbox.0001_initial`` and
``inbox.0002_generic_subject``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from households.models import TenHouseholdUnit
from inbox.models import Notification
from tests.factories import HouseholdFactory
from tests.incidents.test_notifications import make_incident

pytestmark = pytest.mark.django_db

OLD = [("incidents", "0006_incident_station")]
NEW = [("incidents", "0007_move_notification_to_inbox"), ("inbox", "0002_generic_subject")]


def migrate(targets: list[tuple[str, str]]):
    """Migrate to ``targets``; the apps of that state."""
    # Deferred foreign keys checked at once: no trigger event may be pending at ALTER TABLE.
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def test_entries_keep_worker_kind_message_and_read_state_and_get_subject_and_link(people):
    incident = make_incident(people, [])
    unit = TenHouseholdUnit.objects.create(name="第一十户", head_household=HouseholdFactory())
    read = timezone.now() - dt.timedelta(hours=1)
    message = {"msgid": "New %(severity)s", "params": {"severity": {"msgid": "yellow"}}}

    old_apps = migrate(OLD)
    OldNotification = old_apps.get_model("incidents", "Notification")
    assert not any(m._meta.app_label == "inbox" for m in old_apps.get_models())
    leader, guide, neighbour = people["leader"], people["guide"], people["neighbour"]
    rows = {
        "incident": OldNotification.objects.create(
            worker_id=leader.id, incident_id=incident.id, kind="routed", message=message
        ),
        "unit": OldNotification.objects.create(
            worker_id=guide.id, ten_household_unit_id=unit.id, kind="copied", message={}
        ),
        "both": OldNotification.objects.create(
            worker_id=neighbour.id,
            incident_id=incident.id,
            ten_household_unit_id=unit.id,
            kind="watching",
            message=message,
        ),
        "none": OldNotification.objects.create(worker_id=leader.id, kind="routed"),
    }
    OldNotification.objects.filter(pk=rows["incident"].pk).update(read_at=read)
    before = {
        name: OldNotification.objects.filter(pk=row.pk).values().get() for name, row in rows.items()
    }

    migrate(NEW)
    # The columns of that state (the urgent flag came later, with the delivery records).
    after = {
        name: Notification.objects.defer("urgent").get(pk=row.pk) for name, row in rows.items()
    }
    assert Notification.objects.count() == len(rows)
    for name, entry in after.items():
        old = before[name]
        assert (entry.worker_id, entry.kind, entry.message) == (
            old["worker_id"],
            old["kind"],
            old["message"],
        ), name
        assert (entry.created_at, entry.read_at) == (old["created_at"], old["read_at"]), name
    assert after["incident"].read_at == read and after["unit"].read_at is None
    subject_and_link = {name: (e.subject_type, e.subject_id, e.link) for name, e in after.items()}
    assert subject_and_link == {
        "incident": ("incident", incident.id, f"/field/#incident-{incident.id}"),
        "unit": ("ten_household_unit", unit.id, f"/map/#ten-household-unit-{unit.id}"),
        # An entry naming both was about its incident (the old link looked there first).
        "both": ("incident", incident.id, f"/field/#incident-{incident.id}"),
        "none": ("", None, "/field/"),
    }

    # And back: the foreign keys come back from the subject.
    old_apps = migrate(OLD)
    OldNotification = old_apps.get_model("incidents", "Notification")
    restored = {
        name: OldNotification.objects.filter(pk=row.pk).values().get() for name, row in rows.items()
    }
    assert {k: (v["incident_id"], v["ten_household_unit_id"]) for k, v in restored.items()} == {
        "incident": (incident.id, None),
        "unit": (None, unit.id),
        "both": (incident.id, None),
        "none": (None, None),
    }
    migrate(NEW)
