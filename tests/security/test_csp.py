"""Threat: script injected into a page (a stored payload that some insertion missed) runs.
Every answer now carries a Content-Security-Policy: scripts only from this site or with the
page's nonce (django-leaflet's one inline script), no plugins, no framing."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


@pytest.mark.parametrize("path", ["/map/", "/field/", "/lists/", "/accounts/login/", "/api/docs/"])
def test_every_page_has_a_policy_without_unsafe_inline_script(client, path):
    answer = client.get(path)
    policy = answer.headers.get("Content-Security-Policy", "")
    script = re.search(r"script-src ([^;]*)", policy)
    assert script is not None, policy
    assert "'unsafe-inline'" not in script.group(1) and "'unsafe-eval'" not in script.group(1)
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_the_inline_map_script_carries_the_pages_nonce(client):
    answer = client.get("/map/")
    nonce = re.search(r"'nonce-([^']+)'", answer.headers["Content-Security-Policy"]).group(1)
    html = answer.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    inline = [attrs for attrs in inline if "application/json" not in attrs]
    assert inline, "the map page has django-leaflet's inline script"
    assert all(f'nonce="{nonce}"' in attrs for attrs in inline), inline


def test_the_api_docs_load_their_script_from_a_file(client):
    html = client.get("/api/docs/").content.decode()
    inline = [m for m in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html) if "json" not in m]
    assert inline == []


def test_a_plain_answers_policy_is_django_csps_own(client):
    """The header built once (gridmap.middleware.ContentSecurityPolicy) is the one django-csp
    builds for the same answer, and follows a change of the settings."""
    from csp.middleware import CSPMiddleware
    from django.http import JsonResponse
    from django.test import RequestFactory, override_settings

    def django_csps() -> str:
        request = RequestFactory().get("/api/grids/at")
        middleware = CSPMiddleware(lambda r: JsonResponse({}))
        middleware.process_request(request)
        return middleware.process_response(request, JsonResponse({}))["Content-Security-Policy"]

    answer = client.get("/api/grids/at", {"lon": "1", "lat": "1"})
    assert answer["Content-Security-Policy"] == django_csps()
    changed = {"DIRECTIVES": {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}}
    with override_settings(CONTENT_SECURITY_POLICY=changed):
        again = client.get("/api/grids/at", {"lon": "1", "lat": "1"})
        assert again["Content-Security-Policy"] == django_csps()
        assert set(again["Content-Security-Policy"].split("; ")) == {
            "default-src 'none'",
            "frame-ancestors 'none'",
        }
    assert client.get("/lists/")["Content-Security-Policy"] == django_csps()
