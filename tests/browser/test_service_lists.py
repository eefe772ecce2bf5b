"""Issue 15's lists in headless Chromium, on the small demo (its six months of service
requests): the city administrator switches ``/lists/`` to service requests (代办事项) and
through its three lists, on a desk and on a phone (no sideways scroll: the table scrolls in
its own box); and exports the desk's list (``/services/``) as CSV, which holds exactly what
the filter shows. Screenshots: service-lists.png, service-lists-phone.png (only where
``tests/browser/screens.py`` says).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]


def log_in_at(page: Any, path: str, login: dict[str, str], ready: str) -> None:
    page.goto(path)
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_selector(ready, state="attached")


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width}px)"


def test_the_lists_switch_to_service_requests(new_page, browser_user):
    page, log = new_page(DESKTOP, timezone_id="Asia/Shanghai")
    log_in_at(page, "/lists/", browser_user, ready='#lists[data-case="incident"]')
    page.click('[data-case-tab="service"]')
    page.wait_for_selector('#lists[data-case="service"][data-list="problems"]')
    assert page.inner_text('[data-tab="problems"]') == "代办事项清单"
    assert page.locator("tr[data-request-id]").count() > 0
    assert page.locator('[data-figure="completion_rate"]').count() == 1
    # The close-out list: every row ended, its last step named.
    page.click('[data-tab="closeout"]')
    page.wait_for_selector('#lists[data-case="service"][data-list="closeout"]')
    rows = page.locator("tr[data-request-id]")
    assert rows.count() > 0
    ended = {"已办结", "已领取或已送达", "已退回（不符合条件）", "已撤回"}
    states = {s.strip() for s in page.locator('td[data-column="status"]').all_inner_texts()}
    assert states and states <= ended, states
    # A filter keeps the service requests (the hidden case field of the form).
    page.select_option("#ls-service-kind", "government")
    page.click('[data-filters] button[type="submit"]')
    page.wait_for_selector('#lists[data-case="service"][data-list="closeout"]')
    assert "service_kind=government" in page.url and "case=service" in page.url
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / "service-lists.png"), full_page=True)
    # Back to incidents: the incident rows again.
    page.click('[data-case-tab="incident"]')
    page.wait_for_selector('#lists[data-case="incident"]')
    assert page.locator("tr[data-request-id]").count() == 0
    assert log.errors == [], log.errors
    assert log.failed == [], log.failed

    phone, phone_log = new_page(PHONE, is_mobile=True, has_touch=True, timezone_id="Asia/Shanghai")
    log_in_at(
        phone,
        "/lists/?case=service&list=responsibility",
        browser_user,
        ready='#lists[data-case="service"][data-list="responsibility"]',
    )
    no_sideways_scroll(phone)
    phone.screenshot(path=str(SCREENSHOTS / "service-lists-phone.png"), full_page=True)
    assert phone_log.errors == [], phone_log.errors


def test_the_desk_exports_what_its_filter_shows(new_page, browser_user):
    page, log = new_page(DESKTOP, timezone_id="Asia/Shanghai")
    log_in_at(page, "/services/?status=closed", browser_user, ready="#service-desk")
    shown = [int(pk) for pk in page.locator("[data-request]").evaluate_all(
        "items => items.map(item => item.dataset.request)"
    )]  # fmt: skip
    total = int(page.get_attribute("#service-desk", "data-total"))
    assert shown and total >= len(shown)
    with page.expect_download() as download:
        page.click('[data-export="csv"]')
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "序号"
    ids = [int(row[0]) for row in rows[1:]]
    assert len(ids) == total and ids[: len(shown)] == shown
    statuses = {row[rows[0].index("状态")] for row in rows[1:]}
    assert statuses == {"已领取或已送达"}, statuses
    assert log.errors == [], log.errors
