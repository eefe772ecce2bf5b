"""The weekly API: /api/weekly/... through the same services and selectors as the pages."""

from __future__ import annotations

import pytest
from django.utils.translation import gettext

from weekly import services
from weekly.models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList

from .conftest import WeeklyWorld, incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(api_client, ww):
    def login(who: str):
        api_client.force_authenticate(ww.users[who])
        return api_client

    return login


def test_the_towns_week(ww: WeeklyWorld, as_user):
    w = ww.world
    services.village_report_submit(actor=ww.users["v1"], village_code=w.v1.code, week=ww.week,
                                   text="V1", at=ww.at(4, "17:00"))  # fmt: skip
    res = as_user("district").get(f"/api/weekly/towns/{w.t1.code}/", {"week": ww.week})
    assert res.status_code == 200
    body = res.json()
    assert body["week"] == ww.week.isoformat()
    assert body["task_list"] is None
    (station,) = body["stations"]
    assert (station["code"], station["flag"], station["summary"]) == (w.station.code, "missing",
                                                                       None)  # fmt: skip
    assert [(v["code"], v["flag"]) for v in station["villages"]] == [
        (w.v1.code, "on_time"), (w.v2.code, "missing")]  # fmt: skip
    assert station["villages"][0]["report"]["text"] == "V1"
    assert body["flags"] == {"on_time": 1, "late": 0, "missing": 2, "pending": 0}


def test_publish_submit_and_send_through_the_api(ww: WeeklyWorld, as_user):
    w = ww.world
    incident(ww, w.west.code, ww.at(2, "08:00"))
    week = ww.week.isoformat()
    res = as_user("town").post(
        f"/api/weekly/towns/{w.t1.code}/task-list/",
        {"week": week, "items": ["Dykes"], "note": ""},
        format="json",
    )
    assert res.status_code == 200 and res.json()["items"] == ["Dykes"]
    res = as_user("v1").post(
        f"/api/weekly/villages/{w.v1.code}/report/", {"week": week, "text": "ok"}, format="json"
    )
    assert res.status_code == 200
    assert res.json()["counts"] == {"received": 1, "closed_out": 0, "open": 1, "overdue": 0}
    res = as_user("station").post(
        f"/api/weekly/stations/{w.station.code}/summary/",
        {"week": week, "text": "sum"},
        format="json",
    )
    assert res.status_code == 200 and res.json()["counts"]["missing"] == [w.v2.code]
    assert (WeeklyTaskList.objects.count(), VillageWeeklyReport.objects.count(),
            StationWeeklySummary.objects.count()) == (1, 1, 1)  # fmt: skip


def test_refusals_are_403_with_the_rule_and_400_with_the_field(ww: WeeklyWorld, as_user):
    w = ww.world
    res = as_user("v1").post(
        f"/api/weekly/towns/{w.t1.code}/task-list/",
        {"week": ww.week.isoformat(), "items": ["A"]},
        format="json",
    )
    assert res.status_code == 403
    assert res.json() == {"detail": gettext(services.MSG_NOT_TOWN_STAFF) % {"code": w.t1.code}}
    res = as_user("town").post(
        f"/api/weekly/towns/{w.t1.code}/task-list/",
        {"week": ww.week.isoformat(), "items": []},
        format="json",
    )
    assert res.status_code == 400
    assert res.json()["errors"] == {"items": [gettext(services.MSG_NO_ITEMS)]}
    res = as_user("town").get(f"/api/weekly/towns/{w.t1.code}/", {"week": "later"})
    assert res.status_code == 400 and list(res.json()["errors"]) == ["week"]
    assert as_user("other_town").get(f"/api/weekly/towns/{w.t1.code}/").status_code == 404
