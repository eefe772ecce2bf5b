"""Open311 GeoReport v2: every answer (JSON and XML) against the schemas written from the
specification (conftest.check), the requests FixMyStreet's Open311 client sends replayed,
keys that stay in their jurisdiction, and bad input refused with the specification's error
list, in the reader's language, with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext

from cases.models import Status
from incidents.models import CaseEvent, Category, Incident, IncidentRecipient
from incidents.services import incident_create
from open311 import errors as e
from open311.models import ApiKey, Open311Request
from tests.factories import UserFactory

from .conftest import Areas, Open311Client, check

pytestmark = pytest.mark.django_db

FORMATS = ("json", "xml")
WEST = {"lat": "0.05", "long": "100.02"}  # grid W of district A
EAST_B = {"lat": "0.05", "long": "100.45"}  # district B


def descriptions(answer) -> list[str]:
    if answer.fmt == "json":
        return [row["description"] for row in answer.body]
    return [el.findtext("description") for el in answer.body.findall("error")]


def rows(answer) -> list[dict]:
    """The items of a list answer as dicts of their top-level fields (XML: the text of the
    root's children's children, as XML::Simple reads them)."""
    if answer.fmt == "json":
        return answer.body
    return [{c.tag: (c.text or "") for c in item} for item in answer.body]


def create(o311: Open311Client, key: str, fmt: str = "json", **data) -> str:
    answer = o311.post(
        f"requests.{fmt}",
        {"api_key": key, "service_code": "dispute", "description": "Two neighbours quarrel",
         **WEST, **data},
    )  # fmt: skip
    assert answer.status == 201, answer.raw
    return rows(answer)[0]["service_request_id"]


# --- discovery and services ----------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_services_and_definitions(db, o311, fmt):
    discovery = o311.get(f"discovery.{fmt}", "discovery")
    assert discovery.status == 200
    services = o311.get(f"services.{fmt}", "services")
    codes = [r["service_code"] for r in rows(services)]
    assert "dispute" in codes and "hazard" in codes
    for code in codes:
        definition = o311.get(f"services/{code}.{fmt}", "service_definition")
        assert definition.status == 200
        if fmt == "xml":
            keys = [v.text for v in definition.body.iter("key")]
        else:
            keys = [v["key"] for v in definition.body["attributes"][0]["values"]]
        assert sorted(keys) == ["blue", "red", "yellow"]
    missing = o311.get(f"services/no-such.{fmt}", "service_definition")
    assert missing.status == 404
    assert descriptions(missing) == ["There is no service no-such."]


# --- FixMyStreet's client, replayed ----------------------------------------------------------
def test_fixmystreet_creates_fetches_and_lists_a_request(areas: Areas, o311):
    """The parameters perllib/Open311.pm (mysociety/fixmystreet) sends, and its reading of
    the XML: ``$obj->{request}->{service_request_id}`` (XML::Simple), then the token, then
    ``get_service_requests`` with a comma list of ids."""
    fms = {
        "jurisdiction_id": areas.a.code,
        "api_key": areas.raw_a,
        "lat": "0.05",
        "long": "100.02",
        "email": "reporter@example.org",
        "description": "title:  Pothole\n\ndetail: Deep hole by the school\n\n"
        "url: https://fms.example.org/report/7\n\nSubmitted via FixMyStreet\n",
        "service_code": "hazard",
        "first_name": "Mei",
        "last_name": "Zhang",
        "phone": "13800001111",
        "media_url": "https://fms.example.org/photo/7.jpeg",
        "attribute[severity]": "yellow",
        "attribute[title]": "Pothole",
    }
    # get_service_list and get_service_meta_info
    assert o311.get("services.xml", "services", jurisdiction_id=areas.a.code).status == 200
    assert o311.get("services/hazard.xml", "service_definition").status == 200
    # send_service_request
    created = o311.post("requests.xml", fms)
    assert created.status == 201
    request_id = created.body.find("request").findtext("service_request_id")
    token = created.body.find("request").findtext("token")
    assert request_id and token

    incident = Incident.objects.get(pk=int(request_id))
    assert incident.category.code == "hazard" and incident.severity == "yellow"
    assert incident.reporter_id == areas.key_a.reporter_id
    assert incident.place_code.startswith(areas.a.code)
    # As for any incident: routed, the history's first event, a deadline.
    assert IncidentRecipient.objects.filter(incident=incident).exists()
    assert CaseEvent.objects.filter(incident=incident, action="report").count() == 1
    assert incident.resolve_due_at is not None
    sent = Open311Request.objects.get(incident=incident)
    assert (sent.email, sent.first_name, sent.phone) == (
        "reporter@example.org",
        "Mei",
        "13800001111",
    )
    assert sent.attributes == {"severity": "yellow", "title": "Pothole"}
    with connection.cursor() as cur:  # encrypted at rest
        cur.execute(
            "SELECT email, first_name, last_name, phone FROM open311_open311request WHERE id = %s",
            [sent.pk],
        )
        stored = cur.fetchone()
    assert all(v.startswith("gAAAAA") for v in stored), stored

    # get_service_request_id_from_token
    by_token = o311.get(f"tokens/{token}.xml", "token", jurisdiction_id=areas.a.code,
                        api_key=areas.raw_a)  # fmt: skip
    assert by_token.body.find("request").findtext("service_request_id") == request_id
    # get_service_requests with the ids, and one request
    listed = o311.get("requests.xml", "requests", jurisdiction_id=areas.a.code,
                      api_key=areas.raw_a, service_request_id=request_id)  # fmt: skip
    (row,) = rows(listed)
    assert row["service_request_id"] == request_id
    assert row["status"] == "open" and row["service_code"] == "hazard"
    assert row["media_url"] == fms["media_url"]
    assert float(row["lat"]) == 0.05 and float(row["long"]) == 100.02
    extensions = listed.body.find("request/extensions")
    assert extensions.findtext("severity") == "yellow"
    assert extensions.findtext("deadlines/resolve_by")
    one = o311.get(f"requests/{request_id}.xml", "requests", api_key=areas.raw_a)
    assert rows(one)[0]["service_request_id"] == request_id
    # No reporter's personal data in any GET answer.
    for answer in o311.answers:
        if answer is created:
            continue
        for secret in (b"reporter@example.org", b"13800001111", b"Mei", b"Zhang"):
            assert secret not in answer.raw


@pytest.mark.parametrize("fmt", FORMATS)
def test_json_and_xml_answers_of_every_request_endpoint(areas: Areas, o311, fmt):
    request_id = create(o311, areas.raw_a, fmt)
    listed = o311.get(f"requests.{fmt}", "requests", api_key=areas.raw_a)
    assert request_id in [r["service_request_id"] for r in rows(listed)]
    one = o311.get(f"requests/{request_id}.{fmt}", "requests", api_key=areas.raw_a)
    assert [r["service_request_id"] for r in rows(one)] == [request_id]
    token = str(Open311Request.objects.get(incident_id=request_id).token)
    found = o311.get(f"tokens/{token}.{fmt}", "token", api_key=areas.raw_a)
    assert rows(found)[0]["service_request_id"] == request_id
    if fmt == "json":
        row = one.body[0]
        assert row["extensions"]["severity"] == "blue"
        assert (
            row["extensions"]["assignee"]["level"]
            == Incident.objects.get(pk=request_id).owner_level
        )
        assert row["requested_datetime"].endswith("+08:00") or row["requested_datetime"][-6] in "+-"


def test_other_incidents_show_only_their_approved_public_text(areas: Areas, o311):
    """A grid worker's report may name residents: a key reads its own reports' descriptions
    and, of other incidents, only the text approved for the notice board."""
    worker_report, _ = incident_create(
        actor=UserFactory(), point=Point(100.02, 0.05, srid=4326),
        category=Category.objects.get(code="dispute"), severity=None,
        description="Resident Wang Wu, No. 3, quarrels with his neighbour",
    )  # fmt: skip
    own = create(o311, areas.raw_a, description="Sent by the hotline")

    def description(request_id) -> str:
        answer = o311.get(f"requests/{request_id}.json", "requests", api_key=areas.raw_a)
        return answer.body[0]["description"]

    assert description(own) == "Sent by the hotline"
    assert description(worker_report.pk) == ""
    Incident.objects.filter(pk=worker_report.pk).update(public_text="A quarrel, settled")
    assert description(worker_report.pk) == "A quarrel, settled"
    listed = o311.get("requests.xml", "requests", api_key=areas.raw_a)
    assert b"Wang Wu" not in listed.raw


def test_an_address_string_is_located_on_our_own_places(areas: Areas, o311):
    west = areas.world.west
    request_id = create(o311, areas.raw_a, lat="", long="", address_string=west.name)
    incident = Incident.objects.get(pk=request_id)
    assert incident.grid_id == west.pk
    assert west.geom.covers(incident.location)
    before = Incident.objects.count()
    unknown = o311.post("requests.json", {"api_key": areas.raw_a, "service_code": "dispute",
                                          "address_string": "Nowhere road 9"})  # fmt: skip
    assert unknown.status == 400
    assert descriptions(unknown) == [
        "The address_string Nowhere road 9 matches no place in this jurisdiction: send lat "
        "and long."
    ]
    # District B's grid is not found with district A's key.
    other = o311.post("requests.xml", {"api_key": areas.raw_a, "service_code": "dispute",
                                       "address_string": areas.b_grid.name})  # fmt: skip
    assert other.status == 400
    assert Incident.objects.count() == before


# --- jurisdiction ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_key_of_district_a_cannot_create_or_see_in_district_b(areas: Areas, o311, fmt):
    in_b = create(o311, areas.raw_b, fmt, **EAST_B)
    in_a = create(o311, areas.raw_a, fmt)
    before = (Incident.objects.count(), Open311Request.objects.count(), CaseEvent.objects.count())
    refused = o311.post(f"requests.{fmt}", {"api_key": areas.raw_a, "service_code": "dispute",
                                            "description": "x", **EAST_B})  # fmt: skip
    assert refused.status == 403
    assert descriptions(refused) == ["This place is outside the jurisdiction of this api_key."]
    after = (Incident.objects.count(), Open311Request.objects.count(), CaseEvent.objects.count())
    assert after == before

    listed = o311.get(f"requests.{fmt}", "requests", api_key=areas.raw_a)
    assert [r["service_request_id"] for r in rows(listed)] == [in_a]
    by_id = o311.get(f"requests.{fmt}", "requests", api_key=areas.raw_a,
                     service_request_id=f"{in_a},{in_b}")  # fmt: skip
    assert [r["service_request_id"] for r in rows(by_id)] == [in_a]
    assert o311.get(f"requests/{in_b}.{fmt}", "requests", api_key=areas.raw_a).status == 404
    token_b = str(Open311Request.objects.get(incident_id=in_b).token)
    assert o311.get(f"tokens/{token_b}.{fmt}", "token", api_key=areas.raw_a).status == 404
    # Naming district B as the jurisdiction does not widen key A.
    named = o311.get(f"requests.{fmt}", "requests", api_key=areas.raw_a,
                     jurisdiction_id=areas.b.code)  # fmt: skip
    assert named.status == 404
    # And B's key sees B's only.
    listed_b = o311.get(f"requests.{fmt}", "requests", api_key=areas.raw_b)
    assert [r["service_request_id"] for r in rows(listed_b)] == [in_b]


# --- bad input ------------------------------------------------------------------------------
BAD = [
    ({}, 403, e.MSG_KEY_MISSING, {}),
    ({"api_key": "0" * 40}, 403, e.MSG_KEY_INVALID, {}),
    ({"service_code": ""}, 400, e.MSG_SERVICE_CODE_MISSING, {}),
    ({"service_code": "nope"}, 404, e.MSG_SERVICE_NOT_FOUND, {"code": "nope"}),
    ({"lat": "north", "long": "100"}, 400, e.MSG_LAT_LONG, {}),
    ({"lat": "95", "long": "100.02"}, 400, e.MSG_LAT_LONG, {}),
    ({"lat": "", "long": ""}, 400, e.MSG_LOCATION_MISSING, {}),
    ({"media_url": "file:///etc/passwd"}, 400, e.MSG_MEDIA_URL, {}),
    ({"media_url": "ftp://x.example.org/a.jpg"}, 400, e.MSG_MEDIA_URL, {}),
    ({"email": "not-an-address"}, 400, e.MSG_EMAIL, {}),
    ({"attribute[severity]": "purple"}, 400, e.MSG_ATTRIBUTE_VALUE,
     {"code": "severity", "values": "blue, yellow, red"}),
    ({"jurisdiction_id": "999999"}, 404, e.MSG_JURISDICTION, {"code": "999999"}),
    ({"first_name": "x" * 101}, 400, e.MSG_TOO_LONG, {"field": "first_name", "max": 100}),
    ({"attribute[note]": "x" * 1001}, 400, e.MSG_TOO_LONG,
     {"field": "attribute[note]", "max": 1000}),
]  # fmt: skip


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(("change", "status", "msgid", "params"), BAD)
def test_bad_input_is_refused_with_a_message_and_nothing_written(
    areas: Areas, change, status, msgid, params, language
):
    o311 = Open311Client(language)
    data = {"api_key": areas.raw_a, "service_code": "dispute", "description": "d", **WEST}
    data.update(change)
    if not change:
        data.pop("api_key")
    data = {k: v for k, v in data.items() if v != "" or k == "service_code"}
    before = (Incident.objects.count(), Open311Request.objects.count())
    for fmt in FORMATS:
        answer = o311.post(f"requests.{fmt}", data)
        assert answer.status == status, answer.raw
        with translation.override(language):
            expected = gettext(msgid) % params if params else gettext(msgid)
        assert expected in descriptions(answer)
        if language == "zh-hans":  # translated, not the English fallback
            assert any("\u4e00" <= ch <= "\u9fff" for ch in expected), expected
    assert (Incident.objects.count(), Open311Request.objects.count()) == before


def test_a_nul_in_a_form_field_is_a_400(areas: Areas, o311):
    before = Incident.objects.count()
    answer = o311.post("requests.xml", {"api_key": areas.raw_a, "service_code": "dispute",
                                        "description": "a\x00b", **WEST})  # fmt: skip
    assert answer.status == 400
    assert Incident.objects.count() == before


def test_chinese_errors_are_chinese(areas: Areas):
    answer = Open311Client("zh-hans").post("requests.json", {"service_code": "dispute"})
    assert answer.status == 403
    assert any("\u4e00" <= ch <= "\u9fff" for ch in descriptions(answer)[0])


def test_an_inactive_key_is_refused(areas: Areas, o311):
    ApiKey.objects.filter(pk=areas.key_a.pk).update(is_active=False)
    answer = o311.get("requests.xml", "requests", api_key=areas.raw_a)
    assert answer.status == 403
    assert descriptions(answer) == [gettext(e.MSG_KEY_INVALID)]


@pytest.mark.parametrize(
    ("params", "msgid"),
    [
        ({"start_date": "yesterday"}, e.MSG_BAD_DATE),
        ({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
         e.MSG_DATE_SPAN),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, e.MSG_DATE_ORDER),
        ({"status": "pending"}, e.MSG_BAD_STATUS),
        ({"service_request_id": "1,x"}, e.MSG_BAD_ID),
    ],
)  # fmt: skip
def test_bad_filters(areas: Areas, o311, params, msgid):
    for fmt in FORMATS:
        answer = o311.get(f"requests.{fmt}", "requests", api_key=areas.raw_a, **params)
        assert answer.status == 400
        assert descriptions(answer)[0].startswith(gettext(msgid).split("%")[0][:20])


def test_filters_status_service_and_the_default_window(areas: Areas, o311):
    dispute = create(o311, areas.raw_a)
    hazard = create(o311, areas.raw_a, service_code="hazard")
    old = create(o311, areas.raw_a, service_code="opinion")
    Incident.objects.filter(pk=old).update(reported_at=timezone.now() - dt.timedelta(days=120))
    Incident.objects.filter(pk=hazard).update(status=Status.CLOSED)

    def ids(**params) -> list[str]:
        answer = o311.get("requests.json", "requests", api_key=areas.raw_a, **params)
        return sorted(r["service_request_id"] for r in rows(answer))

    assert ids() == sorted([dispute, hazard])  # the last 90 days
    assert ids(status="open") == [dispute]
    assert ids(status="closed") == [hazard]
    assert ids(status="open,closed") == sorted([dispute, hazard])
    assert ids(service_code="hazard") == [hazard]
    start = (timezone.now() - dt.timedelta(days=150)).isoformat()
    assert ids(start_date=start) == [old]
    assert ids(service_request_id=old) == [old]  # ids ignore the window
    closed = o311.get(f"requests/{hazard}.json", "requests", api_key=areas.raw_a)
    assert closed.body[0]["status"] == "closed"


def test_listing_takes_the_same_queries_for_one_request_or_many(
    areas: Areas, o311, django_assert_num_queries
):
    """The key (one UPDATE counting the request, one read of the key) and one query for the
    list, whatever its length."""
    create(o311, areas.raw_a)
    with django_assert_num_queries(3):
        one = o311.get("requests.xml", "requests", api_key=areas.raw_a)
    for _ in range(3):
        create(o311, areas.raw_a)
    with django_assert_num_queries(3):
        four = o311.get("requests.xml", "requests", api_key=areas.raw_a)
    assert (len(rows(one)), len(rows(four))) == (1, 4)


def test_the_rate_limit_counts_per_key(areas: Areas, o311, settings):
    settings.GRIDMAP_OPEN311_RATE_PER_MINUTE = 2
    assert o311.get("requests.json", "requests", api_key=areas.raw_a).status == 200
    assert o311.get("requests.xml", "requests", api_key=areas.raw_a).status == 200
    limited = o311.get("requests.xml", "requests", api_key=areas.raw_a)
    assert limited.status == 429
    assert descriptions(limited) == [gettext(e.MSG_RATE_LIMIT) % {"limit": 2}]
    # Another key has its own count.
    assert o311.get("requests.json", "requests", api_key=areas.raw_b).status == 200
    key = ApiKey.objects.get(pk=areas.key_a.pk)
    assert key.last_used_at is not None and key.window_count == 3


def test_other_methods_are_refused(areas: Areas):
    client = Open311Client().client
    response = client.delete("/open311/v2/requests.json")
    assert check(response, "json", "requests").status == 405
    assert response["Allow"] == "GET, POST"
    assert check(client.post("/open311/v2/services.xml"), "xml", "services").status == 405
