"""Reads of plans: adjacency, contiguity and per-station figures."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import F, Func, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from grids.models import Station, Village
from households.models import Household, PartyMember

from .models import AllowedLink, Plan, PlanAssignment

# Adjacency
# ---------
# Two villages are adjacent when their current polygons share an edge (or overlap), computed
# in PostGIS with ST_Relate; touching at a single corner does not count (rook adjacency).
# An ``AllowedLink`` (a bridge, a ferry) makes two villages adjacent whatever their shapes.
_ADJACENCY_SQL = f"""
SELECT a.code, b.code
FROM {Village._meta.db_table} a
JOIN {Village._meta.db_table} b ON a.code < b.code AND a.geom && b.geom
WHERE a.generation_high_id IS NULL AND b.generation_high_id IS NULL
  AND a.code = ANY(%s) AND b.code = ANY(%s)
  AND (ST_Relate(a.geom, b.geom, '****1****') OR ST_Relate(a.geom, b.geom, '2********'))
"""


def adjacency(codes: Iterable[str]) -> set[frozenset[str]]:
    """Adjacent pairs among the villages ``codes`` (polygons and allowed links)."""
    codes = sorted(set(codes))
    if len(codes) < 2:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_ADJACENCY_SQL, [codes, codes])
        pairs = {frozenset(row) for row in cursor.fetchall()}
    links = AllowedLink.objects.filter(village_a__in=codes, village_b__in=codes)
    pairs |= {frozenset(p) for p in links.values_list("village_a", "village_b")}
    return pairs


def is_contiguous(codes: Iterable[str], pairs: set[frozenset[str]]) -> bool:
    """Whether ``codes`` form one connected piece under ``pairs`` (empty and single: yes)."""
    codes = set(codes)
    if len(codes) < 2:
        return True
    start = next(iter(codes))
    seen, todo = {start}, [start]
    while todo:
        here = todo.pop()
        for other in codes - seen:
            if frozenset((here, other)) in pairs:
                seen.add(other)
                todo.append(other)
    return seen == codes


def plan_catchments(plan: Plan) -> dict[int | None, list[str]]:
    """Station id -> village codes of the plan (None: unassigned villages)."""
    out: dict[int | None, list[str]] = {}
    for code, station_id in plan.assignments.values_list("village_code", "station_id"):
        out.setdefault(station_id, []).append(code)
    return out


def plan_stations(plan: Plan) -> QuerySet[Station]:
    """The current stations of the plan's area."""
    return Station.objects.filter(town__code__startswith=plan.area_code).filter(
        town__generation_high__isnull=True
    )


def _count(qs: QuerySet, expr: str = "id", function: str = "COUNT") -> Subquery:
    """A scalar subquery aggregating the whole of ``qs`` (no GROUP BY)."""
    agg = qs.order_by().annotate(v=Func(F(expr), function=function)).values("v")
    return Coalesce(Subquery(agg, output_field=IntegerField()), Value(0))


def plan_station_stats(plan: Plan) -> list[dict]:
    """Per station of the plan's area: villages, households, population, party members
    (one annotated query) and whether its catchment is contiguous."""
    codes = PlanAssignment.objects.filter(plan=plan, station=OuterRef(OuterRef("pk"))).values(
        "village_code"
    )
    villages = PlanAssignment.objects.filter(plan=plan, station=OuterRef("pk"))
    households = Household.objects.filter(grid__village__code__in=codes)
    members = PartyMember.objects.filter(branch__village__code__in=codes)
    stations = (
        plan_stations(plan)
        .annotate(
            village_count=_count(villages),
            household_count=_count(households),
            population=_count(households, "size", "SUM"),
            party_member_count=_count(members),
        )
        .order_by("code")
    )
    rows = list(
        stations.values(
            "id",
            "code",
            "name",
            "village_count",
            "household_count",
            "population",
            "party_member_count",
        )
    )
    catchments = plan_catchments(plan)
    pairs = adjacency(c for k, v in catchments.items() if k is not None for c in v)
    for row in rows:
        row["contiguous"] = is_contiguous(catchments.get(row["id"], []), pairs)
    return rows
