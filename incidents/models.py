"""Incidents, their categories and their routing result.

Routing is recorded, never recomputed: an incident keeps the grid version it was routed to
and a snapshot of each recipient (worker, role, name, phone) at the reported time. A later
boundary change or handover does not rewrite it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEventBase,
    DueEventBase,
    Status,
    SupervisionRecordBase,
    TimeUnit,
    list_indexes,
)
from gridmap import uploads
from gridmap.codes import LEVEL_ORDER, Level
from gridmap.crypto import EncryptedCharField
from grids.models import Generation, Grid, Town, Village, Worker
from households.routing import Responder, Severity
from inbox.models import RecipientKind

# Re-exported: the case engine's names as the incident modules have always used them; the
# severity and responders of the routing engine (households.routing) and the recipient kinds
# of the inbox, their choices unchanged.
__all__ = [
    "LEVEL_ORDER",
    "OPEN_STATUSES",
    "Level",
    "RecipientKind",
    "Responder",
    "Severity",
    "Status",
    "TimeUnit",
]

SRID = settings.GRIDMAP_SRID


class Category(models.Model):
    """An incident category: data, not code (admins add more)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=50)
    default_severity = models.CharField(
        _("default severity"), max_length=10, choices=Severity.choices, default=Severity.BLUE
    )
    is_active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["ordering", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "zh-hans").startswith("zh") else self.name_en


class CategoryResponder(models.Model):
    """The responders a severity of a category adds (on top of the lower tiers for yellow)."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="responders", verbose_name=_("category")
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    responder = models.CharField(_("responder"), max_length=30, choices=Responder.choices)

    class Meta:
        verbose_name = _("category responder")
        verbose_name_plural = _("category responders")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "severity", "responder"], name="category_responder_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.severity} · {self.responder}"


class CategoryTimeLimit(models.Model):
    """Time to acknowledge and to resolve, per category and severity: in working hours or
    days on the working calendar, or in calendar minutes round the clock (red emergencies);
    optionally the time to be on site (到场, red: 2 hours); and, for an emergency, how often
    to escalate again while nobody acknowledges it."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="time_limits", verbose_name=_("category")
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    acknowledge_amount = models.PositiveSmallIntegerField(_("time to acknowledge"))
    acknowledge_unit = models.CharField(
        _("unit"), max_length=20, choices=TimeUnit.choices, default=TimeUnit.WORKING_HOURS
    )
    resolve_amount = models.PositiveSmallIntegerField(_("time to resolve"))
    resolve_unit = models.CharField(
        _("unit"), max_length=20, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )
    # On site (到场: the ``start`` action) within this time; both empty: no on-site deadline.
    onsite_amount = models.PositiveSmallIntegerField(_("time to be on site"), null=True, blank=True)
    onsite_unit = models.CharField(
        _("unit"), max_length=20, choices=TimeUnit.choices, blank=True, default=""
    )
    escalate_every_minutes = models.PositiveSmallIntegerField(
        _("escalate again every (minutes)"),
        null=True,
        blank=True,
        help_text=_(
            "While nobody acknowledges a case the clock escalated, escalate it again every "
            "this many minutes. Empty: the next level gets the full time limits."
        ),
    )

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        constraints = [
            models.UniqueConstraint(fields=["category", "severity"], name="time_limit_unique"),
            models.CheckConstraint(
                condition=Q(acknowledge_amount__gte=1, resolve_amount__gte=1),
                name="time_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(escalate_every_minutes__isnull=True) | Q(escalate_every_minutes__gte=1),
                name="time_limit_escalate_every_positive",
            ),
            models.CheckConstraint(
                condition=Q(onsite_amount__isnull=True, onsite_unit="")
                # isnull=False: a NULL amount would make the comparison NULL, which a
                # CHECK lets pass.
                | Q(
                    onsite_amount__isnull=False,
                    onsite_amount__gte=1,
                    onsite_unit__in=TimeUnit.values,
                ),
                name="time_limit_onsite_amount_and_unit",
                violation_error_message=_(
                    "Give the time to be on site with its unit, or leave both empty."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.severity}"


class Incident(Case):
    """A problem raised at a place, with the routing result recorded at the reported time: the
    first kind of case (``incidents.kind``)."""

    location = models.PointField(_("location"), srid=SRID)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("category")
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    description = models.TextField(_("description"))
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reported_incidents",
        verbose_name=_("reporter"),
    )
    # Routing result (recorded once; never recomputed).
    generation = models.ForeignKey(
        Generation, on_delete=models.PROTECT, related_name="+", verbose_name=_("generation")
    )
    grid = models.ForeignKey(
        Grid,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("grid"),
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("village"),
    )
    town = models.ForeignKey(
        Town,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("town"),
    )
    station = models.ForeignKey(
        "grids.Station",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("station"),
        help_text=_(
            "The station whose catchment held the village when the incident was "
            "reported; a published catchment change re-assigns open incidents."
        ),
    )
    responsible_level = models.CharField(
        _("responsible level"), max_length=10, choices=Level.choices
    )
    # A list of {"msgid": ..., "params": {...}} rendered in the reader's language.
    explanation = models.JSONField(_("routing explanation"), default=list)
    # The publication review (issue 12, item 7): the text the public notice board shows for
    # this case, as approved by a reviewer (incidents.publication); empty: the board shows
    # only the structured outcome. Each approval is also an event of the case history.
    public_text = models.TextField(
        _("public text"),
        blank=True,
        default="",
        db_default="",  # rows inserted in bulk by SQL (the demo) have none either
        help_text=_("What the public notice board shows of this case, as approved."),
    )
    public_text_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("public text approved by"),
    )
    public_text_at = models.DateTimeField(_("public text approved at"), null=True, blank=True)

    # The case fields (status, owner, version, deadlines, milestones, counters, place_code,
    # reported_at) come from cases.models.Case.

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["category", "status", "reported_at"]),
            models.Index(fields=["place_code", "reported_at"], name="incident_place_time"),
            models.Index(
                fields=["resolve_due_at"],
                condition=Q(status__in=OPEN_STATUSES),
                name="incident_open_due",
            ),
            *list_indexes("incident"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True)
                | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="incident_satisfaction_range",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category}"


class IncidentReport(models.Model):
    """One report by one person. The first creates the incident; duplicates attach to it."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="reports", verbose_name=_("incident")
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="incident_reports",
        verbose_name=_("reporter"),
    )
    reported_at = models.DateTimeField(_("reported at"))
    location = models.PointField(_("location"), srid=SRID)
    description = models.TextField(_("description"), blank=True)
    # Set by the phone for a report made offline, so a resend is recognised, not duplicated.
    client_uuid = models.UUIDField(_("client id"), null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("incident report")
        verbose_name_plural = _("incident reports")
        ordering = ["reported_at"]

    def __str__(self) -> str:
        return f"{self.incident_id} · {self.reporter}"


# Stored names are generated: a random prefix, the uploader's name reduced to letters and
# digits, and the extension of the type detected from the content (gridmap.uploads), so no
# name or extension an uploader chose reaches the disk. The part after the first "-" is the
# name shown and downloaded.
def photo_path(instance: IncidentPhoto, filename: str) -> str:
    name = uploads.stored_name(filename, instance.content_type)
    return f"incidents/{instance.report.incident_id}/{uuid.uuid4().hex}-{name}"


class IncidentPhoto(models.Model):
    report = models.ForeignKey(
        IncidentReport, on_delete=models.CASCADE, related_name="photos", verbose_name=_("report")
    )
    image = models.ImageField(_("photo"), upload_to=photo_path)
    content_type = models.CharField(_("type"), max_length=30)
    size = models.PositiveIntegerField(_("size in bytes"))

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")


class IncidentRecipient(models.Model):
    """A person an incident was routed, copied or shown to, as they were at the reported time.

    ``responder`` is what the tier asked for (``grid_leader``); ``role`` is who actually got it
    (``village_secretary`` when the grid had no leader: the vacancy fall-back).
    """

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="recipients", verbose_name=_("incident")
    )
    worker = models.ForeignKey(
        Worker,
        on_delete=models.PROTECT,
        related_name="incident_recipients",
        verbose_name=_("worker"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=RecipientKind.choices)
    responder = models.CharField(_("responder"), max_length=30, choices=Responder.choices)
    role = models.CharField(_("role"), max_length=30)
    name = models.CharField(_("name"), max_length=50)
    # A snapshot of the worker's phone, encrypted like it (gridmap.crypto).
    phone = EncryptedCharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("incident recipient")
        verbose_name_plural = _("incident recipients")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "worker", "responder"], name="incident_recipient_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.responder})"


class CaseEvent(CaseEventBase):
    """One entry of an incident's history (``cases.models.CaseEventBase``). Append-only: a
    database trigger refuses UPDATE and DELETE (migration 0004)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="events", verbose_name=_("incident")
    )

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case history")
        ordering = ["incident", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "seq"], name="case_event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id}.{self.seq} {self.action}"


def attachment_path(instance: CaseAttachment, filename: str) -> str:
    name = uploads.stored_name(filename, instance.content_type)
    return f"cases/{instance.event.incident_id}/{uuid.uuid4().hex}-{name}"


class CaseAttachment(models.Model):
    event = models.ForeignKey(
        CaseEvent, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("event")
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class DueEvent(DueEventBase):
    """A deadline the clock has acted on (``cases.models.DueEventBase``)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="due_events", verbose_name=_("incident")
    )

    class Meta:
        verbose_name = _("due event")
        verbose_name_plural = _("due events")
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind", "due_at"], name="due_event_once"),
        ]


class SupervisionRecord(SupervisionRecordBase):
    """督办 of an incident (``cases.models.SupervisionRecordBase``)."""

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="supervisions",
        verbose_name=_("incident"),
    )

    class Meta:
        verbose_name = _("supervision record")
        verbose_name_plural = _("supervision records")
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="supervision_once"),
        ]
