"""GET /api/layers/<level>/: GeoJSON built in the database, limited to the jurisdiction."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import AccountRole
from grids.api import MSG_BBOX_REQUIRED
from tests.factories import (
    AccountFactory,
    BuildingFactory,
    CatchmentAssignmentFactory,
    GridFactory,
    StationFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    rect,
)

pytestmark = pytest.mark.django_db


def layer(client, level, **params):
    return client.get(reverse("layer", args=[level]), params)


@pytest.fixture
def place():
    town = TownFactory(geom=rect(100.0, 0.0, 100.2, 0.1))
    v1 = VillageFactory(town=town, geom=rect(100.0, 0.0, 100.1, 0.1))
    v2 = VillageFactory(town=town, geom=rect(100.1, 0.0, 100.2, 0.1))
    g1 = GridFactory(village=v1, geom=v1.geom)
    g2 = GridFactory(village=v2, geom=v2.geom)
    return town, v1, v2, g1, g2


def test_grid_layer_is_a_feature_collection_in_the_users_jurisdiction(api_client, place):
    town, v1, v2, g1, g2 = place
    account = AccountFactory(role=AccountRole.VILLAGE_STAFF, codes=[v1.code])
    api_client.force_authenticate(account.user)

    body = layer(api_client, "grid").json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [g1.code]
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"] == {
        "code": g1.code,
        "name": g1.name,
        "level": "grid",
        "village_code": v1.code,
    }
    # The village staff also sees the outline of their town (an ancestor), not the sibling.
    assert [f["id"] for f in layer(api_client, "town").json()["features"]] == [town.code]
    assert [f["id"] for f in layer(api_client, "village").json()["features"]] == [v1.code]


def test_bbox_filters(api_client, place):
    *_, g1, g2 = place
    api_client.force_authenticate(UserFactory(username="su", is_superuser=True))
    codes = {
        f["id"]
        for f in layer(api_client, "grid", bbox="100.15,0.01,100.16,0.02").json()["features"]
    }
    assert g2.code in codes and g1.code not in codes


def test_bad_bbox_and_unknown_level(api_client, place):
    api_client.force_authenticate(UserFactory(username="su", is_superuser=True))
    assert layer(api_client, "grid", bbox="1,2,3").status_code == 400
    assert layer(api_client, "planet").status_code == 404


def test_buildings_need_a_bbox(api_client, place):
    *_, g1, _ = place
    api_client.force_authenticate(UserFactory(username="su", is_superuser=True))
    res = layer(api_client, "building")
    assert res.status_code == 400
    assert res.json()["errors"]["bbox"] == [gettext(MSG_BBOX_REQUIRED)]
    b = BuildingFactory(footprint=Polygon.from_bbox((100.01, 0.01, 100.0102, 0.0102)), grid=g1)
    body = layer(api_client, "building", bbox="100.0,0.0,100.05,0.05").json()
    assert [f["id"] for f in body["features"]] == [b.id]
    assert body["features"][0]["properties"]["grid_code"] == g1.code
    assert body["truncated"] is False


def test_station_layer_counts_active_villages(api_client, place):
    town, v1, v2, *_ = place
    station = StationFactory(town=town, location=Point(100.1, 0.05, srid=4326))
    CatchmentAssignmentFactory(village=v1, station=station)
    CatchmentAssignmentFactory(village=v2, station=station)
    api_client.force_authenticate(UserFactory(username="su", is_superuser=True))
    features = layer(api_client, "station").json()["features"]
    mine = [f for f in features if f["id"] == station.code]
    assert mine[0]["properties"]["village_count"] == 2


def test_grid_detail_is_a_feature_and_respects_jurisdiction(api_client, place):
    *_, g1, g2 = place
    account = AccountFactory(role=AccountRole.GRID_WORKER, codes=[g1.code])
    api_client.force_authenticate(account.user)
    res = api_client.get(reverse("grid-detail", args=[g1.code]))
    assert res.status_code == 200
    assert res.json()["type"] == "Feature"
    assert res.json()["properties"]["code"] == g1.code
    assert api_client.get(reverse("grid-detail", args=[g2.code])).status_code == 404


def test_openapi_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_empty_layer_is_an_empty_list_of_features(api_client, place):
    api_client.force_authenticate(UserFactory(username="su", is_superuser=True))
    body = layer(api_client, "grid", bbox="-10,-10,-9,-9").json()
    assert body == {"type": "FeatureCollection", "features": []}
