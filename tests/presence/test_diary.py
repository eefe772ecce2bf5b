"""The diary (/diary/, 民情日记): a worker's visits in order by month, a worker's diary for staff
(``?worker=``) and a place's (``?area=``) within the jurisdiction, 404 outside; masking; the
print stylesheet; and the visit form page (/field/visit/) with its prefill."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountRole
from presence import visits
from presence.models import Visit
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_routing import World, build_world, world_generation
from tests.presence.test_visits import login_of, make_households

pytestmark = pytest.mark.django_db

DIARY = reverse("diary")
FORM = reverse("field-visit")


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def households(world: World) -> dict:
    return make_households(world)


def backdated(worker, household, days: float, notes: str, **extra) -> Visit:
    """A visit ``days`` ago (the demo's history: no age limit)."""
    visit, _ = visits.log_visit(
        worker, households=[household], notes=notes, backfill=True,
        at=timezone.now() - dt.timedelta(days=days), **extra,
    )  # fmt: skip
    return visit


@pytest.fixture
def diary_visits(world: World, households) -> dict[str, Visit]:
    leader = world.people["W leader"].worker
    secretary = world.people["V1 secretary"].worker
    return {
        "old": backdated(leader, households["head"], 40, "NOTE-OLD"),
        "mid": backdated(leader, households["second"], 3, "NOTE-MID", follow_up="FOLLOW-MID",
                         follow_up_due=timezone.localdate() - dt.timedelta(days=1)),
        "new": backdated(leader, households["head"], 0.01, "NOTE-NEW"),
        "secretary": backdated(secretary, households["east"], 1, "NOTE-SECRETARY"),
    }  # fmt: skip


def order_of(html: str, notes: list[str]) -> list[str]:
    found = sorted((html.index(n), n) for n in notes if n in html)
    return [n for _, n in found]


def test_my_diary_is_my_visits_in_order(client, world, diary_visits):
    client.force_login(login_of(world, "W leader"))
    html = client.get(DIARY).content.decode()
    assert order_of(html, ["NOTE-OLD", "NOTE-MID", "NOTE-NEW", "NOTE-SECRETARY"]) == [
        "NOTE-OLD", "NOTE-MID", "NOTE-NEW",
    ]  # fmt: skip
    # Grouped by month, each visit with its households (phones unmasked for a grid leader),
    # its follow-up overdue.
    months = re.findall(r'data-month="(\d{4}-\d{2})"', html)
    assert months == sorted(set(months)) and len(months) >= 1
    assert "13812345678" in html
    assert "is-overdue" in html and "FOLLOW-MID" in html
    assert 'data-action="print"' in html
    # The open follow-up of one's own visit can be marked done from the diary.
    done = reverse("visit-follow-up-done", kwargs={"pk": diary_visits["mid"].pk})
    assert f'data-follow-up-done="{done}"' in html
    assert "presence/diary" in html  # the stylesheet with the print rules


def test_a_month_narrows_the_diary(client, world, diary_visits):
    client.force_login(login_of(world, "W leader"))
    month = timezone.localtime(diary_visits["old"].at).strftime("%Y-%m")
    html = client.get(DIARY, {"month": month}).content.decode()
    assert "NOTE-OLD" in html
    # 40 days back and 3 days back are never in one month.
    assert "NOTE-MID" not in html and "NOTE-NEW" not in html


def test_staff_open_a_workers_diary_inside_their_jurisdiction(client, world, diary_visits):
    leader = world.people["W leader"].worker
    client.force_login(AccountFactory(role=AccountRole.TOWN_STAFF, codes=[world.t1.code]).user)
    res = client.get(DIARY, {"worker": leader.pk})
    html = res.content.decode()
    assert res.status_code == 200
    assert order_of(html, ["NOTE-OLD", "NOTE-MID", "NOTE-NEW", "NOTE-SECRETARY"]) == [
        "NOTE-OLD", "NOTE-MID", "NOTE-NEW",
    ]  # fmt: skip
    assert "W leader" in html
    # Town staff do not visit households: phones masked.
    assert "13812345678" not in html and "138****5678" in html
    assert "data-follow-up-done" not in html  # not their visit


def test_a_workers_diary_outside_the_jurisdiction_is_404(client, world, diary_visits):
    leader = world.people["W leader"].worker
    client.force_login(login_of(world, "V2 secretary"))
    assert client.get(DIARY, {"worker": leader.pk}).status_code == 404
    assert client.get(DIARY, {"worker": "x"}).status_code == 404
    assert client.get(DIARY, {"worker": 10**9}).status_code == 404
    # Grid E's leader may not open grid W's leader's diary either.
    client.force_login(login_of(world, "E leader"))
    assert client.get(DIARY, {"worker": leader.pk}).status_code == 404


def test_a_places_diary_is_everyones_visits_there(client, world, diary_visits):
    client.force_login(login_of(world, "V1 secretary"))
    html = client.get(DIARY, {"area": world.v1.code}).content.decode()
    assert order_of(html, ["NOTE-OLD", "NOTE-MID", "NOTE-SECRETARY", "NOTE-NEW"]) == [
        "NOTE-OLD", "NOTE-MID", "NOTE-SECRETARY", "NOTE-NEW",
    ]  # fmt: skip
    grid = client.get(DIARY, {"area": world.east.code}).content.decode()
    assert "NOTE-SECRETARY" in grid and "NOTE-OLD" not in grid
    # A station's diary: the villages of its catchment.
    station = client.get(DIARY, {"area": world.station.code})
    assert station.status_code == 200 and "NOTE-SECRETARY" in station.content.decode()
    client.force_login(login_of(world, "V2 secretary"))
    assert client.get(DIARY, {"area": world.v1.code}).status_code == 404
    assert client.get(DIARY, {"area": "nowhere"}).status_code == 404


def test_the_diary_needs_a_login(client):
    res = client.get(DIARY)
    assert res.status_code == 302 and reverse("login") in res["Location"]


def test_an_office_login_without_visits_sees_an_empty_diary(client, world, diary_visits):
    client.force_login(UserFactory(username="office-only"))
    res = client.get(DIARY)
    assert res.status_code == 200 and "NOTE-" not in res.content.decode()


def test_the_print_stylesheet_gives_an_a4_page():
    with open(finders.find("presence/diary.css"), encoding="utf-8") as handle:
        css = handle.read()
    assert "@media print" in css and "size: A4" in css


def test_the_visit_form_prefills_a_household_of_the_area(client, world, households):
    client.force_login(login_of(world, "W leader"))
    res = client.get(FORM, {"household": "HH-W-2"})
    assert res.status_code == 200
    html = res.content.decode()
    config = json.loads(re.search(r'id="visit-config" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))  # fmt: skip
    assert [h["code"] for h in config["prefill"]] == ["HH-W-2"]
    assert 'data-ready="false"' in html and 'data-pending="0"' in html
    # A household outside the area is not prefilled.
    html = client.get(FORM, {"household": "HH-E-1"}).content.decode()
    config = json.loads(re.search(r'id="visit-config" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))  # fmt: skip
    assert config["prefill"] == []


def test_the_visit_form_prefills_a_household_without_a_number_by_its_id(client, world, households):
    households["second"].code = None
    households["second"].save()
    client.force_login(login_of(world, "W leader"))
    html = client.get(FORM, {"household": f"~{households['second'].pk}"}).content.decode()
    config = json.loads(re.search(r'id="visit-config" type="application/json">(.*?)</script>',
                                  html, re.S).group(1))  # fmt: skip
    assert [h["id"] for h in config["prefill"]] == [households["second"].pk]
    html = client.get(FORM, {"household": f"~{households['east'].pk}"}).content.decode()
    assert '"prefill": []' in html


def test_the_diary_takes_a_fixed_number_of_queries(
    client, world, households, django_assert_max_num_queries
):
    leader = world.people["W leader"].worker
    for n in range(8):
        visits.log_visit(
            leader, households=[households["head"], households["second"]], notes=f"N{n}",
            requests=[visits.RequestRaised(text=f"R{n}")], follow_up="回访",
        )  # fmt: skip
    client.force_login(login_of(world, "W leader"))
    client.get(DIARY)
    with django_assert_max_num_queries(16):
        html = client.get(DIARY).content.decode()
    assert all(f"N{n}" in html for n in range(8))
