"""Coverage checks 1-6 and 8 (key persons): one function per check, each a few SQL statements.

Every check takes an area *prefix* (see ``area_prefix``): codes nest, so a place is inside the
area when its code starts with the prefix (a station code starts with its town's code). Only
current boundaries (``generation_high_id IS NULL``) are checked; dated rows (roles, catchments)
count when their period contains ``today``. Python sees result rows, never geometries.

How gaps and overlaps are measured
----------------------------------
As in ``tests/demo/test_demo.py`` and docs/architecture.md ("Measuring tiling"): boundaries
are lon/lat geometries and every predicate the application uses is planar in lon/lat, so gaps
and overlaps are computed on the stored geometries, then measured in a local equirectangular
frame per village (translate to the village's bounding-box centre, scale lon and lat by the
length in metres of one degree there). An affine map keeps straight edges straight, so an
exact tiling stays exactly zero, which ``geography`` or EPSG:4545 would not. A part counts
only if something is left of it after a -0.5 cm buffer (slivers thinner than 1 cm are
dropped); its reported area is the unbuffered area in that frame.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from gridmap.codes import Level, level_of, place_name
from gridmap.sql import tables
from grids.models import (
    GRID_ROLES,
    Building,
    CatchmentAssignment,
    Grid,
    Role,
    RoleAssignment,
    Station,
    Town,
    Village,
    Worker,
)
from households.models import CentralHousehold, Household, TenHouseholdUnit
from presence import care
from presence.models import KeyPerson

# Household and building id lists in a report are cut at this length (counts stay exact);
# GET /api/coverage/uncovered-households/ lists every household as GeoJSON.
MAX_LISTED_IDS = 1000

AREA_CODE_RE = re.compile(r"^(\d{6}|\d{9}|\d{12})$")

# The tables the checks read, by the names their SQL formats in.
_T = tables(
    building=Building, catchment=CatchmentAssignment, central_household=CentralHousehold,
    grid=Grid, household=Household, role_assignment=RoleAssignment, station=Station, town=Town,
    unit=TenHouseholdUnit, village=Village, worker=Worker,
)  # fmt: skip

# Local metric frame of a village (see the module docstring): metres per degree of longitude
# and latitude at the centre ``cy`` of its bounding box.
_FRAME_CTE = """
    SELECT id, code, geom, cx, cy,
           111412.84 * cos(radians(cy)) - 93.5 * cos(radians(3 * cy)) AS kx,
           111132.92 - 559.82 * cos(radians(2 * cy)) + 1.175 * cos(radians(4 * cy)) AS ky
      FROM (SELECT id, code, geom,
                   (ST_XMin(geom) + ST_XMax(geom)) / 2 AS cx,
                   (ST_YMin(geom) + ST_YMax(geom)) / 2 AS cy
              FROM {village}
             WHERE generation_high_id IS NULL AND code LIKE %(like)s) v
""".format(**_T)
_METRIC = "ST_Scale(ST_Translate({g}, -{f}.cx, -{f}.cy), {f}.kx, {f}.ky)"
SLIVER_BUFFER_M = -0.005


def area_level(code: str) -> str:
    """The level of an area's code, by its place name (``gridmap.codes``). A 6-digit code of
    no level (a province's ``NN0000``) passes as a city, as ``area_prefix`` takes it."""
    return place_name(level_of(code) or Level.CITY)


def area_prefix(code: str) -> str:
    """The code prefix of an area: a city code (4 digits + "00") stands for its districts."""
    if not AREA_CODE_RE.match(code or ""):
        raise ValueError(code)
    return code[:4] if area_level(code) == Level.CITY else code


def _rows(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _params(prefix: str, **extra: Any) -> dict[str, Any]:
    return {"like": prefix + "%", "today": dt.date.today(), **extra}


def _ids(rows: list[tuple]) -> dict[str, Any]:
    ids = [r[0] for r in rows]
    return {
        "count": len(ids),
        "ids": ids[:MAX_LISTED_IDS],
        "truncated": len(ids) > MAX_LISTED_IDS,
    }


# --- 1. grid tiling -----------------------------------------------------------------------
def check_tiling(prefix: str) -> dict[str, Any]:
    """Gaps (village not covered by its grids) and overlaps (two grids of one village), each
    part with its area in m² and a point on it; buildings and households in no grid."""
    params = _params(prefix, buffer=SLIVER_BUFFER_M)
    metric = _METRIC.format(g="d.geom", f="f")
    gaps = _rows(
        f"""
        WITH f AS ({_FRAME_CTE}),
             cover AS (SELECT g.village_id, ST_Union(g.geom) AS geom
                         FROM {_T["grid"]} g JOIN f ON f.id = g.village_id
                        WHERE g.generation_high_id IS NULL
                        GROUP BY g.village_id)
        SELECT code, area, ST_X(p), ST_Y(p) FROM (
            SELECT f.code, ST_Area({metric}) AS area,
                   ST_Area(ST_Buffer({metric}, %(buffer)s)) AS thick,
                   ST_PointOnSurface(d.geom) AS p
              FROM f LEFT JOIN cover c ON c.village_id = f.id
             CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(
                   CASE WHEN c.geom IS NULL THEN f.geom ELSE ST_Difference(f.geom, c.geom) END,
                   3)) d
        ) s
        WHERE thick > 0
        ORDER BY code, area DESC""",
        params,
    )
    overlaps = _rows(
        f"""
        WITH f AS ({_FRAME_CTE}),
             g AS (SELECT g.id, g.code, g.village_id, g.geom
                     FROM {_T["grid"]} g JOIN f ON f.id = g.village_id
                    WHERE g.generation_high_id IS NULL)
        SELECT code, a, b, area, ST_X(p), ST_Y(p) FROM (
            SELECT f.code, a.code AS a, b.code AS b, ST_Area({metric}) AS area,
                   ST_Area(ST_Buffer({metric}, %(buffer)s)) AS thick,
                   ST_PointOnSurface(d.geom) AS p
              FROM g a JOIN g b
                ON a.village_id = b.village_id AND a.id < b.id
               AND ST_Relate(a.geom, b.geom, '2********')
              JOIN f ON f.id = a.village_id
             CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) d
        ) s
        WHERE thick > 0
        ORDER BY code, a, b, area DESC""",
        params,
    )
    in_area = """EXISTS (SELECT 1 FROM {village} v
                          WHERE v.generation_high_id IS NULL AND v.code LIKE %(like)s
                            AND {predicate})"""
    buildings = _rows(
        f"""SELECT b.id FROM {_T["building"]} b
             WHERE b.grid_id IS NULL
               AND {in_area.format(predicate="ST_Intersects(v.geom, b.footprint)", **_T)}
             ORDER BY b.id""",
        params,
    )
    households = _rows(
        f"""SELECT h.id FROM {_T["household"]} h
             WHERE h.grid_id IS NULL
               AND {in_area.format(predicate="ST_Covers(v.geom, h.location)", **_T)}
             ORDER BY h.id""",
        params,
    )
    (villages,) = _rows(
        """SELECT count(*) FROM {village}
            WHERE generation_high_id IS NULL AND code LIKE %(like)s""".format(**_T),
        params,
    )[0]
    gap_items = [
        {"village": v, "area_m2": round(a, 2), "location": [round(x, 7), round(y, 7)]}
        for v, a, x, y in gaps
    ]
    overlap_items = [
        {
            "village": v,
            "grids": [ga, gb],
            "area_m2": round(a, 2),
            "location": [round(x, 7), round(y, 7)],
        }
        for v, ga, gb, a, x, y in overlaps
    ]
    return {
        "villages": villages,
        "villages_with_gaps": sorted({g["village"] for g in gap_items}),
        "villages_with_overlaps": sorted({o["village"] for o in overlap_items}),
        "gap_area_m2": round(sum(a for _, a, _, _ in gaps), 2),
        "overlap_area_m2": round(sum(o[3] for o in overlaps), 2),
        "gaps": gap_items,
        "overlaps": overlap_items,
        "buildings_in_no_grid": _ids(buildings),
        "households_in_no_grid": _ids(households),
    }


# --- 2. roles -------------------------------------------------------------------------------
def check_roles(prefix: str) -> dict[str, Any]:
    """Grids missing an active grid leader, grid member or party-building guide; workers
    holding more active roles (anywhere) than GRIDMAP_MAX_ROLES_PER_WORKER, listed when at
    least one of their roles is inside the area. Only their assignments inside the area are
    named (the jurisdiction rule: places outside it are not shown); the count is of all."""
    limit = settings.GRIDMAP_MAX_ROLES_PER_WORKER
    grid_roles = [str(r) for r in GRID_ROLES]
    params = _params(prefix, roles=grid_roles, limit=limit)
    missing = _rows(
        """
        WITH g AS (SELECT id, code FROM {grid}
                    WHERE generation_high_id IS NULL AND code LIKE %(like)s),
             r AS (SELECT grid_id, array_agg(DISTINCT role) AS roles FROM {role_assignment}
                    WHERE grid_id IN (SELECT id FROM g) AND period @> %(today)s::date
                    GROUP BY grid_id)
        SELECT g.code, ARRAY(SELECT unnest(%(roles)s::text[])
                             EXCEPT SELECT unnest(coalesce(r.roles, '{{}}'::text[])))
          FROM g LEFT JOIN r ON r.grid_id = g.id
         WHERE NOT coalesce(r.roles, '{{}}'::text[]) @> %(roles)s::varchar[]
         ORDER BY g.code""".format(**_T),
        params,
    )
    (grids,) = _rows(
        """SELECT count(*) FROM {grid}
            WHERE generation_high_id IS NULL AND code LIKE %(like)s""".format(**_T),
        params,
    )[0]
    overloaded = _rows(
        """
        WITH a AS (
            SELECT ra.worker_id, ra.role, coalesce(g.code, v.code, s.code, t.code) AS place
              FROM {role_assignment} ra
              LEFT JOIN {grid} g ON g.id = ra.grid_id
              LEFT JOIN {village} v ON v.id = ra.village_id
              LEFT JOIN {station} s ON s.id = ra.station_id
              LEFT JOIN {town} t ON t.id = ra.town_id
             WHERE ra.period @> %(today)s::date)
        SELECT w.id, w.name, count(*),
               array_agg(a.role || ' ' || a.place ORDER BY a.place, a.role)
                 FILTER (WHERE a.place LIKE %(like)s)
          FROM a JOIN {worker} w ON w.id = a.worker_id
         GROUP BY w.id, w.name
        HAVING count(*) > %(limit)s AND bool_or(a.place LIKE %(like)s)
         ORDER BY count(*) DESC, w.id""".format(**_T),
        params,
    )
    by_role: dict[str, list[str]] = {r: [] for r in grid_roles}
    for code, roles in missing:
        for role in roles:
            by_role[role].append(code)
    return {
        "grids": grids,
        "grids_missing_any_role": [code for code, _ in missing],
        "grids_missing": by_role,
        "max_roles_per_worker": limit,
        "overloaded_workers": [
            {"id": wid, "name": name, "roles": n, "assignments": places}
            for wid, name, n, places in overloaded
        ],
    }


# --- 3. grid size ---------------------------------------------------------------------------
HISTOGRAM_BIN = 50


def check_grid_size(prefix: str) -> dict[str, Any]:
    """Households per current grid against GRIDMAP_GRID_HOUSEHOLDS_NORM, as a histogram in
    bins of 50 households, with the grids outside the norm listed."""
    low, high = settings.GRIDMAP_GRID_HOUSEHOLDS_NORM
    counts = _rows(
        """SELECT g.code, coalesce(h.n, 0)
             FROM {grid} g
             LEFT JOIN (SELECT grid_id, count(*) AS n FROM {household}
                         WHERE grid_id IS NOT NULL GROUP BY grid_id) h ON h.grid_id = g.id
            WHERE g.generation_high_id IS NULL AND g.code LIKE %(like)s
            ORDER BY g.code""".format(**_T),
        _params(prefix),
    )
    bins: dict[int, int] = {}
    for _, n in counts:
        bins[n // HISTOGRAM_BIN] = bins.get(n // HISTOGRAM_BIN, 0) + 1
    top = max(bins, default=-1)
    histogram = [
        {"from": b * HISTOGRAM_BIN, "to": (b + 1) * HISTOGRAM_BIN, "grids": bins.get(b, 0)}
        for b in range(top + 1)
    ]
    return {
        "norm": [low, high],
        "grids": len(counts),
        "bin": HISTOGRAM_BIN,
        "histogram": histogram,
        "within_norm": sum(1 for _, n in counts if low <= n <= high),
        "below_norm": [{"code": c, "households": n} for c, n in counts if n < low],
        "above_norm": [{"code": c, "households": n} for c, n in counts if n > high],
    }


# --- 4. ten-household units -----------------------------------------------------------------
def check_units(prefix: str) -> dict[str, Any]:
    """Share of the area's households (by their derived grid) in a ten-household unit; units
    without a central household; central households per current grid."""
    params = _params(prefix)
    ((households, in_unit),) = _rows(
        """SELECT count(*), count(h.ten_household_unit_id)
             FROM {household} h JOIN {grid} g ON g.id = h.grid_id
            WHERE g.code LIKE %(like)s""".format(**_T),
        params,
    )
    without_central = _rows(
        """SELECT u.id, u.name, g.code FROM {unit} u
             JOIN {grid} g ON g.id = u.grid_id
            WHERE g.code LIKE %(like)s AND u.central_household_id IS NULL
            ORDER BY g.code, u.id""".format(**_T),
        params,
    )
    (units,) = _rows(
        """SELECT count(*) FROM {unit} u
             JOIN {grid} g ON g.id = u.grid_id WHERE g.code LIKE %(like)s""".format(**_T),
        params,
    )[0]
    per_grid = _rows(
        """SELECT g.code, coalesce(c.n, 0)
             FROM {grid} g
             LEFT JOIN (SELECT h.grid_id, count(*) AS n FROM {central_household} ch
                          JOIN {household} h ON h.id = ch.household_id
                         GROUP BY h.grid_id) c ON c.grid_id = g.id
            WHERE g.generation_high_id IS NULL AND g.code LIKE %(like)s
            ORDER BY g.code""".format(**_T),
        params,
    )
    return {
        "households": households,
        "households_in_unit": in_unit,
        "households_in_no_unit": households - in_unit,
        "share_in_unit": round(in_unit / households, 4) if households else None,
        "units": units,
        "units_without_central_household": [
            {"id": uid, "name": name, "grid": code} for uid, name, code in without_central
        ],
        "central_households": sum(n for _, n in per_grid),
        "central_households_per_grid": [{"code": c, "central_households": n} for c, n in per_grid],
        "grids_without_central_household": [c for c, n in per_grid if n == 0],
    }


# --- 5. staffing ----------------------------------------------------------------------------
def check_staffing(prefix: str) -> dict[str, Any]:
    """Households per full-time worker against GRIDMAP_HOUSEHOLDS_PER_WORKER (one per 300).

    Full-time workers are the distinct workers holding an active ``station_worker`` role on a
    station of the area (grid members are part-time and not counted). The area figure is the
    area's households (by derived grid) over those workers; per station, the households of
    its current catchment's villages over its own workers.
    """
    norm = settings.GRIDMAP_HOUSEHOLDS_PER_WORKER
    params = _params(prefix, role=str(Role.STATION_WORKER))
    ((households,),) = _rows(
        """SELECT count(*) FROM {household} h JOIN {grid} g ON g.id = h.grid_id
            WHERE g.code LIKE %(like)s""".format(**_T),
        params,
    )
    ((workers,),) = _rows(
        """SELECT count(DISTINCT ra.worker_id) FROM {role_assignment} ra
             JOIN {station} s ON s.id = ra.station_id
            WHERE s.code LIKE %(like)s AND ra.role = %(role)s
              AND ra.period @> %(today)s::date""".format(**_T),
        params,
    )
    stations = _rows(
        """
        WITH st AS (SELECT id, code FROM {station} WHERE code LIKE %(like)s),
             w AS (SELECT station_id, count(DISTINCT worker_id) AS n FROM {role_assignment}
                    WHERE role = %(role)s AND period @> %(today)s::date
                      AND station_id IN (SELECT id FROM st)
                    GROUP BY station_id),
             hh AS (SELECT ca.station_id, count(h.id) AS n
                      FROM {catchment} ca
                      JOIN {grid} g ON g.village_id = ca.village_id
                      JOIN {household} h ON h.grid_id = g.id
                     WHERE ca.period @> %(today)s::date AND ca.station_id IN (SELECT id FROM st)
                     GROUP BY ca.station_id)
        SELECT st.code, coalesce(hh.n, 0), coalesce(w.n, 0)
          FROM st LEFT JOIN w ON w.station_id = st.id LEFT JOIN hh ON hh.station_id = st.id
         ORDER BY st.code""".format(**_T),
        params,
    )
    per_station = [
        {
            "code": code,
            "households": n,
            "workers": w,
            "households_per_worker": round(n / w, 1) if w else None,
            "workers_needed": -(-n // norm),
        }
        for code, n, w in stations
    ]
    return {
        "norm_households_per_worker": norm,
        "households": households,
        "full_time_workers": workers,
        "households_per_worker": round(households / workers, 1) if workers else None,
        "workers_needed": -(-households // norm),
        "shortfall": max(0, -(-households // norm) - workers),
        "stations_over_norm": [s for s in per_station if s["workers"] < s["workers_needed"]],
    }


# --- 6. stations ----------------------------------------------------------------------------
def check_stations(prefix: str) -> dict[str, Any]:
    """Villages in no or several active stations; stations outside GRIDMAP_STATION_VILLAGES
    (3-7 villages); stations whose villages are not contiguous: their current boundaries form
    more than one cluster when parts closer than GRIDMAP_STATION_CONTIGUITY_TOLERANCE_M
    count as touching (a tolerance in metres turned into degrees of longitude there)."""
    low, high = settings.GRIDMAP_STATION_VILLAGES
    params = _params(
        prefix, low=low, high=high, tol=settings.GRIDMAP_STATION_CONTIGUITY_TOLERANCE_M
    )
    villages = _rows(
        """SELECT v.code, count(s.id), coalesce(array_agg(s.code ORDER BY s.code)
                                               FILTER (WHERE s.id IS NOT NULL), '{{}}')
             FROM {village} v
             LEFT JOIN {catchment} ca
               ON ca.village_id = v.id AND ca.period @> %(today)s::date
             LEFT JOIN {station} s ON s.id = ca.station_id
            WHERE v.generation_high_id IS NULL AND v.code LIKE %(like)s
            GROUP BY v.code
           HAVING count(s.id) <> 1
            ORDER BY v.code""".format(**_T),
        params,
    )
    stations = _rows(
        """SELECT s.code, count(v.id),
                  coalesce(array_length(ST_ClusterWithin(
                      v.geom, %(tol)s / (111320.0 * cos(radians(ST_Y(s.location))))), 1), 0)
             FROM {station} s
             LEFT JOIN {catchment} ca
               ON ca.station_id = s.id AND ca.period @> %(today)s::date
             LEFT JOIN {village} v ON v.id = ca.village_id
            WHERE s.code LIKE %(like)s
            GROUP BY s.id, s.code
            ORDER BY s.code""".format(**_T),
        params,
    )
    return {
        "villages_per_station": [low, high],
        "stations": len(stations),
        "villages_in_no_station": [c for c, n, _ in villages if n == 0],
        "villages_in_several_stations": [
            {"code": c, "stations": list(s)} for c, n, s in villages if n > 1
        ],
        "stations_too_few_villages": [
            {"code": c, "villages": n} for c, n, _ in stations if n < low
        ],
        "stations_too_many_villages": [
            {"code": c, "villages": n} for c, n, _ in stations if n > high
        ],
        "stations_not_contiguous": [
            {"code": c, "parts": parts} for c, _, parts in stations if parts > 1
        ],
    }


# --- 8. key persons (issue 14) --------------------------------------------------------------
def check_key_persons(prefix: str) -> dict[str, Any]:
    """Key persons not visited within their interval today (``presence.care``: due date before
    today), of the households whose grid lies in the area; per category; the list (household
    number, category, grid, due date, days overdue; no names), oldest due date first."""
    on = timezone.localdate()
    current = KeyPerson.objects.filter(
        care.current_q(on), household__grid__code__startswith=prefix
    ).count()
    # One pass over the overdue key persons (the due rule is the costly part): the list and
    # the counts per category from the same rows.
    rows = list(
        care.overdue_in_area(prefix, on).values_list(
            "household__code", "household_id", "category__name", "household__grid__code", "due_on"
        )
    )
    per_category: dict[str, int] = {}
    for _code, _hid, name, _grid, _due in rows:
        per_category[name] = per_category.get(name, 0) + 1
    listed = [
        {
            "household": care.household_key_of(code, hid),
            "category": name,
            "grid": grid,
            "due_on": due_on.isoformat(),
            "days_overdue": (on - due_on).days,
        }
        for code, hid, name, grid, due_on in rows[:MAX_LISTED_IDS]
    ]
    by_category = [{"category": name, "overdue": n} for name, n in sorted(per_category.items())]
    return {
        "key_persons": current,
        "key_persons_overdue": len(rows),
        "overdue_by_category": by_category,
        "key_persons_not_visited": listed,
    }


CHECKS = {
    "tiling": check_tiling,
    "roles": check_roles,
    "grid_size": check_grid_size,
    "units": check_units,
    "staffing": check_staffing,
    "stations": check_stations,
    "key_persons": check_key_persons,
}
