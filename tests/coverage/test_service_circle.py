"""The 15-minute service circle (coverage.service_circle).

Hand-made: a river with a bridge far away (near lon 100, lat 0, far from the demo). Demo: the
network figure checked against an independent networkx shortest-path computation.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import Point
from pyproj import Geod

from coverage.models import RoadNode, RoadSegment
from coverage.roads import import_roads
from coverage.service_circle import (
    Method,
    ServiceCircleError,
    reach_m,
    service_circle,
)
from demo.roads import load_demo_roads
from grids.models import ServiceCentre, Village
from households.models import Household
from tests.factories import GridFactory, HouseholdFactory, TownFactory, VillageFactory, rect

GEOD = Geod(ellps="WGS84")
LAT_M = 110_574.0  # metres per degree of latitude at the equator
LON_M = 111_320.0  # metres per degree of longitude at the equator


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


@pytest.fixture
def river(db, tmp_path: Path):
    """A centre on the west bank of a river; the bridge is 412.5 m upstream.

    Roads: C (the centre) north 412.5 m to N1, over the bridge to N2, back south 412.5 m to
    E on the east bank, 375 m (5 minutes) east of C in a straight line: 16 minutes' walk.
    A second village, with no roads, has a centre and two households.
    """
    town = TownFactory(geom=rect(100.0, 0.0, 100.3, 0.1))
    west = VillageFactory(town=town, geom=rect(100.0, 0.0, 100.1, 0.1))
    bare = VillageFactory(town=town, geom=rect(100.2, 0.0, 100.3, 0.1))
    grid = GridFactory(village=west, geom=west.geom)
    bare_grid = GridFactory(village=bare, geom=bare.geom)
    c = (100.010, 0.010)
    up = 0.010 + 412.5 / LAT_M
    east = 100.010 + 375 / LON_M
    ServiceCentre.objects.create(name="west centre", location=Point(*c, srid=4326), village=west)
    lines = [
        shapely.LineString([c, (100.010, up)]),
        shapely.LineString([(100.010, up), (east, up)]),
        shapely.LineString([(east, up), (east, 0.010)]),
    ]
    path = tmp_path / "river.geojson"
    gpd.GeoDataFrame(
        {"name": ["west bank", "bridge", "east bank"]}, geometry=lines, crs=4326
    ).to_file(path)
    import_roads(path=path, commit=True)
    households = {
        "across": HouseholdFactory(grid=grid, location=Point(east, 0.010, srid=4326)),
        "west bank": HouseholdFactory(grid=grid, location=Point(100.010, 0.0125, srid=4326)),
    }
    b = (100.25, 0.05)
    ServiceCentre.objects.create(name="bare centre", location=Point(*b, srid=4326), village=bare)
    households["bare near"] = HouseholdFactory(
        grid=bare_grid, location=Point(b[0] + 500 / LON_M, b[1], srid=4326)
    )
    households["bare far"] = HouseholdFactory(
        grid=bare_grid, location=Point(b[0] + 2000 / LON_M, b[1], srid=4326)
    )
    return town, west, bare, households


def test_reach_is_1125_m_at_the_default_walking_speed():
    assert reach_m() == pytest.approx(1125)


def test_16_minutes_by_road_is_not_covered_though_5_minutes_in_a_straight_line(river):
    town, west, bare, households = river
    across = households["across"]
    assert metres((100.010, 0.010), across.location.coords) < 375.1  # 5 minutes' walk
    result = service_circle(town.code)
    assert across.pk in result.uncovered_household_ids
    assert households["west bank"].pk not in result.uncovered_household_ids
    rows = {v.code: v for v in result.villages}
    assert rows[west.code].method == Method.NETWORK
    assert (rows[west.code].households, rows[west.code].covered) == (2, 1)


def test_a_village_without_roads_is_an_estimate_and_counted_apart(river):
    town, west, bare, households = river
    result = service_circle(town.code)
    row = {v.code: v for v in result.villages}[bare.code]
    assert row.method == Method.ESTIMATE
    assert (row.households, row.covered) == (2, 1)
    assert households["bare far"].pk in result.uncovered_household_ids
    assert households["bare near"].pk not in result.uncovered_household_ids
    assert (result.households, result.covered) == (4, 2)
    assert (result.estimated_households, result.estimated_covered) == (2, 1)
    assert result.share == 0.5


def test_service_areas_are_geojson_polygons_around_the_reached_nodes(river):
    town, *_ = river
    result = service_circle(town.code)
    collection = result.service_areas_geojson()
    (feature,) = [f for f in collection["features"] if f["properties"]["name"] == "west centre"]
    assert feature["properties"]["nodes"] == 3  # C, N1, N2 within 1,125 m; E is not
    area = shapely.geometry.shape(feature["geometry"])
    assert area.covers(shapely.Point(100.010, 0.0125))
    assert not area.covers(shapely.Point(100.010 + 375 / LON_M, 0.010))


def test_unknown_area_is_refused(db):
    with pytest.raises(ServiceCircleError):
        service_circle("990199999999")


# --- Acceptance 2: the demo against networkx --------------------------------------------------
def _nearest(points: np.ndarray, nodes: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Index of the geodesically nearest node of each point, and the distance in metres."""
    index = np.empty(len(points), dtype=np.int64)
    dist = np.empty(len(points))
    scale = np.cos(np.radians(nodes[:, 1].mean()))
    for lo in range(0, len(points), 500):
        p = points[lo : lo + 500]
        d2 = ((p[:, None, 0] - nodes[None, :, 0]) * scale) ** 2 + (
            p[:, None, 1] - nodes[None, :, 1]
        ) ** 2
        cand = np.argsort(d2, axis=1)[:, :k]
        lon = np.repeat(p[:, 0:1], k, 1)
        lat = np.repeat(p[:, 1:2], k, 1)
        geo = GEOD.inv(lon.ravel(), lat.ravel(), nodes[cand.ravel(), 0], nodes[cand.ravel(), 1])[
            2
        ].reshape(-1, k)
        best = np.argmin(geo, axis=1)
        index[lo : lo + 500] = cand[np.arange(len(p)), best]
        dist[lo : lo + 500] = geo[np.arange(len(p)), best]
    return index, dist


def test_demo_network_figure_matches_networkx(demo, db):
    roads = load_demo_roads(seed=7)
    assert roads.villages_without_roads  # the estimate path shows in the demo
    reach = reach_m()
    result = service_circle("450700")

    nodes = list(RoadNode.objects.values_list("id", "geom"))
    node_ids = np.array([n for n, _ in nodes])
    node_xy = np.array([g.coords for _, g in nodes])
    graph = nx.Graph()
    for a, b, length in RoadSegment.objects.values_list("source_id", "target_id", "length_m"):
        if not graph.has_edge(a, b) or graph[a][b]["weight"] > length:
            graph.add_edge(a, b, weight=length)
    centres = list(ServiceCentre.objects.values_list("id", "location"))
    centre_xy = np.array([g.coords for _, g in centres])
    c_node, c_snap = _nearest(centre_xy, node_xy)
    sources = []
    for (cid, _), i, snap in zip(centres, c_node, c_snap, strict=True):
        if snap <= reach:
            graph.add_edge(("centre", cid), int(node_ids[i]), weight=snap)
            sources.append(("centre", cid))
    dist = nx.multi_source_dijkstra_path_length(graph, sources, cutoff=reach, weight="weight")

    with_roads = set(RoadSegment.objects.values_list("village_code", flat=True))
    households = list(
        Household.objects.filter(
            grid__village__code__startswith="4507", grid__village__generation_high=None
        ).values_list("id", "location", "grid__village__code")
    )
    hh_xy = np.array([g.coords for _, g, _ in households])
    h_node, h_snap = _nearest(hh_xy, node_xy)
    uncovered = set()
    for (hid, loc, code), i, snap in zip(households, h_node, h_snap, strict=True):
        if code in with_roads:
            covered = dist.get(int(node_ids[i]), np.inf) + snap <= reach
        else:
            covered = any(metres(loc.coords, c) <= reach for c in centre_xy)
        if not covered:
            uncovered.add(hid)

    assert {v.code for v in result.villages if v.method == Method.NETWORK} == (
        with_roads & set(Village.objects.current().values_list("code", flat=True))
    )
    assert result.households == len(households)
    assert 0 < len(uncovered) < len(households)
    assert set(result.uncovered_household_ids) == uncovered
    assert result.estimated_households == sum(
        1 for _, _, code in households if code not in with_roads
    )


def test_the_result_reads_as_a_dict_for_the_report(river):
    town, west, bare, households = river
    figures = dict(service_circle(town.code))
    assert figures["households"] == 4 and figures["covered"] == 2
    assert figures["estimated_households"] == 2 and figures["uncovered_households"] == 2
    assert {v["method"] for v in figures["villages"]} == {"network", "estimate"}
    assert figures["service_areas"]["type"] == "FeatureCollection"
    json.dumps(figures)
