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
