"""The to do on a phone (issue 12, acceptance 5), in headless Chromium at 390×844 against the
small demo:

- a grid worker (the grid leader of a demo grid, signing in with a login linked to their
  ``Worker``; no account) signs in and lands on their to do, opens a case from the badge in
  the header, and reaches the lists and the weekly page through the menu;
- a village staff member (the village's party secretary, a login linked to the worker who
  holds the role) finds in their to do a yellow case that reached them only by routing (the
  routing made it the village's and told the village team; nobody assigned it) and
  acknowledges it on the case page.

Before this change a sign-in landed on the map, nothing listed the cases waiting on a
person, and the secretary's only way to the case was a link in a notification. The
screenshot ``todo-phone.png`` goes to the README (``make screenshots``).

The cases this module reports are removed afterwards (and before, after an interrupted run),
history included, and the logins with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.screens import SCREENSHOTS
from tests.browser.test_case_loop import purge_cases, take
from tests.browser.test_nav import assert_no_sideways_scroll, open_menu, phone_page

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
PASSWORD = "browser-pass-todo-4507"
LEADER = {"username": "browser-todo-leader", "password": PASSWORD}
SECRETARY = {"username": "browser-todo-secretary", "password": PASSWORD}
REPORTER = {"username": "browser-todo-reporter", "password": PASSWORD}
# (category, severity, description): the leader's to do in the screenshot.
CASES = [
    ("hazard", "yellow", "【示例】村道旁电线杆倾斜，有倒塌危险"),
    ("dispute", "blue", "【示例】两户因宅基地边界发生争执，需要调解"),
    ("service_request", "blue", "【示例】独居老人家中漏雨，需要帮忙修缮"),
]


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def _place() -> dict[str, Any]:
    """A demo grid in the middle of 4507's (the field tests take the first, the case loop the
    last) whose leader and village secretary are active, different people whom no other test
    signs in as."""
    from grids.models import Grid, Role, RoleAssignment

    active = RoleAssignment.objects.active().select_related("worker__user")
    grids = list(
        Grid.objects.current().filter(code__startswith=CITY_PREFIX).select_related("village")
    )
    grids.sort(key=lambda g: g.code)
    for grid in grids[len(grids) // 2 :]:
        leader = active.filter(grid=grid, role=Role.GRID_LEADER).first()
        secretary = active.filter(village=grid.village, role=Role.VILLAGE_SECRETARY).first()
        if leader is None or secretary is None or leader.worker_id == secretary.worker_id:
            continue
        # Not a worker another test signs in as (a login with a password); a demo login
        # without one (demo.logins, made by the service demo some tests load) is taken over.
        if any(
            w.user_id and w.user.has_usable_password() for w in (leader.worker, secretary.worker)
        ):
            continue
        inner = grid.geom.buffer(-0.0005)
        if inner.empty:
            continue
        return {
            "grid": grid,
            "leader": leader.worker,
            "secretary": secretary.worker,
            "point": inner.point_on_surface,
        }
    raise AssertionError("the demo has no grid with a leader and a village secretary")


def _user(login: dict[str, str], name: str) -> Any:
    """The committed login (kept between runs: deleting a user would touch every table that
    refers to users, some of which only other test sessions create)."""
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(username=login["username"])
    user.set_password(login["password"])
    user.first_name = name
    user.save()
    return user


def _login(worker: Any, login: dict[str, str]) -> Any:
    user = _user(login, worker.name)
    worker.user = user
    worker.save(update_fields=["user"])
    return user


def _unlink_logins() -> None:
    from grids.models import Worker

    names = [LEADER["username"], SECRETARY["username"]]
    Worker.objects.filter(user__username__in=names).update(user=None)


@pytest.fixture(scope="module")
def world(demo, django_db_blocker) -> Iterator[dict[str, Any]]:
    from incidents.models import Category
    from incidents.services import incident_create

    with django_db_blocker.unblock():
        purge_cases(REPORTER["username"])
        _unlink_logins()
        place = _place()
        _login(place["leader"], LEADER)
        _login(place["secretary"], SECRETARY)
        reporter = _user(REPORTER, "韦秀兰")
        cases = []
        for category, severity, text in CASES:
            incident, _created = incident_create(
                actor=reporter,
                point=place["point"],
                category=Category.objects.get(code=category),
                severity=severity,
                description=text,
            )
            cases.append(incident)
    yield {**place, "cases": cases}
    with django_db_blocker.unblock():
        purge_cases(REPORTER["username"])
        _unlink_logins()


def sign_in_and_land(page: Any, login: dict[str, str]) -> None:
    """Sign in from the login page itself (no ``next``): the landing page is the to do."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/todo/")


def sign_out(page: Any) -> None:
    open_menu(page)
    page.click(".gm-logout button[type=submit]")
    page.wait_for_url("**/accounts/login/**")


def card(page: Any, case_id: int) -> Any:
    return page.locator(f'a.td-card[data-case="{case_id}"]')


def test_a_grid_leader_lands_on_the_to_do_opens_a_case_from_the_badge_and_finds_the_menu(
    new_page, world
):
    page, log = phone_page(new_page)
    yellow, blue, _service = world["cases"]
    sign_in_and_land(page, LEADER)
    assert page.inner_text("h1.td-title").startswith("待办")
    # The yellow case is the village's (the leader was routed with it: follow it up), the
    # blue ones the leader's to acknowledge; yellow first.
    assert card(page, yellow.pk).get_attribute("data-action") == "follow_up"
    assert card(page, blue.pk).get_attribute("data-action") == "acknowledge"
    assert "签收" in card(page, blue.pk).inner_text()
    assert "还剩" in card(page, blue.pk).inner_text()
    order = page.eval_on_selector_all("a.td-card", "cards => cards.map(c => +c.dataset.case)")
    assert order.index(yellow.pk) < order.index(blue.pk)
    badge = page.locator(".gm-todo .gm-badge")
    assert badge.is_visible() and int(badge.get_attribute("data-todo-count")) >= 3
    assert page.locator(".gm-menu-button .gm-menu-badge").inner_text() == badge.inner_text()
    assert_no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "todo-phone.png"))

    # From another page, the badge leads back to the to do, and a card to the case.
    page.goto("/lists/")
    page.click(".gm-todo")
    page.wait_for_url("**/todo/")
    card(page, blue.pk).click()
    page.wait_for_url(f"**/cases/{blue.pk}/")
    page.wait_for_selector('#case[data-ready="true"]', state="attached")

    # The lists and the weekly page through the menu.
    open_menu(page).locator('.gm-nav a[href="/lists/"]').click()
    page.wait_for_url("**/lists/**")
    open_menu(page).locator('.gm-nav a[href="/weekly/"]').click()
    page.wait_for_url("**/weekly/**")
    assert page.url.split("/weekly/")[1].startswith("villages/")
    assert_no_sideways_scroll(page)
    assert log.failed == [] and log.errors == []


def test_a_village_secretary_acknowledges_a_case_that_reached_them_by_routing(new_page, world):
    from incidents.models import Incident, IncidentRecipient

    yellow = world["cases"][0]
    secretary = world["secretary"]
    # Nobody assigned it: the routing made it the village's (yellow) when it was reported,
    # and nothing has happened to it since (its history is the report alone).
    reported = Incident.objects.get(pk=yellow.pk)
    assert (reported.responsible_level, reported.owner_level) == ("village", "village")
    assert reported.owner_code == world["grid"].village.code
    assert list(reported.events.values_list("action", flat=True)) == ["report"]
    # Routing alone told the secretary (yellow reaches the village team, issue 12 item 4).
    assert IncidentRecipient.objects.filter(incident=yellow, worker=secretary).exists()

    page, log = phone_page(new_page)
    sign_in_and_land(page, SECRETARY)
    mine = card(page, yellow.pk)
    assert mine.get_attribute("data-action") == "acknowledge"
    mine.click()
    page.wait_for_url(f"**/cases/{yellow.pk}/")
    page.wait_for_selector('#case[data-ready="true"]', state="attached")
    take(page, "acknowledge")
    incident = Incident.objects.get(pk=yellow.pk)
    assert incident.status == "acknowledged"
    event = incident.events.order_by("-seq").first()
    assert (event.action, event.actor.username) == ("acknowledge", SECRETARY["username"])
    # Acknowledged, it waits on the secretary for the next step.
    page.goto("/todo/")
    assert card(page, yellow.pk).get_attribute("data-action") == "start"
    sign_out(page)
    assert log.failed == [] and log.errors == []
