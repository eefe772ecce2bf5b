"""Reads of places, grids and roles. Spatial work happens in PostGIS."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache, reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import Point
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from gridmap.crypto import decrypt
from gridmap.jurisdiction import Prefixes, scope_q
from gridmap.sql import prepared_cursor, tables

from .models import (
    Boundary,
    CatchmentAssignment,
    District,
    Generation,
    Grid,
    Role,
    RoleAssignment,
    Station,
    Town,
    Village,
    Worker,
)
from .signals import household_figures, household_figures_sql

# Points on a shared edge
# -----------------------
# A point exactly on (or, for routing, near) the edge between two grids is covered by both.
# The tie-break is deterministic and documented: the grid with the smallest code wins. Codes
# are stable across generations, so the same point resolves to the same grid tomorrow.
EDGE_TIE_BREAK = ("code",)


# Geometry columns of a grid and its ancestors: deferred wherever only identity is needed
# (a district outline has thousands of vertices).
LINEAGE_GEOMETRIES = (
    "geom",
    "village__geom",
    "village__town__geom",
    "village__town__district__geom",
)


def grids_with_lineage() -> QuerySet[Grid]:
    """Grids with their village, town and district in one query, geometries deferred."""
    return Grid.objects.select_related("village__town__district").defer(*LINEAGE_GEOMETRIES)


def grid_at_point(
    point: Point,
    *,
    generation: int | Generation | None = None,
    scope: Q | None = None,
    queryset: QuerySet[Grid] | None = None,
) -> Grid | None:
    """The grid covering ``point`` (in the current generation unless told), or None.

    ``queryset`` lets callers add annotations or prefetches to the same single query.
    """
    qs = (queryset if queryset is not None else grids_with_lineage()).filter(
        pk__in=Grid.objects.at_generation(generation).filter(geom__covers=point).values("pk")
    )
    if scope is not None:
        qs = qs.filter(scope)
    return qs.order_by(*EDGE_TIE_BREAK).first()


# The point lookup in one statement
# ----------------------------------
# ``GET /api/grids/at`` is the phones' most frequent call. ``grid_at`` answers it with one
# prepared statement (``gridmap.sql.prepared_cursor``): the covering grid (edge tie-break as
# ``grid_at_point``), its village, town and district, its household figures (the SQL that
# households registers, ``grids.signals.household_figures_sql``) and its active role holders
# as one JSON array, filtered by the jurisdiction's prefixes. Two texts (current generation,
# a given generation), each built once.
_GRID_AT_SQL = """
SELECT g.code, g.name, g.generation_low_id, g.generation_high_id IS NULL,
       v.code, v.name, t.code, t.name, d.code, d.name,
       f.household_count, f.population,
       (SELECT coalesce(json_agg(json_build_array(r.role, w.name, w.phone)
                                 ORDER BY r.role, r.id), '[]')
          FROM {role} r JOIN {worker} w ON w.id = r.worker_id
         WHERE r.grid_id = g.id AND r.period @> %(day)s::date)::text
  FROM {grid} g
  JOIN {village} v ON v.id = g.village_id
  JOIN {town} t ON t.id = v.town_id
  JOIN {district} d ON d.id = t.district_id
  CROSS JOIN LATERAL ({figures}) f
 WHERE ST_Covers(g.geom, ST_Transform(ST_SetSRID(ST_MakePoint(%(x)s::float8, %(y)s::float8),
                                                 %(srid)s::int), {project_srid}))
   AND {generation}
   AND (%(everything)s::bool OR g.code LIKE ANY(%(patterns)s::text[]))
 ORDER BY g.code
 LIMIT 1
"""
_CURRENT = "g.generation_high_id IS NULL"
_AT_GENERATION = (
    "g.generation_low_id <= %(generation)s::bigint "
    "AND (g.generation_high_id IS NULL OR g.generation_high_id >= %(generation)s::bigint)"
)


@cache
def grid_at_sql(at_generation: bool) -> str:
    """The text of ``grid_at``'s statement (the bench runs it raw too)."""
    return _GRID_AT_SQL.format(
        **tables(grid=Grid, village=Village, town=Town, district=District),
        **tables(role=RoleAssignment, worker=Worker),
        figures=household_figures_sql().format(grid_id="g.id"),
        project_srid=int(settings.GRIDMAP_SRID),
        generation=_AT_GENERATION if at_generation else _CURRENT,
    )


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _person_of(holder: list[str] | None) -> dict[str, str] | None:
    return None if holder is None else {"name": holder[1], "phone": decrypt(holder[2] or "")}


def grid_at(
    x: float,
    y: float,
    srid: int,
    *,
    generation: int | None = None,
    prefixes: Prefixes = None,
    on: dt.date | None = None,
) -> dict[str, Any] | None:
    """The grid covering ``(x, y)`` in ``srid`` inside the jurisdiction ``prefixes`` (None:
    everywhere), as the API shows it (``grids.api.grid_summary``), or None. One statement.
    Raises ``DatabaseError`` for coordinates the SRID cannot transform."""
    if prefixes is not None and not prefixes:
        return None
    params = {
        "x": float(x),
        "y": float(y),
        "srid": int(srid),
        "day": on or timezone.localdate(),
        "everything": prefixes is None,
        "patterns": [_like_prefix(p) for p in prefixes or ()],
        "generation": generation,
    }
    with prepared_cursor() as cur:
        cur.execute(grid_at_sql(generation is not None), params)
        row = cur.fetchone()
    if row is None:
        return None
    (code, name, generation_id, current, *lineage, households, population, raw) = row
    by_role: dict[str, list[str]] = {}
    for holder in json.loads(raw):
        by_role.setdefault(holder[0], holder)
    return {
        "code": code,
        "name": name,
        "generation": generation_id,
        "current": current,
        "village": {"code": lineage[0], "name": lineage[1]},
        "town": {"code": lineage[2], "name": lineage[3]},
        "district": {"code": lineage[4], "name": lineage[5]},
        "household_count": households,
        "population": population,
        "leader": _person_of(by_role.get(Role.GRID_LEADER)),
        "member": _person_of(by_role.get(Role.GRID_MEMBER)),
        "guide": _person_of(by_role.get(Role.PARTY_GUIDE)),
    }


def holders(*, role: Role, on: dt.date | None = None, **place: object) -> QuerySet[RoleAssignment]:
    """Active assignments of ``role`` on a place (``grid=...``, ``village=...``, ...)."""
    return (
        RoleAssignment.objects.active(on)
        .filter(role=role, **place)
        .select_related("worker")
        .order_by("period")
    )


def active_roles_prefetch(on: dt.date | None = None) -> Prefetch:
    """Prefetch of a grid's active role assignments into ``grid.active_roles``."""
    return Prefetch(
        "role_assignments",
        queryset=RoleAssignment.objects.active(on).select_related("worker").order_by("role"),
        to_attr="active_roles",
    )


def with_household_figures(qs: QuerySet, household_link: str = "grid") -> QuerySet:
    """Annotate ``household_count`` and ``population`` from the households under each row
    (``household_link``: the path from a household to the row's model). Households are above
    grids: the annotation is theirs, registered in ``grids.signals``."""
    return household_figures()(qs, household_link)


def catchment(station: Station, on: dt.date | None = None) -> QuerySet[CatchmentAssignment]:
    return (
        CatchmentAssignment.objects.active(on)
        .filter(station=station)
        .select_related("village")
        .order_by("village__code")
    )


def current_village(code: str) -> Village | None:
    """The current village with ``code`` and its town, without their outlines (what a page
    about a village names: the public notice board, the public catalogue); None if none."""
    return (
        Village.objects.current()
        .filter(code=code)
        .select_related("town")
        .defer("geom", "town__geom")
        .first()
    )


def station_of_village(village_code: str, on: dt.date | None = None) -> Station | None:
    assignment = (
        CatchmentAssignment.objects.active(on)
        .filter(village__code=village_code)
        .select_related("station")
        .first()
    )
    return assignment.station if assignment else None


def boundary_lineage(boundary: Boundary) -> dict[str, str]:
    """Codes of a boundary and its ancestors, keyed by level."""
    out: dict[str, str] = {}
    node: Boundary | None = boundary
    while node is not None:
        out[type(node).__name__.lower()] = node.code
        node = node.parent
    return out


# Workers in a jurisdiction
# -------------------------
# A worker has no place code of their own: they are in every area where they hold or held a
# role (a role assignment, past, present or future, on a grid, village, station or town
# inside it; a station's staff are also in the villages of its catchment), and where the
# household lies of which they are a party member (a central household's worker; the
# reverse relation by its name, as households lies above grids). Past roles count
# because the history of cases names them there (their KPIs, the case pages). A worker who
# never held a role is in no area: only superusers reach them, so the admin creates a worker
# together with a first role (``grids.admin.WorkerAdmin``).
WORKER_PLACE_PATHS = (
    "assignments__grid__code",
    "assignments__village__code",
    "assignments__station__code",
    "assignments__town__code",
    "assignments__station__catchment_assignments__village__code",
    "party_member__household__grid__code",
)
ASSIGNMENT_PLACE_PATHS = ("grid__code", "village__code", "station__code", "town__code")


def workers_within(prefixes: Prefixes, qs: QuerySet[Worker] | None = None) -> QuerySet[Worker]:
    """The workers of ``qs`` (all) in the jurisdiction ``prefixes`` (None: everyone)."""
    qs = Worker.objects.all() if qs is None else qs
    if prefixes is None:
        return qs
    if not prefixes:
        return qs.none()
    inside = reduce(or_, (scope_q(prefixes, p) for p in WORKER_PLACE_PATHS))  # type: ignore[arg-type]
    return qs.filter(pk__in=Worker.objects.filter(inside).values("pk"))


def home_extent(prefixes: Prefixes) -> list[float] | None:
    """[west, south, east, north] of the current grids inside ``prefixes`` (the jurisdiction:
    grids tile every level above them), or None for the whole map (None: everything) or an
    empty jurisdiction. Where a person's map opens: a grid leader's on their grid."""
    if prefixes is None:
        return None
    box = Grid.objects.current().filter(scope_q(prefixes)).aggregate(box=Extent("geom"))["box"]
    return [round(v, 7) for v in box] if box else None


# A role assignment's place code (its grid's, village's, station's or town's: exactly one is
# set, ``grids.models.RoleAssignment``'s constraints), for ``.annotate(place_code=...)``.
ASSIGNMENT_PLACE_CODE = Coalesce("grid__code", "village__code", "station__code", "town__code")


def grids_visible(prefixes: Prefixes, limit: int) -> int:
    """How many current grids lie inside ``prefixes`` (None: everything), counted up to
    ``limit``: whether the map draws them from tiles."""
    qs = Grid.objects.current()
    scope = scope_q(prefixes)
    if scope is not None:
        qs = qs.filter(scope)
    return qs[:limit].count()
