"""The header's section links are kept per language, role and page (``gridmap.nav``): each
role still sees its own links, the page it is on is marked, and the language is the
reader's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AccountRole
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def _nav(client, path: str, language: str = "zh-hans") -> str:
    html = client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "{#" not in html and "{%" not in html  # no template syntax leaks into the page
    return html[html.index('<nav class="gm-nav"') : html.index("</nav>", html.index("gm-nav"))]


def _login(client, role: str, username: str) -> None:
    account = AccountFactory(user=UserFactory(username=username), role=role, codes=["450702"])
    client.force_login(account.user)


def test_each_role_sees_its_own_links(client):
    _login(client, AccountRole.DISTRICT_ADMIN, "district")
    admin = _nav(client, reverse("lists"))
    assert reverse("access-log") in admin and reverse("imports") in admin
    _login(client, AccountRole.GRID_WORKER, "worker")
    worker = _nav(client, reverse("lists"))
    # The same page, kept for another role: not the administrator's links.
    assert reverse("access-log") not in worker and reverse("plans") not in worker
    assert reverse("lists") in worker


def test_the_current_page_is_marked_and_the_language_followed(client):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    lists = _nav(client, reverse("lists"))
    assert f'<a href="{reverse("lists")}" aria-current="page">' in lists
    assert f'<a href="{reverse("dashboard")}">' in lists
    dashboard = _nav(client, reverse("dashboard"))
    assert f'<a href="{reverse("dashboard")}" aria-current="page">' in dashboard
    assert f'<a href="{reverse("lists")}">' in dashboard
    assert ">清单<" in lists
    assert ">Lists<" in _nav(client, reverse("lists"), "en")
