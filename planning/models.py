"""Draft plans of the village -> station assignment (issue 6, foundation).

Plans
-----
A *plan* is a draft copy of the catchment assignment of a town (9-digit code) or a district
(6-digit code), taken from the published assignment active on its ``base_date``. Drafts never
affect routing: routing reads ``grids.CatchmentAssignment`` only. Villages are referred to by
their stable code, so a plan survives a boundary re-import.

Every edit is recorded in ``PlanChange`` (who, when, from which station to which, and the
written reason when a planner overrode a constraint). Undo marks the newest live change
``undone``; redo revives the oldest undone one above it. An edit made while undone changes are
pending makes them ``discarded`` (no longer redoable); nothing is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Station


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

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(area_code__regex=r"^\d{6}(\d{3})?$"), name="plan_area_code_format"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanAssignment(models.Model):
    """Village -> station in a plan; no station while the village is unassigned."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("plan")
    )
    village_code = models.CharField(_("village code"), max_length=12)
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plan_assignments",
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


class PlanChange(models.Model):
    """One edit of a plan, in order (append-only; see the module docstring for undo/redo)."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="changes", verbose_name=_("plan")
    )
    seq = models.PositiveIntegerField(_("sequence"))
    village_code = models.CharField(_("village code"), max_length=12)
    from_station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from station"),
    )
    to_station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to station"),
    )
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
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}#{self.seq} {self.village_code}"


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
