"""/map/ in headless Chromium, on the small Qinzhou demo, with nothing leaving the machine.

Each test logs in through the login form, waits until the map has drawn every layer
(``#gridmap[data-loaded="true"]``, set by map.js), and checks what a grid worker sees.
Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db.models import Q

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CITY_PREFIX = "4507"
LOADED = '#gridmap[data-loaded="true"]'


# --- what the database says the page must show -------------------------------------------
def _sample_grid() -> dict[str, Any]:
    """A current demo grid with households and an active grid leader, and its figures."""
    from grids.models import Grid, Role
    from grids.selectors import active_roles_prefetch, with_household_figures

    led = Grid.objects.current().filter(
        code__startswith=CITY_PREFIX, pk__in=_active(Role.GRID_LEADER).values("grid")
    )
    grid = (
        with_household_figures(led)
        .filter(household_count__gt=0)
        .select_related("village")
        .prefetch_related(active_roles_prefetch())
        .order_by("code")
        .first()
    )
    assert grid is not None, "the demo has no grid with households and a grid leader"
    leader = next(a for a in grid.active_roles if a.role == Role.GRID_LEADER)
    return {
        "code": grid.code,
        "name": grid.name,
        "leader": leader.worker.name,
        "leader_phone": leader.worker.phone,
        "village": grid.village.name,
        "village_extent": grid.village.geom.extent,
    }


def _household_count(code: str) -> int:
    """Read when the popup is on screen: other test sessions may share this database."""
    from grids.models import Grid
    from grids.selectors import with_household_figures

    return with_household_figures(Grid.objects.current().filter(code=code)).get().household_count


def _active(role: str):
    from grids.models import RoleAssignment

    return RoleAssignment.objects.active().filter(role=role)


def _expected_counts() -> dict[str, int]:
    from grids.models import District, Grid, Station, Town, Village

    inside = Q(code__startswith=CITY_PREFIX)
    return {
        "district": District.objects.current().filter(inside).count(),
        "town": Town.objects.current().filter(inside).count(),
        "village": Village.objects.current().filter(inside).count(),
        "grid": Grid.objects.current().filter(inside).count(),
        "station": Station.objects.filter(town__code__startswith=CITY_PREFIX).count(),
    }


# --- driving the page --------------------------------------------------------------------
def log_in(page: Any, user: dict[str, str]) -> None:
    page.goto("/map/")
    assert "/accounts/login/" in page.url  # anonymous: sent to the login page first
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/map/")
    wait_for_map(page)


def wait_for_map(page: Any) -> None:
    page.wait_for_selector(LOADED, state="attached")
    assert page.get_attribute("#gridmap", "data-errors") == "0", page.inner_text(".gm-notices")
    page.wait_for_timeout(300)  # let Leaflet finish placing labels before screenshots


def fit_to(page: Any, extent: tuple[float, float, float, float]) -> None:
    """Show an extent (minlon, minlat, maxlon, maxlat), as a user zooming in would."""
    xmin, ymin, xmax, ymax = extent
    page.evaluate(
        "b => window.gridmap.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {animate: false})",
        [xmin, ymin, xmax, ymax],
    )
    page.wait_for_timeout(200)


def click_grid(page: Any, code: str) -> None:
    """Click a pixel of the grid's polygon that is not covered by anything else."""
    point = page.evaluate(
        """code => {
            const path = document.querySelector(`path[data-grid-code="${code}"]`);
            if (!path) return null;
            const r = path.getBoundingClientRect();
            const n = 15, candidates = [];
            for (let i = 1; i < n; i++) for (let j = 1; j < n; j++) {
                candidates.push([r.left + r.width * i / n, r.top + r.height * j / n]);
            }
            const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
            const away = p => Math.hypot(p[0] - cx, p[1] - cy);
            candidates.sort((a, b) => away(a) - away(b));
            for (const [x, y] of candidates) {
                if (document.elementFromPoint(x, y) === path) return {x, y};
            }
            return null;
        }""",
        code,
    )
    assert point, f"grid {code} has no clickable pixel on screen"
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(f'.gm-grid-detail[data-grid-code="{code}"]')
    page.wait_for_timeout(400)  # the popup pans the map into view


def assert_stayed_on_this_machine(log: Any) -> None:
    assert log.requests, "no request was recorded"
    elsewhere = [
        url
        for url in log.requests
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert elsewhere == []


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# --- tests -------------------------------------------------------------------------------
def test_map_draws_the_demo_and_shows_a_grid_in_chinese_then_english(new_page, browser_user):
    grid = _sample_grid()
    counts = _expected_counts()
    page, log = new_page(DESKTOP)
    log_in(page, browser_user)

    # Chinese by default; the header names the user and offers both languages.
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert browser_user["name"] in page.inner_text(".gm-header")
    assert page.get_attribute('button[data-language="zh-hans"]', "aria-pressed") == "true"

    # Every layer of the jurisdiction arrived and was drawn.
    for level, expected in counts.items():
        attribute = "data-count-" + level
        assert page.get_attribute("#gridmap", attribute) == str(expected), level
    assert counts["grid"] > 0
    assert page.locator("path[data-grid-code]").count() == counts["grid"]
    # Six place layers, the incidents and their heat map (issue 16).
    assert page.locator(".leaflet-control-layers-overlays input").count() == 8
    assert page.locator(".gm-legend li").count() == 11
    # Buildings wait for zoom 15: the page says so.
    assert page.locator('[data-notice="buildings"]').is_visible()
    page.screenshot(path=str(SCREENSHOTS / "map.png"))

    # A click on a grid shows its code, households, village and one-leader-two-members.
    fit_to(page, grid["village_extent"])
    click_grid(page, grid["code"])
    popup = page.locator(".gm-grid-detail")
    assert grid["code"] in popup.inner_text()
    assert grid["name"] in popup.inner_text()
    assert grid["village"] in popup.inner_text()
    shown = popup.locator('[data-figure="households"] .gm-figure-value').inner_text()
    assert digits(shown) == str(_household_count(grid["code"]))
    assert grid["leader"] in popup.inner_text()
    if grid["leader_phone"]:
        assert popup.locator('a[href^="tel:"]').first.get_attribute("href") == "tel:" + re.sub(
            r"[^\d+]", "", grid["leader_phone"]
        )
    # Place names stay on the map while a popup is open.
    assert page.locator(".gm-label-village").count() == counts["village"]
    page.screenshot(path=str(SCREENSHOTS / "map-grid-popup.png"))

    # Switching to English reloads the page in English: header, layers, legend, popup.
    page.click('button[data-language="en"]')
    page.wait_for_url("**/map/")
    wait_for_map(page)
    assert page.get_attribute("html", "lang") == "en"
    assert "Log out" in page.inner_text(".gm-header")
    overlays = page.inner_text(".leaflet-control-layers-overlays")
    for label in ("Districts", "Grids", "Party-building stations", "Buildings"):
        assert label in overlays
    assert page.inner_text(".gm-legend summary") == "Legend"
    assert page.inner_text('[data-notice="buildings"]') == "Zoom in to see buildings"
    fit_to(page, grid["village_extent"])
    click_grid(page, grid["code"])
    text = page.inner_text(".gm-grid-detail")
    for label in ("Households", "Population", "Grid leader", "Party-building guide"):
        assert label in text
    assert grid["leader"] in text

    assert_stayed_on_this_machine(log)
    assert log.failed == []
    assert log.errors == []


def test_buildings_load_by_bbox_once_zoomed_in(new_page, browser_user):
    from grids.models import Building

    building = Building.objects.filter(grid__code__startswith=CITY_PREFIX).order_by("id").first()
    if building is None:
        pytest.fail("the demo has no buildings in 4507")
    page, log = new_page(DESKTOP)
    log_in(page, browser_user)
    assert page.locator(".leaflet-gm-buildings-pane path").count() == 0

    centre = building.footprint.centroid
    with page.expect_response(lambda r: "/api/layers/building/?bbox=" in r.url) as answer:
        page.evaluate(
            "c => window.gridmap.map.setView([c[1], c[0]], 17, {animate: false})",
            [centre.x, centre.y],
        )
    assert answer.value.status == 200
    page.wait_for_selector(".leaflet-gm-buildings-pane path")
    assert page.locator('[data-notice="buildings"]').count() == 0

    # Zooming back out clears them and brings the hint back.
    page.evaluate("() => window.gridmap.map.setZoom(12, {animate: false})")
    page.wait_for_selector('[data-notice="buildings"]')
    assert page.locator(".leaflet-gm-buildings-pane path").count() == 0

    assert_stayed_on_this_machine(log)
    assert log.failed == []
    assert log.errors == []


def test_map_fits_a_phone(new_page, browser_user):
    page, log = new_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    log_in(page, browser_user)

    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    menu = page.locator(".gm-menu-button").bounding_box()  # the way to every other page
    assert menu and menu["x"] + menu["width"] <= PHONE["width"]
    assert page.locator(".gm-logout button").is_hidden()
    page.click(".gm-menu-button")
    logout = page.locator(".gm-logout button").bounding_box()
    assert logout and logout["x"] + logout["width"] <= PHONE["width"]
    page.keyboard.press("Escape")
    # The layers control and the legend start folded away, leaving the map to the map.
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    assert page.locator(".gm-legend[open]").count() == 0
    assert page.locator("path[data-grid-code]").count() > 0
    page.screenshot(path=str(SCREENSHOTS / "map-phone.png"))

    assert_stayed_on_this_machine(log)
    assert log.failed == []
    assert log.errors == []


def test_the_map_opens_on_the_grid_named_in_its_address(new_page, browser_user):
    """/map/?grid=CODE (the coverage page links a grid missing a role there): the map fits
    that grid and opens its popup."""
    grid = _sample_grid()
    page, log = new_page(DESKTOP)
    log_in(page, browser_user)
    page.goto(f"/map/?grid={grid['code']}")
    wait_for_map(page)
    popup = page.locator(f'.gm-grid-detail[data-grid-code="{grid["code"]}"]')
    popup.wait_for()
    assert grid["name"] in popup.inner_text()
    centred = page.evaluate(
        """code => {
            let found = null;
            window.gridmap.layers.grids.eachLayer(l => {
                if (l.feature.properties.code === code) found = l;
            });
            const view = window.gridmap.map.getBounds();
            return view.contains(found.getBounds()) && window.gridmap.map.getZoom() >= 14;
        }""",
        grid["code"],
    )
    assert centred
    assert log.errors == []
