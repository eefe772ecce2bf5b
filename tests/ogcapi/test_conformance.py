"""OGC API – Features: the conformance a client relies on (landing links, conformance
classes, paging, bbox, CRS), bad parameters, the jurisdiction rule and the masking rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openapi_spec_validator import validate as validate_openapi
from rest_framework.authtoken.models import Token

from accounts.models import AccountRole
from incidents.models import Category
from incidents.services import incident_create
from ogcapi.crs import CRS84, epsg_uri
from ogcapi.params import MAX_LIMIT
from tests.factories import (
    AccountFactory,
    BuildingFactory,
    GridFactory,
    HouseholdFactory,
    TownFactory,
    VillageFactory,
    rect,
)

pytestmark = pytest.mark.django_db

ITEMS = "ogc-items"


def items_url(collection: str) -> str:
    return reverse(ITEMS, args=[collection])


@pytest.fixture
def world() -> dict[str, Any]:
    """Two towns side by side; grid A (lon 100.0-100.1) with five households and a building,
    grid B (lon 100.2-100.3) with one household."""
    town_a = TownFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
    town_b = TownFactory(geom=rect(100.2, 0.0, 100.3, 0.1))
    grid_a = GridFactory(village=VillageFactory(town=town_a, geom=town_a.geom), geom=town_a.geom)
    grid_b = GridFactory(village=VillageFactory(town=town_b, geom=town_b.geom), geom=town_b.geom)
    inside = [
        HouseholdFactory(
            grid=grid_a,
            location=Point(100.01 + i * 0.01, 0.05, srid=4326),
            id_number="450702199001011234",
            phone="13812345678",
        )
        for i in range(5)
    ]
    outside = HouseholdFactory(grid=grid_b, location=Point(100.25, 0.05, srid=4326))
    BuildingFactory(grid=grid_a)
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[grid_a.code])
    staff = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[town_a.code])
    return {
        "grid_a": grid_a,
        "grid_b": grid_b,
        "inside": inside,
        "outside": outside,
        "worker": worker.user,
        "staff": staff.user,
    }


def as_user(api_client: Any, user: Any) -> Any:
    api_client.force_authenticate(user)
    return api_client


def ids(body: dict[str, Any]) -> set[Any]:
    return {f["id"] for f in body["features"]}


def rel(body: dict[str, Any], name: str) -> str | None:
    return next((link["href"] for link in body["links"] if link["rel"] == name), None)


# --- landing page, conformance, definition -----------------------------------------------------
def test_landing_page_links_what_qgis_needs(api_client, world):
    body = as_user(api_client, world["staff"]).get(reverse("ogc-landing")).json()
    rels = {link["rel"]: link for link in body["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    assert all(link["href"].startswith("http://testserver/ogc/") for link in body["links"])
    # Every linked document answers.
    for name in ("service-desc", "service-doc", "conformance", "data"):
        assert api_client.get(rels[name]["href"]).status_code == 200


def test_conformance_classes(api_client, world):
    body = as_user(api_client, world["staff"]).get(reverse("ogc-conformance")).json()
    assert set(body["conformsTo"]) == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    }


def test_definition_documents_the_limit(api_client, world):
    res = as_user(api_client, world["staff"]).get(reverse("ogc-openapi"))
    assert res["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document = res.json()
    validate_openapi(document)  # a valid OpenAPI 3.0 document (the oas30 class)
    limit = document["components"]["parameters"]["limit"]["schema"]
    assert (limit["maximum"], limit["default"]) == (MAX_LIMIT, 100)
    assert document["servers"] == [{"url": "http://testserver/ogc"}]


def test_anonymous_is_refused_everywhere(api_client, world):
    for url in (reverse("ogc-landing"), reverse("ogc-collections"), items_url("households")):
        res = api_client.get(url)
        assert res.status_code in (401, 403)
        assert set(res.json()) == {"code", "description"}


def test_token_authentication(api_client, world):
    token = Token.objects.create(user=world["worker"])
    res = api_client.get(items_url("households"), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert res.status_code == 200
    assert ids(res.json()) == {h.pk for h in world["inside"]}


# --- collections -------------------------------------------------------------------------------
def test_collections_list_every_layer_with_crs_and_extent(api_client, world):
    body = as_user(api_client, world["worker"]).get(reverse("ogc-collections")).json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(by_id) == {
        "districts",
        "towns",
        "villages",
        "grids",
        "stations",
        "service-centres",
        "buildings",
        "households",
        "incidents",
    }
    grids = by_id["grids"]
    assert CRS84 in grids["crs"] and epsg_uri(4545) in grids["crs"]
    assert grids["extent"]["spatial"]["bbox"] == [[100.0, 0.0, 100.1, 0.1]]
    one = api_client.get(reverse("ogc-collection", args=["grids"])).json()
    assert one["id"] == "grids" and rel(one, "items").endswith("/ogc/collections/grids/items")


# --- items: paging, bbox, crs ------------------------------------------------------------------
def test_paging_by_next_and_prev_links(api_client, world):
    client = as_user(api_client, world["worker"])
    seen, pages, url = [], [], items_url("households") + "?limit=2"
    while url:
        body = client.get(url).json()
        assert body["numberReturned"] == len(body["features"]) <= 2
        assert body["timeStamp"].endswith("Z") and "numberMatched" not in body
        pages.append(body)
        seen += [f["id"] for f in body["features"]]
        url = rel(body, "next")
    assert seen == sorted(h.pk for h in world["inside"])
    assert len(pages) == 3 and rel(pages[0], "prev") is None
    back = client.get(rel(pages[1], "prev")).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in pages[0]["features"]]


def test_number_matched_on_boundaries(api_client, world):
    body = as_user(api_client, world["staff"]).get(items_url("grids")).json()
    assert body["numberMatched"] == body["numberReturned"] == 1


def test_bbox_in_crs84_epsg4326_and_epsg3857(api_client, world):
    client = as_user(api_client, world["staff"])
    first_two = {h.pk for h in world["inside"][:2]}
    res = client.get(items_url("households"), {"bbox": "100.005,0.04,100.025,0.06"})
    assert ids(res.json()) == first_two
    # EPSG:4326 is latitude first.
    res = client.get(
        items_url("households"), {"bbox": "0.04,100.005,0.06,100.025", "bbox-crs": epsg_uri(4326)}
    )
    assert ids(res.json()) == first_two
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
            "ST_Transform(ST_MakeEnvelope(100.005, 0.04, 100.025, 0.06, 4326), 3857) b"
        )
        box = ",".join(str(v) for v in cur.fetchone())
    res = client.get(items_url("households"), {"bbox": box, "bbox-crs": "EPSG:3857"})
    assert ids(res.json()) == first_two


@pytest.mark.parametrize("srid,flip", [(3857, False), (4326, True), (4490, True), (4545, True)])
def test_crs_answer_matches_st_transform(api_client, world, srid, flip):
    h = world["inside"][0]
    res = as_user(api_client, world["staff"]).get(
        reverse("ogc-item", args=["households", h.pk]), {"crs": epsg_uri(srid)}
    )
    assert res.status_code == 200
    assert res["Content-Crs"] == f"<{epsg_uri(srid)}>"
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(location, %s) p "
            "FROM households_household WHERE id = %s) t",
            [srid, h.pk],
        )
        x, y = cur.fetchone()
    expected = (y, x) if flip else (x, y)
    got = res.json()["geometry"]["coordinates"]
    assert got == pytest.approx(expected, abs=0.01 if srid in (3857, 4545) else 1e-7)


def test_default_crs_is_crs84(api_client, world):
    h = world["inside"][0]
    res = as_user(api_client, world["staff"]).get(items_url("households"), {"limit": 1})
    assert res["Content-Crs"] == f"<{CRS84}>"
    assert res["Content-Type"] == "application/geo+json"
    assert res.json()["features"][0]["geometry"]["coordinates"] == pytest.approx(
        [h.location.x, h.location.y]
    )


# --- bad parameters and unknown ids ------------------------------------------------------------
@pytest.mark.parametrize(
    "collection,query",
    [
        ("households", {"limit": "0"}),
        ("households", {"limit": "ten"}),
        ("households", {"limit": str(MAX_LIMIT + 1)}),
        ("households", {"bbox": "1,2,3"}),
        ("households", {"bbox": "100.1,0,100.0,0.1"}),
        ("households", {"bbox": "a,b,c,d"}),
        ("households", {"bbox": "100,0,101,1", "bbox-crs": "EPSG:27700"}),
        ("households", {"crs": "EPSG:9999"}),
        ("households", {"after": "abc"}),
        ("households", {"after": "1", "before": "5"}),
        ("households", {"generation": "1"}),
        ("grids", {"generation": "x"}),
        ("grids", {"generation": "999999"}),
        ("grids", {"f": "xml"}),
        ("grids", {"datetime": "2026-01-01"}),
        ("incidents", {"datetime": "yesterday"}),
        ("incidents", {"datetime": "2026-02-01/2026-01-01"}),
        ("incidents", {"datetime": "2026-01-01/2026-02-01/2026-03-01"}),
    ],
)
def test_bad_parameters_are_400_with_an_ogc_exception(api_client, world, collection, query):
    res = as_user(api_client, world["staff"]).get(items_url(collection), query)
    assert res.status_code == 400, res.content
    body = res.json()
    assert body["code"] == "InvalidParameterValue" and body["description"]


def test_unknown_collection_and_feature_are_404(api_client, world):
    client = as_user(api_client, world["staff"])
    res = client.get(items_url("rivers"))
    assert res.status_code == 404 and res.json()["code"] == "NotFound"
    assert client.get(reverse("ogc-item", args=["households", "999999999"])).status_code == 404
    assert client.get(reverse("ogc-item", args=["households", "x"])).status_code == 404


# --- jurisdiction and masking ------------------------------------------------------------------
def test_a_feature_outside_the_area_is_never_returned(api_client, world):
    client = as_user(api_client, world["worker"])
    outside = world["outside"]
    assert outside.pk not in ids(client.get(items_url("households"), {"limit": MAX_LIMIT}).json())
    everywhere = {"bbox": "99,-1,101,1"}
    assert outside.pk not in ids(client.get(items_url("households"), everywhere).json())
    assert client.get(reverse("ogc-item", args=["households", outside.pk])).status_code == 404
    grid_b = world["grid_b"].code
    assert grid_b not in ids(client.get(items_url("grids")).json())
    assert client.get(reverse("ogc-item", args=["grids", grid_b])).status_code == 404
    # The extent is the viewer's too.
    body = client.get(reverse("ogc-collection", args=["households"])).json()
    assert body["extent"]["spatial"]["bbox"] == [[100.0, 0.0, 100.1, 0.1]]


def test_personal_fields_masked_as_the_households_api_masks_them(api_client, world):
    h = world["inside"][0]
    url = reverse("ogc-item", args=["households", h.pk])
    res = as_user(api_client, world["worker"]).get(url)
    props = res.json()["properties"]
    assert (props["id_number"], props["phone"]) == ("450702199001011234", "13812345678")
    assert res["Cache-Control"] == "no-store"
    res = as_user(api_client, world["staff"]).get(url)
    props = res.json()["properties"]
    assert (props["id_number"], props["phone"]) == ("450702********1234", "138****5678")
    assert res["Cache-Control"] == "no-store"
    listed = api_client.get(items_url("households")).json()["features"]
    assert {f["properties"]["phone"] for f in listed} == {"138****5678"}


def test_incidents_with_severity_state_and_deadlines(api_client, world):
    reporter = world["worker"]
    incident, _ = incident_create(
        actor=reporter,
        point=Point(100.05, 0.05, srid=4326),
        category=Category.objects.get(code="hazard"),
        severity=None,
        description="a fallen tree",
    )
    body = as_user(api_client, world["staff"]).get(items_url("incidents")).json()
    assert ids(body) == {incident.pk}
    props = body["features"][0]["properties"]
    assert props["category"] == "hazard" and props["status"] == incident.status
    assert props["severity"] == incident.severity and "traffic_light" in props
    assert "reporter" not in props and "resolved_at" not in props
    day = timezone.localtime(incident.reported_at).date()  # dates are the site's days
    for window, shown in (
        (f"{day}", {incident.pk}),
        (f"../{day}", {incident.pk}),
        (f"{day + dt.timedelta(days=1)}/..", set()),
        (f"{day - dt.timedelta(days=2)}/{day - dt.timedelta(days=1)}", set()),
        (incident.reported_at.isoformat(), {incident.pk}),
    ):
        res = api_client.get(items_url("incidents"), {"datetime": window})
        assert ids(res.json()) == shown, window
    other = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world["grid_b"].code]).user
    assert ids(as_user(api_client, other).get(items_url("incidents")).json()) == set()
