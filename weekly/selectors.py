"""Reads of the weekly two-down-two-up: weeks, deadlines, pre-filled counts, report status.

Deadlines (settings, as ``(day of the week, 0 = Monday, "HH:MM")`` in local time):
``GRIDMAP_WEEKLY_VILLAGE_REPORT_DUE`` (Friday 18:00) and ``GRIDMAP_WEEKLY_STATION_SUMMARY_DUE``
(Saturday 12:00). A report is

- ``on_time`` when submitted no later than its deadline,
- ``late`` when submitted after it,
- ``missing`` when not submitted and the deadline has passed,
- ``pending`` when not submitted and the deadline is still ahead.

A report's ``submitted_at`` is its first submission; corrections before the station sends
its summary keep it (a correction does not make an on-time report late).

A village reports to the station whose catchment holds it on the week's Monday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.selectors import jurisdiction_prefixes
from gridmap.codes import covers, overlaps
from gridmap.sql import table
from grids.models import CatchmentAssignment, Station, Town, Village
from incidents.models import OPEN_STATUSES, Incident

from .models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList

ON_TIME, LATE, MISSING, PENDING = "on_time", "late", "missing", "pending"
COUNT_KEYS = ["received", "closed_out", "open", "overdue"]


def week_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week (weeks are named by their Monday)."""
    return day - dt.timedelta(days=day.weekday())


def current_week() -> dt.date:
    return week_of(timezone.localdate())


def week_start(week: dt.date) -> dt.datetime:
    """Monday 00:00, local time."""
    return dt.datetime.combine(week, dt.time(), tzinfo=timezone.get_default_timezone())


def _due(week: dt.date, setting: tuple[int, str]) -> dt.datetime:
    weekday, hh_mm = setting
    day = week + dt.timedelta(days=int(weekday))
    return dt.datetime.combine(
        day, dt.time.fromisoformat(hh_mm), tzinfo=timezone.get_default_timezone()
    )


def village_report_due(week: dt.date) -> dt.datetime:
    return _due(week, settings.GRIDMAP_WEEKLY_VILLAGE_REPORT_DUE)


def station_summary_due(week: dt.date) -> dt.datetime:
    return _due(week, settings.GRIDMAP_WEEKLY_STATION_SUMMARY_DUE)


def report_flag(submitted_at: dt.datetime | None, due: dt.datetime, now: dt.datetime) -> str:
    if submitted_at is not None:
        return ON_TIME if submitted_at <= due else LATE
    return MISSING if now > due else PENDING


# Pre-filled figures of a village's week, in one statement (the KPI index serves the prefix):
# received = reported in the week; closed_out = closed out in the week (whenever reported);
# open = reported before the week's end and still open now; overdue = of those, past the
# resolve deadline now.
_COUNTS_SQL = f"""
SELECT count(*) FILTER (WHERE reported_at >= %(start)s AND reported_at < %(end)s),
       count(*) FILTER (WHERE closed_at >= %(start)s AND closed_at < %(end)s),
       count(*) FILTER (WHERE reported_at < %(end)s AND status = ANY(%(open)s)),
       count(*) FILTER (WHERE reported_at < %(end)s AND status = ANY(%(open)s)
                          AND resolve_due_at < %(now)s)
  FROM {table(Incident)}
 WHERE place_code LIKE %(prefix)s
   AND (reported_at < %(end)s)
   AND (reported_at >= %(start)s OR closed_at >= %(start)s OR status = ANY(%(open)s))
"""


def village_week_counts(
    village_code: str, week: dt.date, now: dt.datetime | None = None
) -> dict[str, int]:
    """The figures a village's weekly report is pre-filled with (see ``_COUNTS_SQL``)."""
    start = week_start(week)
    params = {
        "prefix": village_code + "%",
        "start": start,
        "end": start + dt.timedelta(weeks=1),
        "open": [str(s) for s in OPEN_STATUSES],
        "now": now or timezone.now(),
    }
    with connection.cursor() as cur:
        cur.execute(_COUNTS_SQL, params)
        row = cur.fetchone()
    return dict(zip(COUNT_KEYS, (int(v) for v in row), strict=True))


def station_of_village(village_code: str, week: dt.date) -> Station | None:
    assignment = (
        CatchmentAssignment.objects.active(week)
        .filter(village__code=village_code)
        .select_related("station__town")
        .first()
    )
    return assignment.station if assignment else None


def station_villages(station_code: str, week: dt.date) -> list[Village]:
    return [
        a.village
        for a in CatchmentAssignment.objects.active(week)
        .filter(station__code=station_code)
        .select_related("village")
        .defer("village__geom")
        .order_by("village__code")
    ]


def sum_counts(reports: list[VillageWeeklyReport]) -> dict[str, int]:
    return {k: sum(int(r.counts.get(k, 0)) for r in reports) for k in COUNT_KEYS}


def task_list(town_code: str, week: dt.date) -> WeeklyTaskList | None:
    return (
        WeeklyTaskList.objects.filter(town_code=town_code, week=week, published_at__isnull=False)
        .select_related("published_by")
        .first()
    )


# --- what a user may see --------------------------------------------------------------------
def can_view(user: Any, code: str) -> bool:
    """A weekly page of place ``code`` is visible to users whose jurisdiction contains it or
    lies inside it (village staff see their town's task list and page)."""
    return overlaps(jurisdiction_prefixes(user), code)


def can_view_station(user: Any, station: Station, village_codes: list[str]) -> bool:
    """A station's page: for its town and above, its staff, and its villages' staff."""
    prefixes = jurisdiction_prefixes(user)
    if prefixes is None:
        return True
    return covers(prefixes, station.town.code) or any(overlaps(prefixes, v) for v in village_codes)


# --- the town's page -----------------------------------------------------------------------
@dataclass
class VillageRow:
    code: str
    name: str
    report: VillageWeeklyReport | None
    flag: str


@dataclass
class StationRow:
    code: str
    name: str
    summary: StationWeeklySummary | None
    flag: str
    villages: list[VillageRow] = field(default_factory=list)


@dataclass
class TownWeek:
    town: Town
    week: dt.date
    task_list: WeeklyTaskList | None
    village_due: dt.datetime
    station_due: dt.datetime
    stations: list[StationRow]
    unassigned: list[VillageRow]  # villages in no station's catchment that week

    @property
    def flags(self) -> dict[str, int]:
        """How many reports and summaries are late, missing, ... (for the page's summary)."""
        out = {ON_TIME: 0, LATE: 0, MISSING: 0, PENDING: 0}
        for s in self.stations:
            out[s.flag] += 1
            for v in s.villages:
                out[v.flag] += 1
        for v in self.unassigned:
            out[v.flag] += 1
        return out


def town_week(
    town: Town,
    week: dt.date,
    now: dt.datetime | None = None,
    *,
    prefixes: list[str] | None = None,
) -> TownWeek:
    """The town's week: its task list, each station and village with its report's status.

    ``prefixes`` is the viewer's jurisdiction (None: everything): a viewer inside the town
    (village or station staff, a grid worker) reads the town's task list and only the rows
    of their own villages and stations; the other villages' reports are not theirs."""
    now = now or timezone.now()
    v_due, s_due = village_report_due(week), station_summary_due(week)
    villages = list(
        Village.objects.current()
        .filter(code__startswith=town.code)
        .order_by("code")
        .values_list("code", "name")
    )
    reports = {
        r.village_code: r
        for r in VillageWeeklyReport.objects.filter(
            week=week, village_code__startswith=town.code
        ).select_related("submitted_by")
    }
    summaries = {
        s.station_code: s
        for s in StationWeeklySummary.objects.filter(week=week, town_code=town.code).select_related(
            "submitted_by"
        )
    }
    catchment = dict(
        CatchmentAssignment.objects.active(week)
        .filter(station__town__code=town.code)
        .values_list("village__code", "station__code")
    )
    stations = [
        StationRow(s.code, s.name, summaries.get(s.code), "")
        for s in Station.objects.filter(town__code=town.code).order_by("code")
    ]
    by_code = {s.code: s for s in stations}
    unassigned = []
    for code, name in villages:
        report = reports.get(code)
        row = VillageRow(
            code, name, report, report_flag(report and report.submitted_at, v_due, now)
        )
        station = by_code.get(catchment.get(code, ""))
        (station.villages if station else unassigned).append(row)
    for s in stations:
        s.flag = report_flag(s.summary and s.summary.submitted_at, s_due, now)
    if prefixes is not None and not covers(prefixes, town.code):
        for s in stations:
            s.villages = [v for v in s.villages if overlaps(prefixes, v.code)]
        stations = [s for s in stations if s.villages or covers(prefixes, s.code)]
        unassigned = [v for v in unassigned if overlaps(prefixes, v.code)]
    return TownWeek(
        town=town,
        week=week,
        task_list=task_list(town.code, week),
        village_due=v_due,
        station_due=s_due,
        stations=stations,
        unassigned=unassigned,
    )
