"""Reads of places, grids and roles. Spatial work happens in PostGIS."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import Point
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from gridmap.jurisdiction import Prefixes, scope_q

from .models import (
    Boundary,
    CatchmentAssignment,
    Generation,
    Grid,
    Role,
    RoleAssignment,
    Station,
    Village,
    Worker,
)
from .signals import household_figures

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
