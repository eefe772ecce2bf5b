"""/field/visit/ in headless Chromium at phone size (390 x 844), against the real API on the
small demo: a grid leader finds a household of their grid by its address, logs a visit with
notes, a photo and a request, and sees it saved; then, with the network cut, a visit waits on
the phone (IndexedDB) and is sent once when the network returns, with the time it was made.
The diary then shows both visits. Screenshots go to docs/screenshots/visit-*.png.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.conftest import PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
LEADER = {"username": "browser-visit-leader", "password": "browser-pass-4507"}
READY = '#visit[data-ready="true"]'


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    """The server is another process: no test transaction; the test removes what it made."""
    with django_db_blocker.unblock():
        yield


def _demo_grid() -> dict[str, Any]:
    """The first current demo grid with an active grid leader and two households with a
    number and an address."""
    from grids.models import Grid, Role, RoleAssignment
    from households.models import Household

    active = RoleAssignment.objects.active().select_related("worker")
    for grid in Grid.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code"):
        leader = active.filter(grid=grid, role=Role.GRID_LEADER).first()
        homes = list(
            Household.objects.filter(grid=grid, code__isnull=False)
            .exclude(address="")
            .order_by("code")[:2]
        )
        if leader is None or len(homes) < 2:
            continue
        return {"code": grid.code, "leader": leader.worker, "homes": homes}
    raise AssertionError("the demo has no grid with a leader and two numbered households")


def _remove_visits(worker_id: int) -> None:
    from presence.models import Visit

    Visit.objects.filter(worker_id=worker_id, notes__contains="[browser-visit]").delete()


@pytest.fixture(scope="module")
def visit_people(demo, django_db_blocker) -> Any:
    from accounts.models import AccountRole
    from accounts.services import account_upsert

    with django_db_blocker.unblock():
        grid = _demo_grid()
        account_upsert(
            username=LEADER["username"],
            password=LEADER["password"],
            role=AccountRole.GRID_WORKER,
            codes=[grid["code"]],
            worker=grid["leader"],
            first_name=grid["leader"].name,
        )
        _remove_visits(grid["leader"].pk)
    yield grid
    with django_db_blocker.unblock():
        _remove_visits(grid["leader"].pk)


def _visits(notes: str) -> list[Any]:
    from presence.models import Visit

    return list(Visit.objects.filter(notes=notes).prefetch_related("visithousehold_set", "photos"))


def _photo(tmp_path) -> str:
    from PIL import Image

    path = tmp_path / "visit.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def open_form(new_page, query: str = "") -> tuple[Any, Any]:
    page, log = new_page(
        PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
        timezone_id="Asia/Shanghai",
    )
    page.goto("/field/visit/" + query)
    assert "/accounts/login/" in page.url  # anonymous: sent to the login page first
    page.fill("input[name=username]", LEADER["username"])
    page.fill("input[name=password]", LEADER["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/field/visit/**")
    page.wait_for_selector(READY, state="attached")
    return page, log


def test_a_grid_leader_logs_a_visit_with_a_photo_online_then_offline(
    new_page, visit_people, tmp_path
):
    grid = visit_people
    home, other = grid["homes"]
    token = uuid.uuid4().hex[:8]
    online_notes = f"老人身体硬朗，孙子在镇上读书 [browser-visit] {token}-1"
    offline_notes = f"家中漏雨，已记录 [browser-visit] {token}-2"

    # --- online: find the household by its address, log the visit with a photo ----------
    page, log = open_form(new_page)
    page.fill("#vf-search", home.address)
    page.click(f'[data-results] li[data-result="{home.pk}"]')
    page.wait_for_selector(f'[data-chosen] li[data-household="{home.pk}"]')
    page.fill("#vf-notes", online_notes)
    page.set_input_files('input[name="photos"]', _photo(tmp_path))
    page.wait_for_selector(".vf-photo img")
    page.click('[data-action="add-request"]')
    page.fill("[data-requests] li textarea", "希望村里修一下门前的路")
    page.fill("#vf-follow-up", "下周回访")
    page.screenshot(path=str(SCREENSHOTS / "visit-form.png"), full_page=True)
    with page.expect_response(
        lambda r: r.url.endswith("/api/visits/") and r.request.method == "POST"
    ) as answer:
        page.click(".vf-submit")
    assert answer.value.status == 201
    page.wait_for_selector('[data-panel="result"]:not([hidden])')
    [visit] = _visits(online_notes)
    assert [vh.household_id for vh in visit.visithousehold_set.all()] == [home.pk]
    assert len(visit.photos.all()) == 1
    assert visit.place_code == grid["code"]
    assert visit.requests.get().text == "希望村里修一下门前的路"
    assert page.get_attribute("#visit", "data-pending") == "0"
    assert log.errors == [], log.errors

    # --- offline: the visit waits on the phone, with the time it was made -----------------
    page, log = open_form(new_page, f"?household={other.code}")
    page.wait_for_selector(f'[data-chosen] li[data-household="{other.pk}"]')
    context = page.context
    context.set_offline(True)
    page.wait_for_selector('#visit[data-online="false"]', state="attached")
    page.fill("#vf-notes", offline_notes)
    page.set_input_files('input[name="photos"]', _photo(tmp_path))
    page.wait_for_selector(".vf-photo img")
    made = timezone.now()
    page.click(".vf-submit")
    page.wait_for_selector('#visit[data-pending="1"]', state="attached")
    assert page.locator("[data-queue-list] li").count() == 1
    assert _visits(offline_notes) == []  # nothing reached the server
    page.screenshot(path=str(SCREENSHOTS / "visit-offline-queued.png"), full_page=True)
    page.wait_for_timeout(1_500)

    with page.expect_response(
        lambda r: r.url.endswith("/api/visits/") and r.request.method == "POST"
    ) as answer:
        context.set_offline(False)
    assert answer.value.status == 201
    page.wait_for_selector('#visit[data-pending="0"]', state="attached")
    [queued] = _visits(offline_notes)
    assert [vh.household_id for vh in queued.visithousehold_set.all()] == [other.pk]
    assert len(queued.photos.all()) == 1  # the photo waited as a Blob in IndexedDB
    # The time it was made on the phone, not the time it arrived.
    assert abs((queued.at - made).total_seconds()) < 5
    assert queued.received_at - queued.at > dt.timedelta(seconds=1)
    page.wait_for_timeout(1_500)  # another flush finds nothing to send
    assert len(_visits(offline_notes)) == 1

    # --- the diary shows both, in order ---------------------------------------------------
    page.goto("/diary/")
    page.locator(".dy-visit").last.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dy-photos img')]"
        ".every(i => i.complete && i.naturalWidth)",
        polling=200,
    )
    assert page.locator(".dy-photos img").count() == 2
    text = page.inner_text("#diary")
    assert text.index(online_notes) < text.index(offline_notes)
    page.screenshot(path=str(SCREENSHOTS / "visit-diary.png"), full_page=True)
    # Printed: the diary alone (no site header, no buttons).
    page.emulate_media(media="print")
    assert not page.locator(".gm-header").is_visible()
    assert not page.locator(".dy-filter").is_visible()
    assert page.locator(".dy-visit").first.is_visible()
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=str(SCREENSHOTS / "visit-diary-print.png"))
    page.set_viewport_size(PHONE)
    page.emulate_media(media="screen")
    # The follow-up of the first visit is marked done from the diary.
    with page.expect_response(lambda r: "/follow-up-done/" in r.url) as done:
        page.click("[data-follow-up-done]")
    assert done.value.status == 200
    page.wait_for_selector(".dy-follow.is-done")
