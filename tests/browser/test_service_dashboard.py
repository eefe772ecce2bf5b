"""The dashboard's proxy service section (代办服务) in headless Chromium, over two months of the
demo's service requests (demo.service_requests, loaded for this module and removed after it):
a town's staff member sees the town's completion figures, its villages ranked where they have
enough requests and the items. Screenshot: dashboard-service.png.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
LOGIN = {"username": "browser-service-town", "password": "browser-pass-4507"}


@pytest.fixture(scope="module")
def service_demo(demo, django_db_blocker) -> Any:
    """The demo catalogue, two months of requests and a town staff login on the town with the
    most requests."""
    from django.db.models import Count

    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from demo.service_requests import delete_demo_service_requests, load_demo_service_requests
    from demo.servicedesk import load_demo_catalogue
    from grids.models import Town
    from servicedesk.models import ServiceRequest

    with django_db_blocker.unblock():
        load_demo_catalogue()
        load_demo_service_requests(months=2)
        busiest = (
            ServiceRequest.objects.values("town").annotate(n=Count("id")).order_by("-n").first()
        )
        town = Town.objects.get(pk=busiest["town"])
        account_upsert(
            username=LOGIN["username"], password=LOGIN["password"],
            role=AccountRole.TOWN_STAFF, codes=[town.code], first_name="镇干部",
        )  # fmt: skip
    yield {"town": town}
    with django_db_blocker.unblock():
        delete_demo_service_requests()


def test_a_town_sees_its_proxy_service_figures(new_page, service_demo):
    town = service_demo["town"]
    page, log = new_page(DESKTOP, timezone_id="Asia/Shanghai")
    page.goto(f"/dashboard/?level=town&code={town.code}")
    page.fill("input[name=username]", LOGIN["username"])
    page.fill("input[name=password]", LOGIN["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_selector("#db-service")
    section = page.locator("#db-service")
    received = section.locator("[data-service-figure=received] .db-card-value").inner_text()
    assert int(received.replace(",", "")) > 0
    assert "%" in section.locator("[data-service-figure=completion_rate]").inner_text()
    villages = section.locator("[data-service-by=village]")
    assert villages.locator("tr[data-key], li[data-key]").count() >= 1
    assert section.locator("[data-service-by=item] tr[data-key], "
                           "[data-service-by=item] li[data-key]").count() >= 5  # fmt: skip
    page.evaluate("document.getElementById('db-service').scrollIntoView({block: 'start'})")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-service.png"))
    assert log.errors == [], log.errors
