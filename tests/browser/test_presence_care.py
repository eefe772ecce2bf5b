"""Key persons in the to do and the household file on a phone (issue 14, items 5 and 6), in
headless Chromium at 390×844 against the small demo:

a grid leader (a login linked to the demo's worker) finds in their to do "走访重点人员：低保户，
…，应于<today>前走访" for a household of their grid whose visit is due today; the item opens
the household file, which shows the household's key-person status and its earlier visit, and
offers the visit form (``/field/visit/?household=CODE``).

The key person, the visit and the login link this module makes are removed afterwards (and
before, after an interrupted run). The screenshot ``household-file-phone.png`` goes to the
README (``make screenshots``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.screens import SCREENSHOTS
from tests.browser.test_nav import assert_no_sideways_scroll, phone_page
from tests.browser.test_todo import _login, sign_in_and_land

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
LEADER = {"username": "browser-care-leader", "password": "browser-pass-care-4507"}
MARK = "care-browser"
NOTES = "【示例】老人身体还好，家里屋顶漏雨已报修"


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    with django_db_blocker.unblock():
        yield


def _purge() -> None:
    from grids.models import Worker
    from presence.models import KeyPerson, Visit

    Visit.objects.filter(notes=NOTES).delete()
    KeyPerson.objects.filter(note=MARK).delete()
    Worker.objects.filter(user__username=LEADER["username"]).update(user=None)


def _place() -> dict[str, Any]:
    """A demo grid in the second quarter of 4507's (the field tests take the first, the to-do
    test the second half) whose leader has no login, with a numbered household."""
    from grids.models import Grid, Role, RoleAssignment
    from households.models import Household

    grids = sorted(
        Grid.objects.current().filter(code__startswith=CITY_PREFIX), key=lambda g: g.code
    )
    active = RoleAssignment.objects.active().select_related("worker")
    for grid in grids[len(grids) // 4 : len(grids) // 2]:
        leader = active.filter(grid=grid, role=Role.GRID_LEADER).first()
        if leader is None or leader.worker.user_id:
            continue
        household = Household.objects.filter(grid=grid, code__isnull=False).order_by("code").first()
        if household is not None:
            return {"grid": grid, "leader": leader.worker, "household": household}
    raise AssertionError("the demo has no grid with a leader and a numbered household")


@pytest.fixture(scope="module")
def world(demo, django_db_blocker) -> Iterator[dict[str, Any]]:
    from django.utils import timezone

    from presence.models import CareCategory, KeyPerson, Visit, VisitHousehold

    with django_db_blocker.unblock():
        _purge()
        place = _place()
        _login(place["leader"], LEADER)
        today = timezone.localdate()
        category = CareCategory.objects.get(code="low_income", district=None)
        since = today - dt.timedelta(days=category.visit_every_days)  # due today
        key_person = KeyPerson.objects.create(
            household=place["household"], category=category, since=since, note=MARK
        )
        # A visit before the household became a key person: in its file, not counted.
        at = timezone.make_aware(dt.datetime.combine(since - dt.timedelta(days=3), dt.time(10)))
        visit = Visit.objects.create(
            worker=place["leader"], at=at, grid=place["grid"], place_code=place["grid"].code,
            notes=NOTES,
        )  # fmt: skip
        VisitHousehold.objects.create(visit=visit, household=place["household"])
    yield {**place, "key_person": key_person, "visit": visit, "today": today}
    with django_db_blocker.unblock():
        _purge()


def test_the_to_do_lists_the_key_person_and_opens_the_household_file(new_page, world):
    page, log = phone_page(new_page)
    code = world["household"].code
    sign_in_and_land(page, LEADER)
    item = page.locator(f'.td-extra-card[data-household="{code}"]')
    assert item.count() == 1
    text = item.locator(".td-extra-main").inner_text()
    assert text.startswith("走访重点人员：低保户，") and f"应于{world['today']}前走访" in text
    visit_link = item.locator(".td-extra-action")
    assert visit_link.get_attribute("href") == f"/field/visit/?household={code}"
    badge = page.locator(".gm-todo .gm-badge")
    assert int(badge.get_attribute("data-todo-count")) >= 1
    assert_no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "todo-key-persons-phone.png"))

    item.locator(".td-extra-main").click()
    page.wait_for_url(f"**/households/{code}/")
    root = page.locator("#household-file")
    assert root.get_attribute("data-household") == code
    assert page.inner_text("h1.hf-title") == world["household"].address
    assert "低保户" in page.inner_text(".hf-care")
    visit = page.locator(f'.hf-visits [data-visit="{world["visit"].pk}"]')
    assert visit.count() == 1 and NOTES in visit.inner_text()
    assert page.locator("a.hf-visit").get_attribute("href") == f"/field/visit/?household={code}"
    assert_no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "household-file-phone.png"), full_page=True)
    assert log.failed == [] and log.errors == []


def test_a_click_on_a_building_lists_its_households_with_links_to_their_files(new_page, world):
    page, log = phone_page(new_page)
    household = world["household"]
    building = household.building
    assert building is not None, "the demo's households stand in buildings"
    sign_in_and_land(page, LEADER)
    page.goto("/map/")
    page.wait_for_selector('#gridmap[data-loaded="true"]', state="attached")
    centre = building.footprint.point_on_surface
    # Zoom in on the building (again, should the opening fit still be animating) until its
    # footprint is drawn.
    page.wait_for_function(
        """c => {
            const map = window.gridmap.map;
            if (map.getZoom() !== 18) map.setView([c[1], c[0]], 18, {animate: false});
            return map.getZoom() === 18
                && document.querySelector(".leaflet-gm-buildings-pane path") !== null;
        }""",
        arg=[centre.x, centre.y],
        polling=500,
    )
    page.evaluate("c => window.gridmap.map.setView([c[1], c[0]], 18, {animate: false})",
                  [centre.x, centre.y])  # fmt: skip
    box = page.locator("#gridmap").bounding_box()
    with page.expect_response(lambda r: f"/api/buildings/{building.pk}/households/" in r.url):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    link = page.locator(f'.gm-building-detail a[data-household="{household.code}"]')
    link.wait_for()
    assert link.inner_text() == household.address
    assert page.locator(".gm-building-detail .gm-key-person").count() >= 1
    link.click()
    page.wait_for_url(f"**/households/{household.code}/")
    assert page.locator("#household-file").get_attribute("data-household") == household.code
    assert log.failed == [] and log.errors == []
