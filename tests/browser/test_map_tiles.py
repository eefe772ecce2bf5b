"""/map/ drawing grids and incidents from vector tiles (/tiles/...), on the small demo.

Prints the first-paint time of the grid and incident tiles (from navigation start). The
incident popup, built from DOM nodes, links to the case page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PHONE
from tests.browser.screens import SCREENSHOTS
from tests.browser.test_map import wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CITY_PREFIX = "4507"
MVT = "application/vnd.mapbox-vector-tile"
DESCRIPTION = "map tiles browser test"


def log_in(page: Any, user: dict[str, str], path: str) -> None:
    page.goto(path)
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/map/**")
    wait_for_map(page)


def tile_answers(page: Any) -> list[tuple[str, int, str]]:
    answers: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            "/tiles/" in r.url
            and answers.append((r.url, r.status, r.headers.get("content-type", "")))
        ),
    )
    return answers


def _a_place() -> tuple[float, float, str]:
    """A point inside a current demo grid of the city, and an active category's code."""
    from grids.models import Grid
    from incidents.models import Category

    grid = Grid.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code").first()
    assert grid is not None, "the demo has no grid"
    point = grid.geom.point_on_surface
    category = Category.objects.filter(is_active=True).order_by("code").first()
    return point.x, point.y, category.code


def report_incident(page: Any) -> tuple[int, float, float]:
    """Report an incident through the API from the page (the server's own transaction: the
    test database is shared with the server process), as the field page would."""
    lon, lat, category = _a_place()
    answer = page.evaluate(
        """args => fetch("/api/incidents/", {
            method: "POST",
            credentials: "same-origin",
            headers: {
                "Content-Type": "application/json",
                "X-CSRFToken": (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "",
            },
            body: JSON.stringify({
                type: "Feature",
                geometry: {type: "Point", coordinates: [args.lon, args.lat]},
                properties: {category: args.category, severity: "red",
                             description: args.description},
            }),
        }).then(r => r.json().then(body => ({status: r.status, body: body})))""",
        {"lon": lon, "lat": lat, "category": category, "description": DESCRIPTION},
    )
    assert answer["status"] in (200, 201), answer
    body = answer["body"]
    pk = body["id"]
    return int(pk), lon, lat


@pytest.fixture(scope="module", autouse=True)
def _purge_reported(django_db_blocker) -> Iterator[None]:
    """The incidents this module reports go afterwards, with their history and notifications:
    the committed test database is shared with the later tests (the demo's replacement, the
    inboxes, the to-do badges)."""
    yield
    from incidents.models import Incident
    from tests.incidents.case_history import purge_incidents

    with django_db_blocker.unblock():
        mine = Incident.objects.filter(description=DESCRIPTION)
        purge_incidents(mine.values_list("pk", flat=True))


def test_map_draws_grids_and_incidents_from_tiles(new_page, browser_user):
    page, log = new_page()
    answers = tile_answers(page)
    log_in(page, browser_user, "/map/?tiles=1")
    page.wait_for_selector("#gridmap[data-tiles-grids]", state="attached")
    page.wait_for_selector("#gridmap[data-tiles-incidents]", state="attached")
    times = page.evaluate("window.gridmapTimes")
    print(
        f"\nmap first paint from tiles (ms since navigation): grids {times['grids']:.0f}, "
        f"incidents {times['incidents']:.0f}"
    )
    grids = [a for a in answers if "/tiles/grids/" in a[0]]
    incidents = [a for a in answers if "/tiles/incidents/" in a[0]]
    assert any(status == 200 and ctype == MVT for _, status, ctype in grids), grids
    assert any(status in (200, 204) for _, status, _ in incidents), incidents
    assert "status=" in incidents[0][0]  # the default filter: open cases
    # No GeoJSON grid layer is loaded when the grids come as tiles.
    assert not any("/api/layers/grid/" in url for url in log.requests)
    assert not log.errors and not log.failed, (log.errors, log.failed)


def test_incident_popup_links_to_its_case(new_page, browser_user):
    page, log = new_page()
    log_in(page, browser_user, "/map/")
    pk, lon, lat = report_incident(page)
    # Every state, all time: the filter control reloads the incident tiles.
    page.select_option(".gm-incident-filters select[name=state]", "")
    page.select_option(".gm-incident-filters select[name=days]", "0")
    assert page.get_attribute("#gridmap", "data-incident-filters") == "{}"
    page.evaluate("p => window.gridmap.map.setView([p[1], p[0]], 18, {animate: false})", [lon, lat])
    page.wait_for_timeout(1500)
    point = page.evaluate(
        """p => {
            const map = window.gridmap.map;
            const c = map.latLngToContainerPoint([p[1], p[0]]);
            const r = map.getContainer().getBoundingClientRect();
            return {x: r.left + c.x, y: r.top + c.y};
        }""",
        [lon, lat],
    )
    page.mouse.click(point["x"], point["y"])
    popup = page.wait_for_selector(".gm-incident-detail")
    shown = int(popup.get_attribute("data-incident"))
    link = page.get_attribute(".gm-incident-detail a.gm-case-link", "href")
    assert link == f"/cases/{shown}/"
    # The popup fades in (Leaflet's fade animation): the screenshot waits until it is shown.
    page.wait_for_function(
        """() => { const p = document.querySelector('.leaflet-popup');
                   return p && getComputedStyle(p).opacity === '1'; }"""
    )
    page.screenshot(path=str(SCREENSHOTS / "map-incidents.png"))
    from django.contrib.gis.geos import Point

    from incidents.models import Incident

    near = Incident.objects.filter(location__dwithin=(Point(lon, lat, srid=4326), 0.0002))
    assert near.filter(pk=shown).exists() and near.filter(pk=pk).exists()
    page.click(".gm-incident-detail a.gm-case-link")
    page.wait_for_url(re.compile(rf".*/cases/{shown}/$"))
    assert not log.errors, log.errors


def test_incident_filters_fit_a_phone(new_page, browser_user):
    page, log = new_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, browser_user, "/map/")
    box = page.query_selector(".gm-incident-filters")
    assert box is not None and box.get_attribute("open") is None  # folded on a phone
    width = page.evaluate(
        "document.querySelector('.gm-incident-filters').getBoundingClientRect().width"
    )
    assert width < PHONE["width"] * 0.7
    assert not log.errors, log.errors
