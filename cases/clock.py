"""The clock: overdue cases escalate, long-open cases are supervised (督办). For every kind
of case registered in ``cases.kinds``.

A procrastinate periodic task (``clock``, every minute) runs in the worker that ``make run``
starts next to the web server (``manage.py procrastinate worker``; procrastinate keeps its
queue in PostgreSQL, so no other server is needed). It calls two plain functions, which
tests call directly:

- ``escalate_overdue(now)``: every open case past its acknowledge deadline while waiting to
  be acknowledged (status ``reported``), or past its resolve deadline while not resolved
  (reported, acknowledged, in progress, returned), or past its on-site deadline (到场, kinds
  that have one: red incidents) while work has not started (reported, acknowledged), gets a
  ``DueEvent`` (incident, kind, due time) inserted with ON CONFLICT DO NOTHING; only when
  it was inserted is the case escalated one level by the system
  (``workflow.case_act(actor=None, action=escalate)``), which gives it fresh deadlines and
  notifies the new owners. Both in one transaction per case, with the
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

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from gridmap.codes import Level

from . import workflow
from .kinds import CaseKind, kinds
from .models import ONSITE_STATUSES, OPEN_STATUSES, Case, DueKind, Status

logger = logging.getLogger(__name__)

SUPERVISION_DAYS = 15
# Statuses in which the resolve deadline runs (the handler has not reported back).
UNRESOLVED = [Status.REPORTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RETURNED]
# At most this many overdue cases per run, oldest deadline first; the rest wait a minute.
MAX_ESCALATIONS_PER_RUN = 1000


def _overdue_q(now: dt.datetime) -> Q:
    return (
        Q(status=Status.REPORTED, acknowledge_due_at__lt=now)
        | Q(status__in=UNRESOLVED, resolve_due_at__lt=now)
        | Q(status__in=ONSITE_STATUSES, onsite_due_at__lt=now)
    )


def _due_now(case: Case, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """The deadlines of the case that have passed (overdue: after the due time, as the
    traffic light turns red), as (kind, due time)."""
    due = []
    ack = case.acknowledge_due_at
    if case.status == Status.REPORTED and ack is not None and ack < now:
        due.append((DueKind.ACKNOWLEDGE.value, ack))
    res = case.resolve_due_at
    if case.status in UNRESOLVED and res is not None and res < now:
        due.append((DueKind.RESOLVE.value, res))
    onsite = case.onsite_due_at
    if case.status in ONSITE_STATUSES and onsite is not None and onsite < now:
        due.append((DueKind.ONSITE.value, onsite))
    return due


def _record_due_event(
    kind: CaseKind, case_id: int, due_kind: str, due_at: dt.datetime, now: dt.datetime
) -> bool:
    """Insert the due event unless it exists; True when this call inserted it."""
    column = kind.due_event_model._meta.get_field(kind.case_field).column
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {kind.due_event_model._meta.db_table} ({column}, kind, due_at, acted_at)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT ({column}, kind, due_at) DO NOTHING
            RETURNING id
            """,
            [case_id, due_kind, due_at, now],
        )
        return cursor.fetchone() is not None


def _answer(kind: CaseKind, case_id: int, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """Record the case's new due events and escalate it once if there were any."""
    with transaction.atomic():
        case = kind.clock_queryset().select_for_update().filter(pk=case_id).first()
        if case is None:
            return []
        new = [
            (due_kind, due_at)
            for due_kind, due_at in _due_now(case, now)
            if _record_due_event(kind, case.pk, due_kind, due_at, now)
        ]
        if not new:
            return []
        if case.owner_level == Level.CITY:
            logger.warning("Case %s %s is overdue at the city level: %s", kind.name, case.pk, new)
            workers = workflow.handler_worker_ids(
                case.owner_level, case.owner_code, timezone.localdate(now)
            )
            for due_kind, due_at in new:
                kind.notify_overdue_at_top(case, workers, kind=due_kind, due_at=due_at)
            return new
        with translation.override(settings.LANGUAGE_CODE):
            note = gettext(workflow.MSG_AUTO_ESCALATED)
        workflow.case_act(
            actor=None,
            model=kind.model,
            case_id=case.pk,
            action=workflow.Action.ESCALATE,
            version=case.version,
            note=note,
            data={
                "automatic": True,
                "overdue": [{"kind": kind, "due_at": due.isoformat()} for kind, due in new],
            },
            at=now,
        )
        return new


def escalate_overdue(now: dt.datetime) -> list[tuple[int, str]]:
    """Act on every deadline that has passed and not been acted on, for every kind of case;
    returns the (case id, due kind) of the due events recorded by this run."""
    acted: list[tuple[int, str]] = []
    for kind in kinds():
        acted += escalate_overdue_of(kind, now)
    return acted


def escalate_overdue_of(kind: CaseKind, now: dt.datetime) -> list[tuple[int, str]]:
    """``escalate_overdue`` for the cases of one kind."""
    candidates = list(
        kind.model.objects.filter(_overdue_q(now))
        .order_by("resolve_due_at", "pk")
        .values_list("pk", flat=True)[:MAX_ESCALATIONS_PER_RUN]
    )
    acted: list[tuple[int, str]] = []
    for case_id in candidates:
        try:
            acted += [(case_id, due_kind) for due_kind, _ in _answer(kind, case_id, now)]
        except Exception:
            # One case's failure must not stop the clock for the others; it is retried
            # next minute (its due event was rolled back with it).
            logger.exception("Cannot escalate overdue %s %s", kind.name, case_id)
    return acted


SUPERVISE_SQL = """
INSERT INTO {supervision} ({fk}, number, due_at, created_at, owner_level, owner_code)
SELECT i.id, n, i.reported_at + n * interval '1 day' * %(days)s, %(now)s,
       i.owner_level, i.owner_code
FROM {cases} i
CROSS JOIN LATERAL generate_series(
    1, floor(extract(epoch FROM (%(now)s - i.reported_at)) / (86400 * %(days)s))::int
) AS n
WHERE i.status = ANY(%(open)s)
  AND i.reported_at <= %(now)s - interval '1 day' * %(days)s
ON CONFLICT ({fk}, number) DO NOTHING
RETURNING {fk}, number
"""


def supervise_ledger(now: dt.datetime) -> list[tuple[int, int]]:
    """Create the supervision records due by ``now`` that do not exist yet, for every kind
    of case, and tell the owners of each case that got one; returns the (case id, number)
    created."""
    created: list[tuple[int, int]] = []
    for kind in kinds():
        created += supervise_ledger_of(kind, now)
    return sorted(created)


def supervise_ledger_of(kind: CaseKind, now: dt.datetime) -> list[tuple[int, int]]:
    """``supervise_ledger`` for the cases of one kind."""
    sql = SUPERVISE_SQL.format(
        supervision=kind.supervision_model._meta.db_table,
        fk=kind.supervision_model._meta.get_field(kind.case_field).column,
        cases=kind.model._meta.db_table,
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {"days": SUPERVISION_DAYS, "now": now, "open": [str(s) for s in OPEN_STATUSES]},
            )
            created = [(row[0], row[1]) for row in cursor.fetchall()]
        latest: dict[int, int] = {}
        for case_id, number in created:
            latest[case_id] = max(number, latest.get(case_id, 0))
        on = timezone.localdate(now)
        owners: dict[tuple[str, str], set[int]] = {}
        for case in kind.clock_queryset().filter(pk__in=list(latest)):
            key = (case.owner_level, case.owner_code)
            if key not in owners:
                owners[key] = workflow.handler_worker_ids(*key, on)
            kind.notify_supervision(case, owners[key], number=latest[case.pk])
    return sorted(created)
