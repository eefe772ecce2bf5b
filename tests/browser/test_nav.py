"""Phones reach every page: the site menu on narrow screens (issue 12, item 8).

On a phone the header has no room for the section links (``.gm-nav`` is hidden at 900px and
below), so before this change lists, weekly, the dashboard, coverage and the notice board could
not be reached from a phone at all. A menu button in the header now opens the same links as a
panel (base.html, gridmap/menu.js). A grid worker and a town staff member, at 390×844, open the
menu on /map/ and reach every page their role may use through it; no page scrolls sideways;
the field page reaches the menu too; Escape closes it; signing out and the language switch are
in it. The screenshot ``nav-phone-menu.png`` goes to the README.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CITY_PREFIX = "4507"
GRID_WORKER = {"username": "browser-nav-grid", "password": "browser-pass-nav-grid"}
TOWN_STAFF = {"username": "browser-nav-town", "password": "browser-pass-nav-town"}

# What each role's menu offers (the plans and the access log are for other roles; coverage
# reports on a town or more, so a grid worker has none: the link would be a 404).
MENU = {
    "grid_worker": [
        "/map/",
        "/lists/",
        "/dashboard/",
        "/weekly/",
        "/presence/",
        "/services/",
        "/assessments/",
        "/public/",
        "/field/",
        "/field/today/",
    ],
    "town_staff": [
        "/map/",
        "/lists/",
        "/dashboard/",
        "/coverage/",
        "/weekly/",
        "/presence/",
        "/services/",
        "/assessments/",
        "/public/",
        "/field/",
        "/field/today/",
    ],
}


@pytest.fixture(scope="module")
def people(demo, django_db_blocker) -> dict[str, dict[str, str]]:
    """A grid worker on the first demo grid of 4507 and a staff member of its town."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from grids.models import Grid

    with django_db_blocker.unblock():
        grid = Grid.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code")[0]
        town = grid.village.town
        account_upsert(
            username=GRID_WORKER["username"],
            password=GRID_WORKER["password"],
            role=AccountRole.GRID_WORKER,
            codes=[grid.code],
            first_name="陈建华",
        )
        account_upsert(
            username=TOWN_STAFF["username"],
            password=TOWN_STAFF["password"],
            role=AccountRole.TOWN_STAFF,
            codes=[town.code],
            first_name="周丽娟",
        )
    return {"grid_worker": GRID_WORKER, "town_staff": TOWN_STAFF}


# The first elements that stick out on the right, to say what to fix.
WIDER_THAN_THE_SCREEN = """width => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > width + 1).slice(0, 5)
    .map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))"""


def phone_page(new_page: Any) -> tuple[Any, Any]:
    return new_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)


def sign_in(page: Any, login: dict[str, str], path: str = "/map/") -> None:
    page.goto(f"/accounts/login/?next={path}")
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url(f"**{path}")


def open_menu(page: Any) -> Any:
    button = page.locator(".gm-menu-button")
    assert button.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator("#gm-menu .gm-nav").is_visible()
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    panel = page.locator("#" + button.get_attribute("aria-controls"))
    assert panel.is_visible()
    return panel


def menu_links(panel: Any) -> list[str]:
    links = panel.locator(".gm-nav a, a.gm-nav-field")
    return [urlsplit(links.nth(i).get_attribute("href")).path for i in range(links.count())]


def assert_no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.evaluate(WIDER_THAN_THE_SCREEN, PHONE["width"]) if width > PHONE["width"] else []
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px): {wide}"


def assert_clean(log: Any) -> None:
    assert log.failed == []
    assert log.errors == []


@pytest.mark.parametrize("role", ["grid_worker", "town_staff"])
def test_every_page_of_the_role_is_reached_through_the_menu(new_page, people, role):
    page, log = phone_page(new_page)
    sign_in(page, people[role])
    assert page.locator(".gm-nav").is_hidden()  # the desktop links have no room here
    # The button's label (a count of to-do items may follow it: incidents.context_processors).
    assert page.locator(".gm-menu-button > span").first.inner_text() == "菜单"

    panel = open_menu(page)
    links = menu_links(panel)
    assert links == MENU[role]  # the same links as the desktop navigation, in its order
    for i in range(panel.locator(".gm-nav a, a.gm-nav-field").count()):
        box = panel.locator(".gm-nav a, a.gm-nav-field").nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 44  # a thumb's target
    assert panel.locator(".gm-logout button").is_visible()
    assert panel.locator('button[data-language="en"]').is_visible()
    assert_no_sideways_scroll(page)
    if role == "grid_worker":
        page.screenshot(path=str(SCREENSHOTS / "nav-phone-menu.png"))

    # Escape closes the menu and gives the focus back to its button.
    page.keyboard.press("Escape")
    assert page.locator(".gm-menu-button").get_attribute("aria-expanded") == "false"
    assert panel.is_hidden()
    assert page.evaluate("() => document.activeElement.classList.contains('gm-menu-button')")

    # Every page in the menu opens from it, marks itself as the current one and fits.
    landed = {}
    for path in links:
        open_menu(page).locator(f'a[href="{path}"]').click()
        page.wait_for_url(f"**{path}**")
        landed[path] = urlsplit(page.url).path
        page.wait_for_load_state("networkidle")
        assert_no_sideways_scroll(page)
        if path != "/public/":  # the notice board is public: not a section of one's work
            current = page.locator("#gm-menu a[aria-current=page]")
            assert current.count() == 1 and urlsplit(current.get_attribute("href")).path == path
    # /weekly/ opens the role's own week: the grid's village, the staff member's town.
    own = "/weekly/villages/" if role == "grid_worker" else "/weekly/towns/"
    assert landed["/weekly/"].startswith(own)

    # The language switch and signing out are in the menu as well.
    with page.expect_navigation():
        open_menu(page).locator('button[data-language="en"]').click()
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text(".gm-menu-button") == "Menu"
    open_menu(page).locator(".gm-logout button[type=submit]").click()
    page.wait_for_url("**/accounts/login/**")
    assert page.locator(".gm-menu-button").count() == 0  # nothing to navigate to yet
    assert_clean(log)


def test_the_field_page_reaches_the_menu(new_page, people):
    page, log = phone_page(new_page)
    sign_in(page, people["grid_worker"], "/field/")
    panel = open_menu(page)
    assert panel.locator('a.gm-nav-field[aria-current="page"]').count() == 1
    # The panel lies over the field page's map and tabs, not under them.
    box = panel.bounding_box()
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('#gm-menu') !== null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] - 4],
    )
    assert hit
    panel.locator('a[href="/lists/"]').click()
    page.wait_for_url("**/lists/**")
    # A tap outside the open menu closes it.
    open_menu(page)
    page.mouse.click(PHONE["width"] / 2, PHONE["height"] - 20)
    assert page.locator(".gm-menu-button").get_attribute("aria-expanded") == "false"
    assert_clean(log)


def test_a_wide_screen_keeps_the_links_in_the_header(new_page, people):
    page, log = new_page(DESKTOP)
    sign_in(page, people["town_staff"])
    assert page.locator(".gm-menu-button").is_hidden()
    assert page.locator(".gm-nav").is_visible()
    assert page.locator(".gm-logout button").is_visible()
    header = page.locator(".gm-header").bounding_box()
    nav = page.locator(".gm-nav").bounding_box()
    assert nav["y"] + nav["height"] <= header["y"] + header["height"]  # in the header bar
    assert_clean(log)
