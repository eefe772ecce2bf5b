"""The weekly pages: the town's week, a village's report, a station's summary."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from weekly import services
from weekly.models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList

from .conftest import WeeklyWorld

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, name: str, code: str, week: dt.date, **extra):
    return client.get(reverse(name, args=[code]), {"week": week.isoformat(), **extra})


def flags(html: str, attr: str) -> dict[str, str]:
    return dict(re.findall(rf'data-{attr}="([^"]*)" data-flag="(\w+)"', html))


def test_pages_need_a_login(ww: WeeklyWorld):
    res = Client().get(reverse("weekly-town", args=[ww.world.t1.code]))
    assert res.status_code == 302 and "/accounts/login/" in res["Location"]


def test_the_town_page_flags_late_and_missing_reports(ww: WeeklyWorld):
    w = ww.world
    services.village_report_submit(actor=ww.users["v1"], village_code=w.v1.code, week=ww.week,
                                   text="", at=ww.at(4, "19:00"))  # fmt: skip
    res = page(client_for(ww.users["district"]), "weekly-town", w.t1.code, ww.week)
    html = res.content.decode()
    assert res.status_code == 200
    # The week is three weeks ago: every deadline has passed.
    assert flags(html, "village") == {w.v1.code: "late", w.v2.code: "missing"}
    assert flags(html, "station") == {w.station.code: "missing"}
    assert 'data-late="1" data-missing="2"' in html
    assert 'data-task-list="none"' in html
    assert "<form" not in html.split("</header>", 1)[1]  # the district admin does not publish


def test_town_staff_publish_from_the_town_page(ww: WeeklyWorld):
    w = ww.world
    client = client_for(ww.users["town"])
    res = page(client, "weekly-town", w.t1.code, ww.week)
    assert 'name="items"' in res.content.decode()
    res = client.post(
        reverse("weekly-town", args=[w.t1.code]),
        {"week": ww.week.isoformat(), "items": "Check the dykes\n\nVisit the elderly", "note": ""},
    )
    assert res.status_code == 302
    assert res["Location"].endswith(f"?week={ww.week.isoformat()}&done=published")
    assert WeeklyTaskList.objects.get().items == ["Check the dykes", "Visit the elderly"]
    html = client.get(res["Location"]).content.decode()
    assert 'data-task-list="published"' in html and "Visit the elderly" in html
    # The village sees the town's task list on its page.
    html = page(client_for(ww.users["v1"]), "weekly-village", w.v1.code, ww.week).content
    assert "Check the dykes" in html.decode()


def test_a_forbidden_publish_is_refused_with_the_message(ww: WeeklyWorld):
    client = client_for(ww.users["v1"])
    res = client.post(reverse("weekly-town", args=[ww.world.t1.code]),
                      {"week": ww.week.isoformat(), "items": "A"},
                      HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip
    assert res.status_code == 403
    assert services.MSG_NOT_TOWN_STAFF % {"code": ww.world.t1.code} in res.content.decode()
    assert not WeeklyTaskList.objects.exists()


def test_the_village_page_shows_the_prefilled_figures_and_submits(ww: WeeklyWorld):
    from .conftest import incident

    w = ww.world
    incident(ww, w.west.code, ww.at(1, "10:00"))
    client = client_for(ww.users["v1"])
    html = page(client, "weekly-village", w.v1.code, ww.week).content.decode()
    assert '<dd data-count="received">1</dd>' in html
    assert 'data-flag="missing"' in html and 'name="text"' in html
    res = client.post(reverse("weekly-village", args=[w.v1.code]),
                      {"week": ww.week.isoformat(), "text": "One dispute, mediated"})  # fmt: skip
    assert res.status_code == 302
    report = VillageWeeklyReport.objects.get()
    assert (report.text, report.counts["received"]) == ("One dispute, mediated", 1)
    html = client.get(res["Location"]).content.decode()
    assert 'data-flag="late"' in html  # submitted now, weeks after the Friday


def test_the_station_page_sends_the_summary(ww: WeeklyWorld):
    w = ww.world
    services.village_report_submit(actor=ww.users["v1"], village_code=w.v1.code, week=ww.week,
                                   text="V1 text", at=ww.at(4, "10:00"))  # fmt: skip
    client = client_for(ww.users["station"])
    html = page(client, "weekly-station", w.station.code, ww.week).content.decode()
    assert flags(html, "village") == {w.v1.code: "on_time", w.v2.code: "missing"}
    assert "V1 text" in html
    res = client.post(reverse("weekly-station", args=[w.station.code]),
                      {"week": ww.week.isoformat(), "text": "Summary"})  # fmt: skip
    assert res.status_code == 302
    assert StationWeeklySummary.objects.get().counts["missing"] == [w.v2.code]


@pytest.mark.parametrize(
    "who, name, key",
    [
        ("v2", "weekly-village", "v1"),
        ("grid", "weekly-village", "v2"),
        ("other_town", "weekly-town", "t1"),
        ("v1", "weekly-town", "t2"),
        ("other_town", "weekly-station", "station"),
    ],
)
def test_pages_outside_the_jurisdiction_are_not_found(ww: WeeklyWorld, who, name, key):
    code = getattr(ww.world, key).code
    assert page(client_for(ww.users[who]), name, code, ww.week).status_code == 404


def test_village_staff_see_their_towns_page_but_cannot_publish(ww: WeeklyWorld):
    html = page(client_for(ww.users["v1"]), "weekly-town", ww.world.t1.code, ww.week)
    assert html.status_code == 200
    assert 'name="items"' not in html.content.decode()


def test_a_bad_week_is_refused_and_any_day_means_its_week(ww: WeeklyWorld):
    client = client_for(ww.users["town"])
    assert page(client, "weekly-town", ww.world.t1.code, ww.week).status_code == 200
    res = client.get(reverse("weekly-town", args=[ww.world.t1.code]), {"week": "soon"})
    assert res.status_code == 400
    thursday = ww.week + dt.timedelta(days=3)
    html = page(client, "weekly-town", ww.world.t1.code, thursday).content.decode()
    assert ww.week.isoformat() in html


@pytest.mark.parametrize(
    "who, name", [("v1", "weekly-village"), ("station", "weekly-station"), ("town", "weekly-town")]
)
def test_weekly_home_opens_the_users_own_page(ww: WeeklyWorld, who, name):
    res = client_for(ww.users[who]).get(reverse("weekly"))
    assert res.status_code == 302
    assert res["Location"].startswith(reverse(name, args=["X"]).replace("X/", ""))
