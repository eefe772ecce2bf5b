"""Writes to the inbox: ``notify`` (the one entry point) and the read marks.

``notify`` is called downwards by the apps that have something to tell (households about a new
ten-household unit, incidents about an incident or a case event), inside their transaction.
It writes the entries at once (they roll back with the transaction) and hands them to the
outbound channels of ``settings.GRIDMAP_NOTIFICATION_CHANNELS`` only after the transaction
commits, so a rolled-back action sends nothing. A failing channel is logged and never breaks
the action.

One entry per worker and subject: a worker named several times (routed as grid leader and
copied as party-building guide, say) gets one entry, of the strongest kind
(routed > copied > watching).

With each entry, in the same transaction, ``notify`` writes its delivery records (one per
named channel: queued, deferred for quiet hours, or skipped with the reason); after the commit
each queued or deferred one becomes a procrastinate job (``inbox.tasks.deliver``, scheduled at
the end of the quiet hours for a deferred one), and ``inbox.deliveries`` makes the attempts.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.db import transaction
from django.utils import timezone

from gridmap.sql import prepared_cursor, table
from grids.models import Worker

from . import tasks
from .deliveries import channels, quiet_until
from .models import Delivery, DeliveryReason, DeliveryState, Notification, RecipientKind
from .selectors import inbox

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

logger = logging.getLogger(__name__)

DEFAULT_CHANNELS = ["inbox.channels.EmailChannel"]
# The deliveries that become jobs after the commit.
PENDING = (DeliveryState.QUEUED, DeliveryState.DEFERRED)

# Strongest first: the kind a worker's single entry takes.
KIND_STRENGTH = [RecipientKind.ROUTED, RecipientKind.COPIED, RecipientKind.WATCHING]


class Recipient(Protocol):
    """A recipient with its own kind (an ``IncidentRecipient`` or a routing result's person)."""

    worker_id: int | None
    kind: str


def kind_per_worker(
    workers: Iterable[int | Recipient], *, kind: str = RecipientKind.ROUTED
) -> dict[int, str]:
    """One kind per worker: the strongest of the kinds they were given (a bare worker id has
    ``kind``); a recipient without a worker (a vacancy) is nobody to tell."""
    rank = {k.value: i for i, k in enumerate(KIND_STRENGTH)}
    kinds: dict[int, str] = {}
    for w in workers:
        worker_id, given = (w, kind) if isinstance(w, int) else (w.worker_id, w.kind)
        if worker_id is None:
            continue
        current = kinds.get(worker_id)
        if current is None or rank.get(given, 99) < rank.get(current, 99):
            kinds[worker_id] = str(given)
    return kinds


def notify(
    *,
    workers: Iterable[int | Recipient],
    message: dict[str, Any],
    link: str,
    subject_type: str,
    subject_id: int,
    kind: str = RecipientKind.ROUTED,
    detail: str = "",
    urgent: bool = False,
) -> list[Notification]:
    """Tell ``workers`` (worker ids, of ``kind``, or recipients with their own kind) about a
    subject: one inbox entry per worker now, the outbound channels after commit.

    ``message`` is ``{"msgid", "params"}`` (``gridmap.messages``), ``link`` the path the entry
    opens, ``detail`` plain text the channels add to the message (not stored; a background
    send asks the subject's app for it, ``inbox.selectors.register_subject_detail``).
    ``urgent`` (a red case) is sent at once, quiet hours or not.

    The entries and their delivery records are written by one prepared statement
    (``_notify_sql``): every case action notifies, so this is on the hot path of incident
    creation (issue 16, point 1).
    """
    kinds = kind_per_worker(workers, kind=kind)
    if not kinds:
        return []
    now = timezone.now()
    rows = _delivery_rows(list(kinds), now=now, urgent=urgent)
    address = Delivery._meta.get_field("address")
    with prepared_cursor() as cur:
        cur.execute(
            _notify_sql(),
            {
                "workers": list(kinds),
                "kinds": list(kinds.values()),
                "message": json.dumps(message),
                "link": link,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "now": now,
                "urgent": urgent,
                "d_workers": [r.worker_id for r in rows],
                "d_channels": [r.channel for r in rows],
                "d_addresses": [address.get_prep_value(r.address) for r in rows],
                "d_states": [r.state for r in rows],
                "d_reasons": [r.reason for r in rows],
                "d_not_before": [r.not_before for r in rows],
            },
        )
        returned = cur.fetchall()
    notifications = []
    pending = []
    for notification_id, worker_id, delivery_id, state, not_before in returned:
        if notification_id is None:
            pending.append(PendingDelivery(delivery_id, state, not_before))
            continue
        n = Notification(
            id=notification_id,
            worker_id=worker_id,
            kind=kinds[worker_id],
            message=message,
            link=link,
            subject_type=subject_type,
            subject_id=subject_id,
            created_at=now,
            urgent=urgent,
        )
        n._state.adding = False
        n.detail = detail
        notifications.append(n)
    notifications.sort(key=lambda n: n.pk)
    transaction.on_commit(lambda: send_to_channels(notifications, deliveries=pending))
    return notifications


@functools.cache
def _notify_sql() -> str:
    """The entries (one per worker) and their delivery records (joined by worker), in one
    statement; answers the entries' ids and the pending deliveries."""
    n, d = table(Notification), table(Delivery)
    pending = ", ".join(f"'{state}'" for state in PENDING)
    return f"""
WITH n AS (
  INSERT INTO {n} (worker_id, kind, message, link, subject_type, subject_id, created_at,
                   urgent)
  SELECT w.worker_id, w.kind, %(message)s::jsonb, %(link)s::text, %(subject_type)s::text,
         %(subject_id)s::bigint, %(now)s::timestamptz, %(urgent)s::boolean
    FROM unnest(%(workers)s::bigint[], %(kinds)s::text[]) AS w(worker_id, kind)
  RETURNING id, worker_id
), d AS (
  INSERT INTO {d} (notification_id, channel, address, state, reason, attempts, last_error,
                   provider_id, not_before, created_at, updated_at)
  SELECT n.id, c.channel, c.address, c.state, c.reason, 0, '', '', c.not_before,
         %(now)s::timestamptz, %(now)s::timestamptz
    FROM unnest(%(d_workers)s::bigint[], %(d_channels)s::text[], %(d_addresses)s::text[],
                %(d_states)s::text[], %(d_reasons)s::text[], %(d_not_before)s::timestamptz[])
         AS c(worker_id, channel, address, state, reason, not_before)
    JOIN n USING (worker_id)
  RETURNING id, state, not_before
)
SELECT id, worker_id, NULL::bigint, NULL::text, NULL::timestamptz FROM n
UNION ALL
SELECT NULL, NULL, id, state, not_before FROM d WHERE state IN ({pending})
"""


@dataclass(frozen=True)
class PendingDelivery:
    """A delivery record to be queued after the commit (what ``deliveries_enqueue`` reads)."""

    pk: int
    state: str
    not_before: dt.datetime | None


@dataclass(frozen=True)
class _DeliveryRow:
    worker_id: int
    channel: str
    address: str
    state: str
    reason: str
    not_before: dt.datetime | None


def notifications_delete_about(*, subject_type: str, subject_ids: Iterable[int]) -> int:
    """Delete the entries about these subjects (their owner deleted them); how many."""
    deleted, _ = Notification.objects.filter(
        subject_type=subject_type, subject_id__in=list(subject_ids)
    ).delete()
    return deleted


# --- outbound channels ----------------------------------------------------------------------
def _delivery_rows(worker_ids: list[int], *, now: dt.datetime, urgent: bool) -> list[_DeliveryRow]:
    """The delivery records of new entries to ``worker_ids``, one per named channel (one
    query for the workers' addresses): skipped when the channel is off or the worker has no
    address on it, deferred in quiet hours on a channel that keeps them (unless urgent),
    queued otherwise."""
    named = [c for c in channels() if c.name]
    if not named:
        return []
    quiet_end = quiet_until(now)
    workers = Worker.objects.only("phone", "email", "wecom_userid").in_bulk(worker_ids)
    rows = []
    for channel in named:
        off = channel.off_because()
        for worker_id in worker_ids:
            worker = workers.get(worker_id)
            address = channel.address(worker) if worker and not off else ""
            state, reason, not_before = DeliveryState.QUEUED, "", None
            if off:
                state, reason = DeliveryState.SKIPPED, DeliveryReason.CHANNEL_OFF
            elif not address:
                state, reason = DeliveryState.SKIPPED, DeliveryReason.NO_ADDRESS
            elif channel.quiet_hours and quiet_end and not urgent:
                state, reason = DeliveryState.DEFERRED, DeliveryReason.QUIET_HOURS
                not_before = quiet_end
            rows.append(_DeliveryRow(worker_id, channel.name, address, state, reason, not_before))
    return rows


def deliveries_enqueue(deliveries: Iterable[Delivery | PendingDelivery]) -> int:
    """A ``inbox.tasks.deliver`` job per queued or deferred delivery (a deferred one at its
    ``not_before``), those due at the same time in one insert; how many. Jobs that cannot be
    queued are logged."""
    due: dict[dt.datetime | None, list[int]] = {}
    for delivery in deliveries:
        if delivery.state in PENDING:
            due.setdefault(delivery.not_before, []).append(delivery.pk)
    queued = 0
    for not_before, ids in due.items():
        try:
            task = tasks.deliver
            if not_before:
                task = task.configure(schedule_at=not_before)
            task.batch_defer(*({"delivery_id": pk} for pk in ids))
            queued += len(ids)
        except Exception:
            logger.exception("Cannot queue deliveries %s", ids)
    return queued


def send_to_channels(
    notifications: list[Notification],
    *,
    deliveries: list[Delivery] | list[PendingDelivery] | None = None,
) -> None:
    """After the commit: a job per pending delivery of the entries (``deliveries``, those
    ``notify`` just made, else read back), and the entries to every channel
    without delivery records; a channel's failure is logged, never raised."""
    if deliveries is None:
        deliveries = list(
            Delivery.objects.filter(notification__in=notifications, state__in=PENDING).only(
                "pk", "state", "not_before"
            )
        )
    deliveries_enqueue(deliveries)
    for channel in channels():
        if channel.name:
            continue
        try:
            channel.send(notifications)
        except Exception:
            logger.exception(
                "Notification channel %s failed for %d entries",
                type(channel).__name__,
                len(notifications),
            )


# --- read marks -----------------------------------------------------------------------------
def notification_mark_read(
    *, user: AbstractBaseUser | AnonymousUser, notification_id: int
) -> Notification:
    """Mark one of the user's own entries read (the first read time is kept).

    Raises ``Notification.DoesNotExist`` for an entry that is not the user's.
    """
    notification = inbox(user).get(pk=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(
    *, user: AbstractBaseUser | AnonymousUser, kind: str | None = None
) -> int:
    """Mark all the user's unread entries (of one kind, if given) read; returns how many."""
    qs = inbox(user).filter(read_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.update(read_at=timezone.now())
