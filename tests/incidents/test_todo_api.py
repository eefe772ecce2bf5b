"""GET /api/todo/, the /todo/ page, the header's badge and the landing page after sign-in.

Issue 12, acceptance 2 (first half): an incident created by the API is found in the to do of
the grid leader it was routed to and of the grid's party-building guide, both signing in with
their own logins (``Worker.user``, access from their role assignments, no account).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from incidents.models import Incident
from incidents.todo import FOLLOW_UP, due_text
from tests.cases.test_todo import build_todo_world
from tests.factories import UserFactory
from tests.incidents.test_workflow import W_POINT, CaseWorld, act, new_case

TODO = reverse("todo-api")
PAGE = reverse("todo")


@pytest.fixture
def tw(db) -> CaseWorld:
    return build_todo_world()


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def incident_by_api(cw: CaseWorld, severity: str = "blue") -> int:
    reporter = token_client(cw.users["reporter"])
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(W_POINT)},
        "properties": {
            "category": "dispute",
            "description": "邻里因围墙争吵",
            "severity": severity,
        },
    }
    res = reporter.post(reverse("incident-list"), body, format="json")
    assert res.status_code == 201, res.content
    return res.json()["id"]


def todo_of(client: APIClient) -> dict:
    res = client.get(TODO)
    assert res.status_code == 200, res.content
    return res.json()


def test_an_incident_created_by_api_is_in_the_routed_leaders_and_guides_to_do(tw):
    leader, guide = tw.users["grid_leader"], tw.users["guide"]
    assert not hasattr(leader, "account") and not hasattr(guide, "account")
    pk = incident_by_api(tw)
    leader_todo = todo_of(token_client(leader))
    [item] = [r for r in leader_todo["results"] if r["id"] == pk]
    assert item["action"] == "acknowledge"
    assert item["url"] == reverse("case", args=[pk])
    assert leader_todo["counts"]["acknowledge"] == 1 and leader_todo["counts"]["total"] == 1
    guide_todo = todo_of(token_client(guide))
    assert [(r["id"], r["action"]) for r in guide_todo["results"]] == [(pk, FOLLOW_UP)]
    # Once the leader acknowledges, it leaves the guide's to do and the leader's asks to start.
    act(tw, "grid_leader", Incident.objects.get(pk=pk), "acknowledge")
    assert todo_of(token_client(guide))["count"] == 0
    assert [r["action"] for r in todo_of(token_client(leader))["results"]] == ["start"]


def test_the_answer_in_chinese_and_its_order(tw):
    blue = new_case(tw)
    red = new_case(tw, "red")
    yellow = new_case(tw, "yellow")
    body = todo_of(token_client(tw.users["guide"]))  # routed on every tier in the grid
    # yellow before blue; the red one is the town's (the guide is only copied on it)
    assert [r["id"] for r in body["results"]] == [yellow.pk, blue.pk]
    assert red.owner_level == "town"
    first = body["results"][0]
    assert set(first) >= {
        "id", "action", "action_label", "severity", "severity_label", "status", "category",
        "summary", "place", "reported_at", "due_at", "overdue", "due_text", "url",
    }  # fmt: skip
    assert first["category"] == "矛盾纠纷"
    assert re.fullmatch(r"还剩 \d+ (小时|天)", first["due_text"])
    assert body["actions"]["acknowledge"] == "签收"


def test_deadline_words():
    now = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    with translation.override("zh-hans"):
        assert due_text(now + dt.timedelta(hours=1, minutes=30), now) == "还剩 2 小时"
        assert due_text(now - dt.timedelta(hours=3), now) == "已超时 3 小时"
        assert due_text(now - dt.timedelta(days=3), now) == "已超时 3 天"
        assert due_text(None, now) == ""
    with translation.override("en"):
        assert due_text(now + dt.timedelta(minutes=20), now) == "1 hour left"
        assert due_text(now - dt.timedelta(hours=50), now) == "2 days overdue"


def test_pages_of_twenty(tw):
    for _ in range(21):
        new_case(tw)
    client = token_client(tw.users["grid_leader"])
    body = todo_of(client)
    assert (body["count"], len(body["results"])) == (21, 20)
    assert body["next"] is not None
    assert len(client.get(TODO, {"page": 2}).json()["results"]) == 1


def test_anonymous_gets_nothing(tw):
    new_case(tw)
    assert APIClient().get(TODO).status_code in (401, 403)
    assert todo_of(token_client(UserFactory(username="nobody")))["count"] == 0


def test_the_api_costs_a_fixed_number_of_queries(tw, django_assert_max_num_queries):
    for severity in ("blue", "yellow", "red"):
        new_case(tw, severity)
    client = APIClient()
    client.force_authenticate(tw.users["grid_leader"])
    client.get(TODO)
    for _ in range(5):
        new_case(tw)
    # blue: acknowledge; yellow: follow up (routed too); red is owned by the town and
    # reaches the grid leader too (round the clock): follow up.
    # identity (worker, account, assignments, catchment), counts, page count, page
    with django_assert_max_num_queries(9):
        assert client.get(TODO).json()["count"] == 8


# --- the page, the badge, the landing page ------------------------------------------------
def test_the_page_draws_cards_that_open_the_case(tw, client):
    red = new_case(tw, "red")
    client.force_login(tw.users["town_dispatcher"])
    html = client.get(PAGE).content.decode()
    assert f'href="{reverse("case", args=[red.pk])}"' in html
    assert "td-sev-red" in html and "签收" in html and "还剩" in html
    assert 'class="gm-badge" data-todo-count="1"' in html


def test_the_badge_is_in_the_header_of_every_page_and_the_menu_button(tw, client):
    new_case(tw)
    new_case(tw)
    client.force_login(tw.users["grid_leader"])
    for path in ("/map/", "/lists/", "/dashboard/", PAGE):
        header = client.get(path).content.decode().split("<main")[0]
        assert 'data-todo-count="2"' in header, path
        assert re.search(r'gm-menu-badge" aria-hidden="true">2<', header), path
    client.force_login(tw.users["other_grid_leader"])
    header = client.get("/map/").content.decode().split("<main")[0]
    assert f'href="{PAGE}"' in header and "gm-badge" not in header


def test_the_badge_is_kept_a_few_seconds_and_the_to_do_page_is_exact(
    tw, client, settings, monkeypatch, django_assert_num_queries
):
    """GRIDMAP_TODO_BADGE_SECONDS: the next pages show the kept count without counting; the
    to-do page counts exactly and keeps its count; past the seconds the badge counts again."""
    from gridmap import ttl
    from incidents import context_processors

    settings.GRIDMAP_TODO_BADGE_SECONDS = 15
    kept_counts = ttl.TTLCache("GRIDMAP_TODO_BADGE_SECONDS")
    monkeypatch.setattr(context_processors, "kept_counts", kept_counts)
    new_case(tw)
    user = tw.users["grid_leader"]
    client.force_login(user)

    def badge(path: str = "/lists/") -> str:
        header = client.get(path).content.decode().split("<main")[0]
        found = re.search(r'data-todo-count="(\d+)"', header)
        return found.group(1) if found else ""

    assert badge() == "1"
    expires, _count = kept_counts._entries[user.pk]
    new_case(tw)
    assert badge() == "1"  # kept: not counted again within the seconds
    assert badge(PAGE) == "2"  # the to-do page counts exactly, and keeps its count
    assert badge() == "2"
    new_case(tw)
    clock = ttl.time.monotonic()
    assert expires <= clock + 15
    monkeypatch.setattr(ttl.time, "monotonic", lambda: clock + 16)
    assert badge() == "3"  # past the seconds: counted again


def test_sign_in_lands_on_the_to_do_and_next_still_wins(tw, client):
    user = UserFactory(username="lands", password="secret-pass-1")
    res = client.post(reverse("login"), {"username": user.username, "password": "secret-pass-1"})
    assert res.status_code == 302 and res["Location"] == PAGE
    client.logout()
    res = client.post(
        reverse("login"),
        {"username": user.username, "password": "secret-pass-1", "next": "/weekly/"},
    )
    assert res["Location"] == "/weekly/"


def test_the_badge_is_one_query_once_the_request_knows_who_you_are(tw, django_assert_num_queries):
    """The identity (account, worker, today's assignments, jurisdiction) is read once per
    request and shared with every other part of the page; the badge adds one count."""
    from accounts.selectors import granted_account, jurisdiction_prefixes, today_assignments
    from incidents.context_processors import TodoBadge

    new_case(tw)
    for who in ("grid_leader", "station_head", "town_staff", "reporter"):
        user = type(tw.users[who]).objects.get(pk=tw.users[who].pk)  # a fresh request's user
        jurisdiction_prefixes(user), today_assignments(user), granted_account(user)
        with django_assert_num_queries(1):
            assert TodoBadge(user).text in ("", "1")
