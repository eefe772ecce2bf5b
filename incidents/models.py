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

from grids.models import Generation, Grid, Town, Village, Worker

# Re-exported: the severity and responders belong to the routing engine (households.routing),
# the recipient kinds to the inbox; their choices here are unchanged.
from households.routing import Responder as Responder
from households.routing import Severity as Severity
from inbox.models import RecipientKind as RecipientKind

SRID = settings.GRIDMAP_SRID


class Level(models.TextChoices):
    """Who owns a case; escalation moves one step up (four-level linkage)."""

    GRID = "grid", _("grid")
    VILLAGE = "village", _("village")
    TOWN = "town", _("town")
    COUNTY = "county", _("county")
    CITY = "city", _("city")


LEVEL_ORDER = [Level.GRID, Level.VILLAGE, Level.TOWN, Level.COUNTY, Level.CITY]


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


class Status(models.TextChoices):
    """Case states (see incidents.workflow for who may move a case between them)."""

    REPORTED = "reported", _("reported")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")
    VERIFIED = "verified", _("verified")
    CLOSED = "closed", _("closed out")
    RETURNED = "returned", _("returned")
    CANCELLED = "cancelled", _("cancelled")


OPEN_STATUSES = [
    Status.REPORTED,
    Status.ACKNOWLEDGED,
    Status.IN_PROGRESS,
    Status.RESOLVED,
    Status.VERIFIED,
    Status.RETURNED,
]


class TimeUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("working hours")
    WORKING_DAYS = "working_days", _("working days")


class CategoryTimeLimit(models.Model):
    """Time to acknowledge and to resolve, per category and severity, on the working calendar."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="time_limits", verbose_name=_("category")
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    acknowledge_amount = models.PositiveSmallIntegerField(_("time to acknowledge"))
    acknowledge_unit = models.CharField(
        _("unit"), max_length=15, choices=TimeUnit.choices, default=TimeUnit.WORKING_HOURS
    )
    resolve_amount = models.PositiveSmallIntegerField(_("time to resolve"))
    resolve_unit = models.CharField(
        _("unit"), max_length=15, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
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
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.severity}"


class Incident(models.Model):
    """A problem raised at a place, with the routing result recorded at the reported time."""

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
    reported_at = models.DateTimeField(_("reported at"), db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REPORTED
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
    # The place code the incident belongs to (grid, else village, else town): the
    # jurisdiction filter uses it (codes nest).
    place_code = models.CharField(_("place code"), max_length=15, db_index=True)
    responsible_level = models.CharField(
        _("responsible level"), max_length=10, choices=Level.choices
    )
    # A list of {"msgid": ..., "params": {...}} rendered in the reader's language.
    explanation = models.JSONField(_("routing explanation"), default=list)

    # --- The case (closed loop). The history (CaseEvent) is the record; the fields below are
    # its current state and the first times of each milestone, kept by incidents.workflow in
    # the same transaction as the event, so lists and KPIs need no replay of the history.
    owner_level = models.CharField(
        _("owning level"), max_length=10, choices=Level.choices, default=Level.GRID
    )
    owner_code = models.CharField(
        _("owning place"), max_length=15, db_index=True, default="", blank=True
    )
    # Optimistic concurrency: an action names the version it saw; a stale one is refused.
    version = models.PositiveIntegerField(_("version"), default=1)
    acknowledge_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("resolve by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed out at"), null=True, blank=True)
    closed_on_time = models.BooleanField(_("closed on time"), null=True, blank=True)
    extension_pending = models.BooleanField(_("extension requested"), default=False)
    extension_count = models.PositiveSmallIntegerField(_("extensions granted"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("escalations"), default=0)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, help_text=_("The reporter's rating, 1 to 5.")
    )

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


def photo_path(instance: IncidentPhoto, filename: str) -> str:
    return f"incidents/{instance.report.incident_id}/{uuid.uuid4().hex}-{filename[-40:]}"


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
    phone = models.CharField(_("phone"), max_length=20, blank=True)

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


class CaseEvent(models.Model):
    """One entry of a case's history: who did what, when, from which state to which.

    Append-only: a database trigger refuses UPDATE and DELETE (migration 0004), so the
    history cannot be edited, not even from the admin or a shell.
    """

    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="events", verbose_name=_("incident")
    )
    seq = models.PositiveIntegerField(_("number"))
    action = models.CharField(_("action"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty for the system (the clock)."),
    )
    actor_name = models.CharField(_("by (name)"), max_length=100)
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    from_level = models.CharField(_("from level"), max_length=10, choices=Level.choices)
    to_level = models.CharField(_("to level"), max_length=10, choices=Level.choices)
    note = models.TextField(_("note"), blank=True)
    # Action-specific facts: an extension's new deadline, a rating, the due time that an
    # automatic escalation answered, ...
    data = models.JSONField(_("details"), default=dict, blank=True)

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
    return f"cases/{instance.event.incident_id}/{uuid.uuid4().hex}-{filename[-40:]}"


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


class DueEvent(models.Model):
    """A deadline the clock has acted on. Unique per (incident, kind, due time), so the worker
    acts once per due event, also when it catches up after being down."""

    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", _("acknowledge")
        RESOLVE = "resolve", _("resolve")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="due_events", verbose_name=_("incident")
    )
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    due_at = models.DateTimeField(_("due at"))
    acted_at = models.DateTimeField(_("acted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("due event")
        verbose_name_plural = _("due events")
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind", "due_at"], name="due_event_once"),
        ]


class SupervisionRecord(models.Model):
    """督办: a supervision record every 15 days while a problem on the ledger stays open."""

    incident = models.ForeignKey(
        Incident,
        on_delete=models.CASCADE,
        related_name="supervisions",
        verbose_name=_("incident"),
    )
    number = models.PositiveSmallIntegerField(_("number"))
    due_at = models.DateTimeField(_("due at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    owner_level = models.CharField(_("owning level"), max_length=10, choices=Level.choices)
    owner_code = models.CharField(_("owning place"), max_length=15)

    class Meta:
        verbose_name = _("supervision record")
        verbose_name_plural = _("supervision records")
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="supervision_once"),
        ]
