"""Acceptance 4 of issue 15 in headless Chromium, on the small demo: at the village service
station a village assistant takes a request for a household on a phone (390 x 844, no
sideways scroll), prints the receipt (the PDF holds the promised date and the lookup code),
hands it to the town office, gets the office's part back, completes it (done, picked up);
the resident's public status page shows each state without personal data, and the resident
rates it there. Screenshots: docs/screenshots/service-*.png.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS, pdf_screenshot
from tests.servicedesk.pdf_text import pdf_strings

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
ASSISTANT = {"username": "browser-desk-assistant", "password": "browser-pass-4507"}
APPLICANT = "黎秀英"
APPLICANT_PHONE = "13977001234"
ITEM_CODE = "browser-desk"
TAG = "[browser-desk]"


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    """The server is another process: no test transaction; the test removes what it made."""
    with django_db_blocker.unblock():
        yield


def _remove_requests() -> None:
    """The test's requests (their history is append-only: the maintenance purge), the
    notifications about them and the item."""
    from inbox.models import Notification
    from servicedesk.models import ServiceItem, ServiceRequest
    from servicedesk.services import service_requests_purge

    ids = list(ServiceRequest.objects.filter(item__code=ITEM_CODE).values_list("pk", flat=True))
    Notification.objects.filter(subject_type="service_request", subject_id__in=ids).delete()
    service_requests_purge(ids=ids)
    ServiceItem.objects.filter(code=ITEM_CODE, district=None).delete()


@pytest.fixture(scope="module")
def desk(demo, django_db_blocker) -> Iterator[dict[str, Any]]:
    """A demo village with a numbered household, a village assistant of it with a login,
    and an item promising 5 working days."""
    from psycopg.types.range import Range

    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from grids.models import Grid, Role, RoleAssignment, Worker
    from households.models import Household
    from servicedesk.models import ApprovingLevel, ServiceItem, ServiceKind

    with django_db_blocker.unblock():
        home = None
        for grid in Grid.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code"):
            home = (
                Household.objects.filter(grid=grid, code__isnull=False)
                .exclude(address="")
                .exclude(code__contains="/")
                .order_by("code")
                .first()
            )
            if home is not None:
                break
        assert home is not None, "the demo has no numbered household"
        village = home.grid.village
        worker, _ = Worker.objects.get_or_create(name="韦小芳", phone="13977009999")
        RoleAssignment.objects.get_or_create(
            worker=worker,
            role=Role.VILLAGE_ASSISTANT,
            village=village,
            defaults={"period": Range(dt.date(2024, 1, 1), None, "[)")},
        )
        account_upsert(
            username=ASSISTANT["username"],
            password=ASSISTANT["password"],
            role=AccountRole.VILLAGE_STAFF,
            codes=[village.code],
            worker=worker,
            first_name=worker.name,
        )
        item, _ = ServiceItem.objects.get_or_create(
            code=ITEM_CODE,
            district=None,
            defaults={
                "name": "城乡居民最低生活保障申请",
                "kind": ServiceKind.GOVERNMENT,
                "approving_level": ApprovingLevel.COUNTY,
                "promised_days": 5,
                "materials": "户口簿\n身份证\n家庭收入证明",
                "sort_order": 0,
            },
        )
    yield {"home": home, "village": village, "item": item, "worker": worker}
    with django_db_blocker.unblock():
        _remove_requests()


def login(new_page, viewport: dict[str, int], **options: Any) -> tuple[Any, Any]:
    page, log = new_page(viewport, timezone_id="Asia/Shanghai", **options)
    page.goto("/services/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", ASSISTANT["username"])
    page.fill("input[name=password]", ASSISTANT["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/services/**")
    return page, log


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways ({width}px)"


def act(page: Any, action: str, **fields: str) -> None:
    """Open the action's form on the request page, fill it and send it."""
    details = page.locator(f'details[data-action="{action}"]')
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    for name, value in fields.items():
        field = details.locator(f'[name="{name}"]')
        if field.first.get_attribute("type") == "radio":
            details.locator(f'[name="{name}"][value="{value}"]').check()
        elif field.first.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    details.locator("[data-submit]").click()
    page.wait_for_selector("[data-message]")


def public_state(new_page, code: str, personal: list[str], shot: str | None = None) -> str:
    """The state the resident's page shows (an anonymous phone), with no personal data."""
    page, log = new_page(PHONE, is_mobile=True, has_touch=True, timezone_id="Asia/Shanghai")
    page.goto(f"/service/{code}/")
    html = page.content()
    for secret in personal:
        assert secret not in html, secret
    no_sideways_scroll(page)
    if shot:
        page.screenshot(path=str(SCREENSHOTS / shot), full_page=True)
    state = page.get_attribute("#service-status", "data-status")
    page.context.close()
    return state


def test_a_request_is_taken_printed_handed_off_completed_and_rated(new_page, desk):
    from servicedesk.models import ServiceRequest
    from servicedesk.selectors import promised_date

    home, item = desk["home"], desk["item"]
    matter = f"申请低保，家中老人患病 {TAG} {uuid.uuid4().hex[:6]}"
    personal = [APPLICANT, APPLICANT_PHONE, home.head_name, home.address, matter, "韦小芳"]

    # --- the desk on a phone: a new request for the household ---------------------------------
    page, log = login(new_page, PHONE, is_mobile=True, has_touch=True)
    no_sideways_scroll(page)
    page.click("[data-new-request]")
    page.wait_for_selector('#service-new[data-ready="true"]', state="attached")
    page.fill("[data-household-input]", home.address[:6])
    page.click(f'[data-household-key="{home.code}"]')
    assert page.input_value("[data-household-input]") == home.code
    page.select_option("[data-item-select]", str(item.pk))
    page.wait_for_selector("[data-item-preview]:not([hidden])")
    assert "家庭收入证明" in page.inner_text("[data-materials]")
    preview = page.inner_text("[data-promise]")
    page.fill("#sd-name", APPLICANT)
    page.fill("#sd-phone", APPLICANT_PHONE)
    page.fill("#sd-matter", matter)
    no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "service-new-phone.png"), full_page=True)
    page.click("[data-submit]")
    page.wait_for_selector("#case[data-code]")
    request = ServiceRequest.objects.get(matter=matter)
    code = request.short_code
    promised = f"{promised_date(request):%Y-%m-%d}"
    assert promised in preview
    assert request.household_id == home.pk and request.first_receiver_id == desk["worker"].pk
    assert page.inner_text("[data-promised]") == promised
    no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "service-request-phone.png"), full_page=True)

    # --- the receipt: the PDF holds the promised date and the lookup code ---------------------
    href = page.get_attribute("[data-receipt]", "href")
    answer = page.context.request.get(href)
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    strings = pdf_strings(answer.body())
    assert promised in strings and code in strings
    assert any(s.endswith(f"/service/{code}/") for s in strings)
    drawn = pdf_screenshot(answer.body(), "service-receipt.png")
    assert drawn.read_bytes().startswith(b"\x89PNG")
    assert public_state(new_page, code, personal) == "acknowledged"

    # --- handled: started, handed to the town office, back, done, picked up ------------------
    act(page, "start")
    act(page, "hand_off", office="镇民政办", level="town", working_days="3")
    page.wait_for_selector('[data-steps] [data-step="1"]')
    assert public_state(new_page, code, personal, "service-status-phone.png") == "in_progress"
    act(page, "step_back", step="1")
    act(page, "resolve", note="已报县民政局审批通过，低保金按月发放")
    assert public_state(new_page, code, personal + ["审批通过"]) == "resolved"
    act(page, "close_out", how="pickup")
    assert public_state(new_page, code, personal) == "closed"
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / "service-request.png"), full_page=True)
    assert log.errors == [], log.errors

    # --- the resident rates it on the public page ---------------------------------------------
    resident, resident_log = new_page(PHONE, is_mobile=True, has_touch=True)
    resident.goto("/service/")
    resident.fill("#sd-code", code.lower())
    resident.click(".sd-lookup button[type=submit]")
    resident.wait_for_selector("[data-rate-form]")
    resident.click('label[for="sd-rating-5"]')
    resident.fill("#sd-note", "办事很快，谢谢")
    resident.click("[data-rate-form] button[type=submit]")
    resident.wait_for_selector("[data-rating]")
    assert resident.get_attribute("[data-rating]", "data-rating") == "5"
    assert resident.locator("[data-rate-form]").count() == 0
    request.refresh_from_db()
    assert request.satisfaction == 5
    assert resident_log.errors == [], resident_log.errors

    # --- the desk lists it, done and rated ----------------------------------------------------
    page.set_viewport_size(PHONE)
    page.goto("/services/")
    assert page.locator(f'[data-request="{request.pk}"][data-status="closed"]').count() == 1
    no_sideways_scroll(page)
    page.screenshot(path=str(SCREENSHOTS / "service-desk-phone.png"), full_page=True)
