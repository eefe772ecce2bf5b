"""Issuing Open311 keys in the admin: the key is shown once and stored as a keyed hash; a
district administrator issues keys for their own district only and sees only theirs."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import AccountRole
from accounts.services import account_upsert
from gridmap.crypto import keyed_hash
from open311.admin import MSG_SCOPE
from open311.models import ApiKey

from .conftest import Areas, Open311Client

pytestmark = pytest.mark.django_db

ADD = "/admin/open311/apikey/add/"
KEY = re.compile(r"\b([0-9a-f]{40})\b")


def district_admin(code: str) -> Client:
    account = account_upsert(
        username="open311-admin-test", password="pass-word-1",
        role=AccountRole.DISTRICT_ADMIN, codes=[code],
    )  # fmt: skip
    account.user.user_permissions.set(Permission.objects.filter(content_type__app_label="open311"))
    client = Client()
    client.force_login(account.user)
    return client


def test_a_district_administrator_issues_a_key_shown_once(areas: Areas):
    client = district_admin(areas.a.code)
    page = client.post(
        ADD, {"name": "County 12345", "scope_code": areas.a.code, "is_active": "on"}, follow=True
    )
    assert page.status_code == 200
    text = page.content.decode()
    (raw,) = set(KEY.findall(text))
    key = ApiKey.objects.get(name="County 12345")
    assert key.key_hash == keyed_hash(raw) and raw not in (key.key_hash, key.key_prefix)
    assert key.created_by is not None and key.reporter.is_active is False
    assert not key.reporter.has_usable_password()
    # Shown once: the change page and the list show only its first characters.
    again = client.get(f"/admin/open311/apikey/{key.pk}/change/").content.decode()
    assert raw not in again and key.key_prefix in again
    # The key works.
    answer = Open311Client().get("requests.json", "requests", api_key=raw)
    assert answer.status == 200


def test_a_district_administrator_cannot_issue_or_see_keys_of_another_district(areas: Areas):
    client = district_admin(areas.a.code)
    page = client.post(ADD, {"name": "Next door", "scope_code": areas.b.code, "is_active": "on"})
    assert page.status_code == 200  # the form again, with the error
    assert not ApiKey.objects.filter(name="Next door").exists()
    listing = client.get("/admin/open311/apikey/").content.decode()
    assert areas.key_a.name in listing and areas.key_b.name not in listing
    assert client.get(f"/admin/open311/apikey/{areas.key_b.pk}/change/").status_code in (302, 404)


def test_a_scope_must_be_a_current_district_or_city(areas: Areas, admin_client):
    page = admin_client.post(ADD, {"name": "Bad", "scope_code": "123456", "is_active": "on"})
    assert page.status_code == 200
    with translation.override("zh-hans"):  # the admin's default language
        assert gettext(MSG_SCOPE) in page.content.decode()
    assert not ApiKey.objects.filter(name="Bad").exists()
