"""The 15-minute service circle: which households can walk to a service centre in 15 minutes.

The rule, in one place:

- **Reach.** ``settings.GRIDMAP_WALKING_KMH`` (4.5 km/h) for ``SERVICE_CIRCLE_MINUTES`` (15)
  gives the reach in metres (1,125 m).
- **Along the road network** (a village with road data, i.e. at least one ``RoadNode`` inside
  its boundary: method ``"network"``). A walk has three legs: from the service centre in a
  straight line to the road node nearest to it, along the roads (``pgr_drivingDistance``,
  undirected, cost = segment length in metres, all centres at once: each centre is a virtual
  vertex joined to its nearest node by an edge as long as that straight leg), and from the
  household's nearest road node in a straight line to the household. A household is covered
  when the three legs together are at most the reach. "Nearest" is by geodesic distance
  (the nodes in a small box around the household, or, when none of them is surely the
  nearest, the KNN index's few nearest candidates; the geodesic distance picks one). So a
  household 5 minutes from a centre across a river whose bridge is far away is *not*
  covered: its nearest node is on its own bank.
- **Estimate** (a village with no road data: method ``"estimate"``): straight-line (geodesic)
  distance to the nearest service centre, any centre, at most the reach. These households are
  counted apart (``estimated_households``), so the overall figure says how much of it is an
  estimate; nothing is mixed silently.
- Households counted are those whose derived grid lies in a current village of the area;
  centres anywhere near the area count (a household may walk to the next village's centre).

Everything is set-based: a handful of SQL statements whatever the size of the area (the city,
a million households and about 1,100 centres, included).

Cached per village (``ServiceCircleVillage``, ``ServiceCircleUncovered``): a village's figures
depend only on its households and on the roads, road nodes and centres within the reach of
it (a walk of at most the reach never leaves that neighbourhood). ``refresh`` digests those
inputs per village in one statement (the *fingerprint*: hashes of ids, positions and lengths,
summed per village), and recomputes, in one set-based pass, only the villages whose
fingerprint changed; ``service_circle`` then adds up the cached rows. Nothing has to send a
signal: an import's bulk SQL changes the fingerprint as surely as a save in the admin. A
large recomputation is split between ``GRIDMAP_COVERAGE_WORKERS`` connections (runs of
neighbouring villages, each its own transaction).

The fingerprints themselves read every household of the area (1.5-3.5 s for a city of a
million). So a refresh first asks whether any input was written since the area's last
complete refresh (``_UNCHANGED``): each statement that writes an input leaves an
``InputChange`` in its own transaction (statement-level triggers, migration 0004: bulk SQL
and ``COPY`` too), and the last refresh kept the snapshot it fingerprinted with
(``CircleCheck``). With no change that snapshot did not see, the cached rows stand.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridmap.sql import tables
from grids.models import Grid, ServiceCentre, Village
from households.models import Household

from .models import (
    CircleCheck,
    InputChange,
    RoadNode,
    RoadSegment,
    ServiceCircleUncovered,
    ServiceCircleVillage,
)

SERVICE_CIRCLE_MINUTES = 15
# Virtual pgRouting vertex of a service centre: VIRTUAL_VERTEX_BASE + centre id (road node ids
# stay far below it); its edge to the nearest road node has id -centre id.
VIRTUAL_VERTEX_BASE = 10**15
# How many KNN candidates are compared by geodesic distance to find the nearest road node.
NEAREST_CANDIDATES = 4
# A household's nearest road node is first looked for in a box this many degrees around it (an
# index range scan, about three times cheaper than a KNN scan). The nearest node in the box is
# the nearest of all when it is closer than the box's inscribed radius (a degree of latitude
# is at least 110,574 m; of longitude 111,319 m times the cosine, at the box's far edge);
# otherwise (a household farther than ~20 m from any road) the KNN candidates decide.
NEAR_BOX_DEGREES = 0.0002

UNKNOWN_AREA = _("No current village lies in the area {code!r}.")


class Method(models.TextChoices):
    NETWORK = "network", _("along the road network")
    ESTIMATE = "estimate", _("estimate: straight-line distance (no road data)")


def reach_m() -> float:
    """Metres walked in the service circle's minutes at the walking speed setting."""
    return settings.GRIDMAP_WALKING_KMH * 1000 * SERVICE_CIRCLE_MINUTES / 60


class ServiceCircleError(ValueError):
    pass


@dataclass(frozen=True)
class VillageCircle:
    code: str
    name: str
    method: str  # Method.NETWORK or Method.ESTIMATE
    households: int
    covered: int

    @property
    def share(self) -> float | None:
        return self.covered / self.households if self.households else None


@dataclass(frozen=True)
class ServiceArea:
    """Where a centre's walkers get to: the concave hull of the road nodes within reach."""

    centre_id: int
    name: str
    village_code: str
    nodes: int
    geometry: dict[str, Any]  # GeoJSON geometry in GRIDMAP_SRID

    def feature(self) -> dict[str, Any]:
        return {
            "type": "Feature",
            "geometry": self.geometry,
            "properties": {
                "centre_id": self.centre_id,
                "name": self.name,
                "village_code": self.village_code,
                "nodes": self.nodes,
            },
        }


@dataclass
class ServiceCircleResult:
    area_code: str
    walking_kmh: float
    minutes: int
    reach_m: float
    households: int = 0
    covered: int = 0
    estimated_households: int = 0  # households of villages with no road data
    estimated_covered: int = 0
    villages: list[VillageCircle] = field(default_factory=list)
    uncovered_household_ids: list[int] = field(default_factory=list)
    service_areas: list[ServiceArea] = field(default_factory=list)
    uncovered_count: int | None = None  # when the ids are not listed

    @property
    def uncovered(self) -> int:
        if self.uncovered_count is not None:
            return self.uncovered_count
        return len(self.uncovered_household_ids)

    @property
    def share(self) -> float | None:
        return self.covered / self.households if self.households else None

    @property
    def network_households(self) -> int:
        return self.households - self.estimated_households

    @property
    def network_covered(self) -> int:
        return self.covered - self.estimated_covered

    def service_areas_geojson(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": [a.feature() for a in self.service_areas]}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (``dict(result)`` gives the same). The uncovered households are
        counted here; their ids are ``uncovered_household_ids``."""
        return {
            "available": True,
            "area_code": self.area_code,
            "walking_kmh": self.walking_kmh,
            "minutes": self.minutes,
            "reach_m": self.reach_m,
            "households": self.households,
            "covered": self.covered,
            "share": self.share,
            "estimated_households": self.estimated_households,
            "estimated_covered": self.estimated_covered,
            "network_households": self.network_households,
            "network_covered": self.network_covered,
            "uncovered_households": self.uncovered,
            "villages": [
                {**asdict(v), "share": v.share, "beyond": v.households - v.covered}
                for v in self.villages
            ],
            "service_areas": self.service_areas_geojson(),
        }

    def keys(self) -> list[str]:
        return list(self.as_dict())

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]


def area_prefix(area_code: str) -> str:
    """Code prefix of the villages in an area: a city code ``xxxx00`` stands for ``xxxx``."""
    code = area_code.strip()
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


# The tables, by the names the statements format in.
_T = tables(
    grid=Grid, household=Household, road_node=RoadNode, road_segment=RoadSegment,
    service_centre=ServiceCentre, village=Village, cache=ServiceCircleVillage,
    uncovered=ServiceCircleUncovered,
)  # fmt: skip

_SETUP = """
DROP TABLE IF EXISTS _sc_village, _sc_centre, _sc_reach, _sc_node, _sc_household;

CREATE TEMP TABLE _sc_village AS
SELECT v.id, v.code, v.name, ST_Expand(v.geom::box2d::geometry, %(pad)s) AS box,
       EXISTS (SELECT 1 FROM {road_node} n WHERE ST_Intersects(v.geom, n.geom)) AS has_roads
FROM {village} v
WHERE v.generation_high_id IS NULL AND {where};
ANALYZE _sc_village;
"""
# Which villages: those of an area (by code prefix) or the given ids (the stale ones).
_BY_PREFIX = "v.code LIKE %(prefix)s"
_BY_IDS = "v.id = ANY(%(ids)s)"

# Centres and edges near the villages: within the pad of any village's bounding box (each
# village's own box, so that scattered stale villages do not pull in the whole city).
_CENTRES = """
CREATE TEMP TABLE _sc_centre AS
SELECT c.id, c.name, coalesce(cv.code, '') AS village_code, c.location,
       %(base)s + c.id AS vid, nn.id AS node_id, nn.snap_m
FROM {service_centre} c
LEFT JOIN {village} cv ON cv.id = c.village_id
CROSS JOIN LATERAL (
  SELECT k.id, ST_Distance(k.geom::geography, c.location::geography) AS snap_m
  FROM (SELECT n.id, n.geom FROM {road_node} n
        ORDER BY n.geom <-> c.location LIMIT %(k)s) k
  ORDER BY 2, 1 LIMIT 1
) nn
WHERE c.id IN (SELECT c2.id FROM {service_centre} c2 JOIN _sc_village s ON c2.location && s.box)
  AND nn.snap_m <= %(reach)s;
""".format(**_T)

_EDGES = """
SELECT id, source_id AS source, target_id AS target, length_m AS cost
FROM {road_segment}
WHERE id IN (SELECT r.id FROM {road_segment} r JOIN _sc_village s ON r.geom && s.box)
UNION ALL
SELECT -id, vid, node_id, snap_m FROM _sc_centre
"""

# ``horizon`` is the reach for the figures; the list of households beyond the circle walks
# further (``LIST_HORIZON_FACTOR``) so that it can say how far by road they are.
_REACH = """
CREATE TEMP TABLE _sc_reach AS
SELECT from_v, node, agg_cost
FROM pgr_drivingDistance(%(edges)s, (SELECT array_agg(vid) FROM _sc_centre), %(horizon)s,
                         directed := false)
WHERE node < %(base)s;
CREATE TEMP TABLE _sc_node AS
SELECT node, min(agg_cost) AS dist FROM _sc_reach GROUP BY node;
ALTER TABLE _sc_node ADD PRIMARY KEY (node);
ANALYZE _sc_reach;
ANALYZE _sc_node;
"""

_HOUSEHOLDS = """
CREATE TEMP TABLE _sc_household AS
WITH hh AS MATERIALIZED (
  SELECT h.id, h.location, s.id AS village_id, s.has_roads
  FROM _sc_village s
  JOIN {grid} g ON g.village_id = s.id
  JOIN {household} h ON h.grid_id = g.id
)
SELECT hh.id, hh.village_id, hh.location,
       CASE WHEN hh.has_roads THEN (SELECT nd.dist FROM _sc_node nd WHERE nd.node = nn.id)
                                   + nn.snap_m END AS road_m,
       CASE WHEN hh.has_roads THEN
         coalesce((SELECT nd.dist FROM _sc_node nd WHERE nd.node = nn.id) + nn.snap_m
                  <= %(reach)s, false)
       ELSE EXISTS (
         SELECT 1 FROM {service_centre} c
         WHERE c.location && ST_Expand(hh.location, %(pad)s)
           AND ST_DWithin(c.location::geography, hh.location::geography, %(reach)s))
       END AS covered
FROM hh
LEFT JOIN LATERAL (
  SELECT n.id, ST_Distance(n.geom::geography, hh.location::geography) AS snap_m
  FROM {road_node} n
  WHERE hh.has_roads AND n.geom && ST_Expand(hh.location, %(near)s)
  ORDER BY 2, 1 LIMIT 1
) nb ON true
LEFT JOIN LATERAL (
  SELECT k.id, ST_Distance(k.geom::geography, hh.location::geography) AS snap_m
  FROM (SELECT n.id, n.geom FROM {road_node} n
        WHERE hh.has_roads AND (nb.id IS NULL OR nb.snap_m > %(near)s * 0.999 * least(
                110574, 111319 * cos(radians(abs(ST_Y(hh.location)) + %(near)s))))
        ORDER BY n.geom <-> hh.location LIMIT %(k)s) k
  ORDER BY 2, 1 LIMIT 1
) nk ON true
CROSS JOIN LATERAL (
  SELECT CASE WHEN nk.id IS NOT NULL AND (nb.id IS NULL OR (nk.snap_m, nk.id) < (nb.snap_m, nb.id))
              THEN nk.id ELSE nb.id END AS id,
         CASE WHEN nk.id IS NOT NULL AND (nb.id IS NULL OR (nk.snap_m, nk.id) < (nb.snap_m, nb.id))
              THEN nk.snap_m ELSE nb.snap_m END AS snap_m
) nn;
""".format(**_T)

_VILLAGES = """
SELECT s.code, s.name, s.has_roads, count(h.id), count(h.id) FILTER (WHERE h.covered)
FROM _sc_village s LEFT JOIN _sc_household h ON h.village_id = s.id
GROUP BY s.code, s.name, s.has_roads ORDER BY s.code
"""

_AREAS = """
SELECT c.id, c.name, c.village_code, count(*),
       ST_AsGeoJSON(ST_ConcaveHull(ST_Collect(c.location, ST_Collect(n.geom)), 0.5), 7)
FROM _sc_centre c
JOIN _sc_reach r ON r.from_v = c.vid AND r.agg_cost <= %(reach)s
JOIN {road_node} n ON n.id = r.node
GROUP BY c.id, c.name, c.village_code, c.location
ORDER BY c.id
""".format(**_T)


def empty_result(area_code: str) -> ServiceCircleResult:
    """The figures of an area with nothing in it (no village, no household)."""
    return ServiceCircleResult(
        area_code=area_code,
        walking_kmh=settings.GRIDMAP_WALKING_KMH,
        minutes=SERVICE_CIRCLE_MINUTES,
        reach_m=reach_m(),
    )


def _params(area_code: str, horizon: float) -> dict[str, Any]:
    reach = reach_m()
    return {
        "prefix": area_prefix(area_code) + "%",
        # The reach in degrees, generously (a degree of longitude is >= 90 km at Qinzhou's
        # latitude; anywhere below 60 degrees of latitude it is >= 55 km).
        "pad": horizon / 55_000,
        "reach": reach,
        "horizon": horizon,
        "base": VIRTUAL_VERTEX_BASE,
        "k": NEAREST_CANDIDATES,
        "near": NEAR_BOX_DEGREES,
    }


def _build(cur: Any, area_code: str, params: dict[str, Any], where: str = _BY_PREFIX) -> None:
    """The temporary tables of one computation: villages, centres, reached road nodes and
    households with ``covered`` (and ``road_m``, the walk by road when the horizon reaches).
    ``where`` picks the villages: an area's (``_BY_PREFIX``) or given ids (``_BY_IDS``)."""
    cur.execute(_SETUP.format(where=where, **_T), params)
    cur.execute("SELECT count(*) FROM _sc_village")
    if not cur.fetchone()[0]:
        cur.execute("DROP TABLE _sc_village")
        raise ServiceCircleError(str(UNKNOWN_AREA).format(code=area_code))
    cur.execute(_CENTRES, params)
    cur.execute("SELECT count(*) FROM _sc_centre")
    if cur.fetchone()[0]:
        edges = _EDGES.format(**_T)
        cur.execute(_REACH, {**params, "edges": edges})
    else:
        cur.execute(
            "CREATE TEMP TABLE _sc_reach (from_v bigint, node bigint, agg_cost float);"
            "CREATE TEMP TABLE _sc_node (node bigint PRIMARY KEY, dist float)"
        )
    cur.execute(_HOUSEHOLDS, params)


_DROP = "DROP TABLE _sc_village, _sc_centre, _sc_reach, _sc_node, _sc_household"


def service_circle_uncached(area_code: str) -> ServiceCircleResult:
    """The 15-minute service circle of an area computed from scratch, every village at once,
    without reading or writing the cache (the reference the cache is checked against, and the
    bench's baseline)."""
    params = _params(area_code, reach_m())
    result = empty_result(area_code)
    with transaction.atomic(), connection.cursor() as cur:
        _build(cur, area_code, params)
        cur.execute(_VILLAGES)
        for code, name, has_roads, households, covered in cur.fetchall():
            method = Method.NETWORK if has_roads else Method.ESTIMATE
            result.villages.append(VillageCircle(code, name, method.value, households, covered))
            result.households += households
            result.covered += covered
            if not has_roads:
                result.estimated_households += households
                result.estimated_covered += covered
        cur.execute("SELECT id FROM _sc_household WHERE NOT covered ORDER BY id")
        result.uncovered_household_ids = [row[0] for row in cur.fetchall()]
        cur.execute(_AREAS, params)
        result.service_areas = [
            ServiceArea(centre_id, name, village_code, nodes, json.loads(geometry))
            for centre_id, name, village_code, nodes, geometry in cur.fetchall()
        ]
        cur.execute(_DROP)
    return result


# --- the households beyond the circle, one village at a time ---------------------------------
# The list walks the roads this many times the reach, so a household just beyond the circle
# gets its distance by road; one farther away is "beyond" that horizon.
LIST_HORIZON_FACTOR = 2


@dataclass(frozen=True)
class BeyondHousehold:
    """A household of a village beyond the service circle, with how far it is.

    ``distance_m`` is by road (method ``network``: the three legs of the walk, as the
    circle measures them) or in a straight line to the nearest centre (``estimate``); None
    when the roads within ``horizon_m`` reach no centre (or there is no centre at all).
    """

    id: int
    head_name: str
    address: str
    grid: str
    method: str
    distance_m: float | None


@dataclass
class BeyondPage:
    village_code: str
    method: str
    reach_m: float
    horizon_m: float
    count: int
    rows: list[BeyondHousehold]


# One page of the village's uncovered households: the farthest first (unknown distance, i.e.
# beyond the horizon, before every known one); the straight-line distance of an estimate
# village is computed for the rows of the page only.
_BEYOND_PAGE = """
WITH page AS (
  SELECT h.id, h.road_m FROM _sc_household h
  WHERE NOT h.covered
  ORDER BY h.road_m DESC NULLS FIRST, h.id
  LIMIT %(limit)s OFFSET %(offset)s
)
SELECT p.id, hh.head_name, hh.address, g.code, s.has_roads,
       CASE WHEN s.has_roads THEN p.road_m ELSE (
         SELECT ST_Distance(c.location::geography, hh.location::geography)
         FROM {service_centre} c ORDER BY c.location <-> hh.location LIMIT 1) END
FROM page p
JOIN {household} hh ON hh.id = p.id
JOIN {grid} g ON g.id = hh.grid_id
JOIN _sc_village s ON s.id = g.village_id
ORDER BY p.road_m DESC NULLS FIRST, p.id
""".format(**_T)


def beyond_page(village_code: str, *, offset: int = 0, limit: int | None = None) -> BeyondPage:
    """The village's households beyond the circle, ``limit`` rows from ``offset`` (all when
    None), and how many there are. Computed in PostGIS/pgRouting for the one village (and the
    centres and roads around it), never household by household in Python.

    Raises ServiceCircleError for a code that is no current village.
    """
    if len(village_code) != 12:
        raise ServiceCircleError(str(UNKNOWN_AREA).format(code=village_code))
    reach = reach_m()
    params = _params(village_code, reach * LIST_HORIZON_FACTOR)
    with transaction.atomic(), connection.cursor() as cur:
        _build(cur, village_code, params)
        cur.execute("SELECT has_roads FROM _sc_village")
        (has_roads,) = cur.fetchone()
        cur.execute("SELECT count(*) FROM _sc_household WHERE NOT covered")
        (count,) = cur.fetchone()
        cur.execute(_BEYOND_PAGE, {"limit": limit, "offset": offset})
        rows = [
            BeyondHousehold(
                hid,
                head_name,
                address,
                grid,
                (Method.NETWORK if roads else Method.ESTIMATE).value,
                None if distance is None else round(distance, 1),
            )
            for hid, head_name, address, grid, roads, distance in cur.fetchall()
        ]
        cur.execute(_DROP)
    method = Method.NETWORK if has_roads else Method.ESTIMATE
    return BeyondPage(village_code, method.value, reach, params["horizon"], count, rows)


def households_beyond(area_code: str) -> list[int]:
    """Ids of the area's households beyond the service circle (for the uncovered-households
    layer); an area without any village gives none."""
    try:
        return service_circle(area_code).uncovered_household_ids
    except ServiceCircleError:
        return []


# --- the cache: fingerprints per village, recompute only the stale ones ----------------------
# Bump when the rule or the SQL changes what a village's figures are: every village is stale.
CACHE_VERSION = 2
# A village's inputs are looked for this many reaches around its bounding box: a walk within
# the reach stays within one reach of the household; a centre within it may snap to a node
# one more reach away.
FINGERPRINT_REACHES = 2
# The roads and road nodes are summed per cell of this many degrees (about 1 km), and a
# village's fingerprint adds up the cells its padded box overlaps: a few hundred thousand
# cell sums instead of hashing every segment once per village whose box it meets (ten
# million at city scale). A change in a cell's roads makes every village over it stale,
# a little farther than the padded box itself: never fewer villages than need it.
FINGERPRINT_CELL = 0.01
# One recomputation at a time. A request does not wait for a running one (it could outlive the
# server's timeout): it takes the lock only if free, else reports the stale part as computing.
# (No statement here turns JIT off: Django's connections have it off, gridmap.sql.)
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('coverage.service_circle'))"
_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('coverage.service_circle'))"
# The same lock held by the session (the parallel recomputation: see ``refresh``).
_SESSION_LOCK = "SELECT pg_advisory_lock(hashtext('coverage.service_circle'))"
_SESSION_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('coverage.service_circle'))"
_SESSION_UNLOCK = "SELECT pg_advisory_unlock(hashtext('coverage.service_circle'))"

_FINGERPRINT = """
DROP TABLE IF EXISTS _sc_fp;
CREATE TEMP TABLE _sc_fp AS
WITH v AS MATERIALIZED (
  SELECT v.id, v.geom, ST_Expand(v.geom::box2d::geometry, %(fpad)s) AS box
  FROM {village} v WHERE v.generation_high_id IS NULL AND v.code LIKE %(prefix)s
), hh AS (
  SELECT g.village_id, count(*) AS n,
         sum(hashint8extended(h.id, 0) # hashint8extended(g.id, 1)
             # hashfloat8extended(ST_X(h.location), 2)
             # hashfloat8extended(ST_Y(h.location), 3)) AS s
  FROM {grid} g JOIN {household} h ON h.grid_id = g.id
  WHERE g.village_id IN (SELECT id FROM v)
  GROUP BY g.village_id
), cells AS MATERIALIZED (
  -- The cells of FINGERPRINT_CELL degrees each village's padded box overlaps.
  SELECT v.id, cx, cy FROM v
  CROSS JOIN LATERAL generate_series(floor(ST_XMin(v.box) / %(cell)s)::int,
                                     floor(ST_XMax(v.box) / %(cell)s)::int) cx
  CROSS JOIN LATERAL generate_series(floor(ST_YMin(v.box) / %(cell)s)::int,
                                     floor(ST_YMax(v.box) / %(cell)s)::int) cy
), ext AS MATERIALIZED (
  -- Those cells' extent, on cell edges: every row in any of them is read below, so a cell's
  -- sums do not depend on which area is being refreshed.
  SELECT ST_MakeEnvelope(min(cx) * %(cell)s, min(cy) * %(cell)s,
                         (max(cx) + 1) * %(cell)s, (max(cy) + 1) * %(cell)s, 4326) AS box
  FROM cells
), seg AS (
  -- Road segments summed per cell, each in every cell its bounding box overlaps.
  SELECT cx, cy, count(*) AS n,
         sum(hashint8extended(x.id, 0) # hashint8extended(x.source_id, 1)
             # hashint8extended(x.target_id, 2) # hashfloat8extended(x.length_m, 3)) AS s
  FROM {road_segment} x
  CROSS JOIN LATERAL generate_series(floor(ST_XMin(x.geom) / %(cell)s)::int,
                                     floor(ST_XMax(x.geom) / %(cell)s)::int) cx
  CROSS JOIN LATERAL generate_series(floor(ST_YMin(x.geom) / %(cell)s)::int,
                                     floor(ST_YMax(x.geom) / %(cell)s)::int) cy
  WHERE x.geom && (SELECT box FROM ext)
  GROUP BY cx, cy
), node AS (
  SELECT floor(ST_X(x.geom) / %(cell)s)::int AS cx, floor(ST_Y(x.geom) / %(cell)s)::int AS cy,
         count(*) AS n,
         sum(hashint8extended(x.id, 0) # hashfloat8extended(ST_X(x.geom), 1)
             # hashfloat8extended(ST_Y(x.geom), 2)) AS s
  FROM {road_node} x WHERE x.geom && (SELECT box FROM ext)
  GROUP BY 1, 2
), r AS (
  SELECT cells.id, sum(seg.n) AS n, sum(seg.s) AS s
  FROM cells JOIN seg ON seg.cx = cells.cx AND seg.cy = cells.cy GROUP BY cells.id
), n AS (
  SELECT cells.id, sum(node.n) AS n, sum(node.s) AS s
  FROM cells JOIN node ON node.cx = cells.cx AND node.cy = cells.cy GROUP BY cells.id
)
SELECT v.id, coalesce(hh.n, 0) AS households,
       md5(concat_ws(':', %(version)s, md5(ST_AsBinary(v.geom)), coalesce(hh.n, 0), hh.s,
                     r.n, r.s, n.n, n.s, c.n, c.s)) AS fp
FROM v LEFT JOIN hh ON hh.village_id = v.id
LEFT JOIN r ON r.id = v.id
LEFT JOIN n ON n.id = v.id
CROSS JOIN LATERAL (
  SELECT count(*) AS n,
         sum(hashint8extended(x.id, 0) # hashfloat8extended(ST_X(x.location), 1)
             # hashfloat8extended(ST_Y(x.location), 2)) AS s
  FROM {service_centre} x WHERE x.location && v.box) c;
ALTER TABLE _sc_fp ADD PRIMARY KEY (id);
""".format(**_T)

_STALE = """
SELECT count(*), coalesce(array_agg(f.id ORDER BY f.id)
                          FILTER (WHERE c.fingerprint IS DISTINCT FROM f.fp), '{{}}'),
       coalesce(sum(f.households) FILTER (WHERE c.fingerprint IS DISTINCT FROM f.fp), 0)
FROM _sc_fp f LEFT JOIN {cache} c ON c.village_id = f.id
""".format(**_T)

# The service areas of the centres inside each recomputed village, as GeoJSON features. Its
# writes to the cache are not changes of the inputs (gridmap.coverage_storing: the
# trigger of migration 0004 ignores them); anyone else's are.
_STORE = """
SET LOCAL gridmap.coverage_storing = 'on';
DELETE FROM {uncovered} WHERE village_id IN (SELECT id FROM _sc_village);
DELETE FROM {cache} WHERE village_id IN (SELECT id FROM _sc_village);
WITH areas AS (
  SELECT c.id, c.name, c.village_code, c.location, count(*) AS nodes,
         ST_ConcaveHull(ST_Collect(c.location, ST_Collect(n.geom)), 0.5) AS hull
  FROM _sc_centre c
  JOIN _sc_reach r ON r.from_v = c.vid AND r.agg_cost <= %(reach)s
  JOIN {road_node} n ON n.id = r.node
  GROUP BY c.id, c.name, c.village_code, c.location
), per_village AS (
  SELECT s.id AS village_id,
         jsonb_agg(jsonb_build_object(
           'type', 'Feature', 'geometry', ST_AsGeoJSON(a.hull, 7)::jsonb,
           'properties', jsonb_build_object('centre_id', a.id, 'name', a.name,
                                            'village_code', a.village_code, 'nodes', a.nodes))
           ORDER BY a.id) AS features
  FROM _sc_village s JOIN {village} v ON v.id = s.id
  JOIN areas a ON ST_Intersects(v.geom, a.location)
  GROUP BY s.id
), figures AS (
  SELECT s.id, s.has_roads, count(h.id) AS households,
         count(h.id) FILTER (WHERE h.covered) AS covered
  FROM _sc_village s LEFT JOIN _sc_household h ON h.village_id = s.id
  GROUP BY s.id, s.has_roads
)
INSERT INTO {cache} (village_id, fingerprint, method, households, covered, service_areas,
                     computed_at)
SELECT fi.id, f.fp, CASE WHEN fi.has_roads THEN 'network' ELSE 'estimate' END,
       fi.households, fi.covered, coalesce(pv.features, '[]'::jsonb), clock_timestamp()
FROM figures fi JOIN _sc_fp f ON f.id = fi.id
LEFT JOIN per_village pv ON pv.village_id = fi.id;
INSERT INTO {uncovered} (village_id, household_id, location)
SELECT h.village_id, h.id, h.location FROM _sc_household h WHERE NOT h.covered;
SET LOCAL gridmap.coverage_storing = 'off';
""".format(**_T)


# --- the check: skip the fingerprints when no input changed -----------------------------------
# Every statement that writes an input appends an ``InputChange`` in its own transaction (a
# statement-level trigger: bulk SQL and COPY too), and a complete refresh of an area records
# the snapshot it took before its fingerprints with the last change it saw
# (``CircleCheck``). An area is unchanged while no change exists that the snapshot did not
# see: none after its last change (a later one of any transaction, its own included) and none
# before it still running when the snapshot was taken (and committed since). At city scale the
# fingerprints read every household (1.5-3.5 s); the check reads a few index entries.
_C = tables(change=InputChange, check=CircleCheck)
_UNCHANGED = """
SELECT c.villages FROM {check} c
WHERE c.area = %(prefix)s AND c.version = %(version)s
  AND NOT EXISTS (SELECT 1 FROM {change} m WHERE m.id > c.last_change)
  AND NOT EXISTS (SELECT 1 FROM {change} m
                  WHERE m.xact >= pg_snapshot_xmin(c.snapshot::pg_snapshot)::text::bigint
                    AND m.xact IS DISTINCT FROM c.own_xact
                    AND NOT pg_visible_in_snapshot(m.xact::text::xid8, c.snapshot::pg_snapshot))
""".format(**_C)
# What a refresh will record if it completes: taken before its fingerprints.
_SEEN = """
SELECT pg_current_snapshot()::text, (SELECT coalesce(max(id), 0) FROM {change}),
       pg_current_xact_id_if_assigned()::text::bigint
""".format(**_C)
# Recorded under the recomputation's advisory lock, so no other check is being recorded. A
# check not renewed for a week is dropped (that area fingerprints again), and the changes
# every remaining check saw are dropped with it.
_RECORD = """
INSERT INTO {check} (area, version, snapshot, last_change, own_xact, villages, checked_at)
VALUES (%(prefix)s, %(version)s, %(snapshot)s, %(last_change)s, %(own_xact)s, %(villages)s,
        now())
ON CONFLICT (area) DO UPDATE SET version = EXCLUDED.version, snapshot = EXCLUDED.snapshot,
  last_change = EXCLUDED.last_change, own_xact = EXCLUDED.own_xact,
  villages = EXCLUDED.villages, checked_at = EXCLUDED.checked_at;
DELETE FROM {check} WHERE checked_at < now() - interval '7 days';
DELETE FROM {change}
WHERE id <= (SELECT min(last_change) FROM {check})
  AND xact < (SELECT min(pg_snapshot_xmin(snapshot::pg_snapshot)::text::bigint) FROM {check});
""".format(**_C)


def _unchanged(params: dict[str, Any]) -> int | None:
    """The area's current villages if no input changed since its last complete refresh, else
    None."""
    with connection.cursor() as cur:
        cur.execute(_UNCHANGED, params)
        row = cur.fetchone()
    return None if row is None else row[0]


def _record(
    cur: Any, params: dict[str, Any], seen: tuple[str, int, int | None], villages: int
) -> None:
    snapshot, last_change, own_xact = seen
    values = {"snapshot": snapshot, "last_change": last_change, "own_xact": own_xact}
    cur.execute(_RECORD, {**params, **values, "villages": villages})


# The stale villages with their fingerprints and households, in code order (neighbours
# together), for the parallel recomputation.
_STALE_ROWS = """
SELECT f.id, f.fp, f.households FROM _sc_fp f JOIN {village} v ON v.id = f.id
WHERE f.id = ANY(%(ids)s) ORDER BY v.code
""".format(**_T)
# A worker's own copy of its villages' fingerprints (what ``_STORE`` reads).
_WORKER_FP = """
DROP TABLE IF EXISTS _sc_fp;
CREATE TEMP TABLE _sc_fp AS
SELECT * FROM unnest(%(ids)s::bigint[], %(fps)s::text[], %(households)s::bigint[])
  AS f(id, fp, households);
ALTER TABLE _sc_fp ADD PRIMARY KEY (id);
"""
# From this many stale households on, the recomputation is split between
# ``GRIDMAP_COVERAGE_WORKERS`` database connections (each a core's worth of KNN lookups);
# below it one connection is quicker than starting more.
PARALLEL_HOUSEHOLDS = 100_000


def _recompute(cur: Any, area_code: str, params: dict[str, Any], ids: list[int]) -> None:
    """Recompute the villages ``ids`` (their fingerprints in ``_sc_fp``) and replace their
    cached rows; drops every temporary table it used."""
    _build(cur, area_code, {**params, "ids": ids}, where=_BY_IDS)
    cur.execute(_STORE, params)
    cur.execute(_DROP + ", _sc_fp")


def _split(rows: list[tuple[int, str, int]], parts: int) -> list[list[tuple[int, str, int]]]:
    """``rows`` (id, fingerprint, households; in code order) cut into at most ``parts`` runs of
    neighbouring villages with about as many households each."""
    total = sum(h for _id, _fp, h in rows) or 1
    groups: list[list[tuple[int, str, int]]] = []
    done = 0
    for row in rows:
        # A new run starts where a village's middle household lies past the next boundary.
        if not groups or (len(groups) < parts and done + row[2] / 2 > total * len(groups) / parts):
            groups.append([])
        groups[-1].append(row)
        done += row[2]
    return groups


def _recompute_in_parallel(
    area_code: str, params: dict[str, Any], rows: list[tuple[int, str, int]], workers: int
) -> None:
    """Recompute the stale villages on ``workers`` connections at once, one run of neighbouring
    villages each, every run in its own transaction (a village's rows always match its
    fingerprint; a run that fails leaves its villages stale for the next refresh). The
    caller holds the session's advisory lock (and no transaction), so no other
    recomputation runs meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def run(group: list[tuple[int, str, int]]) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cur:
                ids, fps, households = (list(column) for column in zip(*group, strict=True))
                cur.execute(_WORKER_FP, {"ids": ids, "fps": fps, "households": households})
                _recompute(cur, area_code, params, ids)
        finally:
            connections.close_all()  # this thread's own connections

    groups = _split(rows, workers)
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        for future in [pool.submit(run, group) for group in groups]:
            future.result()


@dataclass(frozen=True)
class Refresh:
    """What ``refresh`` found and did for an area."""

    villages: int  # current villages of the area
    stale_villages: list[int]  # ids of the villages whose inputs changed (or never computed)
    stale_households: int
    recomputed: bool  # False when the stale part was too large to compute here and now

    @property
    def fresh(self) -> bool:
        return self.recomputed or not self.stale_villages


def refresh(area_code: str, *, max_households: int | None = None) -> Refresh:
    """Bring the cached circle of every current village of the area up to date: nothing to do
    if no input was written since the area's last complete refresh (``_unchanged``), else
    fingerprint every village and recompute the stale ones in one pass. With
    ``max_households``, recompute only if the stale villages hold at most that many
    households and no other recomputation is running (else ``recomputed`` is False and
    nothing is written: the caller runs it in the background).

    Outside any transaction (a request, the worker's task), a recomputation of
    ``PARALLEL_HOUSEHOLDS`` or more is split between ``GRIDMAP_COVERAGE_WORKERS``
    connections (``_recompute_in_parallel``); inside one (the caller's changes must be seen)
    it runs on the caller's connection.

    Raises ServiceCircleError for an area without any current village.
    """
    reach = reach_m()
    params = {
        **_params(area_code, reach),
        "fpad": FINGERPRINT_REACHES * reach / 55_000,
        "cell": FINGERPRINT_CELL,
        "version": f"{CACHE_VERSION}:{reach}:{NEAREST_CANDIDATES}:{NEAR_BOX_DEGREES}",
    }
    villages = _unchanged(params)
    if villages is not None:
        return Refresh(villages, [], 0, False)
    workers = settings.GRIDMAP_COVERAGE_WORKERS
    if workers <= 1 or connection.in_atomic_block:
        return _refresh(area_code, params, max_households, workers=1)
    # The lock is the session's, held across the fingerprints' transaction and the workers'
    # own: this connection keeps no transaction open (and so no table lock) while it waits
    # for them, so nothing can queue between them and it.
    with connection.cursor() as cur:
        cur.execute(_SESSION_LOCK if max_households is None else _SESSION_TRY_LOCK)
        locked = cur.fetchone()[0] is not False
    try:
        return _refresh(area_code, params, max_households, workers=workers, locked=locked)
    finally:
        if locked:
            with contextlib.suppress(DatabaseError), connection.cursor() as cur:
                cur.execute(_SESSION_UNLOCK)


def _refresh(
    area_code: str,
    params: dict[str, Any],
    max_households: int | None,
    *,
    workers: int,
    locked: bool | None = None,
) -> Refresh:
    """``refresh``'s work. ``locked``: None takes the transaction's advisory lock here;
    True or False says whether the caller holds the session's."""
    rows: list[tuple[int, str, int]] = []
    with transaction.atomic(), connection.cursor() as cur:
        if locked is None:
            cur.execute(_LOCK if max_households is None else _TRY_LOCK)
            locked = cur.fetchone()[0] is not False
        cur.execute(_SEEN)
        seen = cur.fetchone()
        cur.execute(_FINGERPRINT, params)
        cur.execute(_STALE)
        villages, stale, households = cur.fetchone()
        if not villages:
            cur.execute("DROP TABLE _sc_fp")
            raise ServiceCircleError(str(UNKNOWN_AREA).format(code=area_code))
        stale = list(stale)
        too_big = not locked or (max_households is not None and households > max_households)
        if stale and not too_big and workers > 1 and households >= PARALLEL_HOUSEHOLDS:
            cur.execute(_STALE_ROWS, {"ids": stale})
            rows = cur.fetchall()
            cur.execute("DROP TABLE _sc_fp")
        elif stale and not too_big:
            _recompute(cur, area_code, params, stale)
        else:
            cur.execute("DROP TABLE _sc_fp")
        if locked and not too_big and not rows:
            # Every village now matches its inputs as the snapshot saw them.
            _record(cur, params, seen, villages)
    if rows:
        _recompute_in_parallel(area_code, params, rows, workers)
        # Every run succeeded (one that failed raised): recorded under the session's lock.
        with transaction.atomic(), connection.cursor() as cur:
            _record(cur, params, seen, villages)
    return Refresh(villages, stale, int(households), bool(stale) and not too_big)


class ServiceCircleComputing(Exception):
    """The area's circle is stale and too large to compute within a request."""

    def __init__(self, state: Refresh) -> None:
        super().__init__(f"{len(state.stale_villages)} villages to recompute")
        self.state = state


def current_rows(area_code: str) -> QuerySet[ServiceCircleVillage]:
    """The cached rows of the area's current villages (as last computed)."""
    return ServiceCircleVillage.objects.filter(
        village__generation_high_id__isnull=True,
        village__code__startswith=area_prefix(area_code),
    )


def uncovered_rows(area_code: str) -> QuerySet[ServiceCircleUncovered]:
    """The area's households beyond the circle, as last computed (rows with a location)."""
    return ServiceCircleUncovered.objects.filter(
        village__village__generation_high_id__isnull=True,
        village__village__code__startswith=area_prefix(area_code),
    )


def service_circle(
    area_code: str, *, with_ids: bool = True, max_households: int | None = None
) -> ServiceCircleResult:
    """The 15-minute service circle of a city, district, town or village (see the module):
    the cache brought up to date (``refresh``), then its rows added up. ``with_ids``: list the
    uncovered households' ids (else only counted).

    Raises ServiceCircleError for an area without any village, ServiceCircleComputing when
    more than ``max_households`` households wait for a recomputation.
    """
    state = refresh(area_code, max_households=max_households)
    if not state.fresh:
        raise ServiceCircleComputing(state)
    result = empty_result(area_code)
    rows = current_rows(area_code).order_by("village__code")
    seen: set[int] = set()
    for row in rows.values_list(
        "village__code", "village__name", "method", "households", "covered", "service_areas"
    ):
        code, name, method, households, covered, features = row
        result.villages.append(VillageCircle(code, name, method, households, covered))
        result.households += households
        result.covered += covered
        if method == Method.ESTIMATE:
            result.estimated_households += households
            result.estimated_covered += covered
        for feature in features:
            props = feature["properties"]
            if props["centre_id"] in seen:
                continue
            seen.add(props["centre_id"])
            result.service_areas.append(
                ServiceArea(
                    props["centre_id"],
                    props["name"],
                    props["village_code"],
                    props["nodes"],
                    feature["geometry"],
                )
            )
    result.service_areas.sort(key=lambda a: a.centre_id)
    uncovered = uncovered_rows(area_code)
    if with_ids:
        result.uncovered_household_ids = list(
            uncovered.order_by("household_id").values_list("household_id", flat=True)
        )
        result.uncovered_count = len(result.uncovered_household_ids)
    else:
        result.uncovered_count = uncovered.count()
    return result
