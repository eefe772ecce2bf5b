"""cases.deadlines: the working clock across real holidays, and the traffic light.

Every expected time below was counted by hand on the published calendar, with the default
working hours 08:30-12:00 and 14:30-17:30 (6.5 hours a working day), Asia/Shanghai:

- 2025 National Day and Mid-Autumn: Wednesday 1 to Wednesday 8 October off; Sunday
  28 September and Saturday 11 October are make-up working days (调休上班).
- 2026 Spring Festival: Sunday 15 to Monday 23 February off; Saturday 14 February and
  Saturday 28 February are make-up working days.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cases import deadlines
from cases.deadlines import (
    GREEN,
    RED,
    YELLOW,
    add_working_time,
    is_working_day,
    traffic_light,
    working_day_length,
    working_time_between,
)
from incidents import time_limits
from incidents.models import Status, TimeUnit

SH = ZoneInfo("Asia/Shanghai")
HOURS = TimeUnit.WORKING_HOURS
DAYS = TimeUnit.WORKING_DAYS
MINUTES = TimeUnit.CALENDAR_MINUTES


def t(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


# --- the calendar -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2025, 9, 26), True),  # Friday
        (dt.date(2025, 9, 27), False),  # Saturday
        (dt.date(2025, 9, 28), True),  # Sunday, make-up working day
        (dt.date(2025, 9, 30), True),  # Tuesday
        (dt.date(2025, 10, 1), False),  # National Day
        (dt.date(2025, 10, 6), False),  # Monday, Mid-Autumn
        (dt.date(2025, 10, 8), False),  # Wednesday, still off
        (dt.date(2025, 10, 9), True),  # Thursday, back to work
        (dt.date(2025, 10, 11), True),  # Saturday, make-up working day
        (dt.date(2025, 10, 12), False),  # Sunday
        (dt.date(2026, 2, 14), True),  # Saturday, make-up working day
        (dt.date(2026, 2, 23), False),  # Monday, Spring Festival
        (dt.date(2026, 2, 24), True),  # Tuesday, back to work
    ],
)
def test_working_days_follow_the_published_calendar(day, working):
    assert is_working_day(day) is working


def test_a_year_without_a_schedule_falls_back_to_weekdays_and_fixed_holidays():
    # chinese-calendar 1.11 has no 2027 schedule.
    assert is_working_day(dt.date(2027, 1, 1)) is False  # New Year's Day (a Friday)
    assert is_working_day(dt.date(2027, 1, 2)) is False  # Saturday
    assert is_working_day(dt.date(2027, 1, 4)) is True  # Monday
    assert is_working_day(dt.date(2027, 10, 1)) is False  # National Day


def test_a_working_day_is_six_and_a_half_hours():
    assert working_day_length() == dt.timedelta(hours=6, minutes=30)


# --- adding working time ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "amount", "unit", "due"),
    [
        # Tue 30 Sep 16:00 + 2 working days (13 h): 16:00-17:30 (1.5 h); 1-8 Oct off;
        # Thu 9 Oct all day (6.5 h, 8 h); Fri 10 Oct 08:30-12:00 (3.5 h, 11.5 h) and
        # 14:30-16:00 (1.5 h, 13 h).
        (t(2025, 9, 30, 16), 2, DAYS, t(2025, 10, 10, 16)),
        # Tue 30 Sep 17:00 + 1 working hour: 17:00-17:30, then Thu 9 Oct 08:30-09:00.
        (t(2025, 9, 30, 17), 1, HOURS, t(2025, 10, 9, 9)),
        # Fri 26 Sep 16:00 + 1 working day (6.5 h): 1.5 h on Friday; Saturday off; the
        # make-up Sunday 28 Sep 08:30-12:00 (3.5 h, 5 h) and 14:30-16:00 (6.5 h).
        (t(2025, 9, 26, 16), 1, DAYS, t(2025, 9, 28, 16)),
        # Thu 9 Oct 16:00 + 2 working days: Fri 10 Oct 16:00 is one, the make-up Saturday
        # 11 Oct 16:00 is two.
        (t(2025, 10, 9, 16), 2, DAYS, t(2025, 10, 11, 16)),
        # Reported on a holiday (Fri 3 Oct 10:00): the clock starts Thu 9 Oct 08:30, one
        # working day ends at 17:30.
        (t(2025, 10, 3, 10), 1, DAYS, t(2025, 10, 9, 17, 30)),
        # Before the lunch break: 11:45-12:00 (15 min), then 14:30-15:15 (45 min).
        (t(2025, 9, 30, 11, 45), 1, HOURS, t(2025, 9, 30, 15, 15)),
        # In the lunch break: 14:30-17:30 is exactly 3 hours, so it ends at 17:30 that day,
        # not at 08:30 on the next working day.
        (t(2025, 9, 30, 12, 0), 3, HOURS, t(2025, 9, 30, 17, 30)),
        # Mon 29 Sep 09:00 + 7 working days: Sep 30, Oct 9, 10, 11 (make-up), 13, 14, 15.
        (t(2025, 9, 29, 9), 7, DAYS, t(2025, 10, 15, 9)),
        # Fri 13 Feb 2026 16:00 + 1 working day: 1.5 h on Friday, the make-up Saturday
        # 14 Feb 08:30-12:00 and 14:30-16:00.
        (t(2026, 2, 13, 16), 1, DAYS, t(2026, 2, 14, 16)),
        # Sat 14 Feb 2026 16:00 + 1 working day: 15-23 Feb off, Tue 24 Feb 16:00.
        (t(2026, 2, 14, 16), 1, DAYS, t(2026, 2, 24, 16)),
        # Thu 31 Dec 2026 16:00 + 1 working day, into 2027 (no schedule yet): 1.5 h on
        # 31 Dec; 1 Jan (fixed holiday), 2-3 Jan (weekend); Mon 4 Jan 16:00.
        (t(2026, 12, 31, 16), 1, DAYS, t(2027, 1, 4, 16)),
        # Nothing to add: the start itself.
        (t(2025, 10, 3, 10), 0, HOURS, t(2025, 10, 3, 10)),
    ],
)
def test_add_working_time(start, amount, unit, due):
    assert add_working_time(start, amount, unit) == due


def test_add_working_time_takes_any_time_zone_and_answers_in_local_time():
    utc = dt.datetime(2025, 9, 30, 8, 0, tzinfo=dt.UTC)  # 16:00 in Shanghai
    due = add_working_time(utc, 2, DAYS)
    assert due == t(2025, 10, 10, 16)
    assert due.utcoffset() == dt.timedelta(hours=8)


def test_add_working_time_refuses_naive_times_and_negative_limits():
    with pytest.raises(ValueError, match="aware"):
        add_working_time(dt.datetime(2025, 9, 30, 16), 1, HOURS)
    with pytest.raises(ValueError, match="negative"):
        add_working_time(t(2025, 9, 30, 16), -1, HOURS)


def test_working_hours_come_from_the_settings(settings):
    settings.GRIDMAP_WORKING_HOURS = [("09:00", "17:00")]
    assert working_day_length() == dt.timedelta(hours=8)
    # Tue 30 Sep 16:00 + 2 working days (16 h): 1 h on Tuesday, Thu 9 Oct 8 h, Fri 10 Oct
    # 09:00-16:00 (7 h).
    assert add_working_time(t(2025, 9, 30, 16), 2, DAYS) == t(2025, 10, 10, 16)
    assert add_working_time(t(2025, 9, 30, 12), 3, HOURS) == t(2025, 9, 30, 15)


def test_overlapping_working_hours_are_refused(settings):
    settings.GRIDMAP_WORKING_HOURS = [("08:30", "12:00"), ("11:00", "17:30")]
    with pytest.raises(ValueError, match="non-overlapping"):
        working_day_length()


# --- working time between two times ---------------------------------------------------------------
def test_working_time_between_skips_the_holiday_week():
    # 16:00-17:30 on Tue 30 Sep, then 08:30-09:00 on Thu 9 Oct.
    assert working_time_between(t(2025, 9, 30, 16), t(2025, 10, 9, 9)) == dt.timedelta(hours=2)
    assert working_time_between(t(2025, 10, 9, 9), t(2025, 9, 30, 16)) == -dt.timedelta(hours=2)
    assert working_time_between(t(2025, 10, 2, 9), t(2025, 10, 7, 18)) == dt.timedelta(0)


@pytest.mark.parametrize(
    ("start", "amount", "unit"),
    [
        (t(2025, 9, 26, 16), 1, DAYS),
        (t(2025, 9, 30, 11, 45), 5, HOURS),
        (t(2025, 10, 3, 10), 3, DAYS),
        (t(2026, 2, 13, 17, 29), 7, DAYS),
    ],
)
def test_between_is_the_inverse_of_add(start, amount, unit):
    due = add_working_time(start, amount, unit)
    per_unit = dt.timedelta(hours=1) if unit == HOURS else working_day_length()
    assert working_time_between(start, due) == amount * per_unit


# --- the traffic light ------------------------------------------------------------------------
def case(status: str = Status.REPORTED, **times: dt.datetime | None) -> SimpleNamespace:
    fields = {
        "reported_at": None,
        "acknowledge_due_at": None,
        "resolve_due_at": None,
        "resolved_at": None,
        **times,
    }
    return SimpleNamespace(status=status, **fields)


# A blue case reported Mon 29 Sep 09:00: acknowledge within 1 working day, so by Tue 30 Sep
# 09:00. 80 % of 6.5 h is 5 h 12 min: 09:00-12:00 (3 h) and 14:30-16:42 (2 h 12 min).
BLUE = {
    "reported_at": t(2025, 9, 29, 9),
    "acknowledge_due_at": t(2025, 9, 30, 9),
    "resolve_due_at": t(2025, 10, 15, 9),  # 7 working days
}


@pytest.mark.parametrize(
    ("now", "light"),
    [
        (t(2025, 9, 29, 9), GREEN),
        (t(2025, 9, 29, 16, 41), GREEN),
        (t(2025, 9, 29, 16, 42), YELLOW),  # 80 % exactly
        (t(2025, 9, 29, 23, 0), YELLOW),  # the evening does not count
        (t(2025, 9, 30, 9, 0), YELLOW),  # due, not yet overdue
        (t(2025, 9, 30, 9, 1), RED),
    ],
)
def test_light_on_the_acknowledge_deadline_while_waiting(now, light):
    assert traffic_light(case(**BLUE), now) == light


def test_light_counts_only_working_time_across_the_holiday():
    # A red case reported Tue 30 Sep 17:00, to acknowledge within 1 working hour: due Thu
    # 9 Oct 09:00; half an hour was spent on Tuesday, the holiday week adds nothing.
    red = case(reported_at=t(2025, 9, 30, 17), acknowledge_due_at=t(2025, 10, 9, 9))
    assert traffic_light(red, t(2025, 10, 5, 12)) == GREEN  # 50 %
    assert traffic_light(red, t(2025, 10, 9, 8, 47)) == GREEN  # 78 %
    assert traffic_light(red, t(2025, 10, 9, 8, 48)) == YELLOW  # 80 %
    assert traffic_light(red, t(2025, 10, 9, 9, 1)) == RED


def test_light_moves_to_the_resolve_deadline_once_acknowledged():
    acknowledged = case(Status.ACKNOWLEDGED, **BLUE)
    # Past the acknowledge deadline, but it was acknowledged: 1 of 7 working days spent.
    assert traffic_light(acknowledged, t(2025, 9, 30, 10)) == GREEN
    # 80 % of 7 working days (45.5 h) is 36.4 h, reached Mon 13 Oct 15:24 (five working days
    # to Mon 13 Oct 09:00, then 3 h 54 min).
    assert traffic_light(acknowledged, t(2025, 10, 13, 15, 23)) == GREEN
    assert traffic_light(acknowledged, t(2025, 10, 13, 15, 24)) == YELLOW
    assert traffic_light(acknowledged, t(2025, 10, 15, 9, 1)) == RED
    assert traffic_light(case(Status.IN_PROGRESS, **BLUE), t(2025, 10, 15, 10)) == RED
    assert traffic_light(case(Status.RETURNED, **BLUE), t(2025, 10, 15, 10)) == RED


def test_the_resolve_clock_stops_when_resolved():
    on_time = case(Status.RESOLVED, resolved_at=t(2025, 10, 9, 10), **BLUE)
    assert traffic_light(on_time, t(2025, 11, 30, 10)) == GREEN
    late = case(Status.VERIFIED, resolved_at=t(2025, 10, 15, 11), **BLUE)
    assert traffic_light(late, t(2025, 11, 30, 10)) == RED


@pytest.mark.parametrize("status", [Status.CLOSED, Status.CANCELLED])
def test_no_light_for_a_case_that_is_not_open(status):
    assert traffic_light(case(status, **BLUE), t(2025, 9, 29, 10)) is None


def test_no_light_without_deadlines():
    assert traffic_light(case(reported_at=t(2025, 9, 29, 9)), t(2025, 9, 29, 10)) is None


def test_an_extension_lengthens_the_limit():
    acknowledged = case(Status.ACKNOWLEDGED, **BLUE)
    # Due Fri 24 Oct 09:00 instead of Wed 15 Oct: 14 working days instead of 7; on Tue
    # 14 Oct 09:00 six have passed (86 % of 7, 43 % of 14).
    extended = case(Status.ACKNOWLEDGED, **{**BLUE, "resolve_due_at": t(2025, 10, 24, 9)})
    now = t(2025, 10, 14, 9)
    assert traffic_light(acknowledged, now) == YELLOW
    assert traffic_light(extended, now) == GREEN


# --- the limits of a category -----------------------------------------------------------------
@pytest.mark.django_db
def test_time_limit_reads_the_category_and_falls_back_to_the_defaults():
    from incidents.models import Category, CategoryTimeLimit

    dispute = Category.objects.get(code="dispute")
    # Seeded (migrations 0010 and 0011): red in calendar minutes, on site within 120 of them,
    # escalating again every 30 minutes.
    seeded = time_limits.time_limit(dispute.pk, "red")
    assert seeded == deadlines.TimeLimit(
        30, MINUTES, 1440, MINUTES, repeat_minutes=30, onsite_amount=120, onsite_unit=MINUTES
    )
    assert seeded == time_limits.DEFAULT_TIME_LIMITS["red"]
    assert time_limits.time_limit(dispute.pk, "yellow").onsite_amount is None
    CategoryTimeLimit.objects.filter(category=dispute, severity="red").update(
        acknowledge_amount=2,
        acknowledge_unit=HOURS,
        resolve_amount=4,
        resolve_unit=DAYS,
        escalate_every_minutes=None,
        onsite_amount=None,
        onsite_unit="",
    )
    limit = time_limits.time_limit(dispute.pk, "red")
    assert (limit.acknowledge_amount, limit.acknowledge_unit) == (2, HOURS)
    assert (limit.resolve_amount, limit.resolve_unit) == (4, DAYS)
    assert (limit.repeat_minutes, limit.calendar) == (None, False)
    assert (limit.onsite_amount, limit.onsite_unit) == (None, None)
    CategoryTimeLimit.objects.filter(category=dispute).delete()
    assert time_limits.time_limit(dispute.pk, "yellow") == time_limits.DEFAULT_TIME_LIMITS["yellow"]
    ack, res = deadlines.deadlines_from(
        t(2025, 9, 30, 16), time_limits.time_limit(dispute.pk, "red")
    )
    # Red defaults: 30 calendar minutes and 24 hours, into the National Day holiday.
    assert (ack, res) == (t(2025, 9, 30, 16, 30), t(2025, 10, 1, 16))


def test_calendar_minutes_ignore_the_working_calendar():
    # Sunday 7 December 2025, 08:19: a red gas leak (issue 12's example).
    sunday = t(2025, 12, 7, 8, 19)
    assert deadlines.add_time(sunday, 30, MINUTES) == t(2025, 12, 7, 8, 49)
    assert deadlines.add_time(sunday, 1, HOURS) == t(2025, 12, 8, 9, 30)  # the working clock
    limit = deadlines.TimeLimit(30, MINUTES, 120, MINUTES)
    assert limit.calendar
    assert deadlines.deadlines_from(sunday, limit) == (
        t(2025, 12, 7, 8, 49),
        t(2025, 12, 7, 10, 19),
    )


def test_the_on_site_deadline_is_optional_and_may_run_round_the_clock():
    sunday = t(2025, 12, 7, 8, 19)
    working = deadlines.TimeLimit(2, HOURS, 3, DAYS)
    assert deadlines.onsite_due_from(sunday, working) is None
    red = deadlines.TimeLimit(30, MINUTES, 1440, MINUTES, onsite_amount=120, onsite_unit=MINUTES)
    assert deadlines.onsite_due_from(sunday, red) == t(2025, 12, 7, 10, 19)
    # An on-site time in calendar minutes puts the case on the calendar clock by itself.
    assert deadlines.TimeLimit(2, HOURS, 3, DAYS, onsite_amount=60, onsite_unit=MINUTES).calendar
    # ... and one on the working calendar waits for Monday morning.
    on_working_time = deadlines.TimeLimit(2, HOURS, 3, DAYS, onsite_amount=1, onsite_unit=HOURS)
    assert deadlines.onsite_due_from(sunday, on_working_time) == t(2025, 12, 8, 9, 30)


@pytest.mark.django_db
def test_a_time_limit_gives_the_on_site_time_with_its_unit_or_neither():
    from django.db import IntegrityError, transaction

    from incidents.models import Category, CategoryTimeLimit

    rows = CategoryTimeLimit.objects.filter(category__code="dispute", severity="red")
    assert rows.count() == 1
    for bad in (
        {"onsite_unit": ""},
        {"onsite_amount": None},
        {"onsite_amount": 0},
        {"onsite_unit": "fortnights"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.update(**bad)
    rows.update(onsite_amount=None, onsite_unit="")
    rows.update(onsite_amount=60, onsite_unit=HOURS)
    assert Category.objects.filter(time_limits__onsite_amount=60).exists()


def test_the_light_of_a_case_on_the_calendar_clock_runs_round_the_clock():
    sunday = t(2025, 12, 7, 8, 19)
    red = {
        "status": Status.REPORTED,
        "reported_at": sunday,
        "acknowledge_due_at": sunday + dt.timedelta(minutes=30),
        "resolve_due_at": sunday + dt.timedelta(hours=24),
        "resolved_at": None,
        "calendar_clock": True,
    }
    assert traffic_light(case(**red), sunday + dt.timedelta(minutes=10)) == deadlines.GREEN
    assert traffic_light(case(**red), sunday + dt.timedelta(minutes=25)) == deadlines.YELLOW
    assert traffic_light(case(**red), sunday + dt.timedelta(minutes=31)) == deadlines.RED
    # On the working clock the same Sunday case would have no working time at all: yellow.
    assert (
        traffic_light(case(**{**red, "calendar_clock": False}), sunday + dt.timedelta(minutes=10))
        == deadlines.YELLOW
    )


def _share_light(reported_at: dt.datetime, due: dt.datetime, clock: dt.datetime, calendar: bool):
    """The light by its definition (the module docstring): the share of the time from the
    report to the deadline that has passed, counted from scratch."""
    if clock > due:
        return RED
    if calendar:
        limit, spent = due - reported_at, clock - reported_at
    else:
        limit = working_time_between(reported_at, due)
        spent = working_time_between(reported_at, clock)
    if limit <= dt.timedelta(0):
        return YELLOW
    return GREEN if spent < deadlines.YELLOW_FROM * limit else YELLOW


def _acknowledged(reported_at: dt.datetime, due: dt.datetime, calendar: bool) -> SimpleNamespace:
    """An acknowledged case: its light is on the resolve deadline ``due``."""
    return case(
        status=Status.ACKNOWLEDGED,
        reported_at=reported_at,
        acknowledge_due_at=None,
        resolve_due_at=due,
        resolved_at=None,
        calendar_clock=calendar,
    )


# Around the 2025 National Day week and the 2026 Spring Festival, to the microsecond, in the
# working time zone and in UTC (as the database returns them).
_instants = st.datetimes(
    min_value=dt.datetime(2025, 9, 20),
    max_value=dt.datetime(2026, 3, 10),
    timezones=st.sampled_from([SH, dt.UTC]),
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(
    reported_at=_instants,
    due_after=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=30)),
    clock_after=st.timedeltas(min_value=dt.timedelta(days=-2), max_value=dt.timedelta(days=31)),
    calendar=st.booleans(),
)
def test_the_light_from_the_yellow_moment_is_the_light_by_its_share(
    reported_at, due_after, clock_after, calendar
):
    """``traffic_light`` compares the clock with one moment per deadline (``yellow_at``,
    kept per case); it must give the light that counting the shares gives, for any report,
    deadline and clock (even one before the report), over holidays, make-up days, lunch
    breaks and nights."""
    due, clock = reported_at + due_after, reported_at + clock_after
    row = _acknowledged(reported_at, due, calendar)
    assert traffic_light(row, clock) == _share_light(reported_at, due, clock, calendar)


def test_the_yellow_moment_is_the_first_instant_of_yellow():
    # Reported Tuesday 30 September 2025 16:00; due 2 working days later, across the
    # National Day week: Friday 10 October 16:00 (13 working hours, 10.4 of them to yellow).
    reported, due = t(2025, 9, 30, 16, 0), t(2025, 10, 10, 16, 0)
    turns = deadlines.yellow_at(reported, due, False)
    assert working_time_between(reported, turns) == 0.8 * working_time_between(reported, due)
    row = _acknowledged(reported, due, False)
    assert traffic_light(row, turns - dt.timedelta(microseconds=1)) == GREEN
    assert traffic_light(row, turns) == YELLOW


def test_a_deadline_decades_away_still_has_a_light():
    """An extension granted to a mistyped year (2052 for 2025) puts the deadline beyond the
    calendar walk's guard (MAX_DAYS): the light is still green, not an error on every page
    that shows the case."""
    reported = t(2025, 9, 30, 16, 0)
    due = reported + dt.timedelta(days=365 * 27)
    assert (due - reported).days > deadlines.MAX_DAYS
    row = _acknowledged(reported, due, False)
    assert traffic_light(row, reported + dt.timedelta(days=1)) == GREEN
    assert traffic_light(row, due - dt.timedelta(minutes=1)) == YELLOW
