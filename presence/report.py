"""The presence report (issue 14, item 7): per worker holding a role in an area in a month,
whether they were there, measured against the seeds' rules (``PresenceRule``) and the weekly
schedule (``ScheduleDay``).

``presence_figures(area_code, month)`` is a selector (no request, no user): the page, the API,
the exports and the assessments (issue 15) read it. Its figures, for each worker:

- **days present**: distinct days with a sign-in judged ``inside`` or ``near`` their place;
- **days outside**: distinct days with a sign-in ``outside`` (with a reason);
- **duty days**: distinct days the worker is on a roster (``DutyShift``) and how many of them
  have a sign-in present; the days elapsed without one are listed;
- **visits** made and **households visited** (distinct);
- **key persons overdue** today (or on the month's last day): ``presence.care``;
- **patrol distance** in km (their tracks of the month);
- for station staff, **days in the villages per ISO week** (a week belongs to the month its
  Monday is in; its seven days count, also those in the next month);
- the **schedule compared**: the days (elapsed) whose schedule says "household visits", and
  how many had a visit;
- each applicable **rule's verdict**: ``days_in_place_per_month`` (days present >= minimum,
  scaled to the part of the month the role was held, rounded up: a village assistant from the
  20th of a 31-day month owes 8 days),
  ``days_in_villages_per_week`` (each week's days >= minimum), ``duty_days_signed`` (every
  duty day elapsed has a sign-in present that day, wherever in the worker's places: a cadre
  rostered at the station who signs in at their own village counts as there). A rule applies
  to a worker holding its role in the area in the month; a district's rule replaces the global
  one of the same role and kind (an inactive district rule switches it off). A shortfall is
  ``short``; it is ``flagged`` once the period is over (the month, or the week), so a month in
  progress shows where each worker stands without accusing anyone.

The figures come from one SQL statement over the sign-ins, rosters, visits and patrols of all
the workers at once, plus one query each for the workers' roles, the rules, the schedule and
the key persons overdue: never a query per worker or per day.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from psycopg.types.range import Range

from gridmap.codes import STATION_CODE_RE, level_of, prefix_of
from gridmap.sql import tables
from grids.models import STATION_ROLES, Role, RoleAssignment
from grids.selectors import ASSIGNMENT_PLACE_CODE

from .care import overdue_count_by_worker
from .models import DutyShift, Patrol, PresenceRule, SignIn, Visit, VisitHousehold
from .schedule import ROLE_ORDER, activity_from, schedule_table

# Years 1900-2199: a month outside is a typo (and year 0 or 9999-12 would overflow a date).
MONTH_RE = re.compile(r"^((?:19|20|21)\d\d)-(0[1-9]|1[0-2])$")
PRESENT = (SignIn.Verdict.INSIDE, SignIn.Verdict.NEAR)
MSG_DAYS = gettext_noop("%(value)s/%(minimum)s days")
MSG_BAD_MONTH = gettext_noop("Give the month as YYYY-MM, for example 2026-03.")
MSG_BAD_AREA = gettext_noop("Give the code of a district, town, station, village or grid.")
T = tables(
    sign_in=SignIn, duty=DutyShift, visit=Visit, visit_household=VisitHousehold, patrol=Patrol
)


def parse_month(text: str) -> tuple[dt.date, dt.date] | None:
    """``YYYY-MM`` as (first day, last day); None when malformed."""
    match = MONTH_RE.match((text or "").strip())
    if match is None:
        return None
    first = dt.date(int(match[1]), int(match[2]), 1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def area_prefix(code: str) -> str | None:
    """The code prefix an area stands for (a city's: its four digits), None for a code of no
    area (a station's code is its own prefix)."""
    code = (code or "").strip()
    if STATION_CODE_RE.match(code):
        return code
    return prefix_of(code) if level_of(code) is not None else None


@dataclass
class Verdict:
    """One rule judged: ``value`` against ``minimum`` (for a week: ``week``)."""

    role: str
    kind: str
    minimum: int
    value: int
    text: str
    short: bool
    flagged: bool
    week: str = ""


@dataclass
class WeekFigure:
    """Days in the villages in one ISO week (station staff)."""

    week: str  # 2026-W14
    monday: dt.date
    days: list[dt.date]
    final: bool


@dataclass
class WorkerFigures:
    worker_id: int
    name: str
    roles: list[dict[str, str]]  # {"role", "label", "place_code"}
    days_present: int = 0
    present_days: list[dt.date] = field(default_factory=list)
    days_outside: int = 0
    outside_days: list[dt.date] = field(default_factory=list)
    duty_days: int = 0
    duty_days_signed: int = 0
    duty_dates: list[dt.date] = field(default_factory=list)
    duty_days_missed: list[dt.date] = field(default_factory=list)
    visits: int = 0
    visit_days: list[dt.date] = field(default_factory=list)
    households_visited: int = 0
    key_persons_overdue: int | None = None
    patrol_km: float = 0.0
    village_weeks: list[WeekFigure] = field(default_factory=list)
    scheduled_visit_days: int = 0
    scheduled_visit_days_done: int = 0
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(v.flagged for v in self.verdicts)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["flagged"] = self.flagged
        return _iso(data)


def _iso(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def _covers(period: Range, day: dt.date) -> bool:
    return (period.lower is None or period.lower <= day) and (
        period.upper is None or day < period.upper
    )


FIGURES_SQL = """
WITH ids AS (SELECT unnest(%(ids)s::bigint[]) AS worker_id),
present AS (
  SELECT worker_id, array_agg(DISTINCT day ORDER BY day) AS days FROM {sign_in}
   WHERE worker_id = ANY(%(ids)s) AND day BETWEEN %(lo)s AND %(hi)s
     AND verdict = ANY(%(present)s)
   GROUP BY worker_id
), outside AS (
  SELECT worker_id, array_agg(DISTINCT day ORDER BY day) AS days FROM {sign_in}
   WHERE worker_id = ANY(%(ids)s) AND day BETWEEN %(first)s AND %(last)s
     AND verdict = 'outside'
   GROUP BY worker_id
), duty AS (
  SELECT worker_id, array_agg(DISTINCT date ORDER BY date) AS days FROM {duty}
   WHERE worker_id = ANY(%(ids)s) AND date BETWEEN %(first)s AND %(last)s
   GROUP BY worker_id
), month_visits AS (
  SELECT id, worker_id, (at AT TIME ZONE %(tz)s)::date AS day FROM {visit}
   WHERE worker_id = ANY(%(ids)s) AND at >= %(start)s AND at < %(end)s
), visits AS (
  SELECT worker_id, count(*) AS n, array_agg(DISTINCT day ORDER BY day) AS days
    FROM month_visits GROUP BY worker_id
), households AS (
  SELECT v.worker_id, count(DISTINCT vh.household_id) AS n
    FROM month_visits v JOIN {visit_household} vh ON vh.visit_id = v.id
   GROUP BY v.worker_id
), patrols AS (
  SELECT worker_id, sum(length_m) AS m FROM {patrol}
   WHERE worker_id = ANY(%(ids)s) AND day BETWEEN %(first)s AND %(last)s
   GROUP BY worker_id
)
SELECT ids.worker_id, present.days, outside.days, duty.days, coalesce(visits.n, 0),
       visits.days, coalesce(households.n, 0), coalesce(patrols.m, 0)
  FROM ids
  LEFT JOIN present USING (worker_id)
  LEFT JOIN outside USING (worker_id)
  LEFT JOIN duty USING (worker_id)
  LEFT JOIN visits USING (worker_id)
  LEFT JOIN households USING (worker_id)
  LEFT JOIN patrols USING (worker_id)
"""


def _rules(district_codes: set[str]) -> dict[tuple[str, str, str], PresenceRule]:
    """(role, kind, district code) -> the rule in force (the district's, else the global
    one), active ones only."""
    rows = list(
        PresenceRule.objects.filter(Q(district__isnull=True) | Q(district__code__in=district_codes))
        .select_related("district")
        .defer("district__geom")
    )
    out: dict[tuple[str, str, str], PresenceRule] = {}
    for code in district_codes:
        chosen: dict[tuple[str, str], PresenceRule] = {}
        for rule in rows:
            key = (rule.role, rule.kind)
            if rule.district_id is None:
                chosen.setdefault(key, rule)
        for rule in rows:
            if rule.district_id is not None and rule.district.code == code:
                chosen[(rule.role, rule.kind)] = rule
        for (role, kind), rule in chosen.items():
            if rule.active:
                out[(role, kind, code)] = rule
    return out


def _days_text(value: int, minimum: int) -> str:
    return gettext(MSG_DAYS) % {"value": value, "minimum": minimum}


def presence_figures(
    area_code: str, month: str, *, today: dt.date | None = None
) -> list[WorkerFigures]:
    """The figures of every worker holding a role in ``area_code`` (a district, town, station,
    village or grid code; a city's) in ``month`` (``YYYY-MM``), those with a shortfall first,
    then by name (see the module docstring). Raises ``ValueError`` for a malformed month or area."""
    bounds = parse_month(month)
    if bounds is None:
        raise ValueError(MSG_BAD_MONTH)
    prefix = area_prefix(area_code)
    if prefix is None:
        raise ValueError(MSG_BAD_AREA)
    first, last = bounds
    today = today or timezone.localdate()
    month_range = Range(first, last + dt.timedelta(days=1), "[)")
    assignments = list(
        RoleAssignment.objects.annotate(place_code=ASSIGNMENT_PLACE_CODE)
        .filter(place_code__startswith=prefix, period__overlap=month_range)
        .order_by("worker__name", "worker_id", "role")
        .values_list("worker_id", "worker__name", "role", "place_code", "period")
    )
    if not assignments:
        return []
    rows: dict[int, WorkerFigures] = {}
    periods: dict[int, list[tuple[str, Range]]] = {}
    for worker_id, name, role, place_code, period in assignments:
        row = rows.setdefault(worker_id, WorkerFigures(worker_id=worker_id, name=name, roles=[]))
        entry = {"role": role, "label": str(Role(role).label), "place_code": place_code}
        if entry not in row.roles:
            row.roles.append(entry)
        periods.setdefault(worker_id, []).append((role, period))
    district_of = {w: r.roles[0]["place_code"][:6] for w, r in rows.items()}

    # The ISO weeks whose Monday is in the month: their days may run into the next month.
    mondays = [
        first + dt.timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + dt.timedelta(days=n)).weekday() == 0
    ]
    hi = max(last, mondays[-1] + dt.timedelta(days=6)) if mondays else last
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    with connection.cursor() as cur:
        cur.execute(
            FIGURES_SQL.format(**T),
            {
                "ids": list(rows),
                "lo": first,
                "hi": hi,
                "first": first,
                "last": last,
                "start": start,
                "end": end,
                "tz": settings.TIME_ZONE,
                "present": [str(v) for v in PRESENT],
            },
        )
        figures = cur.fetchall()

    overdue = overdue_count_by_worker(list(rows), min(last, today))
    rules = _rules(set(district_of.values()))
    table = schedule_table({r for ps in periods.values() for r, _ in ps}, set(district_of.values()))
    elapsed_last = min(last, today - dt.timedelta(days=1)) if last >= today else last
    month_final = last < today

    for worker_id, present, outside, duty, visits, visit_days, households, metres in figures:
        row = rows[worker_id]
        present = present or []
        in_month = [d for d in present if first <= d <= last]
        present_set = set(present)
        row.present_days, row.days_present = in_month, len(in_month)
        row.outside_days, row.days_outside = outside or [], len(outside or [])
        row.duty_dates = duty or []
        row.duty_days = len(row.duty_dates)
        row.duty_days_signed = sum(1 for d in row.duty_dates if d in present_set)
        row.duty_days_missed = [
            d for d in row.duty_dates if d not in present_set and d <= elapsed_last
        ]
        row.visits, row.visit_days = int(visits), visit_days or []
        row.households_visited = int(households)
        row.patrol_km = round(float(metres) / 1000, 2)
        row.key_persons_overdue = int(overdue.get(worker_id, 0))
        held = periods[worker_id]
        roles_held = {r for r, _ in held}
        district = district_of[worker_id]
        if roles_held & set(STATION_ROLES):
            for monday in mondays:
                sunday = monday + dt.timedelta(days=6)
                days = [d for d in present if monday <= d <= sunday]
                year, week, _ = monday.isocalendar()
                row.village_weeks.append(
                    WeekFigure(
                        week=f"{year}-W{week:02d}", monday=monday, days=days, final=sunday < today
                    )
                )
        visit_set = set(row.visit_days)
        for n in range((elapsed_last - first).days + 1):
            day = first + dt.timedelta(days=n)
            on_day = [r for r, period in held if _covers(period, day)]
            scheduled = activity_from(table, on_day, district, day.weekday())
            if scheduled is not None and scheduled.activity == "visits":
                row.scheduled_visit_days += 1
                row.scheduled_visit_days_done += day in visit_set
        for role in sorted(roles_held, key=ROLE_ORDER.index):
            for kind in PresenceRule.Kind:
                rule = rules.get((role, kind, district))
                if rule is None:
                    continue
                # A monthly minimum counts the days the role was held that month: someone who
                # became a village assistant on the 20th owes 20 x 12/31 = 8 days, not 20.
                held_days = sum(
                    1
                    for n in range((last - first).days + 1)
                    if any(r == role and _covers(p, first + dt.timedelta(days=n)) for r, p in held)
                )
                share = held_days / ((last - first).days + 1)
                row.verdicts.extend(_judge(row, rule, month_final, share))
    # Those with a shortfall first (what a supervisor acts on), then by name.
    return sorted(rows.values(), key=lambda r: (not r.flagged, r.name, r.worker_id))


def _judge(
    row: WorkerFigures, rule: PresenceRule, month_final: bool, share: float = 1.0
) -> list[Verdict]:
    """``share``: the part of the month the role was held (a monthly minimum scales with it,
    rounded up)."""
    kind = rule.kind
    if kind == PresenceRule.Kind.DAYS_IN_PLACE_PER_MONTH:
        minimum = math.ceil(rule.minimum * share - 1e-9)
        short = row.days_present < minimum
        return [
            Verdict(
                role=rule.role,
                kind=kind,
                minimum=minimum,
                value=row.days_present,
                text=_days_text(row.days_present, minimum),
                short=short,
                flagged=short and month_final,
            )
        ]
    if kind == PresenceRule.Kind.DAYS_IN_VILLAGES_PER_WEEK:
        out = []
        for week in row.village_weeks:
            short = len(week.days) < rule.minimum
            out.append(
                Verdict(
                    role=rule.role,
                    kind=kind,
                    minimum=rule.minimum,
                    value=len(week.days),
                    text=_days_text(len(week.days), rule.minimum),
                    short=short,
                    flagged=short and week.final,
                    week=week.week,
                )
            )
        return out
    # duty_days_signed: every duty day elapsed has a sign-in.
    due = row.duty_days_signed + len(row.duty_days_missed)
    short = bool(row.duty_days_missed)
    return [
        Verdict(
            role=rule.role,
            kind=kind,
            minimum=due,
            value=row.duty_days_signed,
            text=_days_text(row.duty_days_signed, due),
            short=short,
            flagged=short,
        )
    ]


# --- exports -------------------------------------------------------------------------------------
def export_header() -> list[str]:
    return [
        gettext("worker"),
        gettext("roles"),
        gettext("days present"),
        gettext("days outside"),
        gettext("duty days"),
        gettext("duty days signed in"),
        gettext("visits"),
        gettext("households visited"),
        gettext("key persons overdue"),
        gettext("patrol distance (km)"),
        gettext("scheduled visit days with a visit"),
        gettext("shortfalls"),
    ]


def export_rows(rows: list[WorkerFigures]) -> list[list[Any]]:
    """The table the CSV and XLSX exports write (one line per worker)."""
    out = []
    for r in rows:
        shortfalls = "; ".join(
            f"{Role(v.role).label} {v.week} {v.text}".replace("  ", " ")
            for v in r.verdicts
            if v.flagged
        )
        out.append(
            [
                r.name,
                "、".join(str(role["label"]) for role in r.roles),
                r.days_present,
                r.days_outside,
                r.duty_days,
                r.duty_days_signed,
                r.visits,
                r.households_visited,
                "" if r.key_persons_overdue is None else r.key_persons_overdue,
                r.patrol_km,
                f"{r.scheduled_visit_days_done}/{r.scheduled_visit_days}",
                shortfalls,
            ]
        )
    return out
