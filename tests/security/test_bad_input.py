"""Threat: bad input crashes the server (issue 11, item 5).

An attacker, a broken phone or a careless script sends what no form would: a NUL byte in a
path or query parameter, a JSON body that is a list or ``null`` instead of an object, JSON
nested a hundred thousand levels deep, a report dated year 1, an area with nothing in it, an
API path that does not exist. Each of these used to answer 500 (or, worse, be stored and
then break every page that shows it, and the clock). The rule: bad input gets a 4xx with a
message a grid worker understands, and nothing is written.

The fixes are at the root, so new endpoints inherit them: a middleware for NUL bytes
(``gridmap.middleware``), the default JSON parser with a nesting limit (``gridmap.parsers``),
one helper for views that need a JSON object (``gridmap.api.object_body``), ``handler404``
(JSON on ``/api/``), the report time window (``incidents.services``) and an empty area in
the coverage report. The NUL-byte test walks the URL resolver, so an endpoint added later is
covered without being listed here.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.regex_helper import normalize
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError

from gridmap import api as gridmap_api
from gridmap import middleware, parsers
from gridmap import views as gridmap_views
from incidents import services as incident_services
from incidents.models import CaseEvent, Incident, IncidentReport
from planning.models import Plan
from tests.factories import DistrictFactory, TownFactory, UserFactory
from tests.incidents.test_workflow import CaseWorld, cw, new_case  # noqa: F401  (fixture)
from tests.weekly.conftest import WeeklyWorld, ww  # noqa: F401  (fixture)
from weekly.models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList

pytestmark = pytest.mark.django_db

NUL = "\x00"


def msg(msgid: str, **params: object) -> str:
    text = gettext(msgid)
    return text % params if params else text


@pytest.fixture
def root_client() -> Client:
    """A superuser's browser session that answers 500 instead of raising (as a server does)."""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


def assert_refused(response, message: str, *, status: int = 400) -> None:
    """A 4xx with the message: JSON ``{"detail"}`` on the API, the text on a page."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    if response.wsgi_request.path.startswith("/api/"):
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["detail"] == message
    else:
        assert message in response.content.decode()


# --- 1. NUL bytes, in every URL pattern's path and query parameters ---------------------------
# Every query parameter name a view reads, so the NUL reaches the code that uses it: the
# parameters of the API (from its views: input serializers, filters) and those of pages.
QUERY_NAMES = [
    *("area", "at", "bbox", "category", "code", "date", "done", "format", "generation"),
    *("grid", "kind", "level", "list", "lat", "lon", "next", "p", "page", "q", "reason"),
    *("radius", "severity", "srid", "status", "term", "town", "unread", "village", "week"),
    *("with", "from", "to", "o", "_changelist_filters"),
]
_CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")


def _leaves(resolver: URLResolver, prefix: tuple = ()) -> Iterator[tuple[tuple, URLPattern]]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _leaves(pattern, (*prefix, pattern.pattern))
        else:
            yield (*prefix, pattern.pattern), pattern


def _render(parts: tuple, value: str) -> tuple[str, bool]:
    """The URL of a pattern with every non-integer parameter set to ``value`` (integers are
    1), and whether it has such a parameter."""
    out, has_text_param = [], False
    for part in parts:
        if isinstance(part, RoutePattern):

            def fill(m: re.Match) -> str:
                nonlocal has_text_param
                if m["kind"] == "int":
                    return "1"
                has_text_param = True
                return value

            out.append(_CONVERTER.sub(fill, str(part)))
        elif isinstance(part, RegexPattern):
            template, params = normalize(str(part.regex.pattern))[0]
            has_text_param = has_text_param or bool(params)
            out.append(template % {p: value for p in params})
        else:  # pragma: no cover - Django has no other kind
            raise TypeError(part)
    return "/" + "".join(out), has_text_param


def _url_cases() -> list:
    """(url, id) for every URL pattern: its query parameters, and its path parameters."""
    cases = []
    for parts, _pattern in _leaves(get_resolver()):
        route = "".join(str(p) for p in parts) or "/"
        plain, has_text_param = _render(parts, "x")
        query = urlencode({name: NUL for name in QUERY_NAMES})
        cases.append(pytest.param(f"{plain}?{query}", id=f"query:{route}"))
        if has_text_param:
            with_nul, _ = _render(parts, "%00")
            cases.append(pytest.param(with_nul, id=f"path:{route}"))
    return cases


@pytest.mark.parametrize("url", _url_cases())
def test_a_nul_byte_in_a_parameter_is_a_400_with_a_message(root_client, url):
    counts = (Incident.objects.count(), CaseEvent.objects.count())
    assert_refused(root_client.get(url), msg(middleware.MSG_NUL_BYTE))
    assert (Incident.objects.count(), CaseEvent.objects.count()) == counts


def test_a_nul_byte_without_login_is_a_400_too():
    client = Client(raise_request_exception=False)
    assert_refused(client.get("/public/villages/%00/"), msg(middleware.MSG_NUL_BYTE))
    assert_refused(client.get("/api/incidents/?category=%00"), msg(middleware.MSG_NUL_BYTE))


def test_the_nul_byte_message_follows_the_language():
    client = Client(raise_request_exception=False)
    chinese = client.get("/api/incidents/?category=%00", HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get("/api/incidents/?category=%00", HTTP_ACCEPT_LANGUAGE="en")
    assert chinese.json()["detail"] != english.json()["detail"]
    assert english.json()["detail"] == middleware.MSG_NUL_BYTE


def test_an_escaped_percent_is_not_a_nul_byte(root_client):
    """``%2500`` is the text "%00", not a NUL: the view answers as usual."""
    answer = root_client.get("/api/incidents/", {"bbox": "%00"})
    assert answer.status_code == 400
    assert answer.json()["detail"] != msg(middleware.MSG_NUL_BYTE)


# --- 2. JSON bodies: not an object, nested too deep --------------------------------------------
NOT_OBJECTS = ["[1]", "null", '"x"', "3", "true"]


def _post_json(client, url: str, raw: str | bytes):
    return client.post(url, raw, content_type="application/json")


@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_a_case_action_body_that_is_not_an_object_is_refused(cw: CaseWorld, raw):  # noqa: F811
    incident = new_case(cw)
    before = (incident.version, CaseEvent.objects.filter(incident=incident).count())
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    answer = _post_json(client, f"/api/incidents/{incident.pk}/actions/", raw)
    assert_refused(answer, msg(gridmap_api.MSG_BODY_NOT_OBJECT))
    incident.refresh_from_db()
    assert (incident.version, CaseEvent.objects.filter(incident=incident).count()) == before


def _weekly_posts(ww: WeeklyWorld) -> list[tuple[str, str]]:  # noqa: F811
    w = ww.world
    return [
        ("town", f"/api/weekly/towns/{w.t1.code}/task-list/"),
        ("v1", f"/api/weekly/villages/{w.v1.code}/report/"),
        ("station", f"/api/weekly/stations/{w.station.code}/summary/"),
    ]


def _weekly_counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (WeeklyTaskList, VillageWeeklyReport, StationWeeklySummary)
    )


@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_a_weekly_body_that_is_not_an_object_is_refused(ww: WeeklyWorld, raw):  # noqa: F811
    counts = _weekly_counts()
    for who, url in _weekly_posts(ww):
        client = Client(raise_request_exception=False)
        client.force_login(ww.users[who])
        assert_refused(_post_json(client, url, raw), msg(gridmap_api.MSG_BODY_NOT_OBJECT))
    assert _weekly_counts() == counts


@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_a_plan_body_that_is_not_an_object_is_refused(root_client, raw):
    plans = Plan.objects.count()
    answer = _post_json(root_client, "/api/plans/", raw)
    assert_refused(answer, msg(gridmap_api.MSG_BODY_NOT_OBJECT))
    assert Plan.objects.count() == plans


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


TOO_DEEP = ["[" * 100_000, deep(100_000), '{"a":' * 50_000 + "1" + "}" * 50_000]


@pytest.mark.parametrize("raw", TOO_DEEP, ids=["open", "closed", "objects"])
@pytest.mark.parametrize(
    "url", ["/api/auth/token/", "/api/incidents/", "/api/plans/", "/api/incidents/{case}/actions/"]
)
def test_deeply_nested_json_is_a_400_everywhere(cw, url, raw):  # noqa: F811
    incident = new_case(cw)
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["superuser"])
    counts = (Incident.objects.count(), CaseEvent.objects.count(), Plan.objects.count())
    answer = _post_json(client, url.format(case=incident.pk), raw)
    assert_refused(answer, msg(parsers.MSG_TOO_DEEP, max=settings.GRIDMAP_JSON_MAX_DEPTH))
    assert (Incident.objects.count(), CaseEvent.objects.count(), Plan.objects.count()) == counts


def _json_parsers_of(pattern: URLPattern) -> list[type]:
    view = pattern.callback
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is None or not hasattr(cls, "parser_classes"):
        return []
    chosen = getattr(view, "initkwargs", {}).get("parser_classes", cls.parser_classes)
    return [p for p in chosen if getattr(p, "media_type", "") == "application/json"]


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(p, id="".join(str(part) for part in parts))
        for parts, p in _leaves(get_resolver())
        if _json_parsers_of(p)
    ],
)
def test_every_api_view_parses_json_within_the_limits(pattern):
    """A view that sets its own ``parser_classes`` must keep the kernel's JSON parser."""
    assert all(issubclass(p, parsers.JSONParser) for p in _json_parsers_of(pattern))


def test_the_nesting_limit_counts_containers_not_brackets_in_text(cw):  # noqa: F811
    limit = settings.GRIDMAP_JSON_MAX_DEPTH
    data: object = "[[[{{" * 1000
    for _ in range(limit):
        data = [data]
    assert parsers.json_depth(json.dumps(data)) == limit
    assert parsers.json_depth(json.dumps([data])) == limit + 1
    assert parsers.json_depth('"[" 1') == 0
    assert parsers.json_depth(r'["\\", "\"[", {"]": [1]}]') == 3
    parser = parsers.JSONParser()
    assert parser.parse(io.BytesIO(json.dumps(data).encode())) == data
    with pytest.raises(ParseError):
        parser.parse(io.BytesIO(json.dumps([data]).encode()))
    # Over HTTP: a note full of brackets is a note.
    incident = new_case(cw)
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    body = {"action": "acknowledge", "version": incident.version, "note": "[{" * 100}
    answer = _post_json(client, f"/api/incidents/{incident.pk}/actions/", json.dumps(body))
    assert answer.status_code == 200, answer.content


def test_deeply_nested_json_in_a_multipart_field_is_a_400(cw):  # noqa: F811
    """The case action's ``data`` and the report's ``feature`` are JSON text in multipart."""
    incident = new_case(cw)
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    answer = client.post(
        f"/api/incidents/{incident.pk}/actions/",
        {"action": "acknowledge", "version": str(incident.version), "data": deep(100_000)},
    )
    assert answer.status_code == 400, answer.content
    assert "data" in answer.json()["errors"]
    incident.refresh_from_db()
    assert incident.status == "reported"
    counts = Incident.objects.count()
    answer = client.post("/api/incidents/", {"feature": deep(100_000)})
    assert answer.status_code == 400, answer.content
    assert "feature" in answer.json()["errors"]
    assert Incident.objects.count() == counts


def test_a_nul_in_a_json_string_is_a_400(cw):  # noqa: F811
    """PostgreSQL text cannot hold NUL: refused when the body is parsed, not when stored."""
    incident = new_case(cw)
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    body = {"action": "acknowledge", "version": incident.version, "note": "a\u0000b"}
    answer = _post_json(client, f"/api/incidents/{incident.pk}/actions/", json.dumps(body))
    assert_refused(answer, msg(middleware.MSG_NUL_BYTE))
    incident.refresh_from_db()
    assert incident.status == "reported"


def test_a_nul_in_a_form_field_is_a_400(cw):  # noqa: F811
    """A multipart case action (with attachments) carries its note as a form field."""
    incident = new_case(cw)
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    answer = client.post(
        f"/api/incidents/{incident.pk}/actions/",
        {"action": "acknowledge", "version": str(incident.version), "note": "a\x00b"},
    )
    assert_refused(answer, msg(middleware.MSG_NUL_BYTE))
    assert answer.json()["errors"] == {"note": [msg(middleware.MSG_NUL_BYTE)]}
    incident.refresh_from_db()
    assert incident.status == "reported"


# --- 3. impossible report times ------------------------------------------------------------------
def _feature(reported_at: str) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [100.01, 0.02]},
        "properties": {
            "category": "dispute",
            "description": "Two neighbours quarrel",
            "reported_at": reported_at,
        },
    }


@pytest.mark.parametrize(
    "reported_at",
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+08:00", "1970-01-01T00:00:00Z", "2000-02-29"],
)
def test_a_report_time_long_past_is_refused_and_nothing_is_stored(cw, reported_at):  # noqa: F811
    counts = (Incident.objects.count(), IncidentReport.objects.count())
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    answer = client.post("/api/incidents/", _feature(reported_at), content_type="application/json")
    assert answer.status_code == 400, answer.content
    message = msg(incident_services.MSG_REPORTED_TOO_LONG_AGO,
                  days=settings.GRIDMAP_REPORT_MAX_AGE_DAYS)  # fmt: skip
    assert answer.json()["errors"]["reported_at"] == [message]
    assert (Incident.objects.count(), IncidentReport.objects.count()) == counts


@pytest.mark.parametrize("reported_at", ["9999-12-31T23:59:59-12:00", "3000-01-01T00:00:00Z"])
def test_a_report_time_far_ahead_is_refused(cw, reported_at):  # noqa: F811
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    answer = client.post("/api/incidents/", _feature(reported_at), content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"]["reported_at"] == [msg(incident_services.MSG_REPORTED_IN_FUTURE)]


def test_a_phone_offline_for_days_still_reports_with_its_own_time(cw):  # noqa: F811
    """The field page's queue sends a late report with the time it was made."""
    client = Client(raise_request_exception=False)
    client.force_login(cw.users["grid_leader"])
    made = timezone.now() - dt.timedelta(days=settings.GRIDMAP_REPORT_MAX_AGE_DAYS - 1)
    answer = client.post(
        "/api/incidents/", _feature(made.isoformat()), content_type="application/json"
    )
    assert answer.status_code == 201, answer.content
    assert Incident.objects.get(pk=answer.json()["id"]).reported_at == made


def test_the_window_is_checked_by_the_service_too(cw):  # noqa: F811
    """Pages and the admin go through ``incident_create`` as the API does."""
    with pytest.raises(ValidationError) as caught:
        incident_services.incident_create(
            actor=cw.users["grid_leader"],
            point=Point(100.01, 0.02, srid=4326),
            category=cw.dispute,
            severity="blue",
            description="x",
            reported_at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        )
    assert "reported_at" in caught.value.message_dict


# --- 4. API paths answer JSON 404s ---------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["/api/incidents/abc/", "/api/incidents/abc/actions/", "/api/no-such-thing/"]
)
def test_an_unknown_api_path_is_a_json_404(root_client, url):
    assert_refused(root_client.get(url), msg(gridmap_views.MSG_NOT_FOUND), status=404)


def test_an_unknown_page_is_still_an_html_404(root_client):
    answer = root_client.get("/no-such-page/")
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")


# --- 5. an area with nothing in it --------------------------------------------------------------
@pytest.mark.parametrize("factory", [DistrictFactory, TownFactory], ids=["district", "town"])
def test_the_coverage_of_an_area_without_villages_is_empty_figures(root_client, factory):
    area = factory()
    answer = root_client.get("/api/coverage/", {"area": area.code})
    assert answer.status_code == 200, answer.content[:300]
    checks = answer.json()["checks"]
    assert checks["tiling"]["villages"] == 0
    assert checks["service_circle"]["households"] == 0
    assert checks["service_circle"]["villages"] == []
    uncovered = root_client.get("/api/coverage/uncovered-households/", {"area": area.code})
    assert uncovered.status_code == 200
    assert uncovered.json()["features"] == []
