"""Issue 15's lists in headless Chromium, on the small demo with a few requests of a demo
village taken by its village assistant (the fixture): the city administrator switches
``/lists/`` to service requests (代办事项) and through its three lists, on a desk and on a
phone (no sideways scroll: the table scrolls in its own box); and exports the desk's list
(``/services/``) as CSV, which holds exactly what the filter shows. Screenshots:
service-lists.png, service-lists-phone.png (only where ``tests/browser/screens.py`` says).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS
from tests.browser.test_case_loop import log_in_at
from tests.browser.test_service_desk import committed, no_sideways_scroll

# The server is another process: no test transaction (the fixtures remove what they made).
__all__ = ["committed"]

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
ITEM_CODE = "browser-lists"
ASSISTANT = "browser-lists-assistant"


def _remove() -> None:
    from inbox.models import Notification
    from servicedesk.models import ServiceItem, ServiceRequest
    from servicedesk.services import service_requests_purge

    ids = list(ServiceRequest.objects.filter(item__code=ITEM_CODE).values_list("pk", flat=True))
    Notification.objects.filter(subject_type="service_request", subject_id__in=ids).delete()
    service_requests_purge(ids=ids)
    ServiceItem.objects.filter(code=ITEM_CODE, district=None).delete()


@pytest.fixture(scope="module")
def requests(demo, django_db_blocker) -> Iterator[dict[str, Any]]:
    """Requests of a demo village taken by its village assistant: two received, one in
    progress, two delivered, one returned as not eligible."""
    import datetime as dt

    from django.utils import timezone
    from psycopg.types.range import Range

    from grids.models import Role, RoleAssignment, Village, Worker
    from servicedesk.models import ApprovingLevel, ServiceItem, ServiceKind
    from servicedesk.services import service_request_act, service_request_create
    from tests.factories import UserFactory

    with django_db_blocker.unblock():
        village = Village.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code")[0]
        user = UserFactory(username=ASSISTANT)
        # Kept between runs (a reused test database): found again, not made twice.
        worker, _ = Worker.objects.get_or_create(
            user=user, defaults={"name": "覃丽梅", "phone": "13977008888"}
        )
        RoleAssignment.objects.get_or_create(
            worker=worker, role=Role.VILLAGE_ASSISTANT, village=village,
            defaults={"period": Range(dt.date(2024, 1, 1), None, "[)")},
        )  # fmt: skip
        _remove()
        item = ServiceItem.objects.create(
            code=ITEM_CODE, name="老年人优待证办理", kind=ServiceKind.GOVERNMENT,
            approving_level=ApprovingLevel.VILLAGE, promised_days=3,
        )  # fmt: skip
        at = timezone.now() - dt.timedelta(days=2)
        made = []
        for n, actions in enumerate(
            [[], [], ["start"], ["resolve", "close_out"], ["resolve", "close_out"], ["decline"]]
        ):
            request = service_request_create(
                actor=user, item=item, village=village, applicant_name=f"韦秀{n}",
                at=at + dt.timedelta(minutes=n),
            )  # fmt: skip
            for step, action in enumerate(actions, start=1):
                request.refresh_from_db()
                data = {"how": "pickup"} if action == "close_out" else {}
                request = service_request_act(
                    actor=user, request_id=request.pk, action=action, version=request.version,
                    note="办结" if action != "decline" else "不符合条件", data=data,
                    at=at + dt.timedelta(minutes=n, hours=step),
                )  # fmt: skip
            made.append(request)
    yield {"village": village, "item": item, "requests": made}
    with django_db_blocker.unblock():
        _remove()


def test_the_lists_switch_to_service_requests(new_page, browser_user, requests):
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


def test_the_desk_exports_what_its_filter_shows(new_page, browser_user, requests):
    page, log = new_page(DESKTOP, timezone_id="Asia/Shanghai")
    path = f"/services/?status=closed&item={requests['item'].pk}"
    log_in_at(page, path, browser_user, ready="#service-desk")
    shown = [int(pk) for pk in page.locator("[data-request]").evaluate_all(
        "items => items.map(item => item.dataset.request)"
    )]  # fmt: skip
    total = int(page.get_attribute("#service-desk", "data-total"))
    assert shown and total >= len(shown)
    with page.expect_download() as download:
        page.click('[data-export="csv"]')
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "序号"
    ids = [int(row[0]) for row in rows[1:]]
    assert len(ids) == total == 2 and ids == shown
    statuses = {row[rows[0].index("状态")] for row in rows[1:]}
    assert statuses == {"已领取或已送达"}, statuses
    assert log.errors == [], log.errors
