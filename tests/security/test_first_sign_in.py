"""Threat: a login handed out with a password someone else has seen (printed, read out) stays
usable as it is (issue 12, item 1).

Fixed: logins for workers (``manage.py create_worker_logins``, ``worker_login_create``) get a
random one-time password, shown once, and a ``PasswordChangeRequired`` mark: until the
password is changed, every page redirects to Django's password change
(``accounts.middleware.ForcePasswordChange``), session API calls answer 403 and API tokens are
refused (``accounts.authentication.FirstSignInTokenAuthentication``), each with a message.
"""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import PasswordChangeRequired
from accounts.selectors import MSG_CHANGE_PASSWORD_FIRST
from grids.models import Role, Worker
from tests.factories import GridFactory, RoleAssignmentFactory, WorkerFactory, since

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader():
    grid = GridFactory()
    worker = WorkerFactory(name="张网格长", phone="+86 139-0000-1111")
    RoleAssignmentFactory(worker=worker, role=Role.GRID_LEADER, grid=grid, period=since())
    WorkerFactory(name="无角色")  # holds no role: no login
    return worker


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_worker_logins", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_without_print_nothing_is_created(leader):
    users = get_user_model().objects.count()
    out = run("--all-active")
    assert "would create: 张网格长" in out and "无角色" not in out
    assert get_user_model().objects.count() == users


def test_login_by_mobile_with_a_one_time_password_changed_first(leader):
    out = run("--village", leader.assignments.get().grid.village.code, "--print")
    line = re.search(r"张网格长\t(\d+)\t(\S+)", out)
    assert line is not None, out
    username, password = line.groups()
    assert username == "13900001111"
    assert Worker.objects.get(pk=leader.pk).user.username == username
    village = leader.assignments.get().grid.village.code
    assert "created 0 logins" in run("--village", village, "--print")  # already has one

    client = Client()
    res = client.post(reverse("login"), {"username": username, "password": password})
    assert res.status_code == 302  # signed in with the printed password
    # Every page leads to the password change first.
    res = client.get("/map/")
    assert res.status_code == 302 and res["Location"] == reverse("password_change")
    assert client.get(reverse("password_change")).status_code == 200
    res = client.get(reverse("inbox"))
    assert res.status_code == 403 and res.json()["detail"] == gettext(MSG_CHANGE_PASSWORD_FIRST)
    # A token (issued or not) is refused with the message.
    api = APIClient()
    token = Token.objects.create(user=Worker.objects.get(pk=leader.pk).user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    res = api.get(reverse("inbox"))
    assert res.status_code in (401, 403)
    assert res.json()["detail"] == gettext(MSG_CHANGE_PASSWORD_FIRST)

    res = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "Grid-leader-2026!",
         "new_password2": "Grid-leader-2026!"},
    )  # fmt: skip
    assert res.status_code == 302
    assert not PasswordChangeRequired.objects.exists()
    assert client.get("/map/").status_code == 200
    assert api.get(reverse("inbox")).status_code == 200


def test_a_worker_without_a_mobile_is_skipped(leader):
    leader.phone = ""
    leader.save()
    users = get_user_model().objects.count()
    assert "created 0 logins" in run("--village", leader.assignments.get().grid.village.code,
                                     "--print")  # fmt: skip
    assert get_user_model().objects.count() == users


def test_the_admin_action_shows_each_password_once_and_not_cached(leader, admin_client):
    res = admin_client.post(
        reverse("admin:grids_worker_changelist"),
        {"action": "create_worker_logins", "_selected_action": [leader.pk]},
    )
    assert res.status_code == 200 and "no-store" in res["Cache-Control"]
    page = res.content.decode()
    match = re.search(r"<td>13900001111</td><td><code>(\w+)</code>", page)
    assert match is not None, page
    user = Worker.objects.get(pk=leader.pk).user
    assert user.username == "13900001111" and user.check_password(match.group(1))
    assert PasswordChangeRequired.objects.filter(user=user).exists()
    # A second time: the worker has a login; nothing new, the reason shown.
    again = admin_client.post(
        reverse("admin:grids_worker_changelist"),
        {"action": "create_worker_logins", "_selected_action": [leader.pk]},
    ).content.decode()
    assert "<code>" not in again and "张网格长" in again
