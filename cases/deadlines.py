"""Time limits on the Chinese working calendar, and the traffic light of an open case.

The working clock
-----------------
- **Working days** are those ``chinese_calendar.is_workday`` says: weekdays that are not
  public holidays, plus the make-up working weekends (调休) of the State Council's yearly
  schedule (2025: Sunday 28 September and Saturday 11 October around the National Day
  week). For a year the library has no schedule for yet, Monday to Friday are working days
  except the holidays of fixed date (1 January, 1-2 May, 1-3 October; the lunar holidays
  and the make-up days are unknown until published), logged once per year: upgrade
  ``chinese-calendar`` when a new schedule is published.
- **Working hours** are the periods of ``settings.GRIDMAP_WORKING_HOURS`` (default 08:30-12:00
  and 14:30-17:30, 6.5 hours) of each working day, in local time
  (``settings.GRIDMAP_WORKING_TIME_ZONE``, Asia/Shanghai).
- The clock runs only inside working hours. ``add_working_time(start, n, unit)`` consumes
  ``n`` working hours, or ``n`` times the length of a working day for working days. So
  "2 working days" from a time inside working hours is the same clock time two working days
  later, and from outside working hours (a holiday, the lunch break, the evening) the clock
  starts at the next working period: "1 working day" from a holiday ends at the close of the
  first working day after it. A time limit that ends exactly at the end of a period ends
  there (17:30), not at the start of the next one.

The calendar clock (emergencies)
--------------------------------
A time limit in ``calendar_minutes`` ignores the working calendar: ``add_time(start, 30,
calendar_minutes)`` is ``start`` plus 30 minutes, on a Sunday night as on a Tuesday morning.
Red cases have such limits (``incidents.CategoryTimeLimit``, data per category and severity);
a case whose limits are in calendar minutes has ``calendar_clock`` set, and its traffic light
measures the share of the limit in calendar time. A limit may also say to escalate again every
``repeat_minutes`` while the case stays unacknowledged (``cases.workflow.escalate``).

Deadlines of a case (kept by ``cases.workflow``)
-------------------------------------------------
- At creation, escalation and redispatch: ``acknowledge_due_at`` and ``resolve_due_at`` are
  the case's time limits (``CaseKind.time_limit``: for an incident, those of its category and
  severity) from that moment: the new owner gets the full limits.
- ``onsite_due_at`` (到场, the ``start`` action) likewise, when the time limit has an
  on-site time (``TimeLimit.onsite_amount``; red incidents: 120 calendar minutes), else
  None. It counts while the case waits to be started (reported, acknowledged); its light
  is ``onsite_light``.
- A granted extension moves ``resolve_due_at``; nothing else moves a deadline (a return, a
  reopen and a refused extension keep them). A kind may keep its deadlines on escalation
  too (``CaseKind.new_deadlines_on_escalation``: a service request's promise stays).
- A time limit with ``end_of_day`` (a service item's promise) ends at the close of the
  working day its resolve deadline falls on: "5 working days" from Friday 10:00 is the fifth
  working day after, at 17:30.

The traffic light (``traffic_light``)
-------------------------------------
On the acknowledge deadline while the case waits to be acknowledged (status ``reported``),
otherwise on the resolve deadline, whose clock stops when the case is reported resolved.
The light is the share of working time from the report to that deadline that has passed:
green under 80 %, yellow from 80 % to the deadline, red after it. For a case that was never
escalated, redispatched or extended this is exactly the share of its time limit; an extension
lengthens it, and after an escalation the time already spent below counts too (a case that
was escalated for being late does not look fresh). It reads only the case's own fields:
no query, so lists can light every row. A case on the calendar clock (``calendar_clock``):
the same share in calendar time.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings

from .models import ONSITE_STATUSES, OPEN_STATUSES, Status, TimeUnit

if TYPE_CHECKING:
    from .models import Case

logger = logging.getLogger(__name__)

GREEN = "green"
YELLOW = "yellow"
RED = "red"
# The share of the time limit after which the light turns yellow.
YELLOW_FROM = 0.8

DEFAULT_WORKING_HOURS = [("08:30", "12:00"), ("14:30", "17:30")]
DEFAULT_TIME_ZONE = "Asia/Shanghai"
# Statutory holidays of fixed date, for a year chinese_calendar has no schedule for.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
# A guard against a runaway loop (a misconfigured calendar with no working day at all).
MAX_DAYS = 3660


@dataclass(frozen=True)
class TimeLimit:
    acknowledge_amount: int
    acknowledge_unit: str
    resolve_amount: int
    resolve_unit: str
    # Escalate again every this many minutes while the case stays unacknowledged after an
    # automatic escalation (None: the new owner gets the full limits, as for any escalation).
    repeat_minutes: int | None = None
    # The time to be on site (到场: the ``start`` action), or None for no on-site deadline.
    onsite_amount: int | None = None
    onsite_unit: str | None = None
    # Round the resolve deadline up to the end of its working day (the close of that day's
    # last working period): a promise to a resident is a date ("done by 10 October"), not a
    # time of day.
    end_of_day: bool = False

    @property
    def calendar(self) -> bool:
        """Whether the limits run round the clock (a unit in calendar minutes)."""
        return TimeUnit.CALENDAR_MINUTES in (
            self.acknowledge_unit,
            self.resolve_unit,
            self.onsite_unit if self.onsite_amount else None,
        )


# --- the calendar ---------------------------------------------------------------------------
def time_zone() -> ZoneInfo:
    return _zone(getattr(settings, "GRIDMAP_WORKING_TIME_ZONE", DEFAULT_TIME_ZONE))


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _parse_hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


@functools.lru_cache(maxsize=8)
def _periods(spec: tuple[tuple[str, str], ...]) -> tuple[tuple[dt.time, dt.time], ...]:
    periods = tuple((_parse_hhmm(a), _parse_hhmm(b)) for a, b in spec)
    previous_end = dt.time(0, 0)
    for start, end in periods:
        if not (previous_end <= start < end):
            raise ValueError(
                "GRIDMAP_WORKING_HOURS must be increasing, non-overlapping periods within a day: "
                f"{spec!r}"
            )
        previous_end = end
    if not periods:
        raise ValueError("GRIDMAP_WORKING_HOURS has no period.")
    return periods


def working_periods() -> tuple[tuple[dt.time, dt.time], ...]:
    spec = getattr(settings, "GRIDMAP_WORKING_HOURS", DEFAULT_WORKING_HOURS)
    return _periods(tuple((str(a), str(b)) for a, b in spec))


def working_day_length() -> dt.timedelta:
    """The working time of one working day (6.5 hours by default)."""
    return sum(
        (
            dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)
            for start, end in working_periods()
        ),
        dt.timedelta(0),
    )


_warned_years: set[int] = set()


@functools.lru_cache(maxsize=4096)
def is_working_day(day: dt.date) -> bool:
    """A working day on the Chinese calendar; in a year it has no data for, Monday to Friday
    except the fixed-date holidays."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "chinese_calendar has no holiday schedule for %s: counting Monday to Friday "
                "except fixed-date holidays as working days. Upgrade chinese-calendar.",
                day.year,
            )
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def _day_periods(day: dt.date, zone: ZoneInfo) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    return _day_periods_of(day, zone, working_periods())


@functools.lru_cache(maxsize=4096)
def _day_periods_of(
    day: dt.date, zone: ZoneInfo, periods: tuple[tuple[dt.time, dt.time], ...]
) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """A day's working periods as datetimes (none on a day off), kept per day, zone and
    working hours: a page of 50 traffic lights walks the same few weeks 150 times."""
    if not is_working_day(day):
        return ()
    return tuple(
        (dt.datetime.combine(day, start, tzinfo=zone), dt.datetime.combine(day, end, tzinfo=zone))
        for start, end in periods
    )


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("Working time needs aware datetimes.")
    return value


# --- the clock --------------------------------------------------------------------------------
def add_working_time(start: dt.datetime, amount: int, unit: TimeUnit | str) -> dt.datetime:
    """``start`` plus ``amount`` working hours or working days on the working calendar (an
    aware datetime in the working time zone)."""
    zone = time_zone()
    local = _aware(start).astimezone(zone)
    if amount < 0:
        raise ValueError("A time limit cannot be negative.")
    if unit == TimeUnit.WORKING_HOURS:
        remaining = dt.timedelta(hours=amount)
    elif unit == TimeUnit.WORKING_DAYS:
        remaining = amount * working_day_length()
    else:
        raise ValueError(f"Unknown time unit {unit!r}.")
    return _add_working(local, remaining, zone)


def _add_working(
    local: dt.datetime, remaining: dt.timedelta, zone: ZoneInfo, days: int = MAX_DAYS
) -> dt.datetime:
    """``local`` plus ``remaining`` working time: the earliest moment by which that much
    working time has passed since ``local`` (the end of a period, not the next start),
    looked for within ``days`` days."""
    if not remaining:
        return local
    day = local.date()
    for _ in range(days):
        for period_start, period_end in _day_periods(day, zone):
            if period_end <= local:
                continue
            begin = max(period_start, local)
            available = period_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += dt.timedelta(days=1)
    raise ValueError(f"No working time within {days} days of {local}.")


def working_time_between(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """The working time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
    if b < a:
        return -working_time_between(b, a)
    zone = time_zone()
    a, b = _aware(a).astimezone(zone), _aware(b).astimezone(zone)
    total = dt.timedelta(0)
    day = a.date()
    while day <= b.date():
        for period_start, period_end in _day_periods(day, zone):
            begin, end = max(period_start, a), min(period_end, b)
            if end > begin:
                total += end - begin
        day += dt.timedelta(days=1)
    return total


def add_time(start: dt.datetime, amount: int, unit: TimeUnit | str) -> dt.datetime:
    """``start`` plus a time limit in any unit: calendar minutes round the clock, working
    hours and days on the working calendar (``add_working_time``)."""
    if unit == TimeUnit.CALENDAR_MINUTES:
        if amount < 0:
            raise ValueError("A time limit cannot be negative.")
        return _aware(start).astimezone(time_zone()) + dt.timedelta(minutes=amount)
    return add_working_time(start, amount, unit)


# --- time limits of a case --------------------------------------------------------------------
def deadlines_from(start: dt.datetime, limit: TimeLimit) -> tuple[dt.datetime, dt.datetime]:
    """``(acknowledge_due_at, resolve_due_at)`` of a case that is given to an owner at
    ``start``; the resolve deadline at the end of its working day for a limit with
    ``end_of_day``."""
    resolve = add_time(start, limit.resolve_amount, limit.resolve_unit)
    if limit.end_of_day:
        resolve = end_of_working_day(resolve)
    return add_time(start, limit.acknowledge_amount, limit.acknowledge_unit), resolve


def end_of_working_day(value: dt.datetime) -> dt.datetime:
    """The close of the last working period of ``value``'s local day, if that is a working
    day and ``value`` is not later; else ``value`` unchanged."""
    zone = time_zone()
    local = _aware(value).astimezone(zone)
    periods = _day_periods(local.date(), zone)
    if not periods or local > periods[-1][1]:
        return local
    return periods[-1][1]


def onsite_due_from(start: dt.datetime, limit: TimeLimit) -> dt.datetime | None:
    """``onsite_due_at`` of a case given to an owner at ``start``: None when its time limit
    has no on-site deadline."""
    if not limit.onsite_amount or not limit.onsite_unit:
        return None
    return add_time(start, limit.onsite_amount, limit.onsite_unit)


# --- the traffic light ------------------------------------------------------------------------
def traffic_light(case: Case, now: dt.datetime) -> str | None:
    """``"green"``, ``"yellow"``, ``"red"``, or None for a case that is not open or has no
    deadline. See the module docstring; reads only the case's fields."""
    if case.status not in OPEN_STATUSES:
        return None
    clock = now
    if case.status == Status.REPORTED and case.acknowledge_due_at is not None:
        due = case.acknowledge_due_at
    else:
        due = case.resolve_due_at
        if case.status in (Status.RESOLVED, Status.VERIFIED) and case.resolved_at:
            clock = case.resolved_at
    return _light(case, due, clock)


def onsite_light(case: Case, now: dt.datetime) -> str | None:
    """The traffic light of the on-site deadline (到场时限) while the case waits to be started
    (reported, acknowledged); None otherwise or without one. Same shares as ``traffic_light``,
    from the case's own fields."""
    if case.status not in ONSITE_STATUSES:
        return None
    return _light(case, getattr(case, "onsite_due_at", None), now)


def _light(case: Case, due: dt.datetime | None, clock: dt.datetime) -> str | None:
    if due is None:
        return None
    if clock > due:
        return RED
    turns = yellow_at(case.reported_at, due, bool(getattr(case, "calendar_clock", False)))
    return YELLOW if turns is None or clock >= turns else GREEN


def yellow_at(reported_at: dt.datetime, due: dt.datetime, calendar: bool) -> dt.datetime | None:
    """The moment a light on the deadline ``due`` turns yellow: when ``YELLOW_FROM`` of the
    time from the report to ``due`` (working time, or calendar time on the calendar clock)
    has passed; None when there is no such time (``due`` not after the report: yellow from
    the start). The working time spent grows with the clock, so "spent < 80 % of the limit"
    is "the clock is before this moment", and the moment is the same for every page that
    shows the case: kept per case (a page of 50 lights walked the calendar 100 times)."""
    return _yellow_at(reported_at, due, calendar, working_periods(), time_zone())


@functools.lru_cache(maxsize=16384)
def _yellow_at(
    reported_at: dt.datetime,
    due: dt.datetime,
    calendar: bool,
    periods: tuple[tuple[dt.time, dt.time], ...],
    zone: ZoneInfo,
) -> dt.datetime | None:
    if calendar:
        limit = due - reported_at
        return reported_at + YELLOW_FROM * limit if limit > dt.timedelta(0) else None
    limit = working_time_between(reported_at, due)
    if limit <= dt.timedelta(0):
        return None
    # The moment is before ``due`` (80 % of the working time up to it): it is looked for up
    # to there, however far that is (an extension granted to a mistyped year).
    start = _aware(reported_at).astimezone(zone)
    days = (_aware(due).astimezone(zone).date() - start.date()).days + 2
    return _add_working(start, YELLOW_FROM * limit, zone, days)
