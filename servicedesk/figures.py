"""Completion figures of service requests (代办): 办结率, on-time rate, mean days, ratings.

The unit
--------
``level`` and ``code`` name the requests counted, those **received** (``reported_at``) in
``[start, end)`` (dates at local midnight, ``settings.TIME_ZONE``, as the case KPIs of
``reports.kpis``):

- grid, village, town, district (or county, ``gridmap.codes.Level``'s name for it):
  ``place_code`` starts with the code (a request's place is its household's grid, else its
  village); city: the city's first four digits;
- station: the requests recorded with that station (``ServiceRequest.station``: the station
  whose catchment held the village when the request was taken);
- person (code = a worker's id): the requests that worker first received (首问负责人,
  ``ServiceRequest.first_receiver``).

With ``user``, only the requests in that user's jurisdiction (``place_code`` under one of
``accounts.selectors.jurisdiction_prefixes``) are counted.

The figures (exact definitions)
-------------------------------
Read from the request's fields that the case engine keeps in step with its history
(``ServiceRequestEvent``) in the same transaction as each event: ``status`` = the last
event's ``to_status``, ``reported_at`` = the ``report`` event's time, ``resolved_at`` = the
last ``resolve`` event's time, ``resolve_due_at`` = the promise (the ``report`` event's
``resolve_due_at``, replaced by each ``grant_extension``'s), ``satisfaction`` = the
``callback``'s rating.

- ``received``: requests received in the period;
- ``withdrawn`` (撤回): of those, now withdrawn (``cancelled``);
- ``declined`` (退回, not eligible): now returned (``declined``);
- ``completed`` (办结): now done or delivered (``resolved`` or ``closed``);
- ``completion_rate`` 办结率 = completed / (received − withdrawn): a withdrawn request is the
  resident's choice and counts neither way; a declined one counts as not completed;
- ``on_time`` (按时办结): completed requests with ``resolved_at <= resolve_due_at`` (the
  promise, extensions included; an escalation keeps it); ``on_time_rate`` = on_time /
  completed;
- ``mean_days``: the mean of (resolved_at − reported_at) in calendar days (24 hours, with
  fractions) over the completed requests;
- ``rated``: requests with a rating (1–5); ``mean_rating`` = mean rating over them.

A rate or mean whose denominator is 0 is ``None`` (shown as "–"), never 0. ``rankable``:
``received >= settings.GRIDMAP_KPI_MIN_CASES``, as for the case KPIs: a rate over a handful
of requests says nothing about the unit, so it gets no rank.

The statement
-------------
Each function runs ONE ``SELECT`` over ``servicedesk_servicerequest``: ``service_figures``
one row of sums; ``service_breakdown`` one row per item, village, station, town or first
receiver (``GROUP BY`` the foreign key, its name by a ``LEFT JOIN``). Prefixes are written as
the range ``place_code ~>=~ lo AND place_code ~<~ hi`` (``gridmap.sql.prefix_range``); means
are exact sums divided in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection

from accounts.selectors import jurisdiction_prefixes
from cases.models import Status
from gridmap.sql import period_bounds, prefix_range, table
from grids.models import Station, Town, Village, Worker

from .models import ServiceItem, ServiceRequest

LEVELS = ("grid", "village", "station", "town", "district", "county", "city", "person")
BY = ("item", "village", "station", "town", "assistant")
COMPLETED = (Status.RESOLVED.value, Status.CLOSED.value)
SECONDS_PER_DAY = 86400

# What a breakdown groups by: the request's column and the table that names it.
BY_COLUMN: dict[str, tuple[str, Any, str]] = {
    "item": ("item_id", ServiceItem, "name"),
    "village": ("village_id", Village, "name"),
    "station": ("station_id", Station, "name"),
    "town": ("town_id", Town, "name"),
    "assistant": ("first_receiver_id", Worker, "name"),
}
# The rates rows are ranked by, and whether more is better.
RANKED: dict[str, bool] = {
    "completion_rate": True,
    "on_time_rate": True,
    "mean_days": False,
    "mean_rating": True,
}

AGGREGATES = """
  count(*) AS received,
  count(*) FILTER (WHERE r.status = %(cancelled)s) AS withdrawn,
  count(*) FILTER (WHERE r.status = %(declined)s) AS declined,
  count(*) FILTER (WHERE r.status = ANY(%(completed)s)) AS completed,
  count(*) FILTER (WHERE r.status = ANY(%(completed)s)
                     AND r.resolved_at <= r.resolve_due_at) AS on_time,
  extract(epoch FROM sum(r.resolved_at - r.reported_at)
                     FILTER (WHERE r.status = ANY(%(completed)s))) AS seconds_to_complete,
  count(r.satisfaction) AS rated,
  sum(r.satisfaction) AS rating_sum"""


@dataclass
class ServiceFigures:
    """The figures of one unit (see the module docstring)."""

    received: int = 0
    withdrawn: int = 0
    declined: int = 0
    completed: int = 0
    on_time: int = 0
    mean_days: float | None = None
    rated: int = 0
    mean_rating: float | None = None
    min_cases: int = field(default_factory=lambda: settings.GRIDMAP_KPI_MIN_CASES)

    @property
    def completion_rate(self) -> float | None:
        """办结率: completed / (received − withdrawn)."""
        return _ratio(self.completed, self.received - self.withdrawn)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.on_time, self.completed)

    @property
    def rankable(self) -> bool:
        return self.received >= self.min_cases

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "withdrawn": self.withdrawn,
            "declined": self.declined,
            "completed": self.completed,
            "completion_rate": self.completion_rate,
            "on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "mean_days": self.mean_days,
            "rated": self.rated,
            "mean_rating": self.mean_rating,
            "rankable": self.rankable,
        }


@dataclass
class ServiceRow(ServiceFigures):
    """One item, village, station, town or first receiver of a breakdown: ``pk`` its id,
    ``key`` the item's code, the place's code or the worker's id (None and "" for requests
    without one: no station, no first receiver), ``ranks`` competition ranks per rate among
    the rankable rows (None for a row that is not rankable)."""

    by: str = ""
    pk: int | None = None
    key: str = ""
    name: str = ""
    ranks: dict[str, int | None] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"by": self.by, "pk": self.pk, "key": self.key, "name": self.name,
                "ranks": self.ranks, **super().as_dict()}  # fmt: skip


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def _mean(total: Any, count: int, unit: float = 1.0) -> float | None:
    return float(Decimal(total) / count / Decimal(unit)) if count and total is not None else None


def _sums(row: Sequence[Any]) -> dict[str, Any]:
    received, withdrawn, declined, completed, on_time, seconds, rated, rating_sum = row
    return {
        "received": received,
        "withdrawn": withdrawn,
        "declined": declined,
        "completed": completed,
        "on_time": on_time,
        "mean_days": _mean(seconds, completed, SECONDS_PER_DAY),
        "rated": rated,
        "mean_rating": _mean(rating_sum, rated),
    }


def unit_where(
    *, level: str, code: str, start: dt.date, end: dt.date, user: Any = None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (over ``r``, the request table) of ``level`` ``code``'s requests
    received in ``[start, end)``, and its parameters. ValueError for an unknown level."""
    if level not in LEVELS:
        raise ValueError(f"Unknown level {level!r}: one of {', '.join(LEVELS)}.")
    lo, hi = period_bounds(start, end)
    params: dict[str, Any] = {
        "start": lo,
        "end": hi,
        "cancelled": Status.CANCELLED.value,
        "declined": Status.DECLINED.value,
        "completed": list(COMPLETED),
    }
    where = ["r.reported_at >= %(start)s", "r.reported_at < %(end)s"]
    if level == "person":
        params["worker"] = int(code) if str(code).isdigit() else -1
        where.append("r.first_receiver_id = %(worker)s")
    elif level == "station":
        params["station"] = code
        where.append(
            f"r.station_id IN (SELECT s.id FROM {table(Station)} s WHERE s.code = %(station)s)"
        )
    else:
        prefix = code[:4] if level == "city" else code
        if not prefix:
            where.append("FALSE")
        else:
            params["lo"], params["hi"] = prefix_range(prefix)
            where.append("r.place_code ~>=~ %(lo)s AND r.place_code ~<~ %(hi)s")
    if user is not None:
        allowed = jurisdiction_prefixes(user)
        if allowed is not None:
            params["allowed"] = [p + "%" for p in allowed]
            where.append("r.place_code LIKE ANY(%(allowed)s)")
    return " AND ".join(where), params


def service_figures(
    *, level: str, code: str, start: dt.date, end: dt.date, user: Any = None
) -> ServiceFigures:
    """The figures of the requests of ``level`` ``code`` received in ``[start, end)`` (see
    the module docstring); with ``user``, of those in the user's jurisdiction. One
    statement."""
    where, params = unit_where(level=level, code=code, start=start, end=end, user=user)
    sql = f"SELECT {AGGREGATES}\nFROM {table(ServiceRequest)} r\nWHERE {where}"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return ServiceFigures(**_sums(row))


def service_breakdown(
    *, by: str, level: str, code: str, start: dt.date, end: dt.date, user: Any = None
) -> list[ServiceRow]:
    """The figures of ``level`` ``code``'s requests received in ``[start, end)`` per ``by``
    (item, village, station, town or assistant: the first receiver), the rankable rows first
    by completion rate (then by key), each with its ranks. One statement."""
    if by not in BY_COLUMN:
        raise ValueError(f"Unknown breakdown {by!r}: one of {', '.join(BY)}.")
    column, model, name_field = BY_COLUMN[by]
    key_sql = "n.code" if by != "assistant" else "n.id::text"
    where, params = unit_where(level=level, code=code, start=start, end=end, user=user)
    sql = (
        f"SELECT r.{column}, coalesce({key_sql}, ''), coalesce(n.{name_field}, ''),"
        f"{AGGREGATES}\n"
        f"FROM {table(ServiceRequest)} r LEFT JOIN {table(model)} n ON n.id = r.{column}\n"
        f"WHERE {where}\nGROUP BY 1, 2, 3"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = [
            ServiceRow(by=by, pk=pk, key=key, name=name, **_sums(sums))
            for pk, key, name, *sums in cur
        ]
    rank_rows(rows)
    return sorted(rows, key=lambda r: (not r.rankable, -(r.completion_rate or 0), r.key))


def rank_rows(rows: list[ServiceRow]) -> None:
    """Competition ranks ("1, 2, 2, 4") per rate of ``RANKED`` over the rankable rows; the
    others get None."""
    rankable = [r for r in rows if r.rankable]
    for row in rankable:
        row.ranks = {}
    for key, higher_is_better in RANKED.items():
        values = sorted(
            (v for r in rankable if (v := getattr(r, key)) is not None), reverse=higher_is_better
        )
        for row in rankable:
            value = getattr(row, key)
            row.ranks[key] = values.index(value) + 1 if value is not None else None  # type: ignore[index]
