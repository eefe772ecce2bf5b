"""Delivering one inbox entry through one channel: the configured channels, quiet hours, and
one attempt of a delivery (what the background task ``inbox.tasks.deliver`` runs).

An attempt locks its delivery row, marks it ``sending`` and counts the attempt (committed, so
the case page shows it while the provider answers), sends outside any transaction, then
records the outcome: ``sent`` with the provider's message id; after a transient failure
``queued`` again with the error, and ``RetryLater`` raised so that procrastinate retries it
with exponential backoff (``tasks.RETRY``); after a permanent failure, or when the last retry
fails too, ``failed``. A channel switched off in the meantime skips what is still pending.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .channels import SendError
from .models import Delivery, DeliveryReason, DeliveryState
from .selectors import subject_detail

if TYPE_CHECKING:
    from .channels import Channel

logger = logging.getLogger(__name__)

# Retries after the first attempt (procrastinate's RetryStrategy max_attempts): with an
# exponential wait of 4 s they come after 4 s, 16 s, 64 s, 256 s and 1024 s, about 23 minutes.
MAX_RETRIES = 5
DONE = (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED)
# A delivery still ``sending`` this long after its attempt began was abandoned: the worker
# stopped between calling the provider and recording its answer (a restart, a kill). A
# provider call gives up after ``channels.HTTP_TIMEOUT`` seconds, far less than this.
STUCK_AFTER = dt.timedelta(minutes=15)
INTERRUPTED = "interrupted: the sending worker stopped before the provider answered"


class RetryLater(Exception):
    """A transient failure: procrastinate tries the job again later."""


def channels() -> list[Channel]:
    """The configured channels; one that cannot be loaded is logged and left out."""
    loaded = []
    for path in getattr(settings, "GRIDMAP_NOTIFICATION_CHANNELS", ["inbox.channels.EmailChannel"]):
        try:
            loaded.append(import_string(path)())
        except Exception:
            logger.exception("Cannot load notification channel %s", path)
    return loaded


def channel_named(name: str) -> Channel | None:
    return next((c for c in channels() if c.name == name), None)


def _clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def quiet_until(now: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours ``now`` lies in (None outside them, or with none set).

    ``settings.GRIDMAP_QUIET_HOURS`` is ``("22:00", "07:00")`` (local time of
    ``GRIDMAP_QUIET_HOURS_TIME_ZONE``; a span across midnight is the night), or empty."""
    span = getattr(settings, "GRIDMAP_QUIET_HOURS", None)
    if not span:
        return None
    tz = zoneinfo.ZoneInfo(getattr(settings, "GRIDMAP_QUIET_HOURS_TIME_ZONE", settings.TIME_ZONE))
    start, end = _clock(span[0]), _clock(span[1])
    local = now.astimezone(tz)
    t = local.time()
    today_end = dt.datetime.combine(local.date(), end, tzinfo=tz)
    if start <= end:
        return today_end if start <= t < end else None
    if t >= start:
        return today_end + dt.timedelta(days=1)
    if t < end:
        return today_end
    return None


def deliveries_sweep_stuck(now: dt.datetime | None = None) -> tuple[list[int], list[int]]:
    """Deliveries abandoned in ``sending`` (``STUCK_AFTER``): those with retries left go back
    to ``queued`` (the caller queues a job for each), the others to ``failed``; both with
    ``INTERRUPTED`` as the last error. Returns (queued again, failed) ids.

    The provider may have taken the message before the worker stopped, so a retry can send it
    twice; a duplicate text is better than a red case nobody heard of."""
    now = now or timezone.now()
    with transaction.atomic():
        stuck = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(state=DeliveryState.SENDING, updated_at__lt=now - STUCK_AFTER)
            .values_list("pk", "attempts")
        )
        again = [pk for pk, attempts in stuck if attempts <= MAX_RETRIES]
        failed = [pk for pk, attempts in stuck if attempts > MAX_RETRIES]
        for ids, state in ((again, DeliveryState.QUEUED), (failed, DeliveryState.FAILED)):
            if ids:
                Delivery.objects.filter(pk__in=ids).update(
                    state=state, last_error=INTERRUPTED, updated_at=now
                )
    if stuck:
        logger.warning(
            "Deliveries abandoned while sending: %s queued again, %s failed",
            len(again),
            len(failed),
        )
    return again, failed


def delivery_attempt(delivery_id: int) -> str:
    """One attempt at a delivery; its state after it. Raises ``RetryLater`` after a
    transient failure that has retries left."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:  # its entry was deleted with its subject
            return "gone"
        if delivery.state in DONE:
            return delivery.state
        channel = channel_named(delivery.channel)
        if channel is None or channel.off_because():
            delivery.state, delivery.reason = DeliveryState.SKIPPED, DeliveryReason.CHANNEL_OFF
            delivery.save(update_fields=["state", "reason", "updated_at"])
            return delivery.state
        delivery.state = DeliveryState.SENDING
        delivery.attempts += 1
        delivery.save(update_fields=["state", "attempts", "updated_at"])

    notification = delivery.notification
    notification.detail = subject_detail(notification.subject_type, notification.subject_id)
    updates: dict[str, object] = {"updated_at": timezone.now()}
    try:
        updates["provider_id"] = channel.deliver(notification, delivery.address)[:100]
        updates.update(state=DeliveryState.SENT, sent_at=timezone.now(), last_error="")
    except SendError as exc:
        final = not exc.retry or delivery.attempts > MAX_RETRIES
        updates.update(
            state=DeliveryState.FAILED if final else DeliveryState.QUEUED, last_error=str(exc)
        )
        Delivery.objects.filter(pk=delivery.pk).update(**updates)
        if final:
            return DeliveryState.FAILED
        raise RetryLater(str(exc)) from None
    except Exception as exc:  # a fault of ours: recorded, logged, not retried
        logger.exception("Delivery %s through %s failed", delivery.pk, delivery.channel)
        updates.update(state=DeliveryState.FAILED, last_error=type(exc).__name__)
    Delivery.objects.filter(pk=delivery.pk).update(**updates)
    return str(updates["state"])
