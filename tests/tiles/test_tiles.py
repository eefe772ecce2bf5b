"""The vector tiles (/tiles/<layer>/<z>/<x>/<y>.mvt): jurisdiction, masking, ETag, bad input,
one statement per tile. Tiles are decoded with mapbox-vector-tile."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccountRole
from cases.models import Status
from grids.models import Grid
from grids.views import INCIDENT_SEVERITIES, INCIDENT_STATUSES, OPEN_STATUSES
from households.routing import Severity
from incidents.models import Category, Incident
from tests.factories import (
    AccountFactory,
    DistrictFactory,
    GridFactory,
    HouseholdFactory,
    StationFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    current_generation,
    rect,
)
from tiles.layers import CLUSTER_BELOW, LAYERS, tile_of

MVT = "application/vnd.mapbox-vector-tile"


def url(layer: str, zxy: tuple[int, int, int], query: str = "") -> str:
    z, x, y = zxy
    return f"/tiles/{layer}/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")


def features(response: Any, layer: str) -> list[dict[str, Any]]:
    """The decoded features of ``layer`` in a tile answer (204: none)."""
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == MVT
    decoded = mapbox_vector_tile.decode(response.content)
    return decoded.get(layer, {}).get("features", [])


@dataclass
class World:
    grid_a: Grid
    grid_b: Grid
    households: list[Any]
    incidents: list[Incident]
    village_worker: Client
    district_admin: Client
    root: Client


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def incident(code: str, lon: float, lat: float, **fields: Any) -> Incident:
    values = {
        "location": Point(lon, lat, srid=4326),
        "category": Category.objects.order_by("code").first(),
        "severity": "red",
        "description": "tile test",
        "reporter": UserFactory(),
        "reported_at": timezone.now() - dt.timedelta(days=2),
        "generation": current_generation(),
        "place_code": code,
        "responsible_level": "grid",
        "owner_code": code,
        "status": "reported",
    }
    values.update(fields)
    return Incident.objects.create(**values)


# The area sits inside one z11 tile (x 1593, y 1023): lon 100.05-100.15, lat 0.02-0.12.
@pytest.fixture
def world(db: Any) -> World:
    district = DistrictFactory(code="990170", geom=rect(100.05, 0.02, 100.15, 0.12))
    town = TownFactory(district=district, code="990170001", geom=district.geom)
    a = VillageFactory(town=town, code="990170001001", geom=rect(100.05, 0.02, 100.10, 0.12))
    b = VillageFactory(town=town, code="990170001002", geom=rect(100.10, 0.02, 100.15, 0.12))
    grid_a = GridFactory(village=a, code=a.code + "001", name="Grid A", geom=a.geom)
    grid_b = GridFactory(village=b, code=b.code + "001", name="Grid B", geom=b.geom)
    StationFactory(town=town, code="990170001S01", location=Point(100.07, 0.07, srid=4326))
    households = [
        HouseholdFactory(
            grid=grid_a, location=Point(100.07, 0.07, srid=4326), head_name="Zhang Headname",
            address="Secret Lane 1", phone="13912345678", id_number="450702199001019999",
        ),
        HouseholdFactory(grid=grid_b, location=Point(100.12, 0.07, srid=4326)),
    ]  # fmt: skip
    incidents = [
        incident(grid_a.code, 100.07, 0.08),
        incident(grid_b.code, 100.12, 0.08, severity="yellow"),
    ]
    village = AccountFactory(role=AccountRole.VILLAGE_STAFF, codes=[a.code])
    admin = AccountFactory(role=AccountRole.DISTRICT_ADMIN, codes=[district.code])
    root = UserFactory(username="tiles-root", is_superuser=True, is_staff=True)
    return World(
        grid_a, grid_b, households, incidents,
        login(village.user), login(admin.user), login(root),
    )  # fmt: skip


AREA_TILE = tile_of(100.1, 0.07, 11)


# --- jurisdiction -------------------------------------------------------------------------------
def test_area_tile_is_the_expected_one() -> None:
    assert AREA_TILE == (11, 1593, 1023)


def test_village_worker_tile_holds_only_their_village(world: World) -> None:
    grids = features(world.village_worker.get(url("grids", AREA_TILE)), "grids")
    assert [f["properties"]["code"] for f in grids] == [world.grid_a.code]
    everything = features(world.district_admin.get(url("grids", AREA_TILE)), "grids")
    assert sorted(f["properties"]["code"] for f in everything) == sorted(
        [world.grid_a.code, world.grid_b.code]
    )


def test_village_worker_sees_their_incidents_only(world: World) -> None:
    clusters = features(world.village_worker.get(url("incidents", AREA_TILE)), "incidents")
    assert sum(f["properties"]["count"] for f in clusters) == 1
    points = features(
        world.village_worker.get(url("incidents", tile_of(100.07, 0.08, 16))), "incidents"
    )
    assert [f["properties"]["id"] for f in points] == [world.incidents[0].pk]
    assert points[0]["properties"]["severity"] == "red"
    assert points[0]["properties"]["status"] == "reported"
    assert points[0]["properties"]["category"] == world.incidents[0].category.code
    # The other village's incident, in its own tile: nothing for the village worker.
    outside = world.village_worker.get(url("incidents", tile_of(100.12, 0.08, 16)))
    assert outside.status_code == 204
    assert len(features(world.district_admin.get(url("incidents", AREA_TILE)), "incidents")) >= 1


def test_tile_outside_the_area_is_empty(world: World) -> None:
    far = tile_of(10.0, 50.0, 11)
    for layer in ("districts", "grids", "incidents"):
        assert world.district_admin.get(url(layer, far)).status_code == 204
        assert world.root.get(url(layer, far)).status_code == 204


def test_households_only_from_their_zoom(world: World) -> None:
    assert world.root.get(url("households", tile_of(100.07, 0.07, 14))).status_code == 204
    points = features(world.root.get(url("households", tile_of(100.07, 0.07, 16))), "households")
    assert len(points) == 1


def test_clusters_count_by_severity(world: World) -> None:
    clusters = features(world.root.get(url("incidents", AREA_TILE)), "incidents")
    total = sum(f["properties"]["count"] for f in clusters)
    assert total == 2
    assert sum(f["properties"]["red"] for f in clusters) == 1
    assert sum(f["properties"]["yellow"] for f in clusters) == 1
    assert AREA_TILE[0] < CLUSTER_BELOW


def test_incident_filters(world: World) -> None:
    world.incidents[1].status = "closed"
    world.incidents[1].save(update_fields=["status"])
    open_only = features(
        world.root.get(url("incidents", AREA_TILE, "status=reported")), "incidents"
    )
    assert sum(f["properties"]["count"] for f in open_only) == 1
    none = world.root.get(url("incidents", AREA_TILE, "category=no-such-category"))
    assert none.status_code == 204
    world.incidents[0].reported_at = timezone.now() - dt.timedelta(days=40)
    world.incidents[0].save(update_fields=["reported_at"])
    recent = features(world.root.get(url("incidents", AREA_TILE, "days=30")), "incidents")
    assert sum(f["properties"]["count"] for f in recent) == 1


# --- masking ------------------------------------------------------------------------------------
PERSONAL = ("head_name", "id_number", "phone", "address", "name")


@pytest.mark.parametrize("who", ["village_worker", "district_admin", "root"])
def test_household_tile_carries_no_personal_field(world: World, who: str) -> None:
    response = getattr(world, who).get(url("households", tile_of(100.07, 0.07, 16)))
    points = features(response, "households")
    assert len(points) == 1
    assert set(points[0]["properties"]) <= {"size", "grid_code"}
    assert not set(points[0]["properties"]) & set(PERSONAL)
    for secret in (b"Zhang Headname", b"Secret Lane", b"13912345678", b"450702199001019999"):
        assert secret not in response.content


# --- caching ------------------------------------------------------------------------------------
def test_etag_and_304(world: World) -> None:
    first = world.root.get(url("grids", AREA_TILE))
    etag = first["ETag"]
    assert etag.startswith('"') and first["Cache-Control"] == "private, no-cache"
    assert "Cookie" in first["Vary"]
    again = world.root.get(url("grids", AREA_TILE), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    # Another scope, another tile, another ETag.
    assert world.village_worker.get(url("grids", AREA_TILE))["ETag"] != etag
    # A change of the data changes the ETag.
    Grid.objects.filter(pk=world.grid_a.pk).update(name="Grid A renamed")
    changed = world.root.get(url("grids", AREA_TILE), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiles/nothing/11/1593/1023.mvt", 404),
        ("/tiles/grids/23/0/0.mvt", 400),
        ("/tiles/grids/11/2048/0.mvt", 400),
        ("/tiles/grids/2/0/4.mvt", 400),
        ("/tiles/incidents/11/1593/1023.mvt?days=abc", 400),
        ("/tiles/incidents/11/1593/1023.mvt?days=0", 400),
        ("/tiles/incidents/11/1593/1023.mvt?status=bogus", 400),
        ("/tiles/incidents/11/1593/1023.mvt?category=%3Cscript%3E", 400),
    ],
)
def test_bad_input_is_a_4xx_with_a_message(world: World, path: str, status: int) -> None:
    response = world.root.get(path)
    assert response.status_code == status
    assert response.json()


def test_login_required(world: World) -> None:
    assert Client().get(url("grids", AREA_TILE)).status_code in (401, 403)


# --- one statement ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "zxy"),
    [
        ("grids", AREA_TILE),
        ("incidents", AREA_TILE),
        ("incidents", tile_of(100.07, 0.08, 16)),
        ("households", tile_of(100.07, 0.07, 16)),
        ("stations", AREA_TILE),
        ("villages", AREA_TILE),
    ],
)
def test_one_statement_per_tile(
    world: World, layer: str, zxy: tuple[int, int, int], django_assert_num_queries: Any
) -> None:
    client = world.village_worker
    # What a request costs around its tile (the session, the user and their jurisdiction)
    # and its one tile statement: an empty tile far away, then the same with features.
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(url(layer, tile_of(10.0, 50.0, zxy[0]))).status_code == 204
    assert sum("ST_AsMVT(" in q["sql"] for q in baseline.captured_queries) == 1
    with django_assert_num_queries(len(baseline.captured_queries)) as captured:
        assert client.get(url(layer, zxy)).status_code == 200
    tile_statements = [q["sql"] for q in captured.captured_queries if "ST_AsMVT(" in q["sql"]]
    assert len(tile_statements) == 1
    # Every other statement is the request's authentication and jurisdiction, no layer data.
    others = [q["sql"] for q in captured.captured_queries if "ST_AsMVT(" not in q["sql"]]
    table = {"grids": "grids_grid", "incidents": "incidents_incident"}.get(layer)
    assert table is None or not any(f'FROM "{table}"' in sql for sql in others)


def test_every_layer_answers(world: World) -> None:
    for name, layer in LAYERS.items():
        z = max(layer.min_zoom, 16)
        response = world.root.get(url(name, tile_of(100.07, 0.07, z)))
        assert response.status_code in (200, 204), name


# --- the map's labels of states and severities are the models' ----------------------------------
def test_map_labels_match_the_models() -> None:
    assert set(INCIDENT_STATUSES) == set(Status.values)
    assert set(OPEN_STATUSES) <= set(Status.values)
    assert set(INCIDENT_SEVERITIES) == set(Severity.values)
