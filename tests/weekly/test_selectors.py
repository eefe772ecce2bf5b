"""weekly.selectors: deadlines and the late / missing flags at fixed times."""

from __future__ import annotations

import datetime as dt

import pytest

from weekly import selectors, services
from weekly.selectors import LATE, MISSING, ON_TIME, PENDING

from .conftest import TZ, WeeklyWorld

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 3, 2)


def local(day: int, hh_mm: str) -> dt.datetime:
    return dt.datetime.combine(
        MONDAY + dt.timedelta(days=day), dt.time.fromisoformat(hh_mm), tzinfo=TZ
    )


def test_deadlines_are_friday_1800_and_saturday_1200_local_time():
    assert selectors.village_report_due(MONDAY) == local(4, "18:00")
    assert selectors.station_summary_due(MONDAY) == local(5, "12:00")
    assert selectors.week_of(MONDAY + dt.timedelta(days=6)) == MONDAY


def test_deadlines_follow_the_settings(settings):
    settings.GRIDMAP_WEEKLY_VILLAGE_REPORT_DUE = (3, "12:30")
    assert selectors.village_report_due(MONDAY) == local(3, "12:30")


@pytest.mark.parametrize(
    "submitted, now, flag",
    [
        ("17:59", "20:00", ON_TIME),
        ("18:00", "20:00", ON_TIME),
        ("18:01", "20:00", LATE),
        (None, "18:01", MISSING),
        (None, "18:00", PENDING),
        (None, "09:00", PENDING),
    ],
)
def test_a_village_report_is_late_after_friday_1800(submitted, now, flag):
    due = selectors.village_report_due(MONDAY)
    at = local(4, submitted) if submitted else None
    assert selectors.report_flag(at, due, local(4, now)) == flag


def test_town_week_flags_late_and_missing_reports_at_a_fixed_time(ww: WeeklyWorld):
    w = ww.world
    services.village_report_submit(actor=ww.users["v1"], village_code=w.v1.code, week=ww.week,
                                   text="", at=ww.at(4, "18:30"))  # fmt: skip
    town = type(w.t1).objects.get(pk=w.t1.pk)

    # Friday 17:00: nothing is due yet.
    before = selectors.town_week(town, ww.week, now=ww.at(4, "17:00"))
    assert before.flags == {ON_TIME: 0, LATE: 1, MISSING: 0, PENDING: 2}
    # Saturday 12:01: V1 late, V2 missing, the station's summary missing.
    after = selectors.town_week(town, ww.week, now=ww.at(5, "12:01"))
    (station,) = after.stations
    assert station.flag == MISSING
    assert [(v.code, v.flag) for v in station.villages] == [(w.v1.code, LATE), (w.v2.code, MISSING)]
    assert after.flags == {ON_TIME: 0, LATE: 1, MISSING: 2, PENDING: 0}

    services.station_summary_submit(actor=ww.users["station"], station_code=w.station.code,
                                    week=ww.week, text="", at=ww.at(5, "12:00"))  # fmt: skip
    (station,) = selectors.town_week(town, ww.week, now=ww.at(6, "09:00")).stations
    assert station.flag == ON_TIME
