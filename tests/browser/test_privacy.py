"""The personal-data access log in headless Chromium (issue 11, item 4).

A village's staff member reads the households of their village (phones shown unmasked: they
visit them), which writes one row to the log; the city administrator then opens
/privacy/access-log/ from the navigation, finds that row by the staff member's login, and
downloads the filtered log. Screenshots (desktop and phone) go to the README.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

STAFF = {"username": "browser-village-staff", "password": "browser-pass-village-1"}


@pytest.fixture
def village_staff(demo, django_db_blocker) -> dict[str, Any]:
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from grids.models import Village

    with django_db_blocker.unblock():
        village = Village.objects.current().filter(code__startswith="4507").order_by("code")[0]
        account_upsert(
            username=STAFF["username"],
            password=STAFF["password"],
            role=AccountRole.VILLAGE_STAFF,
            codes=[village.code],
            first_name="李秀英",
        )
    return {**STAFF, "village": village.code}


def sign_in(page: Any, user: dict[str, str]) -> None:
    page.goto("/accounts/login/?next=/lists/")
    page.fill("input[name=username]", user["username"])
    page.fill("input[name=password]", user["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/lists/**")


def test_a_district_reads_who_saw_residents_numbers(new_page, village_staff, browser_user):
    staff, staff_log = new_page()
    sign_in(staff, village_staff)
    answer = staff.request.get("/api/households/?page_size=5")
    assert answer.ok
    phones = [f["properties"]["phone"] for f in answer.json()["features"]]
    assert phones and all("*" not in p for p in phones if p)  # they visit: unmasked
    assert answer.headers["cache-control"].startswith("no-store")
    assert_clean(staff_log)

    admin, log = new_page()
    sign_in(admin, browser_user)
    admin.click("a[href='/privacy/access-log/']")
    admin.wait_for_url("**/privacy/access-log/")
    admin.fill("input[name=login]", village_staff["username"])
    admin.click("#access-log-filter button[type=submit]")
    admin.wait_for_url("**login=browser-village-staff**")
    row = admin.locator("#access-log tbody tr").first
    assert village_staff["username"] in row.inner_text()
    assert "/api/households/" in row.inner_text()
    assert "住户" in row.inner_text() and "household:" not in row.inner_text()
    admin.screenshot(path=str(SCREENSHOTS / "privacy-access-log.png"), full_page=True)

    with admin.expect_download() as download:
        admin.click("text=下载 CSV")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert {r[1] for r in rows[1:]} == {village_staff["username"]}
    assert_clean(log)

    phone, phone_log = new_page(PHONE)
    sign_in(phone, browser_user)
    phone.goto(f"/privacy/access-log/?login={village_staff['username']}")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    phone.screenshot(path=str(SCREENSHOTS / "privacy-access-log-phone.png"))
    assert_clean(phone_log)


def assert_clean(log: Any) -> None:
    assert not log.errors, log.errors
    assert not log.failed, log.failed
