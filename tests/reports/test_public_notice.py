"""/public/ and /public/villages/<code>/ (村务公开栏): no login, handled problems only, and no
personal data: not the reporter, not the handlers, no phone numbers, ID numbers or household
addresses, no coordinates; free text only as approved for publication (and then masked once
more by ``mask_personal_data``). The names test of issue 12 (acceptance 6) is
tests/security/test_public_notice_names.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from households.models import Household
from incidents.models import Incident, IncidentRecipient, Status
from reports.public_views import MASK, mask_personal_data
from tests.factories import UserFactory
from tests.incidents.test_lists import (
    EAST,
    V2,
    V3,
    WEST,
    add_event,
    close_out,
    make_case,
)
from tests.incidents.test_lists import world as world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

REPORTER_NAME = "林芳"
HOUSEHOLD_HEAD = "劳超波"
HOUSEHOLD_ADDRESS = "钦南区胜利街道长安社区滨江路49号1单元701"
HOUSEHOLD_ID = "45070219900101123X"
HOUSEHOLD_PHONE = "13977712345"
WRITTEN_PHONE = "13812345678"
WRITTEN_ID = "450702198805052316"


def notice_url(code: str) -> str:
    return reverse("public-notice", kwargs={"village_code": code})


@pytest.fixture
def reporter(world):
    return UserFactory(username="lin-fang-reporter", first_name=REPORTER_NAME)


@pytest.fixture
def household(world):
    return Household.objects.create(
        address=HOUSEHOLD_ADDRESS,
        location=world.west.geom.point_on_surface,
        head_name=HOUSEHOLD_HEAD,
        id_number=HOUSEHOLD_ID,
        phone=HOUSEHOLD_PHONE,
        grid=world.west,
    )


def resolve(incident: Incident, note: str, by: str = "W leader") -> None:
    add_event(
        incident,
        "resolve",
        by,
        timezone.now() - dt.timedelta(days=1),
        note=note,
        from_status=Status.IN_PROGRESS,
        to_status=Status.RESOLVED,
    )


@pytest.fixture
def handled(world, reporter, household):
    """A closed-out case of grid W whose texts name people and numbers, plus cases the board
    must leave out."""
    leader = world.people["W leader"].worker
    description = (
        f"{HOUSEHOLD_HEAD}家（{HOUSEHOLD_ADDRESS}）门前排水沟堵塞，"
        f"{REPORTER_NAME}反映，电话{WRITTEN_PHONE}，身份证{WRITTEN_ID}"
    )
    case = make_case(reporter, WEST, description=description, days_ago=8)
    resolve(
        case,
        f"网格长{leader.name}（{leader.phone}）组织疏通了排水沟，已告知{HOUSEHOLD_HEAD}，"
        f"滨江路49号1单元701已无积水",
    )
    close_out(case, by="S1 head", days_ago=0.5, on_time=True)
    case.refresh_from_db()
    others = {
        "open": make_case(reporter, EAST, description="Still open in V1"),
        "resolved": make_case(
            reporter, WEST, description="Resolved, not closed out", status=Status.RESOLVED
        ),
        "cancelled": make_case(
            reporter, WEST, description="A duplicate, cancelled", status=Status.CANCELLED
        ),
        "other_village": make_case(reporter, V2, description="Closed out in village V2"),
    }
    close_out(others["other_village"], by="S1 head")
    return case, others


def test_no_login_needed_and_unknown_villages_are_404(client, world):
    assert reverse("public-index") == "/public/"
    assert notice_url(world.v1.code) == f"/public/villages/{world.v1.code}/"
    response = client.get(notice_url(world.v1.code))
    assert response.status_code == 200
    assert world.v1.name in response.content.decode()
    assert client.get(notice_url("990199999999")).status_code == 404


def test_lists_only_the_villages_closed_out_cases_with_their_outcome(client, world, handled):
    case, others = handled
    response = client.get(notice_url(world.v1.code))
    html = response.content.decode()
    shown = {int(i) for i in re.findall(r'data-case-id="(\d+)"', html)}
    assert shown == {case.pk}
    assert response.context["total"] == 1
    for other in others.values():
        assert other.description not in html
    entry = response.context["entries"][0]
    assert entry["place"] == world.west.name
    assert entry["on_time"] is True
    assert entry["satisfaction"] == 5
    # No approved text: free text is not shown at all, only the structured outcome.
    assert entry["public_text"] == ""
    assert "组织疏通了排水沟" not in html and "门前排水沟堵塞" not in html
    assert entry["severity_code"] == "blue"
    assert entry["handled_by"]
    assert 'data-on-time="true"' in html
    assert case.category.name in html


def test_no_personal_data_on_the_board(client, world, handled, household):
    case, _others = handled
    leader = world.people["W leader"].worker
    for language in ("zh-hans", "en"):
        response = client.get(notice_url(world.v1.code), HTTP_ACCEPT_LANGUAGE=language)
        html = response.content.decode()
        forbidden = {
            REPORTER_NAME,
            "lin-fang-reporter",
            HOUSEHOLD_HEAD,
            HOUSEHOLD_ADDRESS,
            HOUSEHOLD_ID,
            HOUSEHOLD_PHONE,
            WRITTEN_PHONE,
            WRITTEN_ID,
            leader.name,
            leader.phone,
            "S1 head",
            "49号",
            "单元701",
        }
        # Every recipient of the case, by name and phone.
        for name, phone in IncidentRecipient.objects.filter(incident=case).values_list(
            "name", "phone"
        ):
            forbidden.update({name, phone} - {""})
        leaked = sorted(term for term in forbidden if term in html)
        assert leaked == [], language
        # No coordinates: not the point, not a map.
        assert f"{case.location.x:.4f}" not in html and "leaflet" not in html.lower()
    # Neither the description nor the resolve note is on the board (none approved).
    entry = response.context["entries"][0]
    assert entry["public_text"] == ""
    assert "排水沟" not in html


def test_an_approved_text_is_masked_once_more(client, world, handled, household):
    """A reviewer's slip: the approved text names the household head and a phone number;
    the safety net masks them."""
    case, _others = handled
    Incident.objects.filter(pk=case.pk).update(
        public_text=f"网格长组织疏通了{HOUSEHOLD_HEAD}家门前的排水沟，电话{WRITTEN_PHONE}"
    )
    html = client.get(notice_url(world.v1.code)).content.decode()
    assert "网格长组织疏通了" in html
    assert HOUSEHOLD_HEAD not in html and WRITTEN_PHONE not in html
    assert f"{HOUSEHOLD_HEAD[0]}某" in html and MASK in html


def test_the_index_counts_handled_cases_per_village(client, world, handled):
    response = client.get(reverse("public-index"))
    assert response.status_code == 200
    towns = {t["code"]: t for t in response.context["towns"]}
    villages = {v["code"]: v["count"] for v in towns[world.t1.code]["villages"]}
    assert villages[world.v1.code] == 1
    assert villages[world.v2.code] == 1
    assert f'href="{notice_url(world.v1.code)}"' in response.content.decode()


def test_the_board_costs_the_same_for_more_cases(
    client, world, reporter, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(notice_url(world.v3.code)).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            incident = make_case(reporter, V3)
            resolve(incident, "Fixed")
            close_out(incident, by="S2 head")

    add(1)
    few = count()
    add(4)
    assert count() == few


def test_english_page(client, world, handled):
    with translation.override("en"):
        response = client.get(notice_url(world.v1.code), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "notice board" in html
    assert "on time" in html


# --- the masking itself ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", f"电话{MASK}"),
        ("电话 138 1234 5678 找他", f"电话 {MASK} 找他"),
        ("电话+86-138-1234-5678", f"电话{MASK}"),
        ("座机0777-2812345", f"座机{MASK}"),
        ("身份证45070219900101123X号码", f"身份证{MASK}号码"),
        ("身份证450702199001011234", f"身份证{MASK}"),
        ("老身份证450702900101123", f"老身份证{MASK}"),
        ("滨江路49号1单元701", "滨江路**号*单元***"),
        ("3栋502室", "*栋***室"),
        ("3组12号", "3组**号"),
        ("2025年10月1号处理，20户受益", "2025年10月1号处理，20户受益"),
        ("", ""),
    ],
)
def test_mask_numbers(text, expected):
    assert mask_personal_data(text) == expected


def test_mask_names_and_addresses():
    text = "王晓明和欧阳娜娜在滨江路49号1单元701争吵，Zhu Jin 到场调解"
    masked = mask_personal_data(
        text,
        names=["王晓明", "欧阳娜娜", "Zhu Jin", "王", ""],
        addresses=["滨江路49号1单元701"],
    )
    assert masked == f"王某和欧某在{MASK}争吵，{MASK} 到场调解"


def test_longer_names_are_masked_before_the_names_inside_them():
    assert mask_personal_data("王晓明说", names=["晓明", "王晓明"]) == "王某说"
