"""The promise to the resident (acceptance 1, part 1 and 2): an item's promised working days on
the Chinese calendar, to the end of that working day; overdue, the clock escalates the request
once, and the promise stays."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from cases import clock, deadlines
from cases.models import Status, TimeUnit
from gridmap.codes import Level
from servicedesk.kind import promise_for, promise_limit
from servicedesk.models import ServiceRequestDue, ServiceRequestEvent
from servicedesk.selectors import promised_date
from tests.servicedesk.engine_world import FRIDAY, SHANGHAI, act, build_world, take


@pytest.fixture
def w(db):
    return build_world()


def test_the_calendar_around_national_day_2025_is_the_librarys():
    # What the hand count below relies on (chinese_calendar's 2025 schedule).
    day = dt.date
    assert chinese_calendar.is_workday(day(2025, 9, 26))  # Friday
    assert not chinese_calendar.is_workday(day(2025, 9, 27))  # Saturday
    assert chinese_calendar.is_workday(day(2025, 9, 28))  # Sunday, made up (调休)
    assert chinese_calendar.is_workday(day(2025, 9, 29))
    assert chinese_calendar.is_workday(day(2025, 9, 30))
    assert not any(chinese_calendar.is_workday(day(2025, 10, d)) for d in range(1, 9))
    assert chinese_calendar.is_workday(day(2025, 10, 9))
    assert chinese_calendar.is_workday(day(2025, 10, 10))
    assert chinese_calendar.is_workday(day(2025, 10, 11))  # Saturday, made up


def test_five_working_days_from_the_friday_before_national_day(w):
    # By hand: received Friday 26 September 2025 at 10:00. Working day 1 runs to Sunday 28
    # (a make-up working day) at 10:00, day 2 to Monday 29, day 3 to Tuesday 30; 1-8 October
    # are holidays; day 4 ends Thursday 9 October at 10:00 and day 5 Friday 10 October at
    # 10:00; to the end of that working day: Friday 10 October 2025, 17:30.
    request = take(w)
    expected = dt.datetime(2025, 10, 10, 17, 30, tzinfo=SHANGHAI)
    assert request.resolve_due_at == expected
    assert promised_date(request) == dt.date(2025, 10, 10)
    assert promise_for(w.item, FRIDAY) == expected
    # Received at once, by the village: the first receiver is the assistant who took it.
    assert request.status == Status.ACKNOWLEDGED
    assert request.acknowledged_at == FRIDAY
    assert (request.owner_level, request.owner_code) == (Level.VILLAGE, w.village.code)
    report = ServiceRequestEvent.objects.get(request=request, seq=1)
    assert (report.action, report.from_status, report.to_status) == (
        "report",
        Status.REPORTED,
        Status.ACKNOWLEDGED,
    )
    assert report.data["promised_on"] == "2025-10-10"
    assert report.data["resolve_due_at"] == expected.isoformat()


@pytest.mark.parametrize(
    ("received", "days", "promised"),
    [
        # Late on Friday: the clock starts on Sunday 28 (made up) at 08:30; whole working
        # days Sunday 28, Monday 29, Tuesday 30, Thursday 9 and Friday 10 October.
        (dt.datetime(2025, 9, 26, 18, 0), 5, dt.date(2025, 10, 10)),
        # On the holiday: from Thursday 9 October, 1 working day ends on its close.
        (dt.datetime(2025, 10, 3, 9, 0), 1, dt.date(2025, 10, 9)),
        # At the close of Tuesday 30 September: one working day is Thursday 9 October.
        (dt.datetime(2025, 9, 30, 17, 30), 1, dt.date(2025, 10, 9)),
        # Monday 09:00, 1 working day: the same time on Tuesday, to its end.
        (dt.datetime(2025, 11, 3, 9, 0), 1, dt.date(2025, 11, 4)),
    ],
)
def test_the_promise_is_the_end_of_the_working_day(received, days, promised):
    start = received.replace(tzinfo=SHANGHAI)
    _ack, due = deadlines.deadlines_from(start, promise_limit(days))
    assert due.astimezone(SHANGHAI).date() == promised
    assert due.astimezone(SHANGHAI).time() == dt.time(17, 30)


def test_end_of_day_is_off_unless_asked():
    limit = deadlines.TimeLimit(1, TimeUnit.WORKING_HOURS, 1, TimeUnit.WORKING_DAYS)
    _ack, due = deadlines.deadlines_from(FRIDAY, limit)
    assert due == dt.datetime(2025, 9, 28, 10, 0, tzinfo=SHANGHAI)


def test_overdue_it_escalates_once_and_keeps_its_promise(w):
    request = take(w)
    request = act(w, "assistant", request, "start")
    promise = request.resolve_due_at
    # Not yet at the promise: nothing.
    assert clock.escalate_overdue(promise) == []
    later = dt.datetime(2025, 10, 11, 9, 0, tzinfo=SHANGHAI)
    assert clock.escalate_overdue(later) == [(request.pk, "resolve")]
    # The clock runs again (every minute): nothing more.
    assert clock.escalate_overdue(later + dt.timedelta(minutes=1)) == []
    assert clock.escalate_overdue(later + dt.timedelta(days=3)) == []
    request.refresh_from_db()
    assert ServiceRequestDue.objects.filter(request=request).count() == 1
    assert request.escalation_count == 1
    assert (request.owner_level, request.owner_code) == (Level.TOWN, w.town.code)
    # The state and the resident's date stay.
    assert request.status == Status.IN_PROGRESS
    assert request.resolve_due_at == promise
    assert promised_date(request) == dt.date(2025, 10, 10)
    escalation = ServiceRequestEvent.objects.get(request=request, action="escalate")
    assert escalation.actor is None and escalation.data["automatic"] is True
    assert "resolve_due_at" not in escalation.data
    # The town's people now handle it; done late, it is not on time.
    request = act(w, "town_staff", request, "resolve", note="Allowance approved by the county")
    request = act(w, "town_staff", request, "close_out", data={"how": "delivered"})
    assert request.status == Status.CLOSED and request.closed_on_time is False


def test_a_declined_or_withdrawn_request_is_final_for_the_clock_and_the_light(w):
    declined = act(w, "assistant", take(w), "decline", note="Not eligible")
    withdrawn = act(w, "assistant", take(w), "cancel", note="The resident withdrew")
    later = dt.datetime(2025, 11, 30, 9, 0, tzinfo=SHANGHAI)
    assert clock.escalate_overdue(later) == []
    assert clock.supervise_ledger(later) == []
    for request in (declined, withdrawn):
        assert deadlines.traffic_light(request, later) is None


def test_an_open_request_is_supervised_every_15_days(w):
    request = take(w)
    later = FRIDAY + dt.timedelta(days=31)
    assert clock.supervise_ledger(later) == [(request.pk, 1), (request.pk, 2)]
    assert clock.supervise_ledger(later) == []
    assert deadlines.traffic_light(request, later) == deadlines.RED
