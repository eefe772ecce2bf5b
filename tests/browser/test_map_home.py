"""A grid worker's map opens on their grid (issue 12, item 10).

Before, /map/ always fitted the districts in view, and a grid worker sees their district's
outline (boundary scope), so their map opened on the whole district with their grid a speck
in it. The map page now gets the extent of the user's own places (``map_config.home``,
``grids.selectors.home_extent``) and opens there; the "show my whole jurisdiction" button
returns to it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE
from tests.browser.test_map import wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

GRID_WORKER = {"username": "browser-home-grid", "password": "browser-pass-home-grid"}
VIEW = """() => { const m = window.gridmap.map, b = m.getBounds(), c = b.getCenter();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth(), c.lng, c.lat]; }"""


@pytest.fixture(scope="module")
def grid(demo, django_db_blocker) -> Any:
    """A grid worker of the last demo grid."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from grids.models import Grid

    with django_db_blocker.unblock():
        grid = Grid.objects.current().filter(code__startswith="4507").order_by("-code")[0]
        account_upsert(
            username=GRID_WORKER["username"],
            password=GRID_WORKER["password"],
            role=AccountRole.GRID_WORKER,
            codes=[grid.code],
            first_name="黎志强",
        )
        return grid


def test_a_grid_workers_map_opens_on_their_grid(new_page, grid):
    page, log = new_page(PHONE, is_mobile=True, has_touch=True)
    page.goto("/accounts/login/?next=/map/")
    page.fill("input[name=username]", GRID_WORKER["username"])
    page.fill("input[name=password]", GRID_WORKER["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/map/")
    wait_for_map(page)
    west, south, east, north, lon, lat = page.evaluate(VIEW)
    gw, gs, ge, gn = grid.geom.extent
    assert west <= gw and south <= gs and east >= ge and north >= gn  # the whole grid shows
    assert grid.geom.buffer(0.002).contains(_point(lon, lat))  # centred on it
    dw, ds, de, dn = grid.village.town.district.geom.extent
    assert not (west <= dw and south <= ds and east >= de and north >= dn)  # not the district
    # Away and back with "show my whole jurisdiction".
    page.evaluate("() => window.gridmap.map.setView([21.5, 108.3], 9, {animate: false})")
    page.click(".gm-fit a")
    page.wait_for_timeout(400)
    assert page.evaluate(VIEW)[:4] == pytest.approx([west, south, east, north], abs=1e-3)
    assert log.errors == []


def _point(lon: float, lat: float) -> Any:
    from django.contrib.gis.geos import Point

    return Point(lon, lat, srid=4326)
