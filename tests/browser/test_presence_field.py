"""/field/today/ and /patrols/ in headless Chromium at 390x844, against the real APIs on the
small demo (issue 14, acceptance 5, the sign-in and patrol part).

A grid worker opens the page of the day with geolocation granted inside their grid, signs in,
records a short patrol (the emulated position moved a few times; the page's sampling
thresholds lowered through its data attributes so the test is quick) and sees the track on
/patrols/. Then, offline, a sign-in waits on the phone and is sent once the network returns,
with the time it was made. Screenshots: field-today.png, patrols-map.png.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.conftest import PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
LOGIN = {"username": "browser-field-today", "password": "browser-pass-4507"}
READY = '#today[data-ready="true"]'
# About 50 m from the grid's edges, so every sample of the walk stays inside.
INSET_DEGREES = 0.0005


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    """The server is another process: autocommit, and the test removes what it made."""
    with django_db_blocker.unblock():
        yield


def _records(worker: Any) -> None:
    from presence.models import Patrol, SignIn

    SignIn.objects.filter(worker=worker).delete()
    Patrol.objects.filter(worker=worker).delete()


@pytest.fixture(scope="module")
def grid_worker(demo, django_db_blocker) -> Any:
    """The grid member of the first demo grid with one, with a login, and a point well
    inside the grid."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from grids.models import Grid, Role, RoleAssignment

    with django_db_blocker.unblock():
        active = RoleAssignment.objects.active().select_related("worker")
        for grid in Grid.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code"):
            member = active.filter(grid=grid, role=Role.GRID_MEMBER).first()
            inner = grid.geom.buffer(-INSET_DEGREES)
            if member is None or inner.empty:
                continue
            worker = member.worker
            account_upsert(
                username=LOGIN["username"], password=LOGIN["password"],
                role=AccountRole.GRID_WORKER, codes=[grid.code], worker=worker,
                first_name=worker.name,
            )  # fmt: skip
            point = inner.point_on_surface
            _records(worker)
            break
        else:
            raise AssertionError("the demo has no grid with a grid member")
    yield {"worker": worker, "grid": grid, "lon": point.x, "lat": point.y}
    with django_db_blocker.unblock():
        _records(worker)


def _sign_ins(worker: Any) -> list[Any]:
    from presence.models import SignIn

    return list(SignIn.objects.filter(worker=worker).order_by("at"))


def _patrols(worker: Any) -> list[Any]:
    from presence.models import Patrol

    return list(Patrol.objects.filter(worker=worker))


def test_sign_in_patrol_and_offline_sign_in(new_page, grid_worker):
    worker, lon, lat = grid_worker["worker"], grid_worker["lon"], grid_worker["lat"]
    page, log = new_page(
        PHONE, is_mobile=True, has_touch=True, device_scale_factor=1,
        timezone_id="Asia/Shanghai", geolocation={"longitude": lon, "latitude": lat,
                                                  "accuracy": 12},
        permissions=["geolocation"],
    )  # fmt: skip
    context = page.context
    page.goto("/field/today/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", LOGIN["username"])
    page.fill("input[name=password]", LOGIN["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_url("**/field/today/")
    page.wait_for_selector(READY, state="attached")

    # --- sign in inside the grid -------------------------------------------------------------
    with page.expect_response(
        lambda r: r.url.endswith("/api/presence/sign-ins/") and r.request.method == "POST"
    ) as answer:
        page.click('[data-action="sign-in"]')
    assert answer.value.status == 201
    page.wait_for_selector('#today[data-sign-in="done"]', state="attached")
    [record] = _sign_ins(worker)
    assert record.verdict == "inside"
    assert record.place_code == grid_worker["grid"].code
    assert page.inner_text("[data-sign-in-status]").strip()

    # --- a short patrol: a position every ~1.2 s, 10 m apart -----------------------------------
    page.evaluate(
        """() => { const r = document.getElementById("today");
                   r.dataset.sampleSeconds = "1"; r.dataset.sampleMetres = "5"; }"""
    )
    page.click('[data-action="patrol-start"]')
    page.wait_for_selector('#today[data-patrol="recording"]', state="attached")
    steps = 6
    for i in range(1, steps + 1):
        page.wait_for_timeout(1_200)
        context.set_geolocation({"longitude": lon, "latitude": lat + i * 0.00009, "accuracy": 10})
    page.wait_for_function("() => Number(document.getElementById('today').dataset.points) >= 4")
    page.screenshot(path=str(SCREENSHOTS / "field-today.png"))
    with page.expect_response(
        lambda r: r.url.endswith("/api/patrols/") and r.request.method == "POST"
    ) as answer:
        page.click('[data-action="patrol-stop"]')
    assert answer.value.status == 201
    page.wait_for_selector('#today[data-patrol="sent"]', state="attached")
    [patrol] = _patrols(worker)
    assert patrol.points_received >= 4
    assert patrol.length_m > 20
    assert patrol.place_code == grid_worker["grid"].code

    # --- the track on /patrols/ --------------------------------------------------------------
    page.goto("/patrols/")
    page.wait_for_selector('#tracks[data-ready="true"]', state="attached")
    assert page.get_attribute("#tracks", "data-count") == "1"
    assert page.locator(f'tr[data-patrol="{patrol.pk}"]').count() == 1
    assert page.locator(".leaflet-overlay-pane path").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "patrols-map.png"))

    # --- offline: the sign-in waits on the phone, with its time ----------------------------------
    from presence.models import SignIn

    SignIn.objects.filter(worker=worker).delete()
    page.goto("/field/today/")
    page.wait_for_selector(READY, state="attached")
    page.wait_for_selector('#today[data-sw="ready"]', state="attached")
    page.wait_for_timeout(500)  # the service worker stores the fresh page (network first)
    context.set_offline(True)
    # Offline, the page opens again from the field service worker (a shell like /field/).
    response = page.reload()
    assert response is None or response.from_service_worker
    page.wait_for_selector(READY, state="attached")
    page.wait_for_selector('#today[data-online="false"]', state="attached")
    made = timezone.now()
    page.click('[data-action="sign-in"]')
    page.wait_for_selector('#today[data-sign-in="queued"]', state="attached")
    assert page.get_attribute("#today", "data-pending") == "1"
    assert _sign_ins(worker) == []
    page.wait_for_timeout(1_500)
    with page.expect_response(
        lambda r: r.url.endswith("/api/presence/sign-ins/") and r.request.method == "POST"
    ) as answer:
        context.set_offline(False)
    assert answer.value.status == 201
    page.wait_for_selector('#today[data-pending="0"]', state="attached")
    page.wait_for_selector('#today[data-sign-in="done"]', state="attached")
    [record] = _sign_ins(worker)
    assert abs(record.at - made) < dt.timedelta(seconds=5)  # the time it was made
    assert record.received_at - record.at > dt.timedelta(seconds=1)  # not when it arrived
    # The one failed request of the offline sign-in is expected; nothing else went wrong.
    errors = [e for e in log.errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert not errors, errors
