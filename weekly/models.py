"""Weekly two-down-two-up (两下两上).

Monday: a town publishes a task list to its stations and villages. Friday: each village
submits its weekly report (counts pre-filled from its incidents, plus free text) to its
station; the station sends its summary up to the town. A week is named by its Monday.
Places are referenced by code, the identity that survives boundary generations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class WeeklyTaskList(models.Model):
    town_code = models.CharField(_("town"), max_length=9, db_index=True)
    week = models.DateField(_("week (Monday)"))
    items = models.JSONField(_("tasks"), default=list, help_text=_("A list of task texts."))
    note = models.TextField(_("note"), blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("weekly task list")
        verbose_name_plural = _("weekly task lists")
        constraints = [
            models.UniqueConstraint(fields=["town_code", "week"], name="task_list_once_a_week"),
            models.CheckConstraint(
                condition=Q(week__iso_week_day=1), name="task_list_week_is_monday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.town_code} {self.week}"


class WeeklySubmission(models.Model):
    """What a village report and a station summary share: the week, figures pre-filled from
    the incidents, and who sent it when (the first submission decides late or on time)."""

    week = models.DateField(_("week (Monday)"))
    counts = models.JSONField(_("figures"), default=dict)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )

    class Meta:
        abstract = True


class VillageWeeklyReport(WeeklySubmission):
    village_code = models.CharField(_("village"), max_length=12, db_index=True)
    station_code = models.CharField(_("station"), max_length=12, db_index=True)
    # counts: pre-filled from the village's incidents of the week (received, closed out, ...).
    text = models.TextField(_("report"), blank=True)

    class Meta:
        verbose_name = _("village weekly report")
        verbose_name_plural = _("village weekly reports")
        constraints = [
            models.UniqueConstraint(
                fields=["village_code", "week"], name="village_report_once_a_week"
            ),
            models.CheckConstraint(
                condition=Q(week__iso_week_day=1), name="village_report_week_is_monday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_code} {self.week}"


class StationWeeklySummary(WeeklySubmission):
    station_code = models.CharField(_("station"), max_length=12, db_index=True)
    town_code = models.CharField(_("town"), max_length=9, db_index=True)
    text = models.TextField(_("summary"), blank=True)

    class Meta:
        verbose_name = _("station weekly summary")
        verbose_name_plural = _("station weekly summaries")
        constraints = [
            models.UniqueConstraint(
                fields=["station_code", "week"], name="station_summary_once_a_week"
            ),
            models.CheckConstraint(
                condition=Q(week__iso_week_day=1), name="station_summary_week_is_monday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station_code} {self.week}"
