"""The assessments in headless Chromium, over six weeks of the presence demo (its village
assistants): last month's cycle of the village assistants' scheme (村级助理月考评) is open
and computed; a town's staff member opens an assistant's report and enters the party
organisation's and the cadres' scores on its form (the score is recomputed with them); the
city administrator closes the cycle; the ranked table on a desktop and a phone (no sideways
scroll), and the printable report. Screenshots: assessment-report.png, assessment-cycle.png,
assessment-cycle-phone.png.

Closed cycles are frozen by a trigger; the module removes its cycle afterwards with the
triggers switched off for that statement only (the test database is shared by the session).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.utils import timezone

from servicedesk.models import ServiceRequest
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.screens import SCREENSHOTS

pytestmark = [pytest.mark.browser]

CITY_PREFIX = "4507"
TOWN_LOGIN = {"username": "browser-assess-town", "password": "browser-pass-4507"}


@pytest.fixture(autouse=True)
def committed(demo, django_db_blocker):
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="module")
def assessment(demo, django_db_blocker) -> Any:
    """The presence demo, last month's open cycle (computed) and a town staff login on the
    town of the first assistant assessed."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from assessments import services
    from assessments.models import Scheme, Score
    from demo.presence import delete_demo_presence, load_demo_presence
    from grids.models import Role, RoleAssignment, Worker

    with django_db_blocker.unblock():
        hired_before = set(
            RoleAssignment.objects.filter(role=Role.VILLAGE_ASSISTANT).values_list("pk", flat=True)
        )
        load_demo_presence(days=45)
        last = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
        scheme = Scheme.objects.get(name="村级助理月考评", district__isnull=True)
        # The month before, closed: the trend column compares with it.
        before = last.replace(day=1) - dt.timedelta(days=1)
        previous = services.cycle_open(
            actor=None, scheme=scheme, starts_on=before.replace(day=1),
            ends_on=before, district=None,
        )  # fmt: skip
        services.close_cycle(actor=None, cycle=previous)
        cycle = services.cycle_open(
            actor=None, scheme=scheme, starts_on=last.replace(day=1),
            ends_on=last, district=None,
        )  # fmt: skip
        services.compute_cycle(actor=None, cycle=cycle)
        scores = list(
            Score.objects.filter(cycle=cycle, code__startswith=CITY_PREFIX).order_by("code")
        )
        score = scores[0]
        town = account_upsert(
            username=TOWN_LOGIN["username"], password=TOWN_LOGIN["password"],
            role=AccountRole.TOWN_STAFF, codes=[score.code[:9]], first_name="镇组织委员",
        )  # fmt: skip
        # A month of requests taken by each assistant, and the other assistants' evaluations,
        # so that the table shows ranks (the browser enters the first assistant's).
        requests = _requests(scores, last, town.user)
        _evaluations(scores[1:], town.user)
        services.compute_cycle(actor=None, cycle=cycle)
    yield {"cycle": cycle, "score": score}
    with django_db_blocker.unblock():
        _remove_cycle(cycle.pk)
        _remove_cycle(previous.pk)
        ServiceRequest.objects.filter(pk__in=requests).delete()
        delete_demo_presence()
        hired = RoleAssignment.objects.filter(role=Role.VILLAGE_ASSISTANT).exclude(
            pk__in=hired_before
        )
        workers = list(hired.values_list("worker_id", flat=True))
        hired.delete()
        Worker.objects.filter(pk__in=workers, assignments__isnull=True).delete()


def _requests(scores: list[Any], last: dt.date, reporter: Any) -> list[int]:
    """3-6 requests received by each assistant in the month: most done on time, rated."""
    from grids.models import Village
    from servicedesk.models import ServiceItem

    rng = random.Random(15)
    item, _ = ServiceItem.objects.get_or_create(
        code="BROWSER-ASSESS", district=None,
        defaults={"name": "代办测试事项", "kind": "government", "approving_level": "town",
                  "promised_days": 5},
    )  # fmt: skip
    villages = {v.code: v for v in Village.objects.current().filter(
        code__in=[s.code for s in scores]).select_related("town")}  # fmt: skip
    made = []
    tz = timezone.get_default_timezone()
    for s in scores:
        village = villages.get(s.code)
        if village is None:
            continue
        for n in range(rng.randint(3, 6)):
            received = dt.datetime.combine(
                last.replace(day=rng.randint(1, 20)), dt.time(9 + n), tzinfo=tz
            )
            done = received + dt.timedelta(days=rng.choice([1, 2, 3, 4, 6, 8]))
            made.append(ServiceRequest.objects.create(
                item=item, applicant_name="居民", reporter=reporter,
                village=village, town=village.town, place_code=village.code,
                owner_level="village", owner_code=village.code, reported_at=received,
                acknowledged_at=received, resolve_due_at=received + dt.timedelta(days=5),
                resolved_at=done, status="resolved", satisfaction=rng.choice([3, 4, 5, 5]),
                first_receiver=s.worker, short_code=f"BA{s.pk:05d}{n}",
            ).pk)  # fmt: skip
    return made


def _evaluations(scores: list[Any], user: Any) -> None:
    from assessments.models import EvaluationEntry

    rng = random.Random(16)
    now = timezone.now()
    EvaluationEntry.objects.bulk_create(
        EvaluationEntry(score=s, source=source, value=rng.randint(75, 98), by=user, at=now)
        for s in scores
        for source in ("party_org", "cadres")
    )


def _remove_cycle(pk: int) -> None:
    from assessments.services import cycles_purge

    cycles_purge(ids=[pk])


def _sign_in(new_page: Any, viewport: dict[str, int], path: str, login: dict[str, str]) -> Any:
    page, log = new_page(viewport, timezone_id="Asia/Shanghai")
    page.goto(path)
    page.fill("input[name=username]", login["username"])
    page.fill("input[name=password]", login["password"])
    page.click(".gm-login-card button[type=submit]")
    page.wait_for_load_state()
    return page, log


def test_evaluate_close_and_print(new_page, assessment, browser_user):
    cycle, score = assessment["cycle"], assessment["score"]
    report = f"/assessments/{cycle.pk}/{score.pk}/"
    page, log = _sign_in(new_page, DESKTOP, "/assessments/", TOWN_LOGIN)
    page.click(f"tr[data-cycle='{cycle.pk}'] a")
    page.wait_for_load_state()
    assert page.locator(f"tr[data-score='{score.pk}']").count() == 1
    page.click(f"tr[data-score='{score.pk}'] a")
    page.wait_for_load_state()
    assert page.url.endswith(report)
    for source, value in (("party_org", "92"), ("cadres", "88")):
        page.select_option("select[name=source]", source)
        page.fill("input[name=value]", value)
        page.click("form:has(input[name=value]) button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("[role=status]").count() == 1
    assert page.locator("li[data-source=party_org]").count() == 1
    assert page.locator("li[data-source=cadres]").count() == 1
    assert page.locator("tr[data-indicator=party_org][data-assessable=true]").count() == 1
    assert log.errors == [], log.errors

    admin, log = _sign_in(new_page, DESKTOP, f"/assessments/{cycle.pk}/", browser_user)
    admin.click("button[name=action][value=close]")
    admin.wait_for_load_state()
    assert admin.get_attribute("[data-state]", "data-state") == "closed"
    assert admin.locator("tr[data-score]").count() >= 1
    admin.screenshot(path=str(SCREENSHOTS / "assessment-cycle.png"), full_page=False)
    admin.set_viewport_size(PHONE)
    admin.screenshot(path=str(SCREENSHOTS / "assessment-cycle-phone.png"))
    assert admin.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    admin.set_viewport_size(DESKTOP)
    admin.goto(report)
    admin.emulate_media(media="print")
    assert admin.locator(".gm-header").is_hidden()
    admin.screenshot(path=str(SCREENSHOTS / "assessment-report.png"), full_page=True)
    admin.emulate_media(media="screen")
    admin.set_viewport_size(PHONE)
    admin.reload()
    assert admin.locator("form:has(textarea[name=answer]), tr[data-indicator]").count() >= 1
    assert admin.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert log.errors == [], log.errors
