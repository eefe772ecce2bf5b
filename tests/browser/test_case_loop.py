"""Acceptance 4 of the closed-loop issue, in headless Chromium against the small demo:

a grid leader acknowledges and resolves a case, the station head closes it out and approves
its public text, and it appears on the village's public notice page without personal data
(issue 12: only the approved text, people by role).

The case is reported (``incident_create``, committed) by a third login in a demo grid; its
description names a household head of the grid and carries a phone number and an ID
number; the leader's resolve note names the leader and gives the leader's phone. The
people are the grid's real leader Worker and the head of the station whose catchment holds
the village, each with a committed login linked to that Worker. Every request stays on
127.0.0.1. Screenshots: docs/screenshots/case-leader.png, case-closed.png, lists.png,
public-notice.png.

The test database outlives the session and other tests replace the demo, which refuses
while incidents refer to it; so the cases this module reports are removed afterwards (and
before, after an interrupted run), history included (``tests.incidents.case_history``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS
from tests.browser.test_map import assert_stayed_on_this_machine

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
PASSWORD = "browser-pass-4507"
LEADER = {"username": "browser-case-leader", "password": PASSWORD}
HEAD = {"username": "browser-case-station-head", "password": PASSWORD}
# A station account that is not the head's: verifies; the head signs the close-out.
STAFF = {"username": "browser-case-station-staff", "password": PASSWORD}
REPORTER = {"username": "browser-case-reporter", "password": PASSWORD, "name": "韦秀兰"}
WRITTEN_PHONE = "13907771234"
WRITTEN_ID = "450702198805052316"
# Open cases of the grid beside the one the test walks, so that the problem list in the
# screenshot shows traffic lights: (category, severity, reported days ago, description).
OTHER_CASES = [
    ("dispute", "blue", 20, "【示例】两户因宅基地边界发生争执，需要调解"),
    ("hazard", "yellow", 0, "【示例】村道旁电线杆倾斜，有倒塌危险"),
    ("service_request", "blue", 3, "【示例】独居老人家中漏雨，需要帮忙修缮"),
]


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    """The server is another process: what the test writes is committed (autocommit), and
    what it reads is what the server committed."""
    with django_db_blocker.unblock():
        yield


def _loop_place() -> dict[str, Any]:
    """The last demo grid (by code: the field tests take the first) with an active leader
    with a phone, households, and a village in a station with an active head."""
    from grids.models import CatchmentAssignment, Grid, Role, RoleAssignment
    from households.models import Household

    active = RoleAssignment.objects.active().select_related("worker")
    grids = Grid.objects.current().filter(code__startswith=CITY_PREFIX).select_related("village")
    for grid in grids.order_by("-code"):
        leader = active.filter(grid=grid, role=Role.GRID_LEADER).first()
        if leader is None or not leader.worker.phone:
            continue
        catchment = (
            CatchmentAssignment.objects.active()
            .filter(village__code=grid.village.code)
            .select_related("station")
            .first()
        )
        if catchment is None:
            continue
        head = active.filter(station=catchment.station, role=Role.STATION_HEAD).first()
        household = Household.objects.filter(grid=grid).exclude(head_name="").order_by("id").first()
        if head is None or household is None or head.worker_id == leader.worker_id:
            continue
        inner = grid.geom.buffer(-0.0005)
        if inner.empty:
            continue
        return {
            "grid": grid,
            "village": grid.village,
            "station": catchment.station,
            "leader": leader.worker,
            "head": head.worker,
            "household": household,
            "point": inner.point_on_surface,
        }
    raise AssertionError("the demo has no grid with a leader, households and a station head")


def purge_cases(reporter_username: str) -> int:
    """Delete the cases a test login reported, with their history."""
    from incidents.models import Incident
    from tests.incidents.case_history import purge_incidents

    mine = Incident.objects.filter(reporter__username=reporter_username)
    return purge_incidents(mine.values_list("pk", flat=True))


@pytest.fixture(scope="module")
def loop(demo, django_db_blocker) -> Iterator[dict[str, Any]]:
    """The committed logins and a committed case reported in the grid (removed afterwards)."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from incidents.models import Category
    from incidents.services import incident_create

    with django_db_blocker.unblock():
        purge_cases(REPORTER["username"])
        place = _loop_place()
        account_upsert(
            username=LEADER["username"],
            password=PASSWORD,
            role=AccountRole.GRID_WORKER,
            codes=[place["grid"].code],
            worker=place["leader"],
            first_name=place["leader"].name,
        )
        account_upsert(
            username=HEAD["username"],
            password=PASSWORD,
            role=AccountRole.STATION_STAFF,
            codes=[place["station"].code],
            worker=place["head"],
            first_name=place["head"].name,
        )
        account_upsert(
            username=STAFF["username"],
            password=PASSWORD,
            role=AccountRole.STATION_STAFF,
            codes=[place["station"].code],
        )
        reporter = account_upsert(
            username=REPORTER["username"],
            password=PASSWORD,
            role=AccountRole.GRID_WORKER,
            codes=[place["grid"].code],
            first_name=REPORTER["name"],
        ).user
        token = uuid.uuid4().hex[:6]
        household = place["household"]
        description = (
            f"{household.head_name}家门前排水沟堵塞，污水漫到路上（{token}）。"
            f"联系电话{WRITTEN_PHONE}，身份证{WRITTEN_ID}。"
        )
        incident, _created = incident_create(
            actor=reporter,
            point=place["point"],
            category=Category.objects.get(code="environment"),
            severity="blue",
            description=description,
        )
        _other_cases(place, reporter)
    yield {**place, "incident": incident, "token": token, "description": description}
    with django_db_blocker.unblock():
        purge_cases(REPORTER["username"])


def _other_cases(place: dict[str, Any], reporter: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from incidents import workflow
    from incidents.models import Category, Incident
    from incidents.services import incident_create

    for category, severity, days_ago, text in OTHER_CASES:
        incident, _created = incident_create(
            actor=reporter,
            point=place["point"],
            category=Category.objects.get(code=category),
            severity=severity,
            description=text,
            reported_at=timezone.now() - dt.timedelta(days=days_ago),
        )
        if days_ago:  # the older ones (grid-level: blue) are being worked on
            leader = place["leader"].user
            for action in ("acknowledge", "start"):
                workflow.case_act(
                    actor=leader,
                    incident_id=incident.pk,
                    action=action,
                    version=Incident.objects.get(pk=incident.pk).version,
                )


def log_in_at(
    page: Any, path: str, login: dict[str, str], ready: str = '#case[data-ready="true"]'
) -> None:
    page.goto(path)
    assert "/accounts/login/" in page.url  # anonymous: sent to the login page first
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url(f"**{path}")
    page.wait_for_selector(ready, state="attached")


def log_out(page: Any) -> None:
    menu = page.locator(".gm-menu-button")
    if menu.is_visible():  # a phone: signing out is in the menu
        menu.click()
    page.click(".gm-logout button[type=submit]")
    page.wait_for_url("**/accounts/login/**")


def take(page: Any, action: str, note: str = "") -> None:
    """Open the action's form, write the note, send it; wait for the page to come back."""
    details = page.locator(f'details[data-action="{action}"]')
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    if note:
        details.locator("textarea[name=note]").fill(note)
    with page.expect_navigation():
        details.locator("[data-submit]").click()
    page.wait_for_selector('#case[data-ready="true"]', state="attached")
    assert page.locator("[data-error]").count() == 0, page.inner_text("[data-error]")


def offered(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "form[data-action-form]", "forms => forms.map(f => f.dataset.actionForm)"
    )


def test_leader_resolves_station_head_closes_out_and_the_village_board_shows_it(
    new_page, loop, browser_user
):
    from incidents.models import CaseEvent, Incident, IncidentRecipient, Status

    incident, leader, head = loop["incident"], loop["leader"], loop["head"]
    case_path = f"/cases/{incident.pk}/"

    # --- the grid leader, on a phone -------------------------------------------------------
    page, log = new_page(PHONE, is_mobile=True, has_touch=True, timezone_id="Asia/Shanghai")
    log_in_at(page, case_path, LEADER)
    assert page.get_attribute("#case", "data-status") == Status.REPORTED
    assert loop["token"] in page.inner_text("[data-description]")
    assert page.locator("[data-traffic-light]").count() == 1
    assert offered(page)[0] == "acknowledge"
    assert "close_out" not in offered(page)
    take(page, "acknowledge")
    assert page.get_attribute("#case", "data-status") == Status.ACKNOWLEDGED
    take(page, "start")
    assert page.get_attribute("#case", "data-status") == Status.IN_PROGRESS
    note = (
        f"网格长{leader.name}（电话{leader.phone}）带领村民清理了排水沟淤泥，"
        f"路面已无积水，已告知{loop['household'].head_name}。"
    )
    resolve = page.locator('details[data-action="resolve"]')
    if resolve.get_attribute("open") is None:
        resolve.locator("summary").click()
    resolve.locator("textarea[name=note]").fill(note)
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / "case-leader.png"), full_page=True)
    with page.expect_navigation():
        resolve.locator("[data-submit]").click()
    page.wait_for_selector('#case[data-status="resolved"]', state="attached")
    assert offered(page) == []  # the station verifies now
    assert page.locator("[data-message]").count() == 1
    log_out(page)

    # --- the station: its staff verify, its head signs the close-out, at a desk ---------------
    desk, desk_log = new_page(DESKTOP, timezone_id="Asia/Shanghai")
    log_in_at(desk, case_path, STAFF)
    assert offered(desk)[0] == "verify"
    assert note in desk.inner_text('.cs-event[data-action="resolve"]')
    take(desk, "verify")
    assert desk.get_attribute("#case", "data-status") == Status.VERIFIED
    assert "close_out" not in offered(desk)  # a station account that is not the head's
    log_out(desk)
    log_in_at(desk, case_path, HEAD)
    assert offered(desk)[0] == "close_out"
    take(desk, "close_out", note="已到现场核实，排水沟畅通。")
    assert desk.get_attribute("#case", "data-status") == Status.CLOSED
    actions = desk.eval_on_selector_all(".cs-event", "events => events.map(e => e.dataset.action)")
    assert actions == ["report", "acknowledge", "start", "resolve", "verify", "close_out"]
    assert head.name in desk.inner_text('.cs-event[data-action="close_out"]')
    # The station head approves what the notice board may say (issue 12, item 7).
    approved = "网格长带领村民清理了排水沟淤泥，路面已无积水。"
    desk.fill("#cs-public-text", approved)
    with desk.expect_navigation():
        desk.click("[data-publish-form] button[type=submit]")
    assert approved in desk.inner_text("[data-approved-text]")
    desk.wait_for_timeout(200)
    desk.screenshot(path=str(SCREENSHOTS / "case-closed.png"), full_page=True)

    closed = Incident.objects.get(pk=incident.pk)
    assert closed.status == Status.CLOSED and closed.closed_at is not None
    events = CaseEvent.objects.filter(incident=incident)
    assert events.get(action="resolve").actor.username == LEADER["username"]
    assert events.get(action="close_out").actor.username == HEAD["username"]

    # The station's close-out list has it, signed off by the head.
    desk.goto(f"/lists/?list=closeout&code={loop['station'].code}")
    row = desk.locator(f'tr[data-incident-id="{incident.pk}"]')
    assert head.name in row.locator('td[data-column="signed_off_by"]').inner_text()
    assert row.locator('td[data-column="closed_on_time"] .cs-ontime').count() == 1
    log_out(desk)

    # The county's problem list, as the city administrator sees it.
    county = loop["village"].code[:6]
    lists, lists_log = new_page(DESKTOP, timezone_id="Asia/Shanghai")
    log_in_at(lists, f"/lists/?list=problems&code={county}", browser_user, ready="#lists")
    assert lists.locator(f'tr[data-incident-id="{incident.pk}"]').count() == 1
    lists.wait_for_timeout(200)
    lists.screenshot(path=str(SCREENSHOTS / "lists.png"), full_page=True)

    # --- anyone, without logging in: the village notice board -------------------------------
    board, board_log = new_page(PHONE, is_mobile=True, has_touch=True)
    board.goto(f"/public/villages/{loop['village'].code}/")
    assert "/accounts/login/" not in board.url
    entry = board.locator(f'.cs-notice[data-case-id="{incident.pk}"]')
    assert entry.count() == 1
    # Only the approved text: not the description, not the resolve note.
    assert entry.locator("[data-public-text]").inner_text() == approved
    assert loop["token"] not in entry.inner_text()
    assert "已告知" not in entry.inner_text()
    assert entry.locator("[data-handled-by]").inner_text() == "网格长"
    assert entry.locator('[data-on-time="true"]').count() == 1
    assert loop["grid"].name in entry.inner_text()

    # No personal data anywhere on the page (its text and its markup).
    text = board.inner_text("body")
    html = board.content()
    forbidden = {
        REPORTER["name"],
        REPORTER["username"],
        leader.name,
        leader.phone,
        head.name,
        LEADER["username"],
        HEAD["username"],
        WRITTEN_PHONE,
        WRITTEN_ID,
    }
    for name, phone in IncidentRecipient.objects.filter(incident=incident).values_list(
        "name", "phone"
    ):
        forbidden |= {name, phone} - {""}
    from households.models import Household

    for head_name, address, id_number, phone in Household.objects.filter(
        grid=loop["grid"]
    ).values_list("head_name", "address", "id_number", "phone"):
        forbidden |= {address, id_number, phone} - {""}
        if len(head_name) >= 3:
            forbidden.add(head_name)
    forbidden.add(loop["household"].head_name)
    leaked = sorted(term for term in forbidden if term in text or term in html)
    assert leaked == []
    # Not even a surname + 某.
    assert f"{leader.name[0]}某" not in text
    # Nothing finer than the grid: no coordinates, no map.
    point = loop["point"]
    assert f"{point.x:.4f}" not in html and f"{point.y:.4f}" not in html
    assert board.locator(".leaflet-container").count() == 0
    board.wait_for_timeout(200)
    board.screenshot(path=str(SCREENSHOTS / "public-notice.png"), full_page=True)

    for each in (log, desk_log, lists_log, board_log):
        assert_stayed_on_this_machine(each)
        assert each.failed == []
        assert each.errors == []
