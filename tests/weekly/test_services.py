"""weekly.services: publishing the task list, the village report, the station summary."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from incidents.models import Status
from weekly import selectors, services
from weekly.models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList

from .conftest import WeeklyWorld, incident

pytestmark = pytest.mark.django_db


def msg(msgid: str, **params) -> str:
    return gettext(msgid) % params if params else gettext(msgid)


# --- the task list ------------------------------------------------------------------------
def test_town_staff_publish_the_task_list(ww: WeeklyWorld):
    t1 = ww.world.t1.code
    task_list = services.task_list_publish(
        actor=ww.users["town"], town_code=t1, week=ww.week,
        items=["  Visit every household on the river  ", "", "Check the dykes"], note="Rain",
    )  # fmt: skip
    task_list.refresh_from_db()
    assert task_list.items == ["Visit every household on the river", "Check the dykes"]
    assert (task_list.note, task_list.published_by) == ("Rain", ww.users["town"])
    assert task_list.published_at is not None


def test_publishing_again_corrects_the_same_list(ww: WeeklyWorld):
    t1 = ww.world.t1.code
    args = {"actor": ww.users["town"], "town_code": t1, "week": ww.week}
    services.task_list_publish(**args, items=["A"], at=ww.at(0, "09:00"))
    services.task_list_publish(**args, items=["A", "B"], at=ww.at(0, "10:00"))
    task_list = WeeklyTaskList.objects.get()
    assert task_list.items == ["A", "B"]
    assert task_list.published_at == ww.at(0, "10:00")


@pytest.mark.parametrize("who", ["other_town", "v1", "station", "district", "planner"])
def test_only_the_towns_staff_publish(ww: WeeklyWorld, who):
    t1 = ww.world.t1.code
    with pytest.raises(PermissionDenied) as refused:
        services.task_list_publish(actor=ww.users[who], town_code=t1, week=ww.week, items=["A"])
    assert str(refused.value) == msg(services.MSG_NOT_TOWN_STAFF, code=t1)
    assert not WeeklyTaskList.objects.exists()


def test_a_week_is_its_monday_and_a_list_has_tasks(ww: WeeklyWorld):
    t1 = ww.world.t1.code
    tuesday = ww.week + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as bad:
        services.task_list_publish(actor=ww.users["town"], town_code=t1, week=tuesday, items=["A"])
    assert bad.value.message_dict == {
        "week": [msg(services.MSG_NOT_MONDAY, date=tuesday.isoformat())]
    }
    with pytest.raises(ValidationError) as bad:
        services.task_list_publish(actor=ww.users["town"], town_code=t1, week=ww.week, items=[" "])
    assert bad.value.message_dict == {"items": [msg(services.MSG_NO_ITEMS)]}
    with pytest.raises(ValidationError):
        services.task_list_publish(
            actor=ww.users["root"], town_code="990199999", week=ww.week, items=["A"]
        )


# --- the village report -------------------------------------------------------------------
def test_the_report_is_pre_filled_from_the_villages_incidents_of_the_week(ww: WeeklyWorld):
    w = ww.world
    now = timezone.now()
    past_due = now - dt.timedelta(days=1)
    later_due = now + dt.timedelta(days=30)
    in_week = ww.at(1, "10:00")
    before = ww.at(0, "00:00") - dt.timedelta(days=3)
    # received and closed out in the week
    incident(ww, w.west.code, in_week, status=Status.CLOSED, closed_at=ww.at(3, "09:00"))
    # received in the week, still open and overdue
    incident(ww, w.east.code, in_week, status=Status.IN_PROGRESS, resolve_due_at=past_due)
    # received in the week (at the village, in no grid) and cancelled
    incident(ww, w.v1.code, ww.at(0, "00:00"), status=Status.CANCELLED)
    # reported before the week, closed out in it
    incident(ww, w.west.code, before, status=Status.CLOSED, closed_at=ww.at(6, "23:59"))
    # reported before the week, still open, not overdue
    incident(ww, w.west.code, before, status=Status.ACKNOWLEDGED, resolve_due_at=later_due)
    # not counted: next week, another village, closed before the week
    incident(ww, w.west.code, ww.at(7, "00:00"), status=Status.REPORTED)
    incident(ww, w.v2.code, in_week, status=Status.REPORTED)
    incident(ww, w.west.code, before, status=Status.CLOSED, closed_at=before)

    expected = {"received": 3, "closed_out": 2, "open": 2, "overdue": 1}
    assert selectors.village_week_counts(w.v1.code, ww.week, now) == expected
    report = services.village_report_submit(
        actor=ww.users["v1"], village_code=w.v1.code, week=ww.week, text="All quiet"
    )
    report.refresh_from_db()
    assert report.counts == expected
    assert (report.text, report.station_code) == ("All quiet", w.station.code)
    assert report.submitted_by == ww.users["v1"]


@pytest.mark.parametrize("who", ["v2", "station", "town", "grid"])
def test_only_the_villages_staff_submit(ww: WeeklyWorld, who):
    v1 = ww.world.v1.code
    with pytest.raises(PermissionDenied) as refused:
        services.village_report_submit(actor=ww.users[who], village_code=v1, week=ww.week, text="")
    assert str(refused.value) == msg(services.MSG_NOT_VILLAGE_STAFF, code=v1)
    assert not VillageWeeklyReport.objects.exists()


def test_a_correction_keeps_the_first_submission_time(ww: WeeklyWorld):
    v1 = ww.world.v1.code
    args = {"actor": ww.users["v1"], "village_code": v1, "week": ww.week}
    services.village_report_submit(**args, text="first", at=ww.at(4, "17:00"))
    services.village_report_submit(**args, text="second", at=ww.at(5, "09:00"))
    report = VillageWeeklyReport.objects.get()
    assert (report.text, report.submitted_at) == ("second", ww.at(4, "17:00"))


def test_no_correction_once_the_station_sent_its_summary(ww: WeeklyWorld):
    w = ww.world
    services.village_report_submit(actor=ww.users["v1"], village_code=w.v1.code, week=ww.week,
                                   text="first")  # fmt: skip
    services.station_summary_submit(
        actor=ww.users["station"], station_code=w.station.code, week=ww.week, text=""
    )
    with pytest.raises(ValidationError) as refused:
        services.village_report_submit(
            actor=ww.users["v1"], village_code=w.v1.code, week=ww.week, text="second"
        )
    assert refused.value.message_dict == {
        "text": [msg(services.MSG_SUMMARY_SENT, station=w.station.name)]
    }


def test_a_village_in_no_catchment_has_nobody_to_report_to(ww: WeeklyWorld):
    from tests.factories import VillageFactory

    lonely = VillageFactory(town=ww.world.t1)
    with pytest.raises(ValidationError) as refused:
        services.village_report_submit(
            actor=ww.users["root"], village_code=lonely.code, week=ww.week, text=""
        )
    assert list(refused.value.message_dict) == ["village"]


def test_a_week_that_has_not_started_cannot_be_reported(ww: WeeklyWorld):
    next_week = selectors.current_week() + dt.timedelta(weeks=1)
    with pytest.raises(ValidationError) as refused:
        services.village_report_submit(
            actor=ww.users["v1"], village_code=ww.world.v1.code, week=next_week, text=""
        )
    assert refused.value.message_dict == {
        "week": [msg(services.MSG_WEEK_NOT_STARTED, week=next_week.isoformat())]
    }


# --- the station summary ------------------------------------------------------------------
def test_the_summary_adds_up_its_villages_reports_and_lists_the_missing(ww: WeeklyWorld):
    w = ww.world
    incident(ww, w.west.code, ww.at(1, "10:00"), status=Status.CLOSED, closed_at=ww.at(2, "10:00"))
    incident(ww, w.east.code, ww.at(2, "10:00"), status=Status.REPORTED)
    services.village_report_submit(actor=ww.users["v1"], village_code=w.v1.code, week=ww.week,
                                   text="V1")  # fmt: skip
    summary = services.station_summary_submit(
        actor=ww.users["station"], station_code=w.station.code, week=ww.week, text="S1 week"
    )
    summary.refresh_from_db()
    assert summary.counts == {
        "received": 2, "closed_out": 1, "open": 1, "overdue": 0,
        "villages": 2, "reports": 1, "missing": [w.v2.code],
    }  # fmt: skip
    assert (summary.town_code, summary.text) == (w.t1.code, "S1 week")


@pytest.mark.parametrize("who", ["v1", "town", "district"])
def test_only_the_stations_staff_send_the_summary(ww: WeeklyWorld, who):
    code = ww.world.station.code
    with pytest.raises(PermissionDenied) as refused:
        services.station_summary_submit(actor=ww.users[who], station_code=code, week=ww.week,
                                        text="")  # fmt: skip
    assert str(refused.value) == msg(services.MSG_NOT_STATION_STAFF, code=code)
    assert not StationWeeklySummary.objects.exists()
