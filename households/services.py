"""Writes to households. The grid of a household or building is derived in PostGIS."""

from __future__ import annotations

from django.db import connection, transaction

# Both statements resolve a point on a shared grid edge with the tie-break of
# grids.selectors.EDGE_TIE_BREAK (smallest code), so the SQL path and the ORM path agree.
_ASSIGN_HOUSEHOLDS_SQL = """
UPDATE households_household h
   SET grid_id = (
       SELECT g.id FROM grids_grid g
        WHERE g.generation_high_id IS NULL AND ST_Covers(g.geom, h.location)
        ORDER BY g.code LIMIT 1)
 WHERE {where}
"""

_ASSIGN_BUILDINGS_SQL = """
UPDATE grids_building b
   SET grid_id = (
       SELECT g.id FROM grids_grid g
        WHERE g.generation_high_id IS NULL
          AND ST_Covers(g.geom, ST_PointOnSurface(b.footprint))
        ORDER BY g.code LIMIT 1)
 WHERE {where}
"""


@transaction.atomic
def households_assign_grids(*, ids: list[int] | None = None) -> int:
    """Derive ``grid`` from ``location`` for the given households (all when ids is None)."""
    where, params = ("h.id = ANY(%s)", [ids]) if ids is not None else ("TRUE", [])
    with connection.cursor() as cur:
        cur.execute(_ASSIGN_HOUSEHOLDS_SQL.format(where=where), params)
        return cur.rowcount


@transaction.atomic
def buildings_assign_grids(*, ids: list[int] | None = None) -> int:
    """Derive ``grid`` from the footprint for the given buildings (all when ids is None)."""
    where, params = ("b.id = ANY(%s)", [ids]) if ids is not None else ("TRUE", [])
    with connection.cursor() as cur:
        cur.execute(_ASSIGN_BUILDINGS_SQL.format(where=where), params)
        return cur.rowcount


@transaction.atomic
def ten_household_units_refresh(*, ids: list[int] | None = None) -> int:
    """Recompute each unit's grid (from its head household) and its map area (a 15 m
    buffer around the convex hull of its members), in one statement."""
    where, params = ("u.id = ANY(%s)", [ids]) if ids is not None else ("TRUE", [])
    sql = f"""
    UPDATE households_tenhouseholdunit u
       SET grid_id = head.grid_id,
           geom = (
             SELECT ST_Buffer(ST_ConvexHull(ST_Collect(m.location))::geography, 15, 4)::geometry
               FROM households_household m
              WHERE m.ten_household_unit_id = u.id)
      FROM households_household head
     WHERE head.id = u.head_household_id AND {where}
    """
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount
