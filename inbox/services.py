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
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from django.db import transaction
from django.utils import timezone

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
    """
    notifications = Notification.objects.bulk_create(
        [
            Notification(
                worker_id=worker_id,
                kind=worker_kind,
                message=message,
                link=link,
                subject_type=subject_type,
                subject_id=subject_id,
                urgent=urgent,
            )
            for worker_id, worker_kind in kind_per_worker(workers, kind=kind).items()
        ]
    )
    for n in notifications:
        n.detail = detail
    deliveries = deliveries_create(notifications)
    if notifications:
        transaction.on_commit(lambda: send_to_channels(notifications, deliveries=deliveries))
    return notifications


def notifications_delete_about(*, subject_type: str, subject_ids: Iterable[int]) -> int:
    """Delete the entries about these subjects (their owner deleted them); how many."""
    deleted, _ = Notification.objects.filter(
        subject_type=subject_type, subject_id__in=list(subject_ids)
    ).delete()
    return deleted


# --- outbound channels ----------------------------------------------------------------------
def deliveries_create(
    notifications: list[Notification], *, now: dt.datetime | None = None
) -> list[Delivery]:
    """The delivery records of new entries, one per named channel (one query for the
    workers' addresses, one insert): skipped when the channel is off or the worker has no
    address on it, deferred in quiet hours on a channel that keeps them (unless urgent),
    queued otherwise."""
    named = [c for c in channels() if c.name]
    if not notifications or not named:
        return []
    now = now or timezone.now()
    quiet_end = quiet_until(now)
    workers = Worker.objects.only("phone", "email", "wecom_userid").in_bulk(
        {n.worker_id for n in notifications}
    )
    rows = []
    for channel in named:
        off = channel.off_because()
        for n in notifications:
            row = Delivery(notification=n, channel=channel.name)
            worker = workers.get(n.worker_id)
            address = channel.address(worker) if worker and not off else ""
            if off:
                row.state, row.reason = DeliveryState.SKIPPED, DeliveryReason.CHANNEL_OFF
            elif not address:
                row.state, row.reason = DeliveryState.SKIPPED, DeliveryReason.NO_ADDRESS
            elif channel.quiet_hours and quiet_end and not n.urgent:
                row.state, row.reason = DeliveryState.DEFERRED, DeliveryReason.QUIET_HOURS
                row.not_before = quiet_end
            row.address = address
            rows.append(row)
    return Delivery.objects.bulk_create(rows)


def deliveries_enqueue(deliveries: Iterable[Delivery]) -> int:
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
    notifications: list[Notification], *, deliveries: list[Delivery] | None = None
) -> None:
    """After the commit: a job per pending delivery of the entries (``deliveries``, those
    ``deliveries_create`` just made, else read back), and the entries to every channel
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
