"""The public service catalogue (办事公开) in headless Chromium: a demo village's page on a
phone (no sideways scroll, every kind's items with what to bring) and printed (every item
open, no navigation), reached from the village's notice board. Screenshots:
service-catalogue-phone.png, service-catalogue.png.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"


@pytest.fixture(scope="module")
def village(demo, django_db_blocker):
    """The demo catalogue (committed, as `make demo` loads it) and the first demo village."""
    from demo.servicedesk import load_demo_catalogue
    from grids.models import Village

    with django_db_blocker.unblock():
        load_demo_catalogue()
        return Village.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code")[0]


def test_a_resident_reads_the_villages_catalogue_on_a_phone_and_prints_it(new_page, village):
    page, log = new_page(PHONE)
    page.goto(f"/public/villages/{village.code}/")
    page.click("[data-catalogue-link]")
    page.wait_for_selector("#public-catalogue")
    root = page.locator("#public-catalogue")
    assert root.get_attribute("data-village") == village.code
    assert int(root.get_attribute("data-count")) >= 33
    assert page.locator("section[data-kind]").count() == 6
    health = page.locator("section[data-kind=health]")
    assert health.locator("article", has_text="城乡居民医保参保登记").count() == 1
    assert health.locator("[data-materials]").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.evaluate("window.scrollTo(0, document.getElementById('kind-health').offsetTop - 60)")
    page.screenshot(path=str(SCREENSHOTS / "service-catalogue-phone.png"))
    # Printed: the kinds' links go, every item stays.
    page.emulate_media(media="print")
    assert not page.locator(".sd-kinds").is_visible()
    assert page.locator("article.sd-item:visible").count() >= 33
    page.emulate_media(media="screen")
    page.set_viewport_size(DESKTOP)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "service-catalogue.png"))
    assert log.errors == [] and log.failed == [], (log.errors, log.failed)
