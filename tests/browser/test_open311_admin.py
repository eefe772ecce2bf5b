"""Issuing an Open311 key in the admin, in headless Chromium: a city administrator adds a key
for a district's 12345 hotline, sees it once in the page's message, and a client system then
uses it (services and requests through the real server). Screenshot: open311-key.png.
"""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET

import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

DISTRICT = "450702"
NAME = "钦南区12345热线"


def test_an_administrator_issues_a_key_and_the_client_uses_it(new_page, browser_user):
    page, log = new_page(DESKTOP)
    # The browser tests share one committed database: a name of this run's own.
    name = f"{NAME}{secrets.randbelow(900) + 100}"
    page.goto("/accounts/login/?next=/admin/open311/apikey/add/")
    page.fill("input[name=username]", browser_user["username"])
    page.fill("input[name=password]", browser_user["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/admin/open311/apikey/add/")
    page.fill("input[name=name]", name)
    page.fill("input[name=scope_code]", DISTRICT)
    with page.expect_navigation():
        page.click("input[name=_save]")
    message = page.locator(".messagelist li").first
    message.wait_for()
    text = message.inner_text()
    assert name in text
    found = re.search(r"[A-Za-z0-9_\-]{24,}", text)
    assert found, text
    key = found.group(0)
    # The list shows only the key's first characters afterwards.
    assert page.locator("#result_list").inner_text().count(key) == 0
    page.screenshot(path=str(SCREENSHOTS / "open311-key.png"))

    # A client system: the categories without a key, its district's requests with it.
    services = page.request.get("/open311/v2/services.xml")
    assert services.status == 200
    codes = [e.text for e in ET.fromstring(services.body()).iter("service_code")]
    assert codes
    mine = page.request.get(f"/open311/v2/requests.json?api_key={key}")
    assert mine.status == 200, mine.text()
    assert isinstance(mine.json(), list)
    wrong = page.request.get("/open311/v2/requests.json?api_key=not-a-key")
    assert wrong.status in (401, 403)
    # (Django's admin has no favicon: Chromium's own request for one is the only 404.)
    assert [e for e in log.errors if "404" not in e] == [] and log.failed == [], log.errors
