"""The inbox: entries telling a worker about something, whatever it is.

An entry names its subject as plain data (``subject_type``, ``subject_id``: ``"incident"`` and
its id, say) and carries the ``link`` that opens it, so the inbox knows nothing of the apps
that write to it. Deleting a subject deletes its entries: the app that owns the subject does
it (``inbox.services.notifications_delete_about``, from a ``post_delete`` receiver).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.crypto import EncryptedCharField
from grids.models import Worker


class RecipientKind(models.TextChoices):
    """Why a worker hears of something, strongest first (see ``services.KIND_STRENGTH``)."""

    ROUTED = "routed", _("routed to")
    COPIED = "copied", _("copied")
    WATCHING = "watching", _("watching")


class Notification(models.Model):
    """An entry in a worker's in-app inbox."""

    worker = models.ForeignKey(
        Worker, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("worker")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=RecipientKind.choices)
    # {"msgid": ..., "params": {...}}, rendered in the reader's language (gridmap.messages).
    message = models.JSONField(_("message"), default=dict)
    # The path the entry opens in the web app (``/field/#incident-12``).
    link = models.CharField(_("link"), max_length=200, blank=True)
    # What the entry is about, as data: "incident", "ten_household_unit", ... and its id.
    subject_type = models.CharField(_("subject type"), max_length=30, blank=True)
    subject_id = models.BigIntegerField(_("subject id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # A red case: the outbound channels send it at once, quiet hours or not.
    urgent = models.BooleanField(_("urgent"), default=False)

    # Plain text the outbound channels add to the message (an incident's description): given
    # to ``notify`` and kept on the instances handed to the channels, never stored.
    detail: str = ""

    class Meta:
        # The table the entries had when they lived in ``incidents`` (moved, not copied).
        db_table = "incidents_notification"
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["worker", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(fields=["subject_type", "subject_id"], name="notification_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.worker} · {self.kind}"


# --- delivery records -------------------------------------------------------------------------
# One row per (inbox entry, outbound channel): what happened to the message on its way to a
# phone or a mailbox. Written by ``inbox.services`` (created with the entry, in its transaction)
# and by the background task ``inbox.tasks.deliver`` (each attempt), never by hand.
#
#   queued ──► sending ──► sent
#     ▲  │         │
#     │  │         ├──► queued again (a transient failure: retried with backoff)
#     │  │         └──► failed (a permanent failure, or the last retry failed)
#     │  └──► deferred (quiet hours: sent when they end) ──► sending ...
#   skipped (at creation: no address for this channel, or the channel is off)
class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("queued")
    DEFERRED = "deferred", _("deferred")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("skipped")


class DeliveryReason(models.TextChoices):
    """Why a delivery was skipped or deferred."""

    NO_ADDRESS = "no_address", _("no address for this channel")
    CHANNEL_OFF = "channel_off", _("channel off")
    QUIET_HOURS = "quiet_hours", _("quiet hours, deferred")


class Delivery(models.Model):
    """An inbox entry on its way out through one channel (e-mail, SMS, WeChat Work)."""

    notification = models.ForeignKey(
        Notification,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("notification"),
    )
    # The channel's name (``inbox.channels.Channel.name``): "email", "sms_aliyun", ...
    channel = models.CharField(_("channel"), max_length=20)
    # The address it went to when it was created (a phone number, an e-mail address, a WeChat
    # Work user id): encrypted at rest like a worker's phone (gridmap.crypto).
    address = EncryptedCharField(_("address"), max_length=254, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED
    )
    reason = models.CharField(
        _("reason"), max_length=12, choices=DeliveryReason.choices, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Short and without secrets: an HTTP status or the provider's error code and message.
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    provider_id = models.CharField(_("provider message id"), max_length=100, blank=True)
    # Quiet hours: not sent before this time.
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["notification_id", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_one_per_channel"
            ),
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values), name="delivery_state_valid"
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="delivery_state")]

    def __str__(self) -> str:
        return f"{self.notification_id} · {self.channel} · {self.state}"
