"""Routing an incident: who is responsible for it, by the rules of ``households.routing``.

``route()`` answers, for an incident at a point and a reported time, which grid, village and
town it belongs to, who receives it and why; the caller records the answer
(``incidents.services``) and nothing ever recomputes it. The rules, the statement and the
explanation are the routing engine's (``households.routing``, shared with the ten-household
units); an incident adds its tier, the ``CategoryResponder`` rows of its category and
severity, read inside the same one statement (``ROUTING_SQL``): it sits on the hot path of
incident creation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from django.contrib.gis.geos import Point

from gridmap.sql import table
from households import routing as engine

# The engine's names an incident's callers know from here (the API and the case pages render
# the explanation; the services catch OutsideEveryDistrict; the tests read the msgids).
from households.routing import (  # noqa: F401
    EXPLAIN_CENTRAL_NO_WORKER,
    EXPLAIN_CENTRAL_NONE,
    EXPLAIN_IN_DISTRICT_NO_TOWN,
    EXPLAIN_IN_GRID,
    EXPLAIN_IN_TOWN_NO_VILLAGE,
    EXPLAIN_IN_VILLAGE_NO_GRID,
    EXPLAIN_LEVEL,
    EXPLAIN_NEAREST_TOWN,
    EXPLAIN_NO_GRID_ROUTED,
    EXPLAIN_NO_VILLAGE_ROUTED,
    EXPLAIN_PERSON,
    EXPLAIN_PERSON_COPIED,
    EXPLAIN_SEVERITY,
    EXPLAIN_TEAM_ADDED,
    EXPLAIN_VACANT,
    EXPLAIN_VACANT_FALLBACK,
    EXPLAIN_VACANT_NOBODY,
    EXPLAIN_WATCHING,
    EXPLAIN_WATCHING_VACANT,
    MSG_OUTSIDE_EVERY_DISTRICT,
    OutsideEveryDistrict,
    PlaceRef,
    RoutedPerson,
    RoutingResult,
    render_explanation,
)

from .models import CategoryResponder, CategoryTimeLimit
from .time_limits import LIMIT_COLUMNS, TimeLimit, time_limit_of_row

if TYPE_CHECKING:
    from .models import Category

# The incident's tier, read in the statement: the responders of its category and severity. The
# same scalar also carries the category's time limits for that severity (``limit``: the
# ``CategoryTimeLimit`` row as JSON, or null), which the new case's deadlines need: one
# statement fewer on the hot path (``incidents.time_limits.time_limit_of_row``).
CATEGORY_RESPONDERS_SQL = f"""
  SELECT jsonb_build_object(
    'responders',
    (SELECT coalesce(jsonb_agg(responder ORDER BY id), '[]')
       FROM {table(CategoryResponder)}
      WHERE category_id = %(category)s AND severity = %(severity)s),
    'limit',
    (SELECT to_jsonb(l) FROM (
       SELECT {", ".join(LIMIT_COLUMNS)}
         FROM {table(CategoryTimeLimit)}
        WHERE category_id = %(category)s AND severity = %(severity)s
        LIMIT 1) l))
"""
ROUTING_SQL = engine.routing_sql(responders=CATEGORY_RESPONDERS_SQL)


def routing_params(
    *, point: Point, at: dt.datetime, category_id: int | None, severity: str | None
) -> dict[str, Any]:
    """The parameters of ``ROUTING_SQL`` (the bench runs the statement with them too)."""
    return {
        **engine.routing_params(point=point, at=at),
        "category": category_id,
        "severity": severity,
    }


def _lookup(params: dict[str, Any]) -> dict[str, Any]:
    return engine.lookup(ROUTING_SQL, params)


@dataclass(frozen=True)
class IncidentRouting(RoutingResult):
    """The routing of an incident, and the time limits of its category and severity, read in
    the same statement (a new incident's deadlines: ``incidents.services``)."""

    time_limit: TimeLimit | None = None


def route(*, point: Point, at: dt.datetime, category: Category, severity: str) -> IncidentRouting:
    """Who an incident at ``point`` reported at ``at`` goes to (see ``households.routing``),
    with the category's time limits for ``severity``.

    Raises ``OutsideEveryDistrict`` when the point is in no district.
    """
    row = _lookup(routing_params(point=point, at=at, category_id=category.pk, severity=severity))
    tier = row["responders"]
    routing = engine.decide(row, responders=tier["responders"], severity=severity)
    return IncidentRouting(
        **{f.name: getattr(routing, f.name) for f in fields(routing)},
        time_limit=time_limit_of_row(tier["limit"], severity),
    )
