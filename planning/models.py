"""Draft plans of the village -> station assignment (issue 6, foundation).

Plans
-----
A *plan* is a draft copy of the catchment assignment of a town (9-digit code) or a district
(6-digit code), taken from the published assignment active on its ``base_date``. Drafts never
affect routing: routing reads ``grids.CatchmentAssignment`` only. Villages are referred to by
their stable code, so a plan survives a boundary re-import.

A plan has its own copy of the stations (``PlanStation``): a planner may move a station, add
one or retire one in the draft without touching the published ``grids.Station`` rows; the
publish step carries those edits over.

Every edit is recorded in ``PlanChange`` (who, when, what, and the written reason when a
planner overrode a constraint). The changes of one action (a click, a CSV import, a proposal)
share a *batch*. Undo marks the newest live batch ``undone``; redo revives the oldest undone
batch above it. An edit made while undone batches are pending makes them ``discarded`` (no
longer redoable); nothing is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Station

SRID: int = settings.GRIDMAP_SRID


class Plan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    name = models.CharField(_("name"), max_length=100)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="plans",
        verbose_name=_("author"),
    )
    area_code = models.CharField(
        _("area code"), max_length=9, help_text=_("A town (9 digits) or a district (6 digits).")
    )
    base_date = models.DateField(
        _("base date"), help_text=_("The published assignment of this day is the plan's start.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    effective_from = models.DateField(
        _("in force from"), null=True, blank=True, help_text=_("Set when the plan is published.")
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    publish_reason = models.TextField(
        _("publish override reason"),
        blank=True,
        help_text=_("Why the plan was published although it breaks a constraint."),
    )

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(area_code__regex=r"^\d{6}(\d{3})?$"), name="plan_area_code_format"
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(effective_from__isnull=False, published_at__isnull=False),
                name="plan_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanStation(models.Model):
    """A station as a plan sees it: a published station (``station`` set), possibly moved,
    locked or retired in the plan, or a station added in the plan (``station`` empty; it becomes
    a ``grids.Station`` when the plan is published). ``code`` is the station code in both cases
    (new ones get the next free number of their town)."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="stations", verbose_name=_("plan")
    )
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plan_stations",
        verbose_name=_("published station"),
    )
    code = models.CharField(_("code"), max_length=12)
    name = models.CharField(_("name"), max_length=100)
    town_code = models.CharField(_("town code"), max_length=9)
    location = models.PointField(_("location"), srid=SRID)
    locked = models.BooleanField(
        _("locked"), default=False, help_text=_("A locked station's villages do not change.")
    )
    retired = models.BooleanField(_("retired"), default=False)

    class Meta:
        verbose_name = _("plan station")
        verbose_name_plural = _("plan stations")
        ordering = ["plan", "code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="plan_station_code_unique"),
            models.UniqueConstraint(
                fields=["plan", "station"],
                condition=Q(station__isnull=False),
                name="plan_station_once",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^\d{9}S\d{2}$"), name="plan_station_code_format"
            ),
            models.CheckConstraint(
                condition=Q(code__startswith=F("town_code")), name="plan_station_code_town"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PlanAssignment(models.Model):
    """Village -> station in a plan; no station while the village is unassigned."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("plan")
    )
    village_code = models.CharField(_("village code"), max_length=12)
    station = models.ForeignKey(
        PlanStation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
        verbose_name=_("station"),
    )

    class Meta:
        verbose_name = _("plan assignment")
        verbose_name_plural = _("plan assignments")
        ordering = ["village_code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "village_code"], name="plan_one_per_village"),
        ]

    def __str__(self) -> str:
        return f"{self.village_code} -> {self.station_id}"


class ChangeKind(models.TextChoices):
    ASSIGN = "assign", _("village moved")
    MOVE = "move", _("station moved")
    ADD = "add", _("station added")
    RETIRE = "retire", _("station retired")
    LOCK = "lock", _("station locked")
    UNLOCK = "unlock", _("station unlocked")


class PlanChange(models.Model):
    """One edit of a plan, in order (append-only; see the module docstring for undo/redo).

    Changes made by one action (a CSV import, a proposal, retiring a station with villages)
    share a ``batch``: undo and redo act on a whole batch."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="changes", verbose_name=_("plan")
    )
    seq = models.PositiveIntegerField(_("sequence"))
    batch = models.PositiveIntegerField(_("batch"))
    kind = models.CharField(
        _("kind"), max_length=10, choices=ChangeKind.choices, default=ChangeKind.ASSIGN
    )
    action = models.CharField(
        _("action"),
        max_length=20,
        blank=True,
        help_text=_("What made the change: click, csv, propose..."),
    )
    village_code = models.CharField(_("village code"), max_length=12, blank=True)
    station = models.ForeignKey(
        PlanStation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("station"),
        help_text=_("The station a station change (move, add, retire, lock) is about."),
    )
    from_station = models.ForeignKey(
        PlanStation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from station"),
    )
    to_station = models.ForeignKey(
        PlanStation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to station"),
    )
    from_location = models.PointField(_("from location"), srid=SRID, null=True, blank=True)
    to_location = models.PointField(_("to location"), srid=SRID, null=True, blank=True)
    override_reason = models.TextField(_("override reason"), blank=True)
    undone = models.BooleanField(_("undone"), default=False)
    discarded = models.BooleanField(
        _("discarded"), default=False, help_text=_("Undone, then replaced by a later edit.")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )

    class Meta:
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")
        ordering = ["plan", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "seq"], name="plan_change_seq_unique"),
            models.CheckConstraint(
                condition=Q(discarded=False) | Q(undone=True), name="plan_change_discarded_undone"
            ),
            models.CheckConstraint(
                condition=~Q(kind="assign") | ~Q(village_code=""), name="plan_change_assign_village"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}#{self.seq} {self.kind} {self.village_code}"


class AllowedLink(models.Model):
    """Two villages that count as adjacent though their polygons do not share an edge
    (a bridge, a ferry). Stored with the smaller code first."""

    village_a = models.CharField(_("village"), max_length=12)
    village_b = models.CharField(_("other village"), max_length=12)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("allowed link")
        verbose_name_plural = _("allowed links")
        ordering = ["village_a", "village_b"]
        constraints = [
            models.CheckConstraint(
                condition=Q(village_a__lt=F("village_b")), name="allowed_link_ordered"
            ),
            models.UniqueConstraint(fields=["village_a", "village_b"], name="allowed_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.village_a} ~ {self.village_b}"


class TravelTime(models.Model):
    """Cache of the travel time from a village centre to a station location along roads
    (``planning.travel``). Keyed by the station's rounded location, so a station moved in a
    plan is a new key; cleared when the road network is re-imported."""

    class Method(models.TextChoices):
        ROAD = "road", _("along roads")
        ESTIMATE = "estimate", _("estimated (no road route)")

    village_code = models.CharField(_("village code"), max_length=12)
    location_key = models.CharField(_("station location"), max_length=40)
    seconds = models.FloatField(_("seconds"))
    metres = models.FloatField(_("metres"))
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    computed_at = models.DateTimeField(_("computed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("travel time")
        verbose_name_plural = _("travel times")
        constraints = [
            models.UniqueConstraint(
                fields=["village_code", "location_key"], name="travel_time_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_code} -> {self.location_key}: {self.seconds:.0f} s"
