"""Case KPIs (dashboards and ``GET /api/kpis/``): one SQL aggregate per request.

The unit
--------
A unit is a place or a person. Its cases are those reported in ``[start, end)`` (dates at
local midnight, ``settings.TIME_ZONE``) whose ``place_code`` lies in the unit:

- grid, village, town, district, city: ``place_code LIKE '<code>%'`` (codes nest; a city
  ``450700`` stands for its districts ``4507...``);
- station: the villages of its *current* catchment (each ``place_code LIKE '<village>%'``);
- person (code = the worker's id): the cases routed to that worker
  (``IncidentRecipient`` of kind ``routed``), limited to the caller's jurisdiction.

The figures
-----------
They are read from the case fields that ``incidents.workflow`` keeps in step with the
history (``CaseEvent``), in the same transaction as each event: ``acknowledged_at`` = the
first ``acknowledge`` event, ``resolved_at`` = the last ``resolve`` event, ``closed_at`` =
the ``close_out`` event (cleared by a later ``reopen``), ``closed_on_time`` = ``resolved_at``
not after the ``resolve_due_at`` in force at close-out, ``extension_count`` =
``grant_extension`` events, ``rework_count`` = ``reopen`` events, ``satisfaction`` = the
rating of the latest ``callback``.

- ``received``: cases reported in the period;
- ``closed``: of those, closed out (``closed_at`` set); ``closure_rate`` 结案率 = closed /
  received;
- ``closed_on_time``: closed cases with ``closed_on_time``; ``on_time_closure_rate`` 按期结案率
  = closed_on_time / closed;
- ``reworked``: cases with ``rework_count > 0``; ``rework_rate`` 返工率 = reworked / received;
- ``extended``: cases with ``extension_count > 0``; ``extension_rate`` 延期率 = extended /
  received;
- ``acknowledged``: cases with ``acknowledged_at``; ``mean_hours_to_acknowledge`` = mean of
  (acknowledged_at − reported_at) over them, in hours;
- ``resolved``: cases with ``resolved_at``; ``mean_hours_to_resolve`` = mean of
  (resolved_at − reported_at) over them, in hours;
- ``rated``: cases with a ``satisfaction`` rating; ``mean_satisfaction`` = mean rating (1–5)
  over them; ``satisfied``: rated 4 or 5; ``satisfied_share`` = satisfied / rated.

A rate or mean whose denominator is 0 is ``None`` (shown as "–"), never 0.

Breakdown and ranking
---------------------
With a breakdown the same figures are given per child unit (city → districts, district →
towns, town → villages or stations, station → villages, village → grids), and per week
(Monday, local time) of the reported time: received and, of those, closed ("closed" of a
week is a cohort figure, so the weeks add up to the period's figures). A child with fewer
than ``settings.GRIDMAP_KPI_MIN_CASES`` received cases is ``rankable: False``: it is listed,
but given no rank, because a rate over a handful of cases says nothing about the unit.
Ranks are competition ranks ("1, 2, 2, 4") over the rankable children, for each rate.

The statement
-------------
One ``SELECT`` over ``incidents_incident`` (for a breakdown, ``GROUP BY`` child and week,
added up in Python: every figure is a count or an exact sum), filtered by
``place_code LIKE 'prefix%'`` written as the range ``place_code ~>=~ 'prefix' AND
place_code ~<~ 'prefiy'`` and by ``reported_at >= start AND reported_at < end``; means as
exact sums divided in Python.
Migration 0005 adds ``incident_kpi``: ``(place_code varchar_pattern_ops, reported_at)
INCLUDE (the KPI columns)``, so the prefix becomes an index range (the database collation
is not ``C``, so the plain ``incident_place_time`` index cannot serve ``LIKE``) and the
aggregate is an index-only scan that never reads the wide incident rows (the statement runs
with ``SET LOCAL random_page_cost = 1.1`` so that this holds for a whole city too; see
``run_kpi_sql``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import LEVEL_CODE_REGEX
from accounts.selectors import jurisdiction_prefixes
from gridmap.codes import covers
from gridmap.sql import PARALLEL_AGAIN, period_bounds, prefix_range
from gridmap.sql import table as sql_table
from grids.models import CatchmentAssignment, City, District, Grid, Station, Town, Village
from grids.selectors import workers_within
from incidents.models import Incident, IncidentRecipient, RecipientKind

User = AbstractBaseUser | AnonymousUser

LEVELS = ["grid", "village", "station", "town", "district", "city", "person"]
LEVEL_LABELS = {
    "grid": gettext_lazy("grid"),
    "village": gettext_lazy("village"),
    "station": gettext_lazy("station"),
    "town": gettext_lazy("town"),
    "district": gettext_lazy("district"),
    "city": gettext_lazy("city"),
    "person": gettext_lazy("person"),
}
# The child levels a breakdown may use; the first is the default.
CHILD_LEVELS: dict[str, list[str]] = {
    "city": ["district"],
    "district": ["town"],
    "town": ["village", "station"],
    "station": ["village"],
    "village": ["grid"],
    "grid": [],
    "person": [],
}
CODE_REGEX = {**LEVEL_CODE_REGEX, "person": r"^\d{1,12}$"}
MAX_DAYS = 3 * 366

# --- messages (tests reuse them) -----------------------------------------------------------
MSG_UNKNOWN_LEVEL = gettext_noop("Unknown level %(level)s; choose one of: %(levels)s.")
MSG_BAD_CODE = gettext_noop("%(code)s is not a valid %(level)s code.")
MSG_NOT_FOUND = gettext_noop("There is no %(level)s %(code)s in your jurisdiction.")
MSG_BAD_DATE = gettext_noop("%(value)s is not a date; write it as YYYY-MM-DD.")
MSG_DATE_ORDER = gettext_noop("The period must end after it starts (to is excluded).")
MSG_PERIOD_TOO_LONG = gettext_noop("The period may be at most %(days)s days long.")
MSG_NO_BREAKDOWN = gettext_noop("A %(level)s has no smaller units to break down into.")
MSG_BAD_BREAKDOWN = gettext_noop("A %(level)s breaks down into: %(levels)s.")


class KpiError(Exception):
    """Bad input to the KPI selectors: ``field`` names the parameter, ``message`` says why
    (already translated), ``not_found`` tells a 404 from a 400."""

    def __init__(self, field: str, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.not_found = not_found


@dataclass(frozen=True)
class Unit:
    """A place or person whose cases are counted: ``prefixes`` are place-code prefixes
    (any of them); ``worker_id`` restricts to cases routed to that worker."""

    level: str
    code: str
    name: str
    prefixes: tuple[str, ...]
    worker_id: int | None = None


@dataclass
class Figures:
    received: int = 0
    closed: int = 0
    closed_on_time: int = 0
    reworked: int = 0
    extended: int = 0
    acknowledged: int = 0
    mean_hours_to_acknowledge: float | None = None
    resolved: int = 0
    mean_hours_to_resolve: float | None = None
    rated: int = 0
    mean_satisfaction: float | None = None
    satisfied: int = 0

    @property
    def closure_rate(self) -> float | None:
        return _ratio(self.closed, self.received)

    @property
    def on_time_closure_rate(self) -> float | None:
        return _ratio(self.closed_on_time, self.closed)

    @property
    def rework_rate(self) -> float | None:
        return _ratio(self.reworked, self.received)

    @property
    def extension_rate(self) -> float | None:
        return _ratio(self.extended, self.received)

    @property
    def satisfied_share(self) -> float | None:
        return _ratio(self.satisfied, self.rated)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "closed": self.closed,
            "closure_rate": self.closure_rate,
            "closed_on_time": self.closed_on_time,
            "on_time_closure_rate": self.on_time_closure_rate,
            "reworked": self.reworked,
            "rework_rate": self.rework_rate,
            "extended": self.extended,
            "extension_rate": self.extension_rate,
            "acknowledged": self.acknowledged,
            "mean_hours_to_acknowledge": self.mean_hours_to_acknowledge,
            "resolved": self.resolved,
            "mean_hours_to_resolve": self.mean_hours_to_resolve,
            "rated": self.rated,
            "mean_satisfaction": self.mean_satisfaction,
            "satisfied": self.satisfied,
            "satisfied_share": self.satisfied_share,
        }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# The rates children are ranked by, and whether more is better.
RANKED: dict[str, bool] = {
    "closure_rate": True,
    "on_time_closure_rate": True,
    "rework_rate": False,
    "extension_rate": False,
    "mean_hours_to_acknowledge": False,
    "mean_hours_to_resolve": False,
    "mean_satisfaction": True,
}


@dataclass
class Child:
    unit: Unit
    figures: Figures
    rankable: bool
    ranks: dict[str, int | None] | None = None


@dataclass
class Week:
    monday: dt.date
    received: int
    closed: int


@dataclass
class KpiResult:
    unit: Unit
    start: dt.date
    end: dt.date
    figures: Figures
    min_cases: int
    child_level: str | None = None
    children: list[Child] = field(default_factory=list)
    weeks: list[Week] | None = None

    @property
    def rankable(self) -> bool:
        return self.figures.received >= self.min_cases

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.unit.level,
            "code": self.unit.code,
            "name": self.unit.name,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "min_cases": self.min_cases,
            "rankable": self.rankable,
            "figures": self.figures.as_dict(),
        }
        if self.child_level is not None:
            out["child_level"] = self.child_level
            out["children"] = [
                {
                    "level": c.unit.level,
                    "code": c.unit.code,
                    "name": c.unit.name,
                    "rankable": c.rankable,
                    "ranks": c.ranks,
                    "figures": c.figures.as_dict(),
                }
                for c in self.children
            ]
        if self.weeks is not None:
            out["weeks"] = [
                {"week": w.monday.isoformat(), "received": w.received, "closed": w.closed}
                for w in self.weeks
            ]
        return out


# --- input ----------------------------------------------------------------------------------
def parse_period(raw_from: str | None, raw_to: str | None) -> tuple[dt.date, dt.date]:
    """``from`` and ``to`` (excluded) as dates; defaults: the 13 weeks up to today."""
    today = timezone.localdate()
    end = _parse_date("to", raw_to) if raw_to else today + dt.timedelta(days=1)
    start = _parse_date("from", raw_from) if raw_from else end - dt.timedelta(weeks=13)
    if start >= end:
        raise KpiError("to", _(MSG_DATE_ORDER))
    if (end - start).days > MAX_DAYS:
        raise KpiError("from", _(MSG_PERIOD_TOO_LONG) % {"days": MAX_DAYS})
    return start, end


def _parse_date(name: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise KpiError(name, _(MSG_BAD_DATE) % {"value": raw[:40]}) from None


def _inside(prefixes: Sequence[str], allowed: list[str] | None) -> bool:
    if allowed is None:
        return True
    return bool(prefixes) and all(covers(allowed, p) for p in prefixes)


def unit_resolve(*, level: str, code: str, user: User) -> Unit:
    """The unit named by ``level`` and ``code`` if it lies in ``user``'s jurisdiction."""
    if level not in LEVELS:
        raise KpiError(
            "level", _(MSG_UNKNOWN_LEVEL) % {"level": level[:20], "levels": ", ".join(LEVELS)}
        )
    if not re.match(CODE_REGEX[level], code or ""):
        raise KpiError("code", _(MSG_BAD_CODE) % {"code": code[:20], "level": LEVEL_LABELS[level]})
    allowed = jurisdiction_prefixes(user)
    not_found = KpiError(
        "code", _(MSG_NOT_FOUND) % {"level": LEVEL_LABELS[level], "code": code}, not_found=True
    )
    unit: Unit | None = None
    if level == "person":
        # A person is found only inside the caller's jurisdiction (by their roles,
        # grids.selectors.workers_within): one outside is "not found", like one that does
        # not exist, so the answer tells nothing about them, not even their name.
        worker = workers_within(allowed).filter(pk=int(code)).only("name").first()
        if worker is not None and allowed != []:
            # Figures are limited to the caller's jurisdiction (see kpis()).
            unit = Unit("person", code, worker.name, tuple(allowed or ("",)), worker.pk)
    elif level == "station":
        name = Station.objects.filter(code=code).values_list("name", flat=True).first()
        if name is not None:
            unit = Unit("station", code, name, tuple(station_villages(code)))
    else:
        model = {"grid": Grid, "village": Village, "town": Town, "district": District}.get(level)
        row = (
            (model or City).objects.current().filter(code=code).values_list("name", flat=True)
        ).first()
        if row is not None:
            prefix = code[:4] if level == "city" else code
            unit = Unit(level, code, row, (prefix,))
    if unit is None or (
        # A station without villages is judged by its town.
        level != "person" and not _inside(unit.prefixes or (code[:9],), allowed)
    ):
        raise not_found
    return unit


def station_villages(station_code: str, on: dt.date | None = None) -> list[str]:
    """Codes of the villages in a station's catchment on ``on`` (today)."""
    return list(
        CatchmentAssignment.objects.active(on)
        .filter(station__code=station_code)
        .order_by("village__code")
        .values_list("village__code", flat=True)
    )


def child_units(unit: Unit, child_level: str) -> list[Unit]:
    """The current child units of ``unit`` at ``child_level``, in code order."""
    if child_level == "station":
        rows = (
            CatchmentAssignment.objects.active()
            .filter(station__town__code=unit.code)
            .order_by("station__code", "village__code")
            .values_list("station__code", "station__name", "village__code")
        )
        stations: dict[str, tuple[str, list[str]]] = {}
        for s_code, s_name, v_code in rows:
            stations.setdefault(s_code, (s_name, []))[1].append(v_code)
        return [Unit("station", c, n, tuple(v)) for c, (n, v) in stations.items()]
    model = {"grid": Grid, "village": Village, "town": Town, "district": District}[child_level]
    qs = model.objects.current()
    if len(unit.prefixes) == 1:
        qs = qs.filter(code__startswith=unit.prefixes[0])
    else:
        qs = qs.filter(code__in=list(unit.prefixes)) if child_level == "village" else qs.none()
    return [
        Unit(child_level, c, n, (c,)) for c, n in qs.order_by("code").values_list("code", "name")
    ]


# --- the statement --------------------------------------------------------------------------
# Means are returned as exact sums (interval sums in microseconds, rating sums) and divided
# by their counts in Python: cheaper per row than avg(date_part(...)) and exact.
AGGREGATES = """
  count(*) AS received,
  count(i.closed_at) AS closed,
  count(*) FILTER (WHERE i.closed_at IS NOT NULL AND i.closed_on_time) AS closed_on_time,
  count(*) FILTER (WHERE i.rework_count > 0) AS reworked,
  count(*) FILTER (WHERE i.extension_count > 0) AS extended,
  count(i.acknowledged_at) AS acknowledged,
  extract(epoch FROM sum(i.acknowledged_at - i.reported_at)) AS seconds_to_acknowledge,
  count(i.resolved_at) AS resolved,
  extract(epoch FROM sum(i.resolved_at - i.reported_at)) AS seconds_to_resolve,
  count(i.satisfaction) AS rated,
  sum(i.satisfaction) AS rating_sum,
  count(*) FILTER (WHERE i.satisfaction >= 4) AS satisfied"""


def kpi_where(unit: Unit, params: dict[str, Any]) -> str:
    """The WHERE clause selecting ``unit``'s cases in ``[%(start)s, %(end)s)`` (adds its
    parameters to ``params``).

    A prefix is written as the range ``place_code ~>=~ lo AND place_code ~<~ hi``: exactly
    ``LIKE 'prefix%'`` for these ASCII codes, and exactly the index condition the
    ``varchar_pattern_ops`` index ``incident_kpi`` takes, so no row is re-checked against a
    pattern (PostgreSQL turns a LIKE into this range plus a per-row LIKE filter)."""
    ranges = []
    for n, prefix in enumerate(unit.prefixes):
        if not prefix:
            ranges = ["TRUE"]
            break
        params[f"lo{n}"], params[f"hi{n}"] = prefix_range(prefix)
        ranges.append(f"i.place_code ~>=~ %(lo{n})s AND i.place_code ~<~ %(hi{n})s")
    if not ranges:
        ranges = ["FALSE"]
    where = f"({' OR '.join(ranges)}) AND i.reported_at >= %(start)s AND i.reported_at < %(end)s"
    if unit.worker_id is not None:
        params["worker"] = unit.worker_id
        params["routed"] = RecipientKind.ROUTED.value
        where += (
            f" AND EXISTS (SELECT 1 FROM {sql_table(IncidentRecipient)} r"
            " WHERE r.incident_id = i.id AND r.worker_id = %(worker)s AND r.kind = %(routed)s)"
        )
    return where


def kpi_sql(
    unit: Unit, start: dt.date, end: dt.date, *, children: list[Unit] | None, weekly: bool
) -> tuple[str, dict[str, Any]]:
    """The one statement for ``unit``: one row of sums, or, with children or weeks, one row
    per (child, week) that ``kpis`` adds up into the total, each child and each week.

    Columns: child (code or NULL), week (index into ``_mondays(start, end)``), then the sums
    in ``_figures`` order. A plain ``GROUP BY`` (rather than ``GROUPING SETS``, which
    PostgreSQL cannot aggregate in parallel and which sorts or hashes the rows once per set)
    keeps a whole city's breakdown at the cost of one hash aggregate; every figure is a count
    or an exact sum, so the roll-up in Python is exact."""
    lo, hi = period_bounds(start, end)
    params: dict[str, Any] = {"start": lo, "end": hi}
    where = kpi_where(unit, params)
    table = sql_table(Incident)
    if not children and not weekly:
        return f"SELECT NULL, 0,{AGGREGATES}\nFROM {table} i\nWHERE {where}", params
    child_expr, join = "NULL::text", ""
    if children:
        if all(c.prefixes == (c.code,) for c in children):
            (length,) = {len(c.code) for c in children}
            child_expr = f"left(i.place_code, {int(length)})"
        else:
            # Stations: each village of the catchments mapped to its station.
            params["m_village"] = [p for c in children for p in c.prefixes]
            params["m_child"] = [c.code for c in children for _ in c.prefixes]
            join = (
                " LEFT JOIN unnest(%(m_village)s::text[], %(m_child)s::text[])"
                " AS m(village, child) ON m.village = left(i.place_code, 12)"
            )
            child_expr = "m.child"
    week_expr = "0"
    if weekly:
        # The week by binary search over its Mondays (local midnight): cheaper per row than
        # date_trunc in a time zone, and exact at the edges.
        mondays = _mondays(start, end)[1:]
        if mondays:
            params["mondays"] = [period_bounds(m, m)[0] for m in mondays]
            week_expr = "width_bucket(i.reported_at, %(mondays)s::timestamptz[])"
    sql = (
        f"SELECT {child_expr}, {week_expr},{AGGREGATES}\n"
        f"FROM {table} i{join}\nWHERE {where}\nGROUP BY 1, 2"
    )
    return sql, params


# PostgreSQL's default random_page_cost (4) prices index pages as if read from a spinning
# disk, so for a whole city, where every row matches, it reads the wide incident table
# (28 columns, geometry, text and JSON before the KPI columns) rather than the narrow covering
# index: about 1.5 times slower on the city demo (EXPLAIN ANALYZE, see bench ``kpi``). The
# index is small and hot; for this statement the planner is told so. (1.1 is the usual value
# for SSD or cached data; a server already configured like that is unaffected.)
KPI_RANDOM_PAGE_COST = "1.1"


def kpi_planner(cur: Any, cost: str | None = KPI_RANDOM_PAGE_COST) -> None:
    """The planner settings of a KPI statement, for its transaction alone (SET LOCAL): the
    index costs above (``cost``; None leaves the default), and parallel workers again (a
    Django connection has none: ``gridmap.sql.session_settings``), for the aggregate over a
    whole city is a parallel index-only scan."""
    setting = f"SET LOCAL random_page_cost = {cost}; " if cost else ""
    cur.execute(setting + PARALLEL_AGAIN)


def run_kpi_sql(sql: str, params: dict[str, Any]) -> list[tuple]:
    """Run a KPI statement, with the planner settings above for it alone (SET LOCAL)."""
    with transaction.atomic(), connection.cursor() as cur:
        kpi_planner(cur)
        cur.execute(sql, params)
        return cur.fetchall()


def _mean(total: Any, count: int, unit: float = 1.0) -> float | None:
    return float(Decimal(total) / count / Decimal(unit)) if count else None


Sums = tuple  # the 12 aggregate columns of a row, in AGGREGATES order
ZERO: Sums = (0,) * 12


def _add(a: Sums, b: Sequence[Any]) -> Sums:
    return tuple(x + (y or 0) for x, y in zip(a, b, strict=True))


def _figures(row: Sequence[Any]) -> Figures:
    (rec, closed, on_time, rework, ext, ack, s_ack, res, s_res, rated, r_sum, satisfied) = row
    return Figures(
        received=rec,
        closed=closed,
        closed_on_time=on_time,
        reworked=rework,
        extended=ext,
        acknowledged=ack,
        mean_hours_to_acknowledge=_mean(s_ack, ack, 3600),
        resolved=res,
        mean_hours_to_resolve=_mean(s_res, res, 3600),
        rated=rated,
        mean_satisfaction=_mean(r_sum, rated),
        satisfied=satisfied,
    )


def default_child_level(level: str) -> str | None:
    options = CHILD_LEVELS[level]
    return options[0] if options else None


def check_child_level(level: str, child_level: str) -> str:
    options = CHILD_LEVELS[level]
    if not options:
        raise KpiError("breakdown", _(MSG_NO_BREAKDOWN) % {"level": LEVEL_LABELS[level]})
    if child_level not in options:
        raise KpiError(
            "breakdown",
            _(MSG_BAD_BREAKDOWN) % {"level": LEVEL_LABELS[level], "levels": ", ".join(options)},
        )
    return child_level


def kpis(
    *,
    unit: Unit,
    start: dt.date,
    end: dt.date,
    child_level: str | None = None,
    weekly: bool = False,
) -> KpiResult:
    """The figures of ``unit`` for ``[start, end)``; per child unit at ``child_level`` and
    per week when asked. One aggregate statement (plus the list of child units)."""
    children = child_units(unit, child_level) if child_level else None
    sql, params = kpi_sql(unit, start, end, children=children, weekly=weekly)
    rows = run_kpi_sql(sql, params)
    min_cases = settings.GRIDMAP_KPI_MIN_CASES
    total: Sums = ZERO
    by_child: dict[str, Sums] = {}
    by_week: dict[int, Sums] = {}
    for child, week, *values in rows:
        total = _add(total, values)
        if child is not None:
            by_child[child] = _add(by_child.get(child, ZERO), values)
        by_week[week] = _add(by_week.get(week, ZERO), values)
    result = KpiResult(
        unit=unit, start=start, end=end, figures=_figures(total), min_cases=min_cases
    )
    if children is not None:
        result.child_level = child_level
        for c in children:
            figures = _figures(by_child.get(c.code, ZERO))
            result.children.append(Child(c, figures, figures.received >= min_cases))
        _rank(result.children)
    if weekly:
        result.weeks = []
        for n, monday in enumerate(_mondays(start, end)):
            figures = _figures(by_week.get(n, ZERO))
            result.weeks.append(Week(monday, figures.received, figures.closed))
    return result


def _mondays(start: dt.date, end: dt.date) -> list[dt.date]:
    monday = start - dt.timedelta(days=start.weekday())
    out = []
    while monday < end:
        out.append(monday)
        monday += dt.timedelta(weeks=1)
    return out


def _rank(children: list[Child]) -> None:
    """Competition ranks per rate over the rankable children; None for the others."""
    rankable = [c for c in children if c.rankable]
    for c in rankable:
        c.ranks = {}
    for key, higher_is_better in RANKED.items():
        values = [
            (getattr(c.figures, key), c) for c in rankable if getattr(c.figures, key) is not None
        ]
        ordered = sorted((v for v, _ in values), reverse=higher_is_better)
        for value, child in values:
            child.ranks[key] = ordered.index(value) + 1  # type: ignore[index]
        for c in rankable:
            c.ranks.setdefault(key, None)  # type: ignore[union-attr]
