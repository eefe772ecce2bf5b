"""Patrol tracks (巡查轨迹): the positions a phone sampled while a worker walked, cleaned,
simplified and stored as one line, and the part of every grid the line came within
``PATROL_REACH_M`` (50 m) of, as that day's "covered" area.

Cleaning (``clean_fixes``), in the order the phone took the fixes (by time):

1. a fix less accurate than ``settings.GRIDMAP_PATROL_MAX_ACCURACY_M`` (100 m) is dropped;
2. a fix not later than the last kept one is dropped (a repeated sample);
3. a fix reached from the last *kept* fix faster than ``settings.GRIDMAP_PATROL_MAX_SPEED_MS``
   (15 m/s, a car in town: a walker or a scooter never does it) is a GPS glitch and dropped:
   a jump of 2 km in 10 s (200 m/s) is dropped, and the track goes on from the fix before it.
   The speed is the great-circle distance over the time between the two fixes; this step is
   sequential (each fix is judged against the last kept one), so it runs in Python over the
   few hundred fixes of a patrol, not in SQL.

Fewer than two fixes left: the patrol is refused. ``points_dropped`` counts the fixes dropped.

Storing (``record_patrol``), in PostGIS: the kept fixes make a LINESTRING M whose M is the
seconds since the first fix; it is simplified in the metric projection
(``settings.GRIDMAP_METRIC_SRID``) with ``settings.GRIDMAP_PATROL_SIMPLIFY_M`` (1.5 m) of
tolerance (``ST_Simplify`` keeps the M of the vertices it keeps); the 2-D line is stored in
``track`` and the Ms in ``offsets``. ``length_m`` is the line's length on the ellipsoid
(geography). ``grid`` is the current grid the track runs longest inside (else the nearest
within 50 m), ``place_code`` its code, else the code of the village the track runs longest in,
else the worker's first place: the patrol's area for jurisdiction.

Coverage (``refresh_patrol_coverage``): one set-based statement for any number of patrols
(the demo makes thousands): for every current grid within 50 m of a track, the intersection
of the grid with the track's 50 m buffer (a geography buffer: metres on the ellipsoid) and its
share of the grid's area.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.selectors import scope_q
from grids.models import Grid, RoleAssignment, Village, Worker
from grids.selectors import ASSIGNMENT_PLACE_CODE

from .models import Patrol, PatrolCoverage

PATROL_REACH_M = 50.0
MAX_POINTS = 20_000

MSG_TOO_FEW = gettext_noop(
    "The track has fewer than two usable positions (%(kept)s of %(received)s kept): "
    "nothing was saved."
)
MSG_TOO_LATE = gettext_noop(
    "This patrol was recorded on %(date)s, more than %(days)s days ago: it can no longer be sent."
)
MSG_TOO_MANY = gettext_noop("A track may have at most %(max)s positions.")
MSG_UUID_TAKEN = gettext_noop("This client_uuid belongs to another record.")

EARTH_RADIUS_M = 6_371_008.8


class PatrolRefused(Exception):
    """A track the service refuses; ``message`` is for the worker (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Fix:
    """One position of the phone: WGS84 longitude and latitude, time, accuracy (metres)."""

    lon: float
    lat: float
    t: dt.datetime
    accuracy_m: float | None = None


def distance_m(a: Fix, b: Fix) -> float:
    """Great-circle distance (haversine, mean Earth radius) between two fixes, in metres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def clean_fixes(fixes: Iterable[Fix]) -> list[Fix]:
    """The fixes kept by the module's three cleaning rules, in time order."""
    max_accuracy = settings.GRIDMAP_PATROL_MAX_ACCURACY_M
    max_speed = settings.GRIDMAP_PATROL_MAX_SPEED_MS
    kept: list[Fix] = []
    for fix in sorted(fixes, key=lambda f: f.t):
        if fix.accuracy_m is not None and fix.accuracy_m > max_accuracy:
            continue
        if kept:
            last = kept[-1]
            seconds = (fix.t - last.t).total_seconds()
            if seconds <= 0:
                continue
            if distance_m(last, fix) / seconds > max_speed:
                continue
        kept.append(fix)
    return kept


# The kept fixes as a LINESTRING M (M: seconds since the start), simplified in the metric
# projection, back in WGS84: the 2-D line, its vertices' Ms, its length in metres.
_TRACK_SQL = """
WITH line AS (
    SELECT ST_MakeLine(ST_MakePointM(lon, lat, m) ORDER BY m) AS geom
    FROM unnest(%(lons)s::float8[], %(lats)s::float8[], %(ms)s::float8[]) AS f(lon, lat, m)
),
simple AS (
    SELECT ST_Transform(
        ST_Simplify(ST_Transform(ST_SetSRID(geom, %(srid)s), %(metric)s), %(tolerance)s, true),
        %(srid)s
    ) AS geom
    FROM line
)
SELECT ST_AsEWKB(ST_Force2D(geom)),
       ARRAY(SELECT ST_M(d.geom) FROM ST_DumpPoints(simple.geom) d ORDER BY d.path),
       ST_Length(ST_Force2D(geom)::geography)
FROM simple
"""

# The patrol's grid: the current grid it runs longest inside, else the nearest within reach.
_GRID_SQL = f"""
SELECT g.id, g.code
FROM {Grid._meta.db_table} g
WHERE g.generation_high_id IS NULL
  AND g.geom && ST_Expand(ST_GeomFromEWKB(%(track)s), 0.001)
  AND ST_DWithin(g.geom::geography, ST_GeomFromEWKB(%(track)s)::geography, %(reach)s)
ORDER BY ST_Length(ST_Intersection(g.geom, ST_GeomFromEWKB(%(track)s))::geography) DESC,
         ST_Distance(g.geom::geography, ST_GeomFromEWKB(%(track)s)::geography), g.code
LIMIT 1
"""
_VILLAGE_SQL = f"""
SELECT v.code
FROM {Village._meta.db_table} v
WHERE v.generation_high_id IS NULL AND ST_Intersects(v.geom, ST_GeomFromEWKB(%(track)s))
ORDER BY ST_Length(ST_Intersection(v.geom, ST_GeomFromEWKB(%(track)s))::geography) DESC, v.code
LIMIT 1
"""


def _worker_place_code(worker: Worker, day: dt.date) -> str:
    code = (
        RoleAssignment.objects.active(day)
        .filter(worker=worker)
        .annotate(place_code=ASSIGNMENT_PLACE_CODE)
        .values_list("place_code", flat=True)
        .order_by("id")
        .first()
    )
    return code or ""


def record_patrol(
    worker: Worker,
    *,
    points: Sequence[tuple[float, float, dt.datetime, float | None]],
    client_uuid: uuid.UUID | None = None,
) -> tuple[Patrol, bool]:
    """Store a patrol of ``worker`` from ``points`` (``(lon, lat, t, accuracy_m or None)`` in
    WGS84), cleaned and simplified as the module says, and its coverage. Returns
    ``(patrol, created)``; a resend with the same ``client_uuid`` returns the stored one.
    Raises ``PatrolRefused``."""
    client_uuid = client_uuid or uuid.uuid4()
    stored = Patrol.objects.filter(client_uuid=client_uuid).first()
    if stored is not None:
        if stored.worker_id != worker.pk:
            raise PatrolRefused(_(MSG_UUID_TAKEN))
        return stored, False
    if len(points) > MAX_POINTS:
        raise PatrolRefused(_(MSG_TOO_MANY) % {"max": MAX_POINTS})
    fixes = [Fix(float(p[0]), float(p[1]), p[2], p[3]) for p in points]
    kept = clean_fixes(fixes)
    if len(kept) < 2:
        raise PatrolRefused(_(MSG_TOO_FEW) % {"kept": len(kept), "received": len(fixes)})
    now = timezone.now()
    if kept[-1].t > now:  # the phone's clock runs ahead: the walk ended now, not later
        ahead = kept[-1].t - now
        kept = [dataclasses.replace(f, t=f.t - ahead) for f in kept]
    started, ended = kept[0].t, kept[-1].t
    late = now - dt.timedelta(days=settings.GRIDMAP_PRESENCE_MAX_LATE_DAYS)
    if started < late:
        raise PatrolRefused(
            _(MSG_TOO_LATE)
            % {
                "date": formats.date_format(timezone.localtime(started), "SHORT_DATE_FORMAT"),
                "days": settings.GRIDMAP_PRESENCE_MAX_LATE_DAYS,
            }
        )
    with transaction.atomic():
        # The worker's row locked: a resend racing the first send waits, then finds it.
        Worker.objects.select_for_update().filter(pk=worker.pk).first()
        stored = Patrol.objects.filter(client_uuid=client_uuid, worker=worker).first()
        if stored is not None:
            return stored, False
        with connection.cursor() as cur:
            cur.execute(
                _TRACK_SQL,
                {
                    "lons": [f.lon for f in kept],
                    "lats": [f.lat for f in kept],
                    "ms": [(f.t - started).total_seconds() for f in kept],
                    "srid": settings.GRIDMAP_SRID,
                    "metric": settings.GRIDMAP_METRIC_SRID,
                    "tolerance": settings.GRIDMAP_PATROL_SIMPLIFY_M,
                },
            )
            ewkb, offsets, length = cur.fetchone()
            ewkb = bytes(ewkb)
            cur.execute(_GRID_SQL, {"track": ewkb, "reach": PATROL_REACH_M})
            grid_row = cur.fetchone()
            place_code = grid_row[1] if grid_row else ""
            if not place_code:
                cur.execute(_VILLAGE_SQL, {"track": ewkb})
                village_row = cur.fetchone()
                place_code = village_row[0] if village_row else ""
        day = timezone.localtime(started).date()
        patrol = Patrol(
            worker=worker,
            started_at=started,
            ended_at=ended,
            day=day,
            track=GEOSGeometry(memoryview(ewkb)),
            offsets=[round(o, 1) for o in offsets],
            length_m=round(length, 1),
            points_received=len(fixes),
            points_dropped=len(fixes) - len(kept),
            grid_id=grid_row[0] if grid_row else None,
            place_code=place_code or _worker_place_code(worker, day),
            client_uuid=client_uuid,
        )
        patrol.full_clean()
        patrol.save()
        refresh_patrol_coverage([patrol.pk])
    return patrol, True


# For every (patrol, current grid within reach): the grid ∩ the track's geography buffer.
_COVERAGE_DELETE_SQL = f"DELETE FROM {PatrolCoverage._meta.db_table} WHERE patrol_id = ANY(%s)"
_COVERAGE_INSERT_SQL = f"""
INSERT INTO {PatrolCoverage._meta.db_table} (patrol_id, grid_id, geom, share)
SELECT patrol_id, grid_id, geom, ST_Area(geom::geography) / NULLIF(grid_area, 0)
FROM (
    SELECT p.id AS patrol_id, g.id AS grid_id,
           ST_Multi(ST_CollectionExtract(ST_Intersection(g.geom, b.geom), 3)) AS geom,
           ST_Area(g.geom::geography) AS grid_area
    FROM {Patrol._meta.db_table} p
    CROSS JOIN LATERAL (
        SELECT ST_Buffer(p.track::geography, %(reach)s)::geometry AS geom
    ) b
    JOIN {Grid._meta.db_table} g
        ON g.generation_high_id IS NULL
       AND g.geom && b.geom
       AND ST_Intersects(g.geom, b.geom)
    WHERE p.id = ANY(%(ids)s)
) c
WHERE NOT ST_IsEmpty(geom) AND ST_Area(geom::geography) > 0
"""


def refresh_patrol_coverage(patrol_ids: Iterable[int]) -> int:
    """(Re)write the ``PatrolCoverage`` rows of ``patrol_ids`` in one set-based statement
    (after the old rows go in one delete); returns the number of rows written."""
    ids = list(patrol_ids)
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_COVERAGE_DELETE_SQL, [ids])
        cur.execute(_COVERAGE_INSERT_SQL, {"ids": ids, "reach": PATROL_REACH_M})
        return cur.rowcount


# --- selectors --------------------------------------------------------------------------------
def patrols_visible_to(user: object) -> QuerySet[Patrol]:
    """Patrols the user may see: those whose ``place_code`` lies in their jurisdiction, and
    their own (the worker's)."""
    qs = Patrol.objects.select_related("worker", "grid")
    inside = scope_q(user, "place_code")  # type: ignore[arg-type]
    if inside is None:
        return qs
    if getattr(user, "is_authenticated", False):
        inside |= Q(worker__user=user)
    return qs.filter(inside)


_COVERED_SQL = f"""
SELECT p.worker_id, w.name, p.day, c.grid_id, g.code, g.name,
       ST_AsGeoJSON(ST_Union(c.geom), 7)::json,
       ST_Area(ST_Union(c.geom)::geography) / NULLIF(ST_Area(g.geom::geography), 0)
FROM {PatrolCoverage._meta.db_table} c
JOIN {Patrol._meta.db_table} p ON p.id = c.patrol_id
JOIN {Worker._meta.db_table} w ON w.id = p.worker_id
JOIN {Grid._meta.db_table} g ON g.id = c.grid_id
WHERE c.patrol_id = ANY(%s)
GROUP BY p.worker_id, w.name, p.day, c.grid_id, g.code, g.name, g.geom
ORDER BY p.day, w.name, g.code
"""


def covered_areas(patrols: QuerySet[Patrol]) -> list[dict]:
    """The area covered per worker, day and grid by ``patrols``: the union of the day's
    coverage of each grid and its share of the grid (a GeoJSON geometry each)."""
    ids = list(patrols.values_list("pk", flat=True))
    if not ids:
        return []
    with connection.cursor() as cur:
        cur.execute(_COVERED_SQL, [ids])
        rows = cur.fetchall()
    return [
        {
            "worker": {"id": worker_id, "name": worker_name},
            "day": day,
            "grid": {"id": grid_id, "code": code, "name": name},
            "geometry": geometry,
            "share": round(min(share or 0.0, 1.0), 4),
        }
        for worker_id, worker_name, day, grid_id, code, name, geometry, share in rows
    ]
