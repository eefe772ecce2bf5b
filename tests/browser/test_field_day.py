"""Issue 14, acceptance 5: a grid worker's day in the field, in headless Chromium at 390x844
against the real server on the small demo, as one walk.

Morning, no network yet (the page was opened online once, so the field service worker has
it): the worker signs in inside their grid; the sign-in waits on the phone and is sent, with
the time it was made, once the network returns. Then a two-minute patrol (the emulated
position moves every 10 s, the page's own sampling rule). Then a visit with a photo to a
key-person household of the grid, and that household's file shows the visit and that the key
person is no longer due. Then, offline again, a second visit waits on the phone and is sent
once back online. Screenshots: field-day-sign-in.png, field-day-patrol.png,
field-day-visit.png, field-day-household-file.png.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.conftest import PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
LOGIN = {"username": "browser-field-day", "password": "browser-pass-4507"}
TODAY_READY = '#today[data-ready="true"]'
VISIT_READY = '#visit[data-ready="true"]'
INSET_DEGREES = 0.0005  # about 50 m inside the grid's edges: the whole walk stays inside
PATROL_STEPS = 12  # one position every 10.5 s: a two-minute patrol
MARK = "[browser-field-day]"


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    """The server is another process: autocommit, and the test removes what it made."""
    with django_db_blocker.unblock():
        yield


def _clear(worker: Any) -> None:
    from presence.models import KeyPerson, Patrol, SignIn, Visit

    SignIn.objects.filter(worker=worker).delete()
    Patrol.objects.filter(worker=worker).delete()
    Visit.objects.filter(worker=worker).delete()
    KeyPerson.objects.filter(note=MARK).delete()


@pytest.fixture(scope="module")
def day(demo, django_db_blocker) -> Any:
    """The grid member of the first demo grid that has one and two numbered households, with
    a login; a point well inside the grid; one of the households a key person due today."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from grids.models import Grid, Role, RoleAssignment
    from households.models import Household
    from presence.care import key_person_add
    from presence.models import CareCategory

    with django_db_blocker.unblock():
        active = RoleAssignment.objects.active().select_related("worker")
        for grid in Grid.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code"):
            member = active.filter(grid=grid, role=Role.GRID_MEMBER).first()
            inner = grid.geom.buffer(-INSET_DEGREES)
            homes = list(
                Household.objects.filter(grid=grid, code__isnull=False).order_by("code")[:2]
            )
            if member is None or inner.empty or len(homes) < 2:
                continue
            break
        else:
            raise AssertionError("the demo has no grid with a member and two households")
        worker = member.worker
        account_upsert(
            username=LOGIN["username"], password=LOGIN["password"],
            role=AccountRole.GRID_WORKER, codes=[grid.code], worker=worker,
            first_name=worker.name,
        )  # fmt: skip
        _clear(worker)
        category = CareCategory.objects.filter(district__isnull=True, active=True).first()
        since = timezone.localdate() - dt.timedelta(days=category.visit_every_days)
        key_person_add(household=homes[0], category=category, since=since, note=MARK)
        point = inner.point_on_surface
    yield {
        "worker": worker, "grid": grid, "lon": point.x, "lat": point.y,
        "key_home": homes[0], "other_home": homes[1], "category": category,
    }  # fmt: skip
    with django_db_blocker.unblock():
        _clear(worker)


def _photo(tmp_path) -> str:
    from PIL import Image

    path = tmp_path / "visit.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def _posted(page: Any, path: str) -> Any:
    return page.expect_response(lambda r: r.url.endswith(path) and r.request.method == "POST")


def test_a_grid_workers_day_on_the_phone(new_page, day, tmp_path):
    from presence.care import due_key_persons
    from presence.models import Patrol, SignIn, Visit

    worker, lon, lat = day["worker"], day["lon"], day["lat"]
    page, log = new_page(
        PHONE, is_mobile=True, has_touch=True, device_scale_factor=1,
        timezone_id="Asia/Shanghai", permissions=["geolocation"],
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 12},
    )  # fmt: skip
    context = page.context
    page.goto("/field/today/")
    page.fill("input[name=username]", LOGIN["username"])
    page.fill("input[name=password]", LOGIN["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/field/today/")
    page.wait_for_selector(TODAY_READY, state="attached")
    page.wait_for_selector('#today[data-sw="ready"]', state="attached")
    page.wait_for_timeout(500)  # the service worker keeps the fresh page

    # --- sign in, offline: queued with its time, sent once back online --------------------------
    context.set_offline(True)
    response = page.reload()
    assert response is None or response.from_service_worker
    page.wait_for_selector(TODAY_READY, state="attached")
    made = timezone.now()
    page.click('[data-action="sign-in"]')
    page.wait_for_selector('#today[data-sign-in="queued"]', state="attached")
    assert page.get_attribute("#today", "data-pending") == "1"
    assert not SignIn.objects.filter(worker=worker).exists()
    page.wait_for_timeout(1_500)
    with _posted(page, "/api/presence/sign-ins/") as answer:
        context.set_offline(False)
    assert answer.value.status == 201
    page.wait_for_selector('#today[data-sign-in="done"]', state="attached")
    [sign_in] = SignIn.objects.filter(worker=worker)
    assert (sign_in.verdict, sign_in.place_code) == ("inside", day["grid"].code)
    assert abs(sign_in.at - made) < dt.timedelta(seconds=5)
    assert sign_in.received_at - sign_in.at > dt.timedelta(seconds=1)
    page.screenshot(path=str(SCREENSHOTS / "field-day-sign-in.png"))

    # --- a two-minute patrol, a position every 10 s (the page's own rule) ------------------------
    page.click('[data-action="patrol-start"]')
    page.wait_for_selector('#today[data-patrol="recording"]', state="attached")
    for i in range(1, PATROL_STEPS + 1):
        page.wait_for_timeout(10_500)
        context.set_geolocation({"longitude": lon + (i % 2) * 0.0001,
                                 "latitude": lat + i * 0.00009, "accuracy": 10})  # fmt: skip
    page.wait_for_function(
        f"() => Number(document.getElementById('today').dataset.points) >= {PATROL_STEPS - 1}"
    )
    page.screenshot(path=str(SCREENSHOTS / "field-day-patrol.png"))
    with _posted(page, "/api/patrols/") as answer:
        page.click('[data-action="patrol-stop"]')
    assert answer.value.status == 201
    page.wait_for_selector('#today[data-patrol="sent"]', state="attached")
    [patrol] = Patrol.objects.filter(worker=worker)
    minutes = (patrol.ended_at - patrol.started_at).total_seconds() / 60
    assert 1.8 <= minutes <= 2.5, minutes
    assert patrol.place_code == day["grid"].code and patrol.length_m > 100
    assert patrol.coverage.filter(grid=day["grid"]).exists()

    # --- a visit with a photo to the key-person household ----------------------------------------
    home = day["key_home"]
    assert due_key_persons(timezone.localdate()).filter(household=home).exists()
    notes = "老人身体硬朗，低保按时到账，生活平稳。"
    page.goto(f"/field/visit/?household={home.code}")
    page.wait_for_selector(VISIT_READY, state="attached")
    page.wait_for_selector(f'[data-chosen] li[data-household="{home.pk}"]')
    page.fill("#vf-notes", notes)
    page.set_input_files('input[name="photos"]', _photo(tmp_path))
    page.wait_for_selector(".vf-photo img")
    page.screenshot(path=str(SCREENSHOTS / "field-day-visit.png"), full_page=True)
    with _posted(page, "/api/visits/") as answer:
        page.click(".vf-submit")
    assert answer.value.status == 201
    page.wait_for_selector('[data-panel="result"]:not([hidden])')
    visit = Visit.objects.get(worker=worker, notes=notes)
    assert visit.photos.count() == 1
    assert not due_key_persons(timezone.localdate()).filter(household=home).exists()

    # --- the household's file shows the visit -----------------------------------------------------
    page.goto(f"/households/{home.code}/")
    root = page.locator("#household-file")
    assert root.get_attribute("data-household") == home.code
    assert page.locator(f'.hf-visits [data-visit="{visit.pk}"]').count() == 1
    assert notes in page.inner_text(".hf-visits")
    assert day["category"].name in page.inner_text("#household-file")
    page.screenshot(path=str(SCREENSHOTS / "field-day-household-file.png"), full_page=True)

    # --- offline again: a visit waits on the phone, sent once back online -------------------------
    other = day["other_home"]
    later_notes = "屋顶漏雨，已登记，联系村委会维修。"
    page.goto(f"/field/visit/?household={other.code}")
    page.wait_for_selector(VISIT_READY, state="attached")
    page.wait_for_selector(f'[data-chosen] li[data-household="{other.pk}"]')
    context.set_offline(True)
    page.wait_for_selector('#visit[data-online="false"]', state="attached")
    page.fill("#vf-notes", later_notes)
    made = timezone.now()
    page.click(".vf-submit")
    page.wait_for_selector('#visit[data-pending="1"]', state="attached")
    assert not Visit.objects.filter(worker=worker, notes=later_notes).exists()
    page.wait_for_timeout(1_500)
    with _posted(page, "/api/visits/") as answer:
        context.set_offline(False)
    assert answer.value.status == 201
    page.wait_for_selector('#visit[data-pending="0"]', state="attached")
    queued = Visit.objects.get(worker=worker, notes=later_notes)
    assert abs((queued.at - made).total_seconds()) < 5
    assert list(queued.households.all()) == [other]

    # The requests that failed while offline are the only errors.
    errors = [e for e in log.errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert not errors, errors
