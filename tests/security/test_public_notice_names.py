"""Threat: the public notice board (村务公开栏, no login) prints people's names.

Found before the fix (issue 12): the board printed the description and the resolve note of
every closed-out case after masking the names the system knew; a name it did not know (a
neighbour typed into a note: 张三丰, 欧阳娜娜) went out in full, and so did a known name
written differently. The board's own promise ("only surnames are kept") was broken by a full
name (王大明) in the demo.

What fixed it (issue 12, item 7; acceptance 6):

- the board prints **no free text written by people** unless a reviewer approved it for
  publication (``incidents.publication``): town, station or district staff in whose
  jurisdiction the case lies write or edit the public text on ``/cases/<id>/`` or through
  ``/api/incidents/<id>/public-text/``; each approval is stored with who and when and is an
  event of the case history;
- without an approved text the board shows the structured outcome: category, severity,
  status, dates, the grid's name and the *role* that handled it (网格长), never a person;
- a grid worker or village staff member (who write the notes) cannot approve (403); a
  reviewer outside the case's jurisdiction does not see the case (404).

The test builds the names: residents (households' ``head_name``), workers (``Worker.name``)
and unknown people typed into the notes, in the description, the resolve note, the verify
note and the reporter's feedback.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountRole
from households.models import Household
from incidents.models import CaseEvent, Incident, Status
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_lists import EAST, WEST, add_event, close_out, make_case
from tests.incidents.test_lists import world as world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

RESIDENTS = ["劳超波", "黄秀英"]
WORKER_NAME = "韦建国"
UNKNOWN = ["张三丰", "欧阳娜娜"]
APPROVED = "网格长组织疏通了排水沟，村民反映已无积水。"


def notice_url(code: str) -> str:
    return reverse("public-notice", kwargs={"village_code": code})


def api_url(incident: Incident) -> str:
    return reverse("incident-public-text", kwargs={"pk": incident.pk})


def case_url(incident: Incident) -> str:
    return reverse("case", kwargs={"pk": incident.pk})


def signed_in(role: AccountRole, codes: list[str], username: str) -> Client:
    account = AccountFactory(user=UserFactory(username=username), role=role, codes=codes)
    client = Client()
    client.force_login(account.user)
    return client


@pytest.fixture
def named_cases(world):
    """Two closed-out cases of village V1 whose every free text names people."""
    for i, name in enumerate(RESIDENTS):
        Household.objects.create(
            address=f"V1 road {i}",
            location=world.west.geom.point_on_surface,
            head_name=name,
            grid=world.west,
        )
    leader = world.people["W leader"].worker
    leader.name = WORKER_NAME
    leader.user = UserFactory(username="13900000001")
    leader.save()
    reporter = UserFactory(username="reporter-v1")
    at = timezone.now() - dt.timedelta(days=2)
    cases = []
    for where in (WEST, EAST):
        case = make_case(
            reporter,
            where,
            description=f"{RESIDENTS[0]}和{UNKNOWN[0]}因排水沟争吵，{RESIDENTS[1]}在场",
            days_ago=5,
        )
        add_event(
            case,
            "resolve",
            WORKER_NAME,
            at,
            actor=leader.user,
            note=f"{WORKER_NAME}与{UNKNOWN[1]}一起疏通了排水沟，{RESIDENTS[0]}满意",
            from_status=Status.IN_PROGRESS,
            to_status=Status.RESOLVED,
        )
        add_event(
            case,
            "verify",
            "S1 head",
            at,
            note=f"经核实{UNKNOWN[0]}家门前已无积水",
            from_status=Status.RESOLVED,
            to_status=Status.VERIFIED,
        )
        close_out(case, by="S1 head", days_ago=1)
        add_event(
            case,
            "callback",
            "reporter-v1",
            timezone.now(),
            note=f"感谢{WORKER_NAME}和{UNKNOWN[1]}",
            from_status=Status.CLOSED,
            to_status=Status.CLOSED,
            data={"rating": 5},
        )
        cases.append(case)
    return cases


NAMES = [*RESIDENTS, WORKER_NAME, *UNKNOWN]


def leaked(html: str) -> list[str]:
    """The names, and their surname + 某 forms, that the page prints."""
    terms = {*NAMES, *(f"{n[0]}某" for n in NAMES)}
    return sorted(t for t in terms if t in html)


def test_the_board_and_the_index_print_no_name(client, world, named_cases):
    for language in ("zh-hans", "en"):
        html = client.get(notice_url(world.v1.code), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert leaked(html) == [], language
        # The structured outcome is there: the category and the role that handled it.
        assert named_cases[0].category.name_zh in html or named_cases[0].category.name_en in html
        assert "排水沟" not in html
        index = client.get(reverse("public-index"), HTTP_ACCEPT_LANGUAGE=language)
        assert leaked(index.content.decode()) == [], language
    response = client.get(notice_url(world.v1.code), HTTP_ACCEPT_LANGUAGE="zh-hans")
    roles = {e["id"]: e["handled_by"] for e in response.context["entries"]}
    assert roles[named_cases[0].pk] == "网格长"


def test_a_town_reviewer_approves_by_api_and_the_board_shows_it(client, world, named_cases):
    case = named_cases[0]
    town = signed_in(AccountRole.TOWN_STAFF, [world.t1.code], "t1-reviewer")
    response = town.post(api_url(case), {"text": APPROVED}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["text"] == APPROVED
    assert response.json()["approved_by"] == "t1-reviewer"
    html = client.get(notice_url(world.v1.code)).content.decode()
    assert APPROVED in html
    assert leaked(html) == []
    # The other case, not approved, still shows no free text.
    assert html.count(APPROVED) == 1
    event = CaseEvent.objects.filter(incident=case).order_by("-seq").first()
    assert (event.action, event.note, event.actor.username) == (
        "publish_notice",
        APPROVED,
        "t1-reviewer",
    )
    # Withdrawn: the board is back to the outcome only, and the history keeps both.
    withdraw = town.post(api_url(case), {"text": ""}, content_type="application/json")
    assert withdraw.status_code == 200
    assert APPROVED not in client.get(notice_url(world.v1.code)).content.decode()
    assert CaseEvent.objects.filter(incident=case, action="publish_notice").count() == 2


def test_a_station_reviewer_approves_from_the_case_page(world, named_cases):
    case = named_cases[1]
    station = signed_in(AccountRole.STATION_STAFF, [world.station.code], "s1-reviewer")
    page = station.get(case_url(case))
    assert page.status_code == 200
    assert b"data-publish-form" in page.content
    response = station.post(case_url(case), {"action": "publish_notice", "public_text": APPROVED})
    assert response.status_code == 303
    case.refresh_from_db()
    assert case.public_text == APPROVED and case.public_text_by.username == "s1-reviewer"
    assert APPROVED in station.get(case_url(case)).content.decode()
    assert APPROVED in Client().get(notice_url(world.v1.code)).content.decode()


def test_the_case_page_form_needs_csrf(world, named_cases):
    case = named_cases[0]
    account = AccountFactory(
        user=UserFactory(username="csrf-town"), role=AccountRole.TOWN_STAFF, codes=[world.t1.code]
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(account.user)
    response = client.post(case_url(case), {"action": "publish_notice", "public_text": APPROVED})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.public_text == ""


@pytest.mark.parametrize(
    ("role", "codes"),
    [
        (AccountRole.VILLAGE_STAFF, "v1"),
        (AccountRole.GRID_WORKER, "west"),
    ],
)
def test_a_person_without_the_reviewer_role_cannot_approve(world, named_cases, role, codes):
    case = named_cases[0]
    client = signed_in(role, [getattr(world, codes).code], f"not-reviewer-{codes}")
    assert client.get(case_url(case)).status_code == 200  # they see the case ...
    api = client.post(api_url(case), {"text": APPROVED}, content_type="application/json")
    assert api.status_code == 403, api.content
    assert api.json()["detail"]
    page = client.post(case_url(case), {"action": "publish_notice", "public_text": APPROVED})
    assert page.status_code == 403
    assert b"data-error" in page.content
    case.refresh_from_db()
    assert case.public_text == ""  # ... but cannot publish it


def test_a_reviewer_outside_the_jurisdiction_gets_404(world, named_cases):
    case = named_cases[0]
    client = signed_in(AccountRole.TOWN_STAFF, [world.t2.code], "t2-reviewer")
    api = client.post(api_url(case), {"text": APPROVED}, content_type="application/json")
    assert api.status_code == 404
    assert client.get(api_url(case)).status_code == 404
    page = client.post(case_url(case), {"action": "publish_notice", "public_text": APPROVED})
    assert page.status_code == 404
    case.refresh_from_db()
    assert case.public_text == ""


def test_bad_text_is_a_400_with_a_message(world, named_cases):
    case = named_cases[0]
    town = signed_in(AccountRole.TOWN_STAFF, [world.t1.code], "t1-bad")
    too_long = "网" * 501
    api = town.post(api_url(case), {"text": too_long}, content_type="application/json")
    assert api.status_code == 400
    assert "500" in api.json()["detail"] and "text" in api.json()["errors"]
    api = town.post(api_url(case), {"text": 5}, content_type="application/json")
    assert api.status_code == 400 and api.json()["errors"]["text"]
    page = town.post(case_url(case), {"action": "publish_notice", "public_text": too_long})
    assert page.status_code == 400
    assert "500" in page.content.decode()
    case.refresh_from_db()
    assert case.public_text == ""
