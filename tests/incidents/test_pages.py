"""/field/ (the grid worker's phone page) and /field/sw.js (its service worker), rendered by
Django: login, the shell, its text in both languages, the worker script, nothing off-site."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import translation

from accounts.models import AccountRole
from incidents import services
from incidents.views import field_static, field_strings
from tests.factories import AccountFactory, UserFactory
from tests.grids.test_pages import OFF_SITE, parse

pytestmark = pytest.mark.django_db

FIELD_JS = ["incidents/field.js", "incidents/field-queue.js", "incidents/field-sw.js"]


@pytest.fixture
def grid_worker():
    account = AccountFactory(
        user=UserFactory(username="field-worker", first_name="Zhu Jin"),
        role=AccountRole.GRID_WORKER,
        codes=["990101001001001"],
    )
    return account.user


def _field(client, user):
    client.force_login(user)
    response = client.get(reverse("field"))
    assert response.status_code == 200
    return response


def test_field_url_and_header_link():
    assert reverse("field") == "/field/"
    assert reverse("field-sw") == "/field/sw.js"


def test_field_sends_anonymous_users_to_the_login_page(client):
    response = client.get(reverse("field"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/field/"


def test_field_renders_the_shell_for_a_grid_worker(client, grid_worker):
    response = _field(client, grid_worker)
    page = parse(response)
    html = response.content.decode()

    assert 'id="field"' in html and 'id="fieldmap"' in html
    assert 'name="viewport"' in html
    # The three modes, the photo input the phone camera opens, the CSRF token for the POSTs.
    for tab in ("report", "unit", "work"):
        assert f'data-tab="{tab}"' in html
    assert re.search(
        r'<input type="file" name="photos" accept="image/\*" capture="environment" multiple>', html
    )
    assert re.search(r'data-csrf="[^"]{32,}"', html)

    config = json.loads(page.json_scripts["field-config"])
    assert config["user"] == "field-worker"
    assert config["layerUrl"] == reverse("layer", args=["LEVEL"])
    assert config["gridAtUrl"] == reverse("grid-at")
    assert config["householdsUrl"] == reverse("household-list")
    assert config["categoriesUrl"] == "/api/incident-categories/"
    assert config["incidentsUrl"] == "/api/incidents/"
    assert config["duplicatesUrl"] == "/api/incidents/duplicates/"
    assert config["inboxUrl"] == "/api/inbox/"
    assert config["unitsUrl"] == "/api/ten-household-units/"
    assert config["serviceWorkerUrl"] == "/field/sw.js"
    assert config["scope"] == "/field/"
    assert config["loginUrl"] == "/accounts/login/?next=/field/"
    # The phone checks the photos against the service's own limits.
    assert config["maxPhotos"] == services.MAX_PHOTOS == 3
    assert config["maxPhotoBytes"] == services.MAX_PHOTO_BYTES == 5 * 1024 * 1024
    assert set(config["photoTypes"]) == {"image/jpeg", "image/png", "image/webp"}
    assert config["maxDescription"] == services.MAX_DESCRIPTION
    assert config["hasBasemap"] is False

    scripts = [value for tag, attr, value in page.urls if tag == "script" and attr == "src"]
    assert any(s.endswith("/leaflet/leaflet.js") for s in scripts)  # django-leaflet's own copy
    assert scripts[-2:] == ["/static/incidents/field-queue.js", "/static/incidents/field.js"]
    assert "window.fieldInit" in html  # django-leaflet hands the map to field.js
    # The header names the worker and marks the field link as the current page.
    assert "Zhu Jin" in html
    assert re.search(r'<a [^>]*href="/field/"[^>]*aria-current="page"', html)


def test_field_speaks_chinese_by_default_and_english_on_request(client, grid_worker):
    response = _field(client, grid_worker)
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    page = parse(response)
    labels = json.loads(page.json_scripts["field-labels"])
    assert labels["role"]["grid_leader"] == "网格长"
    assert labels["role"]["party_guide"] == "党建指导员"
    assert labels["role"]["town_dispatcher"] == "镇综治平台调度员"
    assert labels["severity"] == {"blue": "蓝色", "yellow": "黄色", "red": "红色"}
    assert labels["kind"] == {"routed": "交办", "copied": "抄送", "watching": "关注"}

    strings = json.loads(page.json_scripts["field-strings"])
    with translation.override("en"):
        english = field_strings()
    assert set(strings) == set(english)
    untranslated = sorted(key for key in english if strings[key] == english[key])
    assert untranslated == [], "zh-hans translations missing for: " + ", ".join(untranslated)

    client.post(reverse("set_language"), {"language": "en", "next": "/field/"})
    page = parse(client.get(reverse("field")))
    strings = json.loads(page.json_scripts["field-strings"])
    assert strings == english
    assert strings["tabWork"] == "My work"
    assert strings["queued"] == "Queued: will be sent when the network returns."
    labels = json.loads(page.json_scripts["field-labels"])
    assert labels["role"]["grid_leader"] == "Grid leader"
    assert labels["kind"]["routed"] == "Routed to"


def test_the_map_page_links_to_the_field_page(client, grid_worker):
    client.force_login(grid_worker)
    html = client.get(reverse("map")).content.decode()
    link = re.search(r'<a [^>]*href="/field/"[^>]*>', html)
    assert link and "aria-current" not in link.group(0)


def test_service_worker_is_javascript_for_the_field_scope(client):
    # No login: the browser fetches the script on its own to look for updates.
    response = client.get(reverse("field-sw"))
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert response["Service-Worker-Allowed"] == "/field/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert body.startswith("self.GRIDMAP_SW = ")
    config = json.loads(body.split("\n", 1)[0].removeprefix("self.GRIDMAP_SW = ").rstrip(";"))
    assert config["shell"] == "/field/"
    assert re.fullmatch(r"[0-9a-f]{16}", config["version"])
    assert 'addEventListener("fetch"' in body

    # It keeps the page's files: django-leaflet's Leaflet and the page's own, all real files.
    precache = config["precache"]
    assert "/static/leaflet/leaflet.js" in precache
    assert "/static/leaflet/leaflet.css" in precache
    for path in field_static():
        assert f"/static/{path}" in precache
    for url in precache:
        assert url.startswith("/static/")
        assert finders.find(url.removeprefix("/static/")), url
    assert "/api/incident-categories/" in config["dataUrls"]


def test_service_worker_version_follows_the_page_files(client, monkeypatch):
    first = client.get(reverse("field-sw")).content.decode().split("\n", 1)[0]
    assert client.get(reverse("field-sw")).content.decode().split("\n", 1)[0] == first
    import incidents.views as views

    original = views._static_source
    monkeypatch.setattr(
        views,
        "_static_source",
        lambda path: original(path) + (b"/* changed */" if path.endswith("field.js") else b""),
    )
    assert client.get(reverse("field-sw")).content.decode().split("\n", 1)[0] != first


def test_service_worker_covers_the_page_it_caches(client, grid_worker):
    """Every static file /field/ loads is one the service worker keeps for offline use."""
    page = parse(_field(client, grid_worker))
    sw = client.get(reverse("field-sw")).content.decode()
    config = json.loads(sw.split("\n", 1)[0].removeprefix("self.GRIDMAP_SW = ").rstrip(";"))
    loaded = {
        value
        for tag, attr, value in page.urls
        if value.startswith("/static/") and (tag, attr) in (("script", "src"), ("link", "href"))
    }
    assert loaded, "the parser found no static files"
    assert loaded <= set(config["precache"])


def test_field_loads_nothing_from_off_site(client, grid_worker):
    page = parse(_field(client, grid_worker))
    assert page.urls, "the parser found no URLs at all"
    off_site = [(tag, attr, value) for tag, attr, value in page.urls if OFF_SITE.match(value)]
    assert off_site == []
    for href in page.stylesheets:
        path = finders.find(href.removeprefix("/static/"))
        assert path, f"{href} is not a static file of this project"
        with open(path, encoding="utf-8") as css:
            text = css.read()
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), href
        assert "@import" not in text, href
    # Nor do the page's scripts reach for another host (a CDN, a web font, a tile server).
    for name in FIELD_JS:
        with open(finders.find(name), encoding="utf-8") as script:
            assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", script.read()), name
