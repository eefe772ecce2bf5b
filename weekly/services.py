"""Writes of the weekly two-down-two-up (两下两上).

- ``task_list_publish``: a town's staff publish the week's task list to its stations and
  villages (again to correct it; the publication time is the latest).
- ``village_report_submit``: a village's staff submit the weekly report to the village's
  station, the figures pre-filled from the village's incidents (``selectors.village_week_counts``)
  plus their text. It may be corrected until the station has sent its summary; the first
  submission time is kept (it decides late or on time).
- ``station_summary_submit``: a station's staff send the summary of its villages' reports up
  to the town: the figures add up the villages' reports, and list the villages that have
  not reported.

Who may act: the role named, on a place in the account's codes (town staff on their town,
village staff on their village, station staff on their station); superusers may act for
anyone (the admin's back office). The rule lives here, so the pages and the admin share it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.selectors import acts_at
from grids.models import Station, Town, Village

from . import selectors
from .models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList

MAX_ITEMS = 30
MAX_ITEM_LENGTH = 500
MAX_TEXT = 5000

# --- messages (tests reuse them) -----------------------------------------------------------
MSG_NOT_MONDAY = gettext_noop("A week is named by its Monday; %(date)s is not a Monday.")
MSG_NO_TOWN = gettext_noop("There is no town %(code)s.")
MSG_NO_VILLAGE = gettext_noop("There is no village %(code)s.")
MSG_NO_STATION = gettext_noop("There is no station %(code)s.")
MSG_NOT_TOWN_STAFF = gettext_noop("Only the staff of town %(code)s may publish its task list.")
MSG_NOT_VILLAGE_STAFF = gettext_noop(
    "Only the staff of village %(code)s may submit its weekly report."
)
MSG_NOT_STATION_STAFF = gettext_noop(
    "Only the staff of station %(code)s may send its weekly summary."
)
MSG_NO_ITEMS = gettext_noop("Write at least one task.")
MSG_TOO_MANY_ITEMS = gettext_noop("At most %(max)s tasks a week.")
MSG_ITEM_TOO_LONG = gettext_noop("A task may be at most %(max)s characters long.")
MSG_TEXT_TOO_LONG = gettext_noop("The text may be at most %(max)s characters long.")
MSG_VILLAGE_WITHOUT_STATION = gettext_noop(
    "Village %(code)s belongs to no station in the week of %(week)s, so it has nobody to "
    "report to. Ask the planners to assign it."
)
MSG_WEEK_NOT_STARTED = gettext_noop(
    "The week of %(week)s has not started yet; report on it from its Monday on."
)
MSG_SUMMARY_SENT = gettext_noop(
    "Station %(station)s has already sent its summary for this week; ask it before changing "
    "the report."
)


def may_publish(actor: Any, town_code: str) -> bool:
    """The town's own people publish its task list (a town role held there today, or a
    town-staff grant holding it)."""
    return acts_at(actor, "town", town_code)


def may_submit_village_report(actor: Any, village_code: str) -> bool:
    """The village's own people report on its week (a village role held there today)."""
    return acts_at(actor, "village", village_code)


def may_submit_station_summary(actor: Any, station_code: str) -> bool:
    """The station's people (head, deputy, full-time worker) sum up its villages' week."""
    return acts_at(actor, "station", station_code)


def _check_week(week: dt.date) -> None:
    if week.weekday() != 0:
        raise ValidationError({"week": _(MSG_NOT_MONDAY) % {"date": week.isoformat()}})


def _check_started(week: dt.date, now: dt.datetime) -> None:
    if selectors.week_start(week) > now:
        raise ValidationError({"week": _(MSG_WEEK_NOT_STARTED) % {"week": week.isoformat()}})


def _check_text(text: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": _(MSG_TEXT_TOO_LONG) % {"max": MAX_TEXT}})
    return text


@transaction.atomic
def task_list_publish(
    *,
    actor: Any,
    town_code: str,
    week: dt.date,
    items: list[str],
    note: str = "",
    at: dt.datetime | None = None,
) -> WeeklyTaskList:
    """Publish (or correct) the town's task list of ``week`` (its Monday)."""
    if not Town.objects.current().filter(code=town_code).exists():
        raise ValidationError({"town": _(MSG_NO_TOWN) % {"code": town_code}})
    if not may_publish(actor, town_code):
        raise PermissionDenied(_(MSG_NOT_TOWN_STAFF) % {"code": town_code})
    _check_week(week)
    items = [i.strip() for i in items if i and i.strip()]
    if not items:
        raise ValidationError({"items": _(MSG_NO_ITEMS)})
    if len(items) > MAX_ITEMS:
        raise ValidationError({"items": _(MSG_TOO_MANY_ITEMS) % {"max": MAX_ITEMS}})
    if any(len(i) > MAX_ITEM_LENGTH for i in items):
        raise ValidationError({"items": _(MSG_ITEM_TOO_LONG) % {"max": MAX_ITEM_LENGTH}})
    task_list = WeeklyTaskList.objects.select_for_update().filter(
        town_code=town_code, week=week
    ).first() or WeeklyTaskList(town_code=town_code, week=week)
    task_list.items = items
    task_list.note = _check_text(note)
    task_list.published_at = at or timezone.now()
    task_list.published_by = actor
    task_list.full_clean()
    task_list.save()
    return task_list


@transaction.atomic
def village_report_submit(
    *,
    actor: Any,
    village_code: str,
    week: dt.date,
    text: str,
    at: dt.datetime | None = None,
) -> VillageWeeklyReport:
    """Submit (or correct) the village's report of ``week`` to its station."""
    if not Village.objects.current().filter(code=village_code).exists():
        raise ValidationError({"village": _(MSG_NO_VILLAGE) % {"code": village_code}})
    if not may_submit_village_report(actor, village_code):
        raise PermissionDenied(_(MSG_NOT_VILLAGE_STAFF) % {"code": village_code})
    _check_week(week)
    now = at or timezone.now()
    _check_started(week, now)
    text = _check_text(text)
    station = selectors.station_of_village(village_code, week)
    if station is None:
        raise ValidationError(
            {"village": _(MSG_VILLAGE_WITHOUT_STATION) % {"code": village_code, "week": week}}
        )
    if StationWeeklySummary.objects.filter(
        station_code=station.code, week=week, submitted_at__isnull=False
    ).exists():
        raise ValidationError({"text": _(MSG_SUMMARY_SENT) % {"station": station.name}})
    report = (
        VillageWeeklyReport.objects.select_for_update()
        .filter(village_code=village_code, week=week)
        .first()
    ) or VillageWeeklyReport(village_code=village_code, week=week)
    report.station_code = station.code
    report.counts = selectors.village_week_counts(village_code, week, now)
    report.text = text
    if report.submitted_at is None:
        report.submitted_at = now
    report.submitted_by = actor
    report.full_clean()
    report.save()
    return report


@transaction.atomic
def station_summary_submit(
    *,
    actor: Any,
    station_code: str,
    week: dt.date,
    text: str,
    at: dt.datetime | None = None,
) -> StationWeeklySummary:
    """Send the station's summary of ``week`` up to its town: its villages' reports added up,
    the villages that have not reported listed."""
    station = Station.objects.select_related("town").filter(code=station_code).first()
    if station is None:
        raise ValidationError({"station": _(MSG_NO_STATION) % {"code": station_code}})
    if not may_submit_station_summary(actor, station_code):
        raise PermissionDenied(_(MSG_NOT_STATION_STAFF) % {"code": station_code})
    _check_week(week)
    now = at or timezone.now()
    _check_started(week, now)
    text = _check_text(text)
    villages = [v.code for v in selectors.station_villages(station_code, week)]
    reports = list(
        VillageWeeklyReport.objects.filter(
            week=week, village_code__in=villages, submitted_at__isnull=False
        )
    )
    reported = {r.village_code for r in reports}
    summary = (
        StationWeeklySummary.objects.select_for_update()
        .filter(station_code=station_code, week=week)
        .first()
    ) or StationWeeklySummary(station_code=station_code, week=week)
    summary.town_code = station.town.code
    summary.counts = {
        **selectors.sum_counts(reports),
        "villages": len(villages),
        "reports": len(reported),
        "missing": [v for v in villages if v not in reported],
    }
    summary.text = text
    if summary.submitted_at is None:
        summary.submitted_at = now
    summary.submitted_by = actor
    summary.full_clean()
    summary.save()
    return summary
