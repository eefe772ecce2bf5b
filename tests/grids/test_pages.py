"""Pages rendered by Django: /map/, the login page, the header and its language switch."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from accounts.models import AccountRole
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

OFF_SITE = re.compile(r"^(https?:)?//", re.IGNORECASE)


class _Page(HTMLParser):
    """Every URL-bearing attribute, and the JSON scripts, of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.json_scripts: dict[str, str] = {}
        self.stylesheets: list[str] = []
        self.language_buttons: dict[str, bool] = {}  # code -> shown as the active one
        self._json_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            if values.get(name):
                self.urls.append((tag, name, values[name] or ""))
        if tag == "link" and values.get("rel") == "stylesheet":
            self.stylesheets.append(values.get("href") or "")
        if tag == "button" and values.get("name") == "language":
            self.language_buttons[values["value"] or ""] = values.get("aria-pressed") == "true"
        if tag == "script" and values.get("type") == "application/json":
            self._json_id = values.get("id")

    def handle_data(self, data: str) -> None:
        if self._json_id:
            self.json_scripts[self._json_id] = self.json_scripts.get(self._json_id, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._json_id = None


def parse(response) -> _Page:
    page = _Page()
    page.feed(response.content.decode())
    return page


@pytest.fixture
def user():
    account = AccountFactory(
        user=UserFactory(username="pages-town", first_name="Li Ming"),
        role=AccountRole.TOWN_STAFF,
        codes=["990101001"],
    )
    return account.user


def test_root_redirects_to_the_map(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/map/"


def test_map_sends_anonymous_users_to_the_login_page(client):
    response = client.get(reverse("map"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/map/"


def test_login_page_has_the_form_and_speaks_chinese_by_default(client):
    response = client.get(reverse("login"), {"next": "/map/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert 'name="username"' in html
    assert 'type="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="next" value="/map/"' in html
    assert 'name="viewport"' in html
    # Django ships this one in Chinese, so it proves the page is rendered in zh-hans.
    assert "密码" in html


def test_logging_in_through_the_form_opens_the_map(client, user):
    user.set_password("secret-pass")
    user.save()
    response = client.post(
        reverse("login"),
        {"username": "pages-town", "password": "secret-pass", "next": "/map/"},
        follow=True,
    )
    assert response.redirect_chain[-1] == ("/map/", 302)
    assert response.status_code == 200
    assert b'id="gridmap"' in response.content


def test_a_wrong_password_is_refused_with_a_message(client, user):
    response = client.post(reverse("login"), {"username": "pages-town", "password": "nope"})
    assert response.status_code == 200
    assert b'class="gm-alert"' in response.content
    assert "_auth_user_id" not in client.session


def test_map_page_renders_the_map_shell_for_a_logged_in_user(client, user):
    client.force_login(user)
    response = client.get(reverse("map"))
    assert response.status_code == 200
    page = parse(response)

    config = json.loads(page.json_scripts["gridmap-config"])
    assert config["layerUrl"] == reverse("layer", args=["LEVEL"])
    assert config["gridUrl"] == reverse("grid-detail", args=["CODE"])
    assert config["buildingMinZoom"] == 15
    assert config["hasBasemap"] is False  # no tiles in tests: the page draws on a plain ground

    strings = json.loads(page.json_scripts["gridmap-strings"])
    assert {"grids", "gridLeader", "noGridLeader", "zoomForBuildings", "legend"} <= set(strings)

    scripts = [value for tag, attr, value in page.urls if tag == "script" and attr == "src"]
    assert any(s.endswith("/leaflet/leaflet.js") for s in scripts)  # django-leaflet's own copy
    assert scripts[-1].endswith("/grids/map.js")
    html = response.content.decode()
    assert "window.gridmapInit" in html  # django-leaflet hands the map to map.js
    # The header: the user's name and role, a POST logout form, the language switch.
    assert "Li Ming" in html
    assert f'action="{reverse("logout")}"' in html
    assert f'action="{reverse("set_language")}"' in html
    assert page.language_buttons == {"zh-hans": True, "en": False}


def test_map_page_loads_nothing_from_off_site(client, user):
    client.force_login(user)
    page = parse(client.get(reverse("map")))
    assert page.urls, "the parser found no URLs at all"
    off_site = [(tag, attr, value) for tag, attr, value in page.urls if OFF_SITE.match(value)]
    assert off_site == []
    # Nor do the stylesheets it links pull in web fonts or other files from elsewhere.
    for href in page.stylesheets:
        path = finders.find(href.removeprefix("/static/"))
        assert path, f"{href} is not a static file of this project"
        with open(path, encoding="utf-8") as css:
            text = css.read()
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), href
        assert "@import" not in text, href


def test_language_switch_turns_the_page_english(client, user):
    client.force_login(user)
    before = client.get(reverse("map")).content.decode()
    assert '<html lang="zh-hans">' in before

    response = client.post(reverse("set_language"), {"language": "en", "next": "/map/"})
    assert response.status_code == 302
    assert response["Location"] == "/map/"

    after = client.get(reverse("map"))
    html = after.content.decode()
    assert '<html lang="en">' in html
    assert ">Log out</button>" in html
    assert "Party-building-led grassroots governance" in html
    strings = json.loads(parse(after).json_scripts["gridmap-strings"])
    assert strings["gridLeader"] == "Grid leader"
    assert strings["noGridLeader"] == "No grid leader assigned"
    assert parse(after).language_buttons == {"zh-hans": False, "en": True}


def test_logout_is_a_post_and_returns_to_the_login_page(client, user):
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405  # never a GET
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("map")).status_code == 302


def test_the_map_draws_in_web_mercator_like_its_basemaps(client, user):
    """django-leaflet's ``LEAFLET_CONFIG["SRID"]`` is the projection the map is *drawn* in,
    not the SRID of the data (the API always speaks EPSG:4326 GeoJSON). Basemap tiles (OSM,
    Tianditu ``vec_w``) are EPSG:3857, Leaflet's default: any other SRID asks the tile server
    for the wrong tiles, distorts every shape and loads ``static/proj4js/<SRID>.js``."""
    client.force_login(user)
    html = client.get(reverse("map")).content.decode()
    assert "proj4" not in html, "remove SRID from LEAFLET_CONFIG (or set it to 3857)"
    assert '"srid": null' in html
