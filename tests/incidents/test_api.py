"""The incidents API: POST /api/incidents/ (routing result), the GeoJSON list, the detail,
duplicates and categories; input errors, jurisdiction and query counts."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from PIL import Image

from accounts.models import AccountRole
from grids.api import MSG_LON_LAT_RANGE, MSG_UNKNOWN_SRID
from inbox.models import Notification
from incidents import api, routing, services
from incidents.models import (
    Category,
    Incident,
    IncidentPhoto,
    IncidentRecipient,
    IncidentReport,
)
from tests.factories import AccountFactory, UserFactory, WorkerFactory
from tests.incidents.test_routing import World, build_world, world_generation

pytestmark = pytest.mark.django_db

LIST = reverse("incident-list")
DUPLICATES = reverse("incident-duplicates")
CATEGORIES = reverse("incident-category-list")
M = 1 / 111_320


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def root(api_client):
    api_client.force_authenticate(UserFactory(username="root", is_superuser=True))
    return api_client


def feature(lon: float = 100.02, lat: float = 0.05, **props) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category": "dispute", "description": "Two neighbours quarrel", **props},
    }


def post(client, body, **extra):
    return client.post(LIST, body, format="json", **extra)


def jpeg(name: str = "p.jpg", fmt: str = "JPEG") -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, format=fmt)
    buf.name = name
    buf.seek(0)
    return buf


def counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count()
        for m in (Incident, IncidentReport, IncidentRecipient, IncidentPhoto, Notification)
    )


# --- POST -------------------------------------------------------------------------------------
def test_post_a_feature_returns_201_with_the_routing_result(root, world):
    res = post(root, feature(severity="yellow"))

    assert res.status_code == 201, res.content
    body = res.json()
    assert set(body) >= {
        "id", "status", "attached", "category", "severity", "reported_at", "reporter_count",
        "grid", "village", "town", "responsible_level", "recipients", "explanation", "photos",
    }  # fmt: skip
    assert body["status"] == "reported"
    assert body["attached"] is False
    assert body["category"] == {"code": "dispute", "name": "矛盾纠纷"}
    assert body["severity"] == "yellow"
    assert body["reporter_count"] == 1
    assert body["grid"] == {
        "code": world.west.code,
        "name": world.west.name,
        "generation": world.generation.pk,
    }
    assert body["village"] == {"code": world.v1.code, "name": world.v1.name}
    assert body["town"] == {"code": world.t1.code, "name": world.t1.name}
    assert body["responsible_level"] == "village"
    leader = world.people["W leader"].worker
    assert {
        "kind": "routed",
        "responder": "grid_leader",
        "role": "grid_leader",
        "name": leader.name,
        "phone": leader.phone,
    } in body["recipients"]
    assert {r["name"] for r in body["recipients"]} >= {"W leader", "W guide"}
    incident = Incident.objects.get(pk=body["id"])
    # One sentence in the default language (zh-hans): role labels are Chinese.
    assert body["explanation"] == routing.render_explanation(incident.explanation)
    assert "网格长W leader" in body["explanation"]
    assert body["photos"] == []
    assert incident.reporter.username == "root"


def test_the_explanation_follows_the_requested_language(root, world):
    body = post(root, feature(), HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["explanation"].startswith(f"In grid {world.west.code} ({world.west.name});")
    assert body["category"]["name"] == "Dispute"


def test_post_in_another_srid_is_transformed(root, world):
    x, y = Point(100.07, 0.03, srid=4326).transform(3857, clone=True).coords
    res = post(root, feature(x, y, srid=3857))
    assert res.status_code == 201, res.content
    assert res.json()["grid"]["code"] == world.east.code
    assert Incident.objects.get(pk=res.json()["id"]).location.coords == pytest.approx(
        (100.07, 0.03)
    )


def test_post_multipart_with_photos(root, world):
    res = root.post(
        LIST,
        {"feature": json.dumps(feature()), "photos": [jpeg(), jpeg("b.png", "PNG")]},
        format="multipart",
    )
    assert res.status_code == 201, res.content
    photos = res.json()["photos"]
    assert len(photos) == 2
    types = IncidentPhoto.objects.filter(report__incident_id=res.json()["id"])
    # Through the case's jurisdiction check (the media directory is not served).
    assert photos == [
        reverse("case-photo", kwargs={"pk": res.json()["id"], "photo": p.pk})
        for p in types.order_by("id")
    ]
    assert sorted(types.values_list("content_type", flat=True)) == ["image/jpeg", "image/png"]


def test_a_resent_client_uuid_returns_200_with_the_same_body_and_no_duplicate(root, world):
    key = str(uuid.uuid4())
    first = post(root, feature(client_uuid=key))
    before = counts()
    again = post(root, feature(client_uuid=key))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert counts() == before


def test_attach_to_raises_the_reporter_count(root, world):
    first = post(root, feature()).json()
    res = post(root, feature(100.0201, description="Me too", attach_to=first["id"]))

    assert res.status_code == 201, res.content
    body = res.json()
    assert (body["id"], body["attached"], body["reporter_count"]) == (first["id"], True, 2)
    assert body["recipients"] == first["recipients"]
    assert Incident.objects.filter(pk=first["id"]).count() == 1


def test_a_resent_attached_report_is_200_and_still_attached(root, world):
    first = post(root, feature()).json()
    key = str(uuid.uuid4())
    attached = post(root, feature(attach_to=first["id"], client_uuid=key))
    before = counts()
    again = post(root, feature(attach_to=first["id"], client_uuid=key))

    assert (attached.status_code, again.status_code) == (201, 200)
    assert again.json()["attached"] is True
    assert again.json()["reporter_count"] == 2
    assert counts() == before


def test_attach_to_an_incident_outside_the_jurisdiction_is_refused(api_client, root, world):
    east = post(root, feature(100.07)).json()
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world.west.code]).user
    api_client.force_authenticate(worker)
    res = post(api_client, feature(attach_to=east["id"]))
    assert res.status_code == 400
    assert res.json()["errors"]["attach_to"] == [
        gettext(api.MSG_UNKNOWN_INCIDENT) % {"id": east["id"]}
    ]


def _big() -> io.BytesIO:
    buf = jpeg()
    data = buf.getvalue() + b"\0" * (5 * 1024 * 1024)
    big = io.BytesIO(data)
    big.name = "big.jpg"
    return big


def _text() -> io.BytesIO:
    buf = io.BytesIO(b"not an image at all")
    buf.name = "fake.jpg"
    return buf


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**feature(), "geometry": None}, "geometry", (api.MSG_GEOMETRY_REQUIRED, {})),
        (
            {**feature(), "geometry": {"type": "LineString", "coordinates": [[100, 0], [101, 0]]}},
            "geometry",
            (api.MSG_NOT_POINT, {"type": "LineString"}),
        ),
        (
            {**feature(), "geometry": {"type": "Point", "coordinates": ["east", 0]}},
            "geometry",
            (api.MSG_BAD_COORDINATES, {}),
        ),
        (feature(200.0, 0.05), "geometry", (MSG_LON_LAT_RANGE, {})),
        (feature(100.0, 91.0), "geometry", (MSG_LON_LAT_RANGE, {})),
        (feature(srid=999999), "srid", (MSG_UNKNOWN_SRID, {"srid": 999999})),
        (feature(category=""), "category", (api.MSG_CATEGORY_REQUIRED, {})),
        (feature(severity="purple"), "severity", (services.MSG_BAD_SEVERITY, {})),
        (feature(description=" "), "description", (services.MSG_DESCRIPTION_REQUIRED, {})),
        (feature(client_uuid="not-a-uuid"), "client_uuid", (api.MSG_BAD_UUID, {})),
        (feature(attach_to="x"), "attach_to", (api.MSG_BAD_ATTACH_TO, {})),
        (feature(reported_at="yesterday"), "reported_at", (api.MSG_BAD_REPORTED_AT, {})),
        ({"type": "Point", "coordinates": [100, 0]}, "feature", (api.MSG_NOT_FEATURE, {})),
        (
            feature(101.5, 0.5),
            "geometry",
            (routing.MSG_OUTSIDE_EVERY_DISTRICT, {}),
        ),
    ],
    ids=[
        "no-geometry", "not-a-point", "bad-coordinates", "lon-range", "lat-range", "srid",
        "no-category", "severity", "empty-description", "uuid", "attach-to", "reported-at",
        "not-a-feature", "outside-every-district",
    ],
)  # fmt: skip
def test_bad_input_is_400_with_field_messages_and_nothing_stored(root, world, body, field, message):
    before = counts()
    res = post(root, body)

    assert res.status_code == 400, res.content
    errors = res.json()["errors"]
    template, params = message
    expected = gettext(template) % params if params else gettext(template)
    assert errors[field] == [expected]
    assert res.json()["detail"] == expected
    assert counts() == before


def test_an_unknown_category_lists_the_known_ones(root, world):
    res = post(root, feature(category="ufo"))
    assert res.status_code == 400
    message = res.json()["errors"]["category"][0]
    assert message.startswith(gettext(api.MSG_UNKNOWN_CATEGORY).split("%")[0])
    assert "ufo" in message and "dispute" in message


def test_outside_every_district_speaks_to_the_worker_in_english_too(root, world):
    res = post(root, feature(101.5, 0.5), HTTP_ACCEPT_LANGUAGE="en")
    assert res.json()["detail"] == (
        "This place is outside every district we serve; nothing was saved."
    )


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        (lambda: [jpeg() for _ in range(4)], (services.MSG_TOO_MANY_PHOTOS, {"max": 3})),
        (lambda: [_big()], (services.MSG_PHOTO_TOO_BIG, {"name": "big.jpg", "max_mb": 5})),
        (lambda: [_text()], (services.MSG_PHOTO_TYPE, {"name": "fake.jpg"})),
    ],
    ids=["too-many", "too-big", "not-an-image"],
)
def test_photo_limits_are_400_and_nothing_stored(root, world, photos, message):
    before = counts()
    res = root.post(
        LIST, {"feature": json.dumps(feature()), "photos": photos()}, format="multipart"
    )
    assert res.status_code == 400, res.content
    template, params = message
    assert res.json()["errors"]["photos"] == [gettext(template) % params]
    assert counts() == before


def test_a_multipart_feature_that_is_not_json_is_400(root, world):
    res = root.post(LIST, {"feature": "{not json"}, format="multipart")
    assert res.status_code == 400
    assert res.json()["errors"]["feature"] == [gettext(api.MSG_BAD_FEATURE_FIELD)]


def test_anonymous_cannot_report(api_client, world):
    assert post(api_client, feature()).status_code in (401, 403)
    assert Incident.objects.filter(place_code__startswith=world.district.code).count() == 0


def test_post_query_count_is_pinned(root, world, django_assert_max_num_queries):
    # category, routing, time limits, incident, first history event, report, recipients,
    # notifications, their delivery records (the workers' addresses, one insert), savepoints
    # (2), and the personal-data access log's one row (the superuser sees the central
    # household's phone unmasked: gridmap.personal_data)
    with django_assert_max_num_queries(13):
        assert post(root, feature()).status_code == 201


# --- GET list ---------------------------------------------------------------------------------
@pytest.fixture
def reported(root, world) -> dict[str, int]:
    """Four incidents: two in W (blue dispute, yellow hazard), one in E (red), one in V2."""
    ids = {
        "w_blue": post(root, feature(100.01, 0.02)).json()["id"],
        "w_yellow": post(root, feature(100.03, 0.08, category="hazard")).json()["id"],
        "e_red": post(root, feature(100.07, 0.05, severity="red")).json()["id"],
        "v2": post(root, feature(100.12, 0.05)).json()["id"],
    }
    return ids


def ids_of(res) -> list[int]:
    assert res.status_code == 200, res.content
    return [f["id"] for f in res.json()["features"]]


def test_list_is_a_feature_collection_newest_first(root, reported, world):
    res = root.get(LIST, {"grid": world.west.code})
    body = res.json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 2
    assert ids_of(res) == [reported["w_yellow"], reported["w_blue"]]
    f = body["features"][0]
    assert f["type"] == "Feature"
    assert f["geometry"] == {"type": "Point", "coordinates": [100.03, 0.08]}
    assert f["properties"]["id"] == reported["w_yellow"]
    assert {k: f["properties"][k] for k in ("category", "category_name", "severity")} == {
        "category": "hazard",
        "category_name": "安全隐患",
        "severity": "yellow",
    }
    assert f["properties"]["grid_code"] == world.west.code
    assert f["properties"]["reporter_count"] == 1
    assert f["properties"]["responsible_level"] == "village"
    assert f["properties"]["status"] == "reported"
    assert f["properties"]["description"] == "Two neighbours quarrel"
    assert f["properties"]["reported_at"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "red"}, ["e_red"]),
        ({"category": "hazard"}, ["w_yellow"]),
        ({"status": "reported", "bbox": "100.1,0,100.2,0.1"}, ["v2"]),
        ({"bbox": "100.0,0.0,100.02,0.03"}, ["w_blue"]),
    ],
)
def test_list_filters(root, reported, params, expected):
    assert sorted(ids_of(root.get(LIST, params))) == sorted(reported[k] for k in expected)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"severity": "pink"}, "severity"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"page": "0"}, "page"),
        ({"page_size": "100000"}, "page_size"),
    ],
)
def test_bad_list_parameters_are_400(root, params, field):
    res = root.get(LIST, params)
    assert res.status_code == 400
    assert field in res.json()["errors"]


def test_list_is_paginated_with_count_next_and_previous(root, reported, world):
    code = world.district.code
    first = root.get(LIST, {"page_size": 3, "bbox": "100,0,100.4,0.1"}).json()
    assert first["count"] == 4 and len(first["features"]) == 3
    assert first["previous"] is None
    second = root.get(first["next"]).json()
    assert len(second["features"]) == 1 and second["next"] is None
    assert second["previous"] and "page=" not in second["previous"]
    seen = [f["id"] for f in first["features"] + second["features"]]
    assert sorted(seen) == sorted(reported.values())
    assert code  # the world is in its own district


def test_list_is_limited_to_the_jurisdiction(api_client, reported, world):
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world.west.code]).user
    api_client.force_authenticate(worker)
    assert sorted(ids_of(api_client.get(LIST))) == sorted(
        [reported["w_blue"], reported["w_yellow"]]
    )
    village = AccountFactory(role=AccountRole.VILLAGE_STAFF, codes=[world.v2.code]).user
    api_client.force_authenticate(village)
    assert ids_of(api_client.get(LIST)) == [reported["v2"]]
    nobody = UserFactory(username="no-account")
    api_client.force_authenticate(nobody)
    assert ids_of(api_client.get(LIST)) == []


def test_mine_lists_the_incidents_routed_copied_or_watched_by_my_worker(
    api_client, reported, world
):
    account = AccountFactory(role=AccountRole.VILLAGE_STAFF, codes=[world.v1.code])
    guide = world.people["W guide"].worker
    guide.user = account.user
    guide.save()
    api_client.force_authenticate(account.user)

    mine = sorted(ids_of(api_client.get(LIST, {"mine": 1})))
    everything = sorted(ids_of(api_client.get(LIST)))

    # The W guide gets both W incidents (routed on blue/yellow); not E's or V2's. The login is
    # the guide's, so its village account counts for nothing: everything is the W grid's, where
    # the guide holds the role (accounts.selectors.granted_account).
    assert mine == sorted([reported["w_blue"], reported["w_yellow"]])
    assert everything == sorted([reported["w_blue"], reported["w_yellow"]])


def test_mine_without_a_worker_is_empty(root, reported):
    assert ids_of(root.get(LIST, {"mine": 1})) == []


def test_list_query_count_is_pinned(root, reported, django_assert_max_num_queries):
    # session-less force_authenticate: count + features (+ jurisdiction for non-superusers)
    with django_assert_max_num_queries(3):
        assert root.get(LIST, {"mine": 1, "severity": "blue"}).status_code == 200


def test_list_query_count_does_not_grow_with_incidents(
    api_client, root, world, django_assert_max_num_queries
):
    for i in range(12):
        post(root, feature(100.01 + i * 0.001, 0.02))
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world.west.code]).user
    api_client.force_authenticate(worker)
    # role assignments today, account, features: the whole list is on the first page, so it
    # is its own exact count (no count statement)
    with django_assert_max_num_queries(3):
        body = api_client.get(LIST).json()
    assert len(body["features"]) == 12
    assert body["count"] == 12 and body["count_is_estimate"] is False
    # A page with another after it counts: the planner's estimate, then the bounded count.
    with django_assert_max_num_queries(5):
        body = api_client.get(LIST, {"page_size": 5}).json()
    assert body["count"] == 12 and body["count_is_estimate"] is False and body["next"]


def test_list_features_are_valid_json_whatever_the_text(root, world):
    """The features are PostgreSQL's JSON, passed on with each light added to the
    properties: quotes, braces, backslashes, control characters and Chinese in a description,
    and a case outside every grid, still make one valid document, with the same properties
    as the detail's."""
    tricky = 'He said "}}" \\ {x} </script>\t\n\u200b网格 “引号” end}}'
    made = post(root, feature(100.02, 0.05, description=tricky)).json()
    outside = post(root, feature(100.02, 0.05)).json()
    Incident.objects.filter(pk=outside["id"]).update(grid=None)
    res = root.get(LIST)
    assert res.status_code == 200 and res["Content-Type"] == "application/json"
    body = json.loads(res.content)
    by_id = {f["id"]: f for f in body["features"]}
    props = by_id[made["id"]]["properties"]
    assert props["description"] == tricky
    assert props["traffic_light"] == "green"
    assert set(props) == {
        "id", "category", "category_name", "severity", "status", "description", "reported_at",
        "grid_code", "reporter_count", "responsible_level", "owner_level", "owner_code",
        "acknowledge_due_at", "resolve_due_at", "traffic_light",
    }  # fmt: skip
    for due in ("acknowledge_due_at", "resolve_due_at"):  # the same instants as the detail's
        assert parse_datetime(props[due]) == parse_datetime(made[due])
    assert by_id[outside["id"]]["properties"]["grid_code"] is None
    # A closed case has no light.
    Incident.objects.filter(pk=outside["id"]).update(status="closed")
    body = root.get(LIST).json()
    assert {f["id"]: f for f in body["features"]}[outside["id"]]["properties"][
        "traffic_light"
    ] is None


def test_list_in_a_browser_is_the_browsable_api(root, world):
    """The page is written as JSON text for clients; a browser (Accept: text/html) or
    ``?format=api`` still gets DRF's browsable page of the same data."""
    post(root, feature())
    html = root.get(LIST, HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert "FeatureCollection" in html.content.decode()
    assert root.get(LIST, {"format": "api"})["Content-Type"].startswith("text/html")
    plain = root.get(LIST, HTTP_ACCEPT="application/json")
    assert plain["Content-Type"] == "application/json"
    assert "Accept" in plain["Vary"] and "GET" in plain["Allow"]


# --- GET detail -------------------------------------------------------------------------------
def test_detail_is_a_feature_with_the_routing_result(root, reported, world):
    created = post(root, feature(100.02, 0.05, severity="yellow")).json()
    res = root.get(reverse("incident-detail", args=[created["id"]]))

    assert res.status_code == 200, res.content
    body = res.json()
    assert body["type"] == "Feature" and body["id"] == created["id"]
    assert body["geometry"] == {"type": "Point", "coordinates": [100.02, 0.05]}
    assert body["properties"] == created


def test_detail_outside_the_jurisdiction_is_404(api_client, reported, world):
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world.west.code]).user
    api_client.force_authenticate(worker)
    assert api_client.get(reverse("incident-detail", args=[reported["w_blue"]])).status_code == 200
    assert api_client.get(reverse("incident-detail", args=[reported["e_red"]])).status_code == 404


def test_detail_query_count_is_pinned(root, reported, django_assert_max_num_queries):
    url = reverse("incident-detail", args=[reported["w_blue"]])
    # incident with category and places, recipients, reports, photos; the personal-data access
    # log's one row (the superuser sees the central household's phone: gridmap.personal_data)
    with django_assert_max_num_queries(5):
        assert root.get(url).status_code == 200


# --- duplicates -------------------------------------------------------------------------------
def test_duplicates_lists_open_incidents_of_the_category_within_100_m(root, world):
    near = post(root, feature(100.02 + 40 * M, 0.05)).json()["id"]
    post(root, feature(100.02 + 150 * M, 0.05))  # too far
    post(root, feature(100.02 + 20 * M, 0.05, category="hazard"))  # another category
    old = post(
        root,
        feature(
            100.02 + 10 * M,
            0.05,
            reported_at=(timezone.now() - dt.timedelta(days=8)).isoformat(),
        ),
    )
    assert old.status_code == 201, old.content

    res = root.get(DUPLICATES, {"lon": 100.02, "lat": 0.05, "category": "dispute"})

    assert res.status_code == 200, res.content
    results = res.json()["results"]
    assert [r["id"] for r in results] == [near]
    assert results[0]["distance_m"] == pytest.approx(40, abs=0.5)
    assert set(results[0]) == {
        "id", "description", "reported_at", "distance_m", "reporter_count", "severity",
    }  # fmt: skip


def test_duplicates_need_a_point_and_a_category(root, world):
    res = root.get(DUPLICATES, {"lon": "x", "category": "ufo"})
    assert res.status_code == 400
    assert set(res.json()["errors"]) == {"geometry", "category"}


# --- categories -------------------------------------------------------------------------------
def test_categories_are_the_active_ones_named_in_the_users_language(root):
    Category.objects.create(code="retired", name_zh="旧", name_en="Old", is_active=False)
    body = root.get(CATEGORIES).json()
    codes = [c["code"] for c in body]
    assert codes[:6] == ["dispute", "hazard", "service_request", "opinion", "environment", "other"]
    assert "retired" not in codes
    assert body[0] == {"code": "dispute", "name": "矛盾纠纷", "default_severity": "blue"}
    with translation.override("en"):
        english = root.get(CATEGORIES, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english[1]["name"] == "Safety hazard"


def test_a_worker_can_report_and_is_the_reporter(api_client, world):
    account = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world.west.code])
    WorkerFactory(name="Reporter", user=account.user)
    api_client.force_authenticate(account.user)
    res = post(api_client, feature())
    assert res.status_code == 201
    assert Incident.objects.get(pk=res.json()["id"]).reporter == account.user


# --- admin --------------------------------------------------------------------------------------
def test_admin_shows_incidents_with_their_routing_read_only_and_limited_to_the_jurisdiction(
    client, root, reported, world
):
    client.force_login(UserFactory(username="admin", is_superuser=True, is_staff=True))
    changelist = reverse("admin:incidents_incident_changelist")
    assert client.get(changelist).status_code == 200
    page = client.get(reverse("admin:incidents_incident_change", args=[reported["w_blue"]]))
    assert page.status_code == 200
    assert "W leader" in page.content.decode()
    assert client.get(reverse("admin:incidents_incident_add")).status_code == 403
    category = Category.objects.get(code="dispute")
    category_page = reverse("admin:incidents_category_change", args=[category.pk])
    assert client.get(category_page).status_code == 200

    staff = UserFactory(username="v2-staff", is_staff=True)
    AccountFactory(user=staff, role=AccountRole.VILLAGE_STAFF, codes=[world.v2.code])
    staff.user_permissions.add(*Permission.objects.filter(codename="view_incident"))
    client.force_login(staff)
    listed = client.get(changelist).context["cl"].result_list
    assert [i.pk for i in listed] == [reported["v2"]]
