"""The presence report, a duty roster and the public week of duty in headless Chromium, over
six weeks of the presence demo (demo.presence, loaded for this module and removed after it).

A town's staff member opens /presence/ for the town and last month: one line per worker, the
shortfalls of the seeds' rules in red, a worker's days unfolded, on a desktop and on a phone;
the village's roster on /duty/; and the village's public page shows this week's roles on
duty without a name. Screenshots: presence-report.png, presence-report-phone.png, duty.png,
public-duty.png.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
LOGIN = {"username": "browser-presence-town", "password": "browser-pass-4507"}


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="module")
def presence_demo(demo, django_db_blocker) -> Any:
    """Six weeks of the presence demo and a town staff login on the first demo town."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from demo.presence import delete_demo_presence, load_demo_presence
    from grids.models import Role, RoleAssignment, Town, Village, Worker

    with django_db_blocker.unblock():
        hired_before = set(
            RoleAssignment.objects.filter(role=Role.VILLAGE_ASSISTANT).values_list("pk", flat=True)
        )
        load_demo_presence(days=45)
        town = Town.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code")[0]
        village = Village.objects.current().filter(town=town).order_by("code")[0]
        account_upsert(
            username=LOGIN["username"], password=LOGIN["password"],
            role=AccountRole.TOWN_STAFF, codes=[town.code], first_name="镇干部",
        )  # fmt: skip
    yield {"town": town, "village": village}
    with django_db_blocker.unblock():
        delete_demo_presence()
        hired = RoleAssignment.objects.filter(role=Role.VILLAGE_ASSISTANT).exclude(
            pk__in=hired_before
        )
        workers = list(hired.values_list("worker_id", flat=True))
        hired.delete()
        Worker.objects.filter(pk__in=workers, assignments__isnull=True).delete()


def _sign_in(new_page: Any, viewport: dict[str, int], path: str) -> tuple[Any, Any]:
    page, log = new_page(viewport, timezone_id="Asia/Shanghai")
    page.goto(path)
    page.fill("input[name=username]", LOGIN["username"])
    page.fill("input[name=password]", LOGIN["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_load_state()
    return page, log


def _last_month() -> str:
    first = timezone.localdate().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def test_the_presence_report_flags_shortfalls(new_page, presence_demo):
    town, month = presence_demo["town"], _last_month()
    page, log = _sign_in(new_page, DESKTOP, f"/presence/?area={town.code}&month={month}")
    root = page.locator("#presence-report")
    assert root.get_attribute("data-area") == town.code
    rows = page.locator("table[data-table=presence] tbody tr.pr-flagged")
    assert int(root.get_attribute("data-flagged")) >= 1 and rows.count() >= 1
    assert page.locator(".pr-short").count() >= 1
    details = page.locator("details").first
    if details.count():
        details.locator("summary").click()
    page.screenshot(path=str(SCREENSHOTS / "presence-report.png"), full_page=False)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / "presence-report-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert log.errors == [], log.errors


def test_the_duty_roster_and_the_public_week(new_page, presence_demo):
    village, month = presence_demo["village"], _last_month()
    page, log = _sign_in(new_page, DESKTOP, f"/duty/?place={village.code}&month={month}")
    assert page.get_attribute("#duty-roster", "data-place") == village.code
    assert page.locator("[data-shift]").count() >= 10
    page.screenshot(path=str(SCREENSHOTS / "duty.png"), full_page=False)

    page.goto(f"/public/villages/{village.code}/")
    text = page.inner_text("body")
    assert "本周值班" in text or "on duty this week" in text.lower()
    from presence.models import DutyShift

    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    names = set(
        DutyShift.objects.filter(village=village, date__gte=monday).values_list(
            "worker__name", flat=True
        )
    )
    assert names and not any(name in text for name in names)  # roles, never names
    page.screenshot(path=str(SCREENSHOTS / "public-duty.png"), full_page=True)
    assert log.errors == [], log.errors
