"""Threat: guessing passwords. Before this, 135 wrong passwords a minute were accepted on the
login page, the token endpoint and the admin login, and a token lived for ever.

Now, after ``AXES_FAILURE_LIMIT`` wrong passwords for a username (or from an address) every
login path refuses that username, even with the right password, with a 429 and a message in
the reader's language; a success before the limit resets the count; an administrator unlocks
with ``axes_reset_username``; a token older than ``GRIDMAP_TOKEN_TTL_HOURS`` is refused and a
new sign-in issues a fresh one.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from gridmap.auth import MSG_LOCKED_OUT
from gridmap.authentication import MSG_TOKEN_EXPIRED
from tests.factories import UserFactory

PASSWORD = "a-long-enough-password-42"
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture
def user(db):
    user = UserFactory(username="wang.xiaoming", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def login_page(client: Client, password: str):
    return client.post("/accounts/login/", {"username": "wang.xiaoming", "password": password})


def admin_login(client: Client, password: str):
    return client.post(
        "/admin/login/?next=/admin/", {"username": "wang.xiaoming", "password": password}
    )


def token(client: Client, password: str):
    return client.post(
        "/api/auth/token/",
        {"username": "wang.xiaoming", "password": password},
        content_type="application/json",
    )


PATHS = {"login page": login_page, "admin login": admin_login, "token endpoint": token}


@pytest.mark.parametrize("path", list(PATHS))
def test_each_login_path_locks_out_after_the_limit(user, path):
    attempt = PATHS[path]
    client = Client()
    for _ in range(LIMIT - 1):
        answer = attempt(client, "wrong")
        assert answer.status_code in (200, 400), answer.status_code  # the form again
    # The limit-th failure locks; the right password no longer opens.
    assert attempt(client, "wrong").status_code == 429
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 429
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    text = locked.json()["detail"] if path == "token endpoint" else locked.content.decode()
    assert "30" in text and str(minutes) in text
    assert MSG_LOCKED_OUT.split(":")[0] in text or "密码" in text


def test_the_lockout_is_per_username_across_paths_and_an_admin_unlocks_it(user):
    client = Client()
    for _ in range(LIMIT):
        token(client, "wrong")
    # Locked on the other paths too, from another client.
    assert login_page(Client(), PASSWORD).status_code == 429
    call_command("axes_reset_username", "wang.xiaoming", verbosity=0)
    assert login_page(Client(), PASSWORD).status_code == 302


def test_a_success_before_the_limit_resets_the_count(user):
    client = Client()
    for _ in range(LIMIT - 1):
        login_page(client, "wrong")
    assert login_page(client, PASSWORD).status_code == 302
    for _ in range(LIMIT - 1):
        login_page(Client(), "wrong")
    assert login_page(Client(), PASSWORD).status_code == 302


def test_the_lockout_message_is_in_chinese_by_default(user):
    client = Client()
    for _ in range(LIMIT):
        token(client, "wrong")
    detail = token(client, PASSWORD).json()["detail"]
    assert "锁定" in detail and "，" in detail


def test_tokens_expire_and_a_new_sign_in_issues_a_new_one(user):
    client = Client()
    key = token(client, PASSWORD).json()["token"]
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert client.get("/api/inbox/", **headers).status_code == 200
    Token.objects.filter(key=key).update(
        created=timezone.now() - dt.timedelta(hours=settings.GRIDMAP_TOKEN_TTL_HOURS, minutes=1)
    )
    expired = client.get("/api/inbox/", **headers)
    # 403, not 401: session authentication comes first and sends no WWW-Authenticate.
    assert expired.status_code in (401, 403)
    assert expired.json()["detail"] in (MSG_TOKEN_EXPIRED, "登录已过期，请重新登录。")
    fresh = token(client, PASSWORD).json()["token"]
    assert fresh != key
    assert client.get("/api/inbox/", HTTP_AUTHORIZATION=f"Token {fresh}").status_code == 200
