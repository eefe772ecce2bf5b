"""The per-process cache of API tokens (accounts.authentication, issue 16 point 1): a revoked
token, an ended role, a one-time password or an expired token take effect at once in the
process that made the change; a change no signal announces, within
GRIDMAP_AUTH_CACHE_SECONDS."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateRange
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts import authentication
from accounts.models import Account, AccountRole, PasswordChangeRequired
from grids.models import Role
from tests.factories import AccountFactory, RoleAssignmentFactory, UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10


URL = reverse("grid-at")
WEST = {"lon": 100.01, "lat": 0.01}


@pytest.fixture
def leader(two_grids):
    """A grid leader of the west grid with a login and a token: sees the west grid only."""
    west, _ = two_grids
    user = UserFactory()
    worker = WorkerFactory(user=user)
    assignment = RoleAssignmentFactory(grid=west, role=Role.GRID_LEADER, worker=worker)
    token = Token.objects.create(user=user)
    return {"user": user, "assignment": assignment, "auth": f"Token {token.key}", "token": token}


def _get(api_client, auth: str, params: dict = WEST) -> int:
    return api_client.get(URL, params, HTTP_AUTHORIZATION=auth).status_code


def test_a_known_token_is_answered_from_the_cache(api_client, leader, django_assert_num_queries):
    assert _get(api_client, leader["auth"]) == 200
    with django_assert_num_queries(1):  # the lookup only
        assert _get(api_client, leader["auth"]) == 200


def test_a_deleted_token_is_refused_at_once(api_client, leader):
    assert _get(api_client, leader["auth"]) == 200
    leader["token"].delete()
    assert _get(api_client, leader["auth"]) in (401, 403)


def test_an_ended_role_moves_the_jurisdiction_at_once(api_client, leader):
    assert _get(api_client, leader["auth"]) == 200
    assignment = leader["assignment"]
    today = timezone.localdate()
    assignment.period = DateRange(assignment.period.lower, today)
    assignment.save()
    assert _get(api_client, leader["auth"]) == 404


def test_a_one_time_password_refuses_the_token_at_once(api_client, leader):
    assert _get(api_client, leader["auth"]) == 200
    PasswordChangeRequired.objects.create(user=leader["user"])
    assert _get(api_client, leader["auth"]) in (401, 403)


def test_an_expired_token_is_refused_although_cached(api_client, leader, settings):
    assert _get(api_client, leader["auth"]) == 200
    settings.GRIDMAP_TOKEN_TTL_HOURS = 0
    assert _get(api_client, leader["auth"]) in (401, 403)


def test_a_change_without_signals_takes_effect_within_the_ttl(
    api_client, two_grids, monkeypatch, settings
):
    """What another process changes (or a bulk update) reaches this one when the entry
    expires: simulated by moving this process's clock past the TTL."""
    west, east = two_grids
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    account = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[west.code[:9]])
    auth = f"Token {Token.objects.create(user=account.user).key}"
    assert _get(api_client, auth) == 200
    Account.objects.filter(pk=account.pk).update(codes=["999999999"])  # no signal
    clock = authentication.time.monotonic()
    monkeypatch.setattr(authentication.time, "monotonic", lambda: clock + 5)
    assert _get(api_client, auth) == 200  # still cached: within the TTL
    monkeypatch.setattr(authentication.time, "monotonic", lambda: clock + 11)
    assert _get(api_client, auth) == 404  # expired: read again, the town is no longer theirs


def test_without_a_ttl_nothing_is_cached(api_client, leader, settings):
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 0
    assert _get(api_client, leader["auth"]) == 200
    with CaptureQueriesContext(connection) as ctx:
        assert _get(api_client, leader["auth"]) == 200
    assert len(ctx.captured_queries) > 1


def test_each_request_gets_its_own_login_object(leader):
    first, _ = authentication.FirstSignInTokenAuthentication().authenticate_credentials(
        leader["token"].key
    )
    second, _ = authentication.FirstSignInTokenAuthentication().authenticate_credentials(
        leader["token"].key
    )
    assert first is not second and first.pk == second.pk
    first.__dict__.setdefault("_gridmap_identity", {})["noted"] = 1
    assert "noted" not in second.__dict__.get("_gridmap_identity", {})


def test_the_cache_keeps_no_token_key(leader):
    authentication.FirstSignInTokenAuthentication().authenticate_credentials(leader["token"].key)
    assert leader["token"].key not in authentication._entries
    assert len(authentication._entries) == 1


# --- sessions: the pages and the field page's calls (accounts.middleware.CachedAuthentication)
@pytest.fixture
def session_leader(client, leader):
    client.force_login(leader["user"])
    return client


def _session_get(client) -> int:
    return client.get(URL, WEST).status_code


def test_a_known_session_is_answered_from_the_cache(session_leader, django_assert_num_queries):
    assert _session_get(session_leader) == 200
    with django_assert_num_queries(1):  # the lookup only: no session, login or mark read
        res = session_leader.get(URL, WEST)
    assert res.status_code == 200
    # Served without reading the session, the answer still varies by the cookie.
    assert "Cookie" in res.headers.get("Vary", "")


def test_a_logout_ends_the_cached_session_at_once(session_leader):
    assert _session_get(session_leader) == 200
    session_leader.logout()  # deletes the session row: its signal empties the cache
    assert _session_get(session_leader) in (401, 403)


def test_a_session_deleted_elsewhere_ends_within_the_ttl(session_leader, monkeypatch):
    """``clearsessions`` or another process's logout send no signal here: the cached entry
    serves until its TTL, then the session is read again and found gone."""
    from django.contrib.sessions.models import Session

    assert _session_get(session_leader) == 200
    Session.objects.all()._raw_delete(Session.objects.db)  # no signal
    clock = authentication.time.monotonic()
    monkeypatch.setattr(authentication.time, "monotonic", lambda: clock + 5)
    assert _session_get(session_leader) == 200
    monkeypatch.setattr(authentication.time, "monotonic", lambda: clock + 11)
    assert _session_get(session_leader) in (401, 403)


def test_an_expired_session_is_refused_although_cached(session_leader, monkeypatch):
    assert _session_get(session_leader) == 200
    later = timezone.now() + timezone.timedelta(days=365)
    monkeypatch.setattr(authentication.timezone, "now", lambda: later)
    assert _session_get(session_leader) in (401, 403)


def test_an_ended_role_moves_a_sessions_jurisdiction_at_once(session_leader, leader):
    assert _session_get(session_leader) == 200
    assignment = leader["assignment"]
    assignment.period = DateRange(assignment.period.lower, timezone.localdate())
    assignment.save()
    assert _session_get(session_leader) == 404


def test_a_one_time_password_sends_a_cached_session_to_the_password_change(session_leader, leader):
    assert _session_get(session_leader) == 200
    PasswordChangeRequired.objects.create(user=leader["user"])
    res = session_leader.get(URL, WEST)
    assert res.status_code == 403
    assert "password" in res.json()["detail"].lower() or "密码" in res.json()["detail"]


def test_the_cache_keeps_no_session_key(session_leader):
    assert _session_get(session_leader) == 200
    key = session_leader.cookies["sessionid"].value
    assert not any(key in digest for digest in authentication._entries)
