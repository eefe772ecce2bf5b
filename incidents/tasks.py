"""The clock: overdue cases escalate, long-open cases are supervised (督办).

A procrastinate periodic task (``clock``, every minute) runs in the worker that ``make run``
starts next to the web server (``manage.py procrastinate worker``; procrastinate keeps its
queue in PostgreSQL, so no other server is needed). It calls two plain functions, which
tests call directly:

- ``escalate_overdue(now)``: every open case past its acknowledge deadline while waiting to
  be acknowledged (status ``reported``), or past its resolve deadline while not resolved
  (reported, acknowledged, in progress, returned), gets a ``DueEvent`` (incident, kind, due
  time) inserted with ON CONFLICT DO NOTHING; only when it was inserted is the case escalated
  one level by the system (``workflow.case_act(actor=None, action=escalate)``), which gives
  it fresh deadlines and notifies the new owners. Both in one transaction per case, with the
  case row locked. A case at the city level cannot go higher: its due event is recorded and
  its owners are told.
- ``supervise_ledger(now)``: every open case gets a ``SupervisionRecord`` number *n* for each
  *n* with ``reported_at + 15 n days <= now`` (one INSERT ... ON CONFLICT DO NOTHING for all),
  and the owners of each case that got a new one are told.

Both scan everything due, not "since the last run": a worker that was down catches up when
it starts again, and the unique constraints make each due event and each supervision
number act once, whatever the number of runs or workers. A case escalated for being late
gets its new deadlines from the time it was escalated (the new owners get their full time);
if both of its deadlines had passed, it escalates once, with both due events recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from procrastinate.contrib.django import app

from . import notifications, workflow
from .models import OPEN_STATUSES, DueEvent, Incident, Level, Status

logger = logging.getLogger(__name__)

SUPERVISION_DAYS = 15
# Statuses in which the resolve deadline runs (the handler has not reported back).
UNRESOLVED = [Status.REPORTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RETURNED]
# At most this many overdue cases per run, oldest deadline first; the rest wait a minute.
MAX_ESCALATIONS_PER_RUN = 1000


def _overdue_q(now: dt.datetime) -> Q:
    return Q(status=Status.REPORTED, acknowledge_due_at__lt=now) | Q(
        status__in=UNRESOLVED, resolve_due_at__lt=now
    )


def _due_now(incident: Incident, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """The deadlines of the case that have passed (overdue: after the due time, as the
    traffic light turns red), as (kind, due time)."""
    due = []
    ack = incident.acknowledge_due_at
    if incident.status == Status.REPORTED and ack is not None and ack < now:
        due.append((DueEvent.Kind.ACKNOWLEDGE.value, ack))
    res = incident.resolve_due_at
    if incident.status in UNRESOLVED and res is not None and res < now:
        due.append((DueEvent.Kind.RESOLVE.value, res))
    return due


def _record_due_event(incident_id: int, kind: str, due_at: dt.datetime, now: dt.datetime) -> bool:
    """Insert the due event unless it exists; True when this call inserted it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {DueEvent._meta.db_table} (incident_id, kind, due_at, acted_at)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (incident_id, kind, due_at) DO NOTHING
            RETURNING id
            """,
            [incident_id, kind, due_at, now],
        )
        return cursor.fetchone() is not None


def _answer(incident_id: int, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Record the case's new due events and escalate it once if there were any."""
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update()
            .select_related("category")
            .filter(pk=incident_id)
            .first()
        )
        if incident is None:
            return []
        new = [
            (kind, due_at)
            for kind, due_at in _due_now(incident, now)
            if _record_due_event(incident.pk, kind, due_at, now)
        ]
        if not new:
            return []
        if incident.owner_level == Level.CITY:
            logger.warning("Case %s is overdue at the city level: %s", incident.pk, new)
            workers = workflow.handler_worker_ids(
                incident.owner_level, incident.owner_code, timezone.localdate(now)
            )
            for kind, due_at in new:
                notifications.notify_overdue_at_top(incident, workers, kind=kind, due_at=due_at)
            return new
        with translation.override(settings.LANGUAGE_CODE):
            note = gettext(workflow.MSG_AUTO_ESCALATED)
        workflow.case_act(
            actor=None,
            incident_id=incident.pk,
            action=workflow.Action.ESCALATE,
            version=incident.version,
            note=note,
            data={
                "automatic": True,
                "overdue": [{"kind": kind, "due_at": due.isoformat()} for kind, due in new],
            },
            at=now,
        )
        return new


def escalate_overdue(now: dt.datetime) -> list[tuple[int, str]]:
    """Act on every deadline that has passed and not been acted on; returns the
    (incident id, kind) of the due events recorded by this run."""
    candidates = list(
        Incident.objects.filter(_overdue_q(now))
        .order_by("resolve_due_at", "pk")
        .values_list("pk", flat=True)[:MAX_ESCALATIONS_PER_RUN]
    )
    acted: list[tuple[int, str]] = []
    for incident_id in candidates:
        try:
            acted += [(incident_id, kind) for kind, _ in _answer(incident_id, now)]
        except Exception:
            # One case's failure must not stop the clock for the others; it is retried
            # next minute (its due event was rolled back with it).
            logger.exception("Cannot escalate overdue case %s", incident_id)
    return acted


SUPERVISE_SQL = """
INSERT INTO incidents_supervisionrecord
    (incident_id, number, due_at, created_at, owner_level, owner_code)
SELECT i.id, n, i.reported_at + n * interval '1 day' * %(days)s, %(now)s,
       i.owner_level, i.owner_code
FROM incidents_incident i
CROSS JOIN LATERAL generate_series(
    1, floor(extract(epoch FROM (%(now)s - i.reported_at)) / (86400 * %(days)s))::int
) AS n
WHERE i.status = ANY(%(open)s)
  AND i.reported_at <= %(now)s - interval '1 day' * %(days)s
ON CONFLICT (incident_id, number) DO NOTHING
RETURNING incident_id, number
"""


def supervise_ledger(now: dt.datetime) -> list[tuple[int, int]]:
    """Create the supervision records due by ``now`` that do not exist yet, and tell the
    owners of each case that got one; returns the (incident id, number) created."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                SUPERVISE_SQL,
                {"days": SUPERVISION_DAYS, "now": now, "open": [str(s) for s in OPEN_STATUSES]},
            )
            created = [(row[0], row[1]) for row in cursor.fetchall()]
        latest: dict[int, int] = {}
        for incident_id, number in created:
            latest[incident_id] = max(number, latest.get(incident_id, 0))
        on = timezone.localdate(now)
        owners: dict[tuple[str, str], set[int]] = {}
        for incident in Incident.objects.filter(pk__in=list(latest)).select_related("category"):
            key = (incident.owner_level, incident.owner_code)
            if key not in owners:
                owners[key] = workflow.handler_worker_ids(*key, on)
            notifications.notify_supervision(incident, owners[key], number=latest[incident.pk])
    return sorted(created)


@app.periodic(cron="* * * * *", periodic_id="case-clock")
# The queueing lock keeps at most one run waiting (no pile-up while one is slow). No run lock:
# two runs at once are safe (each due event is inserted once, each case row is locked), and
# a job left "doing" by a killed worker must not block the clock for ever.
@app.task(name="incidents.clock", queueing_lock="incidents.clock")
def clock(timestamp: int) -> dict[str, Any]:
    """Every minute: escalate overdue cases and supervise the ledger (see the module)."""
    _close_old_connections()
    try:
        now = timezone.now()
        escalated = escalate_overdue(now)
        supervised = supervise_ledger(now)
        if escalated or supervised:
            logger.info(
                "Clock: %s due events acted on, %s supervision records",
                len(escalated),
                len(supervised),
            )
        return {"due_events": len(escalated), "supervision_records": len(supervised)}
    finally:
        _close_old_connections()


def _close_old_connections() -> None:
    """As Django does around a request: a long-running worker thread must not keep a broken
    or expired connection. Not inside a transaction (a test calling the task directly)."""
    if not connection.in_atomic_block:
        close_old_connections()
