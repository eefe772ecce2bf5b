"""Issue 16: vector tiles through the view against the raw ``ST_AsMVT`` query for the same tile.

``python bench/run.py tiles``: the z12 tiles holding the most current grids (and the most
incidents), requested through Django's test client (session, DRF, jurisdiction, the tile
statement, ETag) and by the raw statement alone, alternately, in the same run. Prints both
P95s, the ratio, and the target of issue 16: within 1.5x the raw query plus 10 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.common import Timing
from tiles.layers import tile_of

Z = 12
SAMPLES = 200

RAW_GRIDS = """
SELECT ST_AsMVT(t, 'grids', 4096, 'geom', 'fid') FROM (
  SELECT g.id AS fid, g.code, g.name, v.code AS village_code,
         ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                      4096, 64, true) AS geom
    FROM grids_grid g JOIN grids_village v ON v.id = g.village_id
   WHERE g.generation_high_id IS NULL
     AND g.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625), 4326)
) t WHERE t.geom IS NOT NULL
"""

RAW_INCIDENTS = """
SELECT ST_AsMVT(t, 'incidents', 4096, 'geom', 'fid') FROM (
  SELECT min(i.id) AS fid, count(*)::int AS count,
         ST_AsMVTGeom(ST_Centroid(ST_Collect(ST_Transform(i.location, 3857))),
                      ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom
    FROM incidents_incident i
   WHERE i.location && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.015625), 4326)
   GROUP BY ST_SnapToGrid(ST_Transform(i.location, 3857), %(cell)s)
) t WHERE t.geom IS NOT NULL
"""


def _busiest(points: list[tuple[float, float]], k: int = 5) -> list[tuple[int, int]]:
    counts: dict[tuple[int, int], int] = {}
    for lon, lat in points:
        key = tile_of(lon, lat, Z)[1:]
        counts[key] = counts.get(key, 0) + 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:k]]


def _alternate(a: Callable[[int], None], b: Callable[[int], None], n: int) -> tuple[list, list]:
    for i in range(10):
        a(i)
        b(i)
    ta, tb = [], []
    for i in range(n):
        for fn, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            t0 = time.perf_counter()
            fn(i)
            out.append(time.perf_counter() - t0)
    return ta, tb


def _print(title: str, ours: Timing, raw: Timing, note: str) -> None:
    target = raw.p95_ms * 1.5 + 10
    print(f"\n== {title}")
    print(f"   {note}")
    for t in (ours, raw):
        stats = f"median {t.median_ms:8.3f} ms   p95 {t.p95_ms:8.3f} ms   n={len(t.samples)}"
        print(f"   {t.label:<44} {stats}")
    print(f"   ratio ours/raw (p95): {ours.p95_ms / raw.p95_ms:.2f}x")
    verdict = "met" if ours.p95_ms <= target else "NOT met"
    print(f"   target p95 <= 1.5 x raw + 10 ms = {target:.1f} ms: {verdict}")


def tiles() -> None:
    """z12 grid and incident tiles: the view (in process) against the raw ST_AsMVT query."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from tiles.layers import CLUSTER_CELLS, MERCATOR_HALF

    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM grids_grid "
            "WHERE generation_high_id IS NULL) s"
        )
        grid_points = cur.fetchall()
        cur.execute("SELECT ST_X(location), ST_Y(location) FROM incidents_incident")
        incident_points = cur.fetchall()
    if not grid_points:
        print("tiles: no grids loaded; run 'make run' or 'python manage.py load_demo' first")
        return
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    cell = 2 * MERCATOR_HALF / 2**Z / CLUSTER_CELLS

    for layer, points, raw_sql in (
        ("grids", grid_points, RAW_GRIDS),
        ("incidents", incident_points, RAW_INCIDENTS),
    ):
        if not points:
            print(f"tiles: no {layer} loaded")
            continue
        tiles = _busiest(points)

        def ours(i: int, layer: str = layer, tiles: list = tiles) -> None:
            x, y = tiles[i % len(tiles)]
            res = client.get(f"/tiles/{layer}/{Z}/{x}/{y}.mvt")
            assert res.status_code in (200, 204), res.content

        def raw(i: int, raw_sql: str = raw_sql, tiles: list = tiles) -> None:
            x, y = tiles[i % len(tiles)]
            with connection.cursor() as cur:
                cur.execute(raw_sql, {"z": Z, "x": x, "y": y, "cell": cell})
                cur.fetchone()

        ta, tb = _alternate(ours, raw, SAMPLES)
        _print(
            f"vector tiles: GET /tiles/{layer}/{Z}/x/y.mvt vs raw ST_AsMVT",
            Timing(f"ours: GET /tiles/{layer}/ (Django client)", ta),
            Timing("baseline: raw ST_AsMVT statement", tb),
            note=(
                f"the {len(tiles)} z{Z} tiles with the most {layer} ({len(points)} in all), "
                "round-robin; a superuser (no jurisdiction filter in either)"
            ),
        )
