"""Reads of plans: adjacency, contiguity and per-station figures."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.selectors import scope_q
from gridmap.codes import Level, code_at
from gridmap.geojson import feature_collection
from gridmap.sql import table, tables
from grids.models import CatchmentAssignment, District, Grid, Station, Town, Village
from households.models import Household, PartyMember

from .models import AllowedLink, Plan, PlanAssignment, PlanStation

MIN_VILLAGES, MAX_VILLAGES = settings.GRIDMAP_STATION_VILLAGES

# Adjacency
# ---------
# Two villages are adjacent when their current polygons share an edge (or overlap), computed
# in PostGIS with ST_Relate; touching at a single corner does not count (rook adjacency).
# An ``AllowedLink`` (a bridge, a ferry) makes two villages adjacent whatever their shapes.
_ADJACENCY_SQL = f"""
SELECT a.code, b.code
FROM {table(Village)} a
JOIN {table(Village)} b ON a.code < b.code AND a.geom && b.geom
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


def components(codes: Iterable[str], pairs: set[frozenset[str]]) -> list[set[str]]:
    """The connected pieces of ``codes`` under ``pairs``, largest first."""
    todo_codes = set(codes)
    out = []
    while todo_codes:
        start = todo_codes.pop()
        piece, stack = {start}, [start]
        while stack:
            here = stack.pop()
            near = {o for o in todo_codes if frozenset((here, o)) in pairs}
            todo_codes -= near
            piece |= near
            stack.extend(near)
        out.append(piece)
    return sorted(out, key=lambda p: (-len(p), min(p)))


def pieces(codes: Iterable[str], pairs: set[frozenset[str]]) -> int:
    """How many connected pieces ``codes`` fall into under ``pairs`` (empty: 0)."""
    return len(components(codes, pairs))


def is_contiguous(codes: Iterable[str], pairs: set[frozenset[str]]) -> bool:
    """Whether ``codes`` form one connected piece under ``pairs`` (empty and single: yes)."""
    return pieces(codes, pairs) <= 1


def plans_visible_to(user: Any) -> QuerySet[Plan]:
    """Plans whose area lies inside the user's jurisdiction (everything for superusers)."""
    scope = scope_q(user, "area_code")
    qs = Plan.objects.all()
    return qs if scope is None else qs.filter(scope)


def visible_plan_of(user: Any, pk: int) -> Plan | None:
    """The plan ``pk`` if the user may see it, with its author, publisher and area name
    (what the plan's page and API show), else None."""
    return (
        plans_visible_to(user)
        .select_related("author", "published_by")
        .annotate(area_name=area_name_expression())
        .filter(pk=pk)
        .first()
    )


def area_name_expression() -> Coalesce:
    """The current name of a plan's area (a town or a district), as a query expression."""
    town = Town.objects.current().filter(code=OuterRef("area_code")).values("name")[:1]
    district = District.objects.current().filter(code=OuterRef("area_code")).values("name")[:1]
    return Coalesce(Subquery(town), Subquery(district), Value(""))


def plan_rows(user: Any) -> QuerySet[Plan]:
    """The plans a user sees, with their area name and counts, newest first (one query)."""
    assignments = PlanAssignment.objects.filter(plan=OuterRef("pk"))
    return (
        plans_visible_to(user)
        .select_related("author", "published_by")
        .annotate(
            area_name=area_name_expression(),
            village_count=_count(assignments),
            unassigned_count=_count(assignments.filter(station__isnull=True)),
            station_count=_count(PlanStation.objects.filter(plan=OuterRef("pk"), retired=False)),
        )
        .order_by("-created_at", "-id")
    )


def plan_catchments(plan: Plan) -> dict[int | None, list[str]]:
    """Plan station id -> village codes of the plan (None: unassigned villages)."""
    out: dict[int | None, list[str]] = {}
    for code, station_id in plan.assignments.values_list("village_code", "station_id"):
        out.setdefault(station_id, []).append(code)
    return out


def published_stations(area_code: str, on: dt.date | None = None) -> QuerySet[Station]:
    """The stations of an area not retired on ``on`` (today)."""
    on = on or timezone.localdate()
    return (
        Station.objects.filter(code__startswith=area_code)
        .filter(Q(retired_on__isnull=True) | Q(retired_on__gt=on))
        .order_by("code")
    )


def plan_stations(plan: Plan) -> QuerySet[PlanStation]:
    """The plan's stations that are not retired, by code."""
    return plan.stations.filter(retired=False).order_by("code")


def _count(qs: QuerySet, expr: str = "id", function: str = "COUNT") -> Subquery:
    """A scalar subquery aggregating the whole of ``qs`` (no GROUP BY)."""
    agg = qs.order_by().annotate(v=Func(F(expr), function=function)).values("v")
    return Coalesce(Subquery(agg, output_field=IntegerField()), Value(0))


def village_households(codes: Iterable[str]) -> dict[str, int]:
    """Households per current village code (one grouped query)."""
    rows = (
        Household.objects.filter(
            grid__village__code__in=list(codes), grid__generation_high__isnull=True
        )
        .values("grid__village__code")
        .annotate(n=Count("id"))
        .values_list("grid__village__code", "n")
    )
    return dict(rows)


def plan_travel(plan: Plan) -> dict[tuple[str, int], Any]:
    """Travel time from each village centre of the plan to each station of its town
    (``planning.travel``; cached in the database)."""
    from .travel import StationPoint, travel_times

    villages = list(plan.assignments.values_list("village_code", flat=True))
    stations = [
        StationPoint(key=s.pk, town_code=s.town_code, location=s.location)
        for s in plan_stations(plan)
    ]
    return travel_times(villages, stations)


Shape = tuple[dict[int | None, list[str]], set[frozenset[str]]]


def plan_shape(plan: Plan) -> Shape:
    """The plan's catchments (station id -> village codes) and the adjacency among their
    villages: what the statistics and the violations both read (compute once, pass both)."""
    catchments = plan_catchments(plan)
    return catchments, adjacency(c for k, v in catchments.items() if k is not None for c in v)


def plan_station_stats(
    plan: Plan, *, travel: bool = True, shape: Shape | None = None
) -> list[dict]:
    """Per station of the plan: villages, households, population, party members (one
    annotated query), the longest and the 95th-percentile travel time from a village centre
    of its catchment to it along roads (minutes; "estimated" when some pair has no road
    route), and whether its catchment is contiguous."""
    codes = PlanAssignment.objects.filter(plan=plan, station=OuterRef(OuterRef("pk"))).values(
        "village_code"
    )
    villages = PlanAssignment.objects.filter(plan=plan, station=OuterRef("pk"))
    households = Household.objects.filter(
        grid__village__code__in=codes, grid__generation_high__isnull=True
    )
    members = PartyMember.objects.filter(
        branch__village__code__in=codes, branch__village__generation_high__isnull=True
    )
    stations = plan_stations(plan).annotate(
        village_count=_count(villages),
        household_count=_count(households),
        population=_count(households, "size", "SUM"),
        party_member_count=_count(members),
    )
    rows = list(
        stations.values(
            "id",
            "code",
            "name",
            "town_code",
            "locked",
            "village_count",
            "household_count",
            "population",
            "party_member_count",
        )
    )
    catchments, pairs = shape or plan_shape(plan)
    times = plan_travel(plan) if travel else {}
    for row in rows:
        mine = catchments.get(row["id"], [])
        row["contiguous"] = is_contiguous(mine, pairs)
        row["pieces"] = pieces(mine, pairs)
        found = [times[(c, row["id"])] for c in mine if (c, row["id"]) in times]
        minutes = [t.seconds / 60 for t in found]
        row["longest_minutes"] = round(max(minutes), 1) if minutes else None
        # Linear interpolation between the catchment's village centres.
        row["p95_minutes"] = round(float(np.percentile(minutes, 95)), 1) if minutes else None
        row["estimated"] = any(t.method != "road" for t in found)
    return rows


def plan_violations(plan: Plan, *, shape: Shape | None = None) -> list[dict[str, str]]:
    """Every constraint the whole plan breaks now: villages without a station, stations
    outside 3-7 villages, villages of another town, catchments in pieces."""
    from django.utils.translation import gettext as _

    from . import services

    out: list[dict[str, str]] = []
    catchments, pairs = shape or plan_shape(plan)
    unassigned = sorted(catchments.get(None, []))
    for code in unassigned:
        out.append(
            {
                "kind": "unassigned",
                "station": "",
                "village": code,
                "message": _(MSG_UNASSIGNED) % {"village": code},
            }
        )
    low, high = services.MIN_VILLAGES, services.MAX_VILLAGES
    for station in plan.stations.order_by("code"):
        mine = sorted(catchments.get(station.pk, []))
        if station.retired and not mine:
            continue
        if not low <= len(mine) <= high:
            out.append(
                {
                    "kind": "size",
                    "station": station.code,
                    "village": "",
                    "message": _(MSG_SIZE)
                    % {"station": station.code, "count": len(mine), "min": low, "max": high},
                }
            )
        for code in mine:
            if code_at(Level.TOWN, code) != station.town_code:
                out.append(
                    {
                        "kind": "town",
                        "station": station.code,
                        "village": code,
                        "message": _(services.MSG_CSV_OTHER_TOWN)
                        % {"village": code, "station": station.code},
                    }
                )
        if pieces(mine, pairs) > 1:
            out.append(
                {
                    "kind": "contiguity",
                    "station": station.code,
                    "village": "",
                    "message": _(MSG_PIECES)
                    % {"station": station.code, "pieces": pieces(mine, pairs)},
                }
            )
    return out


MSG_UNASSIGNED = gettext_noop("Village %(village)s has no station.")
MSG_SIZE = gettext_noop(
    "Station %(station)s holds %(count)s villages; a station holds %(min)s to %(max)s."
)
MSG_PIECES = gettext_noop("The catchment of station %(station)s is in %(pieces)s pieces.")


def plan_diff(plan: Plan, other: Plan | None = None) -> list[dict[str, Any]]:
    """Villages whose station differs between ``plan`` and ``other`` (another plan, or the
    assignment published today when None), with names, by village code."""
    mine = dict(plan.assignments.values_list("village_code", "station__code"))
    if other is not None:
        theirs = dict(other.assignments.values_list("village_code", "station__code"))
    else:
        theirs = dict(
            CatchmentAssignment.objects.active()
            .filter(village__code__startswith=plan.area_code)
            .values_list("village__code", "station__code")
        )
    codes = sorted(c for c in set(mine) | set(theirs) if mine.get(c) != theirs.get(c))
    names = dict(Village.objects.current().filter(code__in=codes).values_list("code", "name"))
    station_names = dict(plan.stations.values_list("code", "name"))
    station_names.update(
        Station.objects.filter(code__startswith=plan.area_code).values_list("code", "name")
    )
    if other is not None:
        station_names.update(other.stations.values_list("code", "name"))
    return [
        {
            "village_code": c,
            "village_name": names.get(c, ""),
            "from_station": theirs.get(c) or "",
            "from_station_name": station_names.get(theirs.get(c) or "", ""),
            "to_station": mine.get(c) or "",
            "to_station_name": station_names.get(mine.get(c) or "", ""),
        }
        for c in codes
    ]


_T = tables(
    catchment=CatchmentAssignment, grid=Grid, household=Household, plan_assignment=PlanAssignment,
    plan_station=PlanStation, village=Village,
)  # fmt: skip

_CATCHMENTS_SQL = """
SELECT ps.code, ps.name, count(*)::int, sum(coalesce(hh.n, 0))::int,
       ST_AsGeoJSON(ST_Union(v.geom), 6)
  FROM {plan_assignment} pa
  JOIN {plan_station} ps ON ps.id = pa.station_id
  JOIN {village} v ON v.code = pa.village_code AND v.generation_high_id IS NULL
  LEFT JOIN LATERAL (SELECT count(*) AS n FROM {household} h
                       JOIN {grid} g ON g.id = h.grid_id
                      WHERE g.village_id = v.id) hh ON true
 WHERE pa.plan_id = %s
 GROUP BY ps.code, ps.name
 ORDER BY ps.code
""".format(**_T)


def plan_catchments_geojson(plan: Plan) -> dict[str, Any]:
    """The plan's catchments as GeoJSON: one feature per station, the union of its villages
    (built in PostGIS)."""
    with connection.cursor() as cur:
        cur.execute(_CATCHMENTS_SQL, [plan.pk])
        rows = cur.fetchall()
    return {
        "type": "FeatureCollection",
        "name": f"plan-{plan.pk}-catchments",
        "features": [
            {
                "type": "Feature",
                "id": code,
                "properties": {
                    "station_code": code,
                    "station_name": name,
                    "villages": villages,
                    "households": households,
                },
                "geometry": json.loads(geometry),
            }
            for code, name, villages, households, geometry in rows
        ],
    }


def plan_villages_geojson(plan: Plan) -> dict[str, Any]:
    """The plan's villages (current polygons) with their station in the plan."""
    station = PlanAssignment.objects.filter(plan=plan, village_code=OuterRef("code"))
    households = Household.objects.filter(
        grid__village=OuterRef("pk"), grid__generation_high__isnull=True
    )
    qs = Village.objects.current().filter(code__startswith=plan.area_code)
    return feature_collection(
        qs,
        geom="geom",
        fid=F("code"),
        properties={
            "code": F("code"),
            "name": F("name"),
            "station": Subquery(station.values("station__code")[:1]),
            "households": _count(households),
        },
        order_by=("code",),
    )


def close_catchments(area_code: str, day: dt.date) -> int:
    """End, the day before ``day``, every catchment assignment of the area's villages that
    is active on ``day`` (a new version starts then). Returns how many."""
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE {catchment} ca
               SET period = daterange(lower(ca.period), %(day)s::date, '[)')
              FROM {village} v
             WHERE v.id = ca.village_id AND v.code LIKE %(prefix)s
               AND ca.period @> %(day)s::date AND lower(ca.period) < %(day)s::date
            """.format(**_T),
            {"day": day, "prefix": area_code + "%"},
        )
        return cur.rowcount


def plan_problem(plan: Plan) -> Any:
    """The plan as a ``planning.solver.Problem``: its villages, households, stations (keyed
    by plan station id), travel times, adjacency, its assignment and the published one."""
    from . import solver

    assignments = dict(plan.assignments.values_list("village_code", "station_id"))
    stations = list(plan_stations(plan))
    by_published = {s.station_id: s.pk for s in stations if s.station_id}
    published = {
        code: by_published.get(station_id)
        for code, station_id in CatchmentAssignment.objects.active()
        .filter(village__code__startswith=plan.area_code)
        .values_list("village__code", "station_id")
    }
    live = {s.pk for s in stations}
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT DISTINCT ON (ps.id) ps.id, v.code
              FROM {plan_station} ps
              JOIN {village} v
                ON v.generation_high_id IS NULL AND ST_Covers(v.geom, ps.location)
             WHERE ps.plan_id = %s
             ORDER BY ps.id, v.code
            """.format(**_T),
            [plan.pk],
        )
        home = dict(cur.fetchall())
    return solver.Problem(
        villages=sorted(assignments),
        households=village_households(assignments),
        stations=[
            solver.StationSpec(
                key=s.pk, town_code=s.town_code, locked=s.locked, home_village=home.get(s.pk)
            )
            for s in stations
        ],
        seconds={k: t.seconds for k, t in plan_travel(plan).items()},
        adjacency=adjacency(assignments),
        current={c: (k if k in live else None) for c, k in assignments.items()},
        published={c: published.get(c) for c in assignments},
        min_villages=MIN_VILLAGES,
        max_villages=MAX_VILLAGES,
    )
