"""Travel times from village centres to stations along the roads, cached (issue 6).

The rule, in one place:

- **Village centre**: the location of the village's service centre (the one with the smallest
  id when it has several), else ``ST_PointOnSurface`` of the current village boundary.
- **Station**: its location rounded to 6 decimals of a degree (about 0.1 m): the
  ``location_key``. Times are cached per village code and location key, so a station moved in
  a plan is simply a new key, and the cache holds no station ids.
- **Along roads** (method ``"road"``): a straight line from the centre to its nearest road
  node, the shortest path along the roads (``pgr_dijkstraCost``, undirected, cost =
  ``length_m``), a straight line from the station's nearest road node to the station.
  "Nearest" is by geodesic distance among the few nearest by the KNN index, like the service
  circle. Each town is one ``pgr_dijkstraCost`` call (its stations to its villages, many to
  many) over the road segments inside the bounding box of its points padded by
  ``TOWN_PAD_DEGREES``; all towns go in one SQL statement.
- **Estimate** (method ``"estimate"``): when there is no road route (no road node within
  ``MAX_SNAP_M`` of the centre or the station, or the two nodes are not connected inside the
  town's box), the geodesic straight line times ``DETOUR_FACTOR``.
- **Time**: metres at ``settings.GRIDMAP_STATION_TRAVEL_KMH`` (30 km/h unless set). The cache
  keeps metres and the seconds at the speed of the day it was filled; reads recompute the
  seconds from the metres at the current speed.

Only pairs of a village and a station of the same town (the first 9 digits of the village
code) are computed. A village code that is not a current village gets no time.
The cache (``planning.models.TravelTime``) is filled with ``INSERT ... ON CONFLICT DO
NOTHING`` and emptied by ``clear_travel_cache`` whenever the road network changes.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from gridmap.codes import CODE_LENGTH, Level, code_at
from gridmap.sql import tables
from grids.models import ServiceCentre, Village

from .models import TravelTime as TravelTimeRow

ROAD = TravelTimeRow.Method.ROAD.value
ESTIMATE = TravelTimeRow.Method.ESTIMATE.value
DEFAULT_KMH = 30.0
DETOUR_FACTOR = 1.3
# A centre or station farther than this from every road node of its town has no road route
# (demo stations stand up to 1.8 km from the nearest node of the building-to-building roads).
MAX_SNAP_M = 2000.0
# The town's box is padded by this (about 2.2 km), so a road that leaves the box for a short
# while is still found.
TOWN_PAD_DEGREES = 0.02
# How many KNN candidates are compared by geodesic distance to find the nearest road node.
NEAREST_CANDIDATES = 4


@dataclass(frozen=True)
class TravelTime:
    seconds: float
    metres: float
    method: str  # ROAD or ESTIMATE


@dataclass(frozen=True)
class StationPoint:
    key: Hashable
    town_code: str
    location: Point


def speed_mps() -> float:
    return float(getattr(settings, "GRIDMAP_STATION_TRAVEL_KMH", DEFAULT_KMH)) / 3.6


def location_key(point: Point) -> str:
    """The cache key of a station location: lon/lat rounded to 6 decimals."""
    if point.srid and point.srid != settings.GRIDMAP_SRID:
        point = point.transform(settings.GRIDMAP_SRID, clone=True)
    return f"{point.x:.6f},{point.y:.6f}"


def clear_travel_cache() -> int:
    """Forget every cached travel time (after the road network changed); how many rows."""
    deleted, _ = TravelTimeRow.objects.all().delete()
    return deleted


# The roads are coverage's tables: planning sits beside coverage, not above it, so it names
# them through the app registry rather than by importing coverage. Tables are formatted in by
# name (``{village}`` is the villages' table, a bare ``village`` the CTE).
_ROUTE_SQL = """
WITH pair AS (
  SELECT DISTINCT u.code, u.lkey, u.town,
         ST_SetSRID(ST_MakePoint(u.x, u.y), %(srid)s) AS geom
  FROM unnest(%(codes)s::text[], %(lkeys)s::text[], %(towns)s::text[],
              %(xs)s::float8[], %(ys)s::float8[]) AS u(code, lkey, town, x, y)
),
village AS (
  SELECT v.code, left(v.code, %(town_len)s) AS town,
         coalesce(c.location, ST_PointOnSurface(v.geom)) AS geom
  FROM {village} v
  LEFT JOIN LATERAL (
    SELECT sc.location FROM {service_centre} sc WHERE sc.village_id = v.id
    ORDER BY sc.id LIMIT 1
  ) c ON true
  WHERE v.generation_high_id IS NULL AND v.code IN (SELECT code FROM pair)
),
point AS (
  SELECT 'v' AS kind, code AS id, town, geom FROM village
  UNION ALL
  SELECT DISTINCT 's', lkey, town, geom FROM pair
),
box AS (
  SELECT town, ST_SetSRID(ST_Expand(ST_Extent(geom), %(pad)s)::geometry, %(srid)s) AS geom
  FROM point GROUP BY town
),
snap AS MATERIALIZED (
  SELECT p.kind, p.id, p.town, p.geom, nn.id AS node, nn.snap_m
  FROM point p
  JOIN box b USING (town)
  LEFT JOIN LATERAL (
    SELECT k.id, ST_Distance(k.geom::geography, p.geom::geography) AS snap_m
    FROM (SELECT n.id, n.geom FROM {road_node} n
          WHERE n.geom && b.geom
          ORDER BY n.geom <-> p.geom LIMIT %(k)s) k
    ORDER BY 2, 1 LIMIT 1
  ) nn ON nn.snap_m <= %(max_snap)s
),
town AS (
  SELECT b.town, b.geom,
         (SELECT array_agg(DISTINCT s.node) FROM snap s
           WHERE s.town = b.town AND s.kind = 's' AND s.node IS NOT NULL) AS sources,
         (SELECT array_agg(DISTINCT s.node) FROM snap s
           WHERE s.town = b.town AND s.kind = 'v' AND s.node IS NOT NULL) AS targets
  FROM box b
),
cost AS (
  -- One pgRouting call per town: its stations' nodes to its villages' nodes.
  SELECT t.town, d.start_vid, d.end_vid, d.agg_cost
  FROM town t
  CROSS JOIN LATERAL pgr_dijkstraCost(
    format('SELECT id, source_id AS source, target_id AS target, length_m AS cost '
           'FROM {road_segment} WHERE geom && %%L::geometry', t.geom),
    t.sources, t.targets, directed := false) d
  WHERE t.sources IS NOT NULL AND t.targets IS NOT NULL
)
SELECT p.code, p.lkey,
       CASE WHEN sv.node = ss.node THEN sv.snap_m + ss.snap_m
            WHEN c.agg_cost IS NOT NULL THEN sv.snap_m + c.agg_cost + ss.snap_m
       END AS road_m,
       ST_Distance(sv.geom::geography, ss.geom::geography) AS straight_m
FROM pair p
JOIN snap sv ON sv.kind = 'v' AND sv.id = p.code
JOIN snap ss ON ss.kind = 's' AND ss.id = p.lkey AND ss.town = p.town
LEFT JOIN cost c ON c.town = p.town AND c.start_vid = ss.node AND c.end_vid = sv.node
""".format(
    **tables(
        road_node=apps.get_model("coverage", "RoadNode"),
        road_segment=apps.get_model("coverage", "RoadSegment"),
        service_centre=ServiceCentre,
        village=Village,
    )
)


def _route(
    pairs: Sequence[tuple[str, str]], where: dict[str, tuple[str, float, float]]
) -> dict[tuple[str, str], tuple[float, str]]:
    """Metres and method for (village code, location key) pairs; ``where`` gives each
    location key's town and lon/lat. One SQL statement, one pgRouting call per town."""
    if not pairs:
        return {}
    params = {
        "codes": [code for code, _ in pairs],
        "lkeys": [lkey for _, lkey in pairs],
        "towns": [code_at(Level.TOWN, code) for code, _ in pairs],
        "xs": [where[lkey][1] for _, lkey in pairs],
        "ys": [where[lkey][2] for _, lkey in pairs],
        "srid": settings.GRIDMAP_SRID,
        "town_len": CODE_LENGTH[Level.TOWN],
        "pad": TOWN_PAD_DEGREES,
        "k": NEAREST_CANDIDATES,
        "max_snap": MAX_SNAP_M,
    }
    out: dict[tuple[str, str], tuple[float, str]] = {}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_ROUTE_SQL, params)
        for code, lkey, road_m, straight_m in cur.fetchall():
            if road_m is not None:
                out[code, lkey] = (road_m, ROAD)
            else:
                out[code, lkey] = (straight_m * DETOUR_FACTOR, ESTIMATE)
    return out


def travel_times(
    village_codes: Sequence[str], stations: Sequence[StationPoint]
) -> dict[tuple[str, Hashable], TravelTime]:
    """Travel time of every (village, station) pair of the same town, keyed by
    (village code, station key): from the cache, the missing ones computed and cached."""
    speed = speed_mps()
    where: dict[str, tuple[str, float, float]] = {}
    by_town: dict[str, list[tuple[Hashable, str]]] = {}
    for station in stations:
        lkey = location_key(station.location)
        x, y = (float(c) for c in lkey.split(","))
        where[lkey] = (station.town_code, x, y)
        by_town.setdefault(station.town_code, []).append((station.key, lkey))
    wanted: dict[tuple[str, str], list[Hashable]] = {}
    for code in dict.fromkeys(village_codes):
        for key, lkey in by_town.get(code_at(Level.TOWN, code), []):
            wanted.setdefault((code, lkey), []).append(key)
    if not wanted:
        return {}

    found: dict[tuple[str, str], tuple[float, str]] = {}
    cached = TravelTimeRow.objects.filter(
        village_code__in={code for code, _ in wanted},
        location_key__in={lkey for _, lkey in wanted},
    ).values_list("village_code", "location_key", "metres", "method")
    for code, lkey, metres, method in cached:
        if (code, lkey) in wanted:
            found[code, lkey] = (metres, method)
    missing = [pair for pair in wanted if pair not in found]
    computed = _route(missing, where)
    if computed:
        TravelTimeRow.objects.bulk_create(
            [
                TravelTimeRow(
                    village_code=code,
                    location_key=lkey,
                    seconds=metres / speed,
                    metres=metres,
                    method=method,
                )
                for (code, lkey), (metres, method) in computed.items()
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
        found.update(computed)

    out: dict[tuple[str, Hashable], TravelTime] = {}
    for (code, lkey), keys in wanted.items():
        if (code, lkey) in found:
            metres, method = found[code, lkey]
            time = TravelTime(seconds=metres / speed, metres=metres, method=method)
            for key in keys:
                out[code, key] = time
    return out
