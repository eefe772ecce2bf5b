"""Test helper: remove committed incidents together with their append-only history.

The case history (``CaseEvent``, ``CaseAttachment``) cannot be deleted: a trigger refuses it
(migration 0004) and ``CaseEvent.incident`` protects the incident. Tests that commit
incidents (browser tests, the worker test) remove them with ``purge_incidents``, which
switches the triggers off for its one transaction: ALTER TABLE takes an exclusive lock, so
no other session ever sees the tables without them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

HISTORY_TRIGGERS = [
    ("incidents_caseevent", "case_event_append_only"),
    ("incidents_caseattachment", "case_attachment_append_only"),
]


def purge_incidents(ids: Iterable[int]) -> int:
    """Delete the incidents, their history and everything that cascades from them; returns
    how many incidents were deleted."""
    from incidents.models import CaseAttachment, CaseEvent, Incident

    ids = list(ids)
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        # Foreign keys checked at once, so no trigger event is pending at ALTER TABLE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in HISTORY_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        CaseAttachment.objects.filter(event__incident_id__in=ids).delete()
        CaseEvent.objects.filter(incident_id__in=ids).delete()
        for table, trigger in HISTORY_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        deleted, per_model = Incident.objects.filter(pk__in=ids).delete()
    return per_model.get("incidents.Incident", 0)
