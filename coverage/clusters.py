"""The uncovered households as clusters per map cell, for the coverage map at any scale.

One SQL statement counts the households of each reason (in no grid, in no ten-household unit,
beyond the cached 15-minute service circle) per square cell of about ``CELL_PX`` pixels at the
map's zoom, inside the visible box, and places each cell's point at the mean position of its
households. The answer's size depends on the screen, not on the city: at most
``MAX_FEATURES`` cells.
"""

from __future__ import annotations

from typing import Any

from gridmap.sql import tables
from grids.models import Grid, Village
from households.models import Household

from .models import ServiceCircleUncovered

CELL_PX = 48
TILE_PX = 256
MAX_ZOOM = 22
MAX_FEATURES = 4000

_T = tables(grid=Grid, household=Household, village=Village, uncovered=ServiceCircleUncovered)

_CLUSTERS = """
WITH box AS (SELECT ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326) AS geom),
points AS (
  SELECT 'no_grid' AS reason, h.location FROM {household} h, box
  WHERE h.grid_id IS NULL AND h.location && box.geom
    AND EXISTS (SELECT 1 FROM {village} v
                WHERE v.generation_high_id IS NULL AND v.code LIKE %(like)s
                  AND ST_Covers(v.geom, h.location))
  UNION ALL
  SELECT 'no_unit', h.location FROM {household} h JOIN {grid} g ON g.id = h.grid_id, box
  WHERE g.code LIKE %(like)s AND h.ten_household_unit_id IS NULL AND h.location && box.geom
  UNION ALL
  SELECT 'beyond_15_minutes', u.location FROM {uncovered} u
  JOIN {village} v ON v.id = u.village_id, box
  WHERE v.generation_high_id IS NULL AND v.code LIKE %(like)s AND u.location && box.geom
)
SELECT reason, count(*), avg(ST_X(location)), avg(ST_Y(location))
FROM points
GROUP BY reason, floor(ST_X(location) / %(cell)s), floor(ST_Y(location) / %(cell)s)
ORDER BY count(*) DESC
LIMIT %(limit)s
""".format(**_T)


def cell_degrees(zoom: int) -> float:
    """The side of a cell in degrees of longitude at ``zoom`` (Web Mercator tiles)."""
    return 360.0 / (2**zoom) / TILE_PX * CELL_PX


def parse_bbox(value: str | None) -> tuple[float, float, float, float]:
    """``west,south,east,north`` in degrees; the whole world when empty. ValueError if bad."""
    if not value:
        return (-180.0, -90.0, 180.0, 90.0)
    parts = [float(p) for p in value.split(",")]
    if len(parts) != 4:
        raise ValueError(value)
    w, s, e, n = parts
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ValueError(value)
    return (w, s, e, n)


def clusters(
    cur: Any, prefix: str, zoom: int, bbox: tuple[float, float, float, float]
) -> dict[str, Any]:
    """A FeatureCollection of cell points with ``reason`` and ``count``; ``totals`` per
    reason (of the cells sent), ``cell_deg`` and ``truncated``."""
    w, s, e, n = bbox
    cell = cell_degrees(zoom)
    params = {"w": w, "s": s, "e": e, "n": n, "like": prefix + "%", "cell": cell}
    cur.execute(_CLUSTERS, {**params, "limit": MAX_FEATURES + 1})
    rows = cur.fetchall()
    truncated = len(rows) > MAX_FEATURES
    features = []
    totals: dict[str, int] = {"no_grid": 0, "no_unit": 0, "beyond_15_minutes": 0}
    for reason, count, x, y in rows[:MAX_FEATURES]:
        totals[reason] += count
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(x, 7), round(y, 7)]},
                "properties": {"reason": reason, "count": count},
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "totals": totals,
        "zoom": zoom,
        "cell_deg": cell,
        "truncated": truncated,
    }
