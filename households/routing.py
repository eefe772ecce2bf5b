"""The routing engine: who is responsible for a point at a time.

It answers, for a point and a time, which grid (in which boundary generation), village and
town the point belongs to, who receives what is there and why. It reads the boundaries and the
role assignments valid at that time; the caller records the answer and nothing ever recomputes
it. Two callers: ``route_unit`` here (a ten-household unit: its grid's leader and guide) and
``incidents.routing.route`` (an incident: the tier of its category and severity, which it
passes in as the ``responders`` part of the one statement).

The rules
---------
- **Generation.** The boundaries are those of the newest generation created at or before the
  reported time; a report dated before every generation takes the first generation that has
  districts (the first complete import: a city-only generation before it has no grids). A
  row is valid in generation *n* when ``generation_low <= n <= generation_high`` (NULL =
  current).
- **Grid.** The grid of that generation covering the point (``ST_Covers``, so a point on the
  boundary is covered). A point covered by several grids (on a shared edge or vertex) goes to
  the grid with the smallest code: ``grids.selectors.EDGE_TIE_BREAK``.
- **Edges.** Every *other* grid of that generation within ``EDGE_METRES`` (20 m, measured on
  the spheroid: ``ST_DWithin`` on ``geography``) of the point is a neighbour: its active grid
  leader is added as a ``watching`` recipient. So a point exactly on a shared edge goes to
  the smaller code and the other grid's leader watches; a point 10 m inside a grid near an
  edge also gets the neighbour's leader watching; a point 30 m inside does not. (A point in
  no grid but within 20 m of one gets that grid's leader watching too.)
- **No grid.** In a village but in no grid: the village secretary and the head of the
  station whose catchment holds the village at that date are routed to.
  In a district but in no village: the dispatcher of the town covering the point, or, when
  no town covers it, of the nearest town of that district. Outside every district:
  ``OutsideEveryDistrict``.
- **Severity tiers** are data, given by the caller (for an incident, ``CategoryResponder`` rows
  of its category and severity).
  The seeded tiers: blue reaches the grid leader, the party-building guide, the central
  household of the ten-household unit the point falls in (or the nearest unit of the grid)
  and the village mediation director; yellow adds the village mediation team and the village
  team (legal adviser, auxiliary police officer, party secretary); red goes to the town
  dispatcher, the grid leader and the town's on-duty officer of the day (issue 12). With
  nobody on duty, the dispatcher takes the on-duty officer's part (``DIRECT_FALLBACK``).
  The party-building guide of the grid is copied on every incident in
  the grid whatever the tier says (routed when the tier names the guide). The central
  household is that of the unit whose area covers the point, else of the unit of the grid
  nearest to it; one whose party member is not a worker (``PartyMember.worker``) is named
  in the explanation and skipped.
- **Vacancies.** A role with no active holder falls to the next level up and the
  explanation says so: grid leader -> village secretary -> station head -> town dispatcher;
  party-building guide -> station head -> town dispatcher. A vacant village, station or
  town role is named in the explanation (no fall-back).
- **Time.** Holders are the role assignments active on the reported date (local time).
  Roles are matched on the *code* of the place, not on the boundary row, so an assignment
  that followed a superseded grid to its new row still counts for a time it was active.
- **Responsible level:** grid for blue, village for yellow or for a point in no grid, town
  for red or for a point in no village, county for a point in no town.

The whole lookup is one SQL statement (``routing_sql``): it sits on the hot path of incident
creation. The caller adds its own part, the ``responders`` (the tier: a jsonb array of
``Responder`` values), so an incident still costs one statement. The Python part (``decide``)
is pure: it turns that row into recipients and an explanation.

The explanation is a list of ``{"msgid", "params"}`` parts, rendered in the reader's
language by ``render_explanation`` (``gridmap.messages``); a parameter is a plain value or a
nested ``{"msgid": ...}`` (a role or severity label).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from gridmap import personal_data
from gridmap.codes import LEVEL_ORDER, Level
from gridmap.crypto import decrypt
from gridmap.messages import render_parts
from gridmap.sql import prepared_cursor, tables
from grids.models import (
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
from inbox.models import RecipientKind

from .models import CentralHousehold, Household, PartyMember, TenHouseholdUnit


class Severity(models.TextChoices):
    """Xiangzhou's red / yellow / blue method (an incident's severity; the engine needs it for
    the responsible level and the mediation team)."""

    BLUE = "blue", _("blue")
    YELLOW = "yellow", _("yellow")
    RED = "red", _("red")


class Responder(models.TextChoices):
    """Who a severity tier reaches; resolved to people by the router."""

    GRID_LEADER = "grid_leader", _("grid leader")
    PARTY_GUIDE = "party_guide", _("party-building guide")
    CENTRAL_HOUSEHOLD = "central_household", _("central household")
    MEDIATION_DIRECTOR = "mediation_director", _("village mediation director")
    MEDIATION_TEAM = "mediation_team", _("village mediation team")
    VILLAGE_SECRETARY = "village_secretary", _("village party secretary")
    STATION_HEAD = "station_head", _("station head")
    TOWN_DISPATCHER = "town_dispatcher", _("town platform dispatcher")
    # Issue 12: the village team of yellow, the town's on-duty officer of red.
    VILLAGE_LAWYER = "village_lawyer", _("village legal adviser")
    AUXILIARY_POLICE = "auxiliary_police", _("village auxiliary police officer")
    TOWN_DUTY_OFFICER = "town_duty_officer", _("town on-duty officer")


# A point within this distance of another grid makes that grid's leader a watcher.
EDGE_METRES = 20.0

MSG_OUTSIDE_EVERY_DISTRICT = gettext_noop(
    "This place is outside every district we serve; nothing was saved."
)

# --- explanation parts (msgids; params in parentheses) --------------------------------------
EXPLAIN_IN_GRID = gettext_noop("In grid %(code)s (%(name)s)")
EXPLAIN_IN_VILLAGE_NO_GRID = gettext_noop("In village %(code)s (%(name)s), in no grid")
EXPLAIN_IN_TOWN_NO_VILLAGE = gettext_noop("In town %(code)s (%(name)s), in no village")
EXPLAIN_NEAREST_TOWN = gettext_noop(
    "In district %(district)s, in no town; the nearest town %(code)s (%(name)s) takes it"
)
EXPLAIN_IN_DISTRICT_NO_TOWN = gettext_noop(
    "In district %(code)s (%(name)s), in no town: the district takes it"
)
EXPLAIN_PERSON = gettext_noop("%(responder)s %(name)s")
EXPLAIN_PERSON_COPIED = gettext_noop("%(responder)s %(name)s is copied")
EXPLAIN_VACANT_FALLBACK = gettext_noop("no %(responder)s: the %(role)s %(name)s takes it")
EXPLAIN_VACANT_NOBODY = gettext_noop("no %(responder)s, and nobody above to take it")
EXPLAIN_VACANT = gettext_noop("no %(responder)s")
EXPLAIN_NO_GRID_ROUTED = gettext_noop("no grid: the %(role)s %(name)s takes it")
EXPLAIN_NO_VILLAGE_ROUTED = gettext_noop("no village: the %(role)s %(name)s takes it")
EXPLAIN_WATCHING = gettext_noop("near grid %(code)s: its leader %(name)s watches")
EXPLAIN_WATCHING_VACANT = gettext_noop("near grid %(code)s, which has no grid leader to watch")
EXPLAIN_CENTRAL_NO_WORKER = gettext_noop(
    "the central household of %(unit)s (%(name)s) is not registered as a worker: not notified"
)
EXPLAIN_CENTRAL_NONE = gettext_noop(
    "no ten-household unit with a central household here: no central household notified"
)
EXPLAIN_SEVERITY = gettext_noop("severity %(severity)s")
EXPLAIN_TEAM_ADDED = gettext_noop("%(severity)s: the village mediation team is added")
EXPLAIN_LEVEL = gettext_noop("responsible level: %(level)s")

# The English msgids of the role labels (the same strings as the models' choices, so the
# catalogue has them already): a parameter {"msgid": LABELS[code]} renders translated.
LABELS: dict[str, str] = {
    Responder.GRID_LEADER: gettext_noop("grid leader"),
    Responder.PARTY_GUIDE: gettext_noop("party-building guide"),
    Responder.CENTRAL_HOUSEHOLD: gettext_noop("central household"),
    Responder.MEDIATION_DIRECTOR: gettext_noop("village mediation director"),
    Responder.MEDIATION_TEAM: gettext_noop("village mediation team"),
    Responder.VILLAGE_SECRETARY: gettext_noop("village party secretary"),
    Responder.STATION_HEAD: gettext_noop("station head"),
    Responder.TOWN_DISPATCHER: gettext_noop("town platform dispatcher"),
    Responder.VILLAGE_LAWYER: gettext_noop("village legal adviser"),
    Responder.AUXILIARY_POLICE: gettext_noop("village auxiliary police officer"),
    Responder.TOWN_DUTY_OFFICER: gettext_noop("town on-duty officer"),
}
TEAM_MEMBER_LABEL = gettext_noop("village mediation team member")

# Vacancy fall-back: who takes a role nobody holds, in order.
FALLBACK: dict[str, tuple[str, ...]] = {
    Responder.GRID_LEADER: (Role.VILLAGE_SECRETARY, Role.STATION_HEAD, Role.TOWN_DISPATCHER),
    Responder.PARTY_GUIDE: (Role.STATION_HEAD, Role.TOWN_DISPATCHER),
}
# A town with nobody on duty that day: its dispatcher takes the on-duty officer's part (the
# explanation, recorded with the incident, says so).
DIRECT_FALLBACK: dict[str, tuple[str, ...]] = {
    Responder.TOWN_DUTY_OFFICER: (Role.TOWN_DISPATCHER,),
}
SEVERITY_LEVEL = {
    Severity.BLUE: Level.GRID,
    Severity.YELLOW: Level.VILLAGE,
    Severity.RED: Level.TOWN,
}
UNIT_RESPONDERS = [Responder.GRID_LEADER, Responder.PARTY_GUIDE]


class OutsideEveryDistrict(ValidationError):
    """The point lies in no district, town, village or grid: nothing can be routed."""

    def __init__(self) -> None:
        super().__init__(
            {"geometry": [gettext(MSG_OUTSIDE_EVERY_DISTRICT)]}, code="outside_every_district"
        )


@dataclass(frozen=True)
class PlaceRef:
    id: int
    code: str
    name: str


def shown_phone(
    phone: str,
    responder: str,
    *,
    visible: bool,
    record_type: str,
    record_id: int,
    code: str | None,
) -> str:
    """A recipient's phone as the viewer may see it. A central household is a resident: its
    phone (its household's) goes through ``gridmap.personal_data.show``; a role holder's phone
    is a work number, shown as it is."""
    if responder != Responder.CENTRAL_HOUSEHOLD:
        return phone
    return personal_data.show(
        phone,
        kind=personal_data.PHONE,
        visible=visible,
        record_type=record_type,
        record_id=record_id,
        code=code,
    )


@dataclass(frozen=True)
class RoutedPerson:
    """A recipient: ``responder`` is what the rule asked for, ``role`` who actually took it."""

    worker_id: int
    kind: str  # RecipientKind
    responder: str  # Responder
    role: str
    name: str
    phone: str


@dataclass(frozen=True)
class RoutingResult:
    generation: int
    grid: PlaceRef | None
    village: PlaceRef | None
    town: PlaceRef | None
    district: PlaceRef | None
    place_code: str
    responsible_level: str
    recipients: list[RoutedPerson] = field(default_factory=list)
    explanation: list[dict[str, Any]] = field(default_factory=list)
    station: PlaceRef | None = None  # the station whose catchment holds the village


# --- the statement --------------------------------------------------------------------------
# One round trip: generation, grids near the point, the covering grid, village, town,
# district, station (catchment at that date), every role holder the rules may need, the
# ten-household unit and the caller's tier. Boundary rows are filtered to the generation;
# role and catchment rows to the date, matched on place codes (see the module docstring).
# Tables are formatted in by name (``{grid}`` is the grids' table, a bare ``grid`` the CTE);
# the text is built once, at import.
_VALID = "{t}.generation_low_id <= gen.id AND ({t}.generation_high_id IS NULL OR {t}.generation_high_id >= gen.id)"  # noqa: E501
_ROUTING_SQL = """
WITH pt AS MATERIALIZED (
  SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), {srid}) AS p
), gen AS MATERIALIZED (
  SELECT COALESCE(
    (SELECT id FROM {generation} WHERE created_at <= %(at)s
      ORDER BY created_at DESC, id DESC LIMIT 1),
    (SELECT min(generation_low_id) FROM {district})) AS id
), near AS MATERIALIZED (
  SELECT g.id, g.code, g.name, g.village_id, ST_Covers(g.geom, pt.p) AS covers
    FROM {grid} g, pt, gen
   WHERE g.geom && ST_Expand(pt.p, %(deg)s) AND {valid_g}
     AND ST_DWithin(ST_ClipByBox2D(g.geom, ST_Expand(pt.p, %(deg)s)::box2d)::geography,
                    pt.p::geography, %(metres)s)
), grid AS MATERIALIZED (
  SELECT id, code, name, village_id FROM near WHERE covers ORDER BY code LIMIT 1
), village AS MATERIALIZED (
  SELECT v.id, v.code, v.name, v.town_id FROM {village} v
   WHERE v.id = (SELECT village_id FROM grid)
  UNION ALL
  (SELECT v.id, v.code, v.name, v.town_id FROM {village} v, pt, gen
    WHERE NOT EXISTS (SELECT 1 FROM grid) AND ST_Covers(v.geom, pt.p) AND {valid_v}
    ORDER BY v.code LIMIT 1)
), town1 AS MATERIALIZED (
  SELECT t.id, t.code, t.name, t.district_id, false AS nearest FROM {town} t
   WHERE t.id = (SELECT town_id FROM village)
  UNION ALL
  (SELECT t.id, t.code, t.name, t.district_id, false FROM {town} t, pt, gen
    WHERE NOT EXISTS (SELECT 1 FROM village) AND ST_Covers(t.geom, pt.p) AND {valid_t}
    ORDER BY t.code LIMIT 1)
), district AS MATERIALIZED (
  SELECT d.id, d.code, d.name FROM {district} d WHERE d.id = (SELECT district_id FROM town1)
  UNION ALL
  (SELECT d.id, d.code, d.name FROM {district} d, pt, gen
    WHERE NOT EXISTS (SELECT 1 FROM town1) AND ST_Covers(d.geom, pt.p) AND {valid_d}
    ORDER BY d.code LIMIT 1)
), town AS MATERIALIZED (
  SELECT id, code, name, nearest FROM town1
  UNION ALL
  (SELECT t.id, t.code, t.name, true FROM {town} t, pt, gen
    WHERE NOT EXISTS (SELECT 1 FROM town1) AND left(t.code, 6) = (SELECT code FROM district)
      AND {valid_t}
    ORDER BY ST_Distance(t.geom::geography, pt.p::geography), t.code LIMIT 1)
), station AS MATERIALIZED (
  SELECT s.id, s.code, s.name FROM {catchment} ca
    JOIN {village} v ON v.id = ca.village_id
    JOIN {station} s ON s.id = ca.station_id
   WHERE v.code = (SELECT code FROM village) AND ca.period @> %(day)s::date
   ORDER BY s.code LIMIT 1
), assignments AS (
  SELECT g.code AS place, ra.role, ra.worker_id, lower(ra.period) AS since
    FROM {role_assignment} ra JOIN {grid} g ON g.id = ra.grid_id
   WHERE g.code IN (SELECT code FROM near) AND ra.period @> %(day)s::date
     AND ra.role IN ('grid_leader', 'party_guide')
  UNION ALL
  SELECT v.code, ra.role, ra.worker_id, lower(ra.period)
    FROM {role_assignment} ra JOIN {village} v ON v.id = ra.village_id
   WHERE v.code = (SELECT code FROM village) AND ra.period @> %(day)s::date
     AND ra.role IN ('village_secretary', 'mediation_director', 'mediation_team',
                     'village_lawyer', 'auxiliary_police')
  UNION ALL
  SELECT s.code, ra.role, ra.worker_id, lower(ra.period)
    FROM {role_assignment} ra JOIN station s ON s.id = ra.station_id
   WHERE ra.period @> %(day)s::date AND ra.role = 'station_head'
  UNION ALL
  SELECT t.code, ra.role, ra.worker_id, lower(ra.period)
    FROM {role_assignment} ra JOIN {town} t ON t.id = ra.town_id
   WHERE t.code = (SELECT code FROM town) AND ra.period @> %(day)s::date
     AND ra.role IN ('town_dispatcher', 'town_duty_officer')
), holders AS MATERIALIZED (
  SELECT a.place, a.role, w.id AS worker_id, w.name, w.phone, a.since
    FROM assignments a JOIN {worker} w ON w.id = a.worker_id
), unit_candidates AS (
  SELECT u.id FROM {unit} u, pt WHERE ST_Covers(u.geom, pt.p)
  UNION
  SELECT u.id FROM {unit} u
   WHERE u.grid_id IN (SELECT g.id FROM {grid} g WHERE g.code = (SELECT code FROM grid))
), nearest_unit AS MATERIALIZED (
  SELECT u.id, u.name, u.central_household_id
    FROM unit_candidates c JOIN {unit} u ON u.id = c.id, pt
   ORDER BY coalesce(ST_Covers(u.geom, pt.p), false) DESC,
            ST_Distance(
              ST_Scale(coalesce(u.geom, (SELECT h.location FROM {household} h
                                          WHERE h.id = u.head_household_id)), %(kx)s, 1.0),
              ST_Scale(pt.p, %(kx)s, 1.0)),
            u.id
   LIMIT 1
), unit AS (
  SELECT u.id, u.name, ch.id AS central_id, pm.name AS member_name,
         w.id AS worker_id, w.name AS worker_name, w.phone AS worker_phone
    FROM nearest_unit u
    LEFT JOIN {central_household} ch ON ch.id = u.central_household_id
    LEFT JOIN {party_member} pm ON pm.id = ch.party_member_id
    LEFT JOIN {worker} w ON w.id = pm.worker_id
)
SELECT jsonb_build_object(
  'generation', (SELECT id FROM gen),
  'grid', (SELECT to_jsonb(grid) FROM grid),
  'village', (SELECT to_jsonb(village) FROM village),
  'town', (SELECT to_jsonb(town) FROM town),
  'district', (SELECT to_jsonb(district) FROM district),
  'station', (SELECT to_jsonb(station) FROM station),
  'near', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', code, 'name', name)
                                     ORDER BY code), '[]')
             FROM near WHERE code IS DISTINCT FROM (SELECT code FROM grid)),
  'holders', (SELECT coalesce(jsonb_agg(to_jsonb(h) ORDER BY place, role, since, worker_id),
                              '[]')
                FROM holders h),
  'unit', (SELECT to_jsonb(unit) FROM unit),
  'responders', (:responders))
""".format(
    srid=settings.GRIDMAP_SRID,
    **{f"valid_{t}": _VALID.format(t=t) for t in "gvtd"},
    **tables(
        catchment=CatchmentAssignment,
        central_household=CentralHousehold,
        district=District,
        generation=Generation,
        grid=Grid,
        household=Household,
        party_member=PartyMember,
        role_assignment=RoleAssignment,
        station=Station,
        town=Town,
        unit=TenHouseholdUnit,
        village=Village,
        worker=Worker,
    ),
)
NO_RESPONDERS = "SELECT '[]'::jsonb"


def routing_sql(*, responders: str = NO_RESPONDERS) -> str:
    """The one routing statement, its ``responders`` part given by the caller: a scalar
    subquery giving a jsonb array of ``Responder`` values (the tier), which may use the
    caller's own parameters (``incidents.routing`` reads its category's tier there)."""
    return _ROUTING_SQL.replace(":responders", responders)


# A ten-household unit has no tier: its responders are UNIT_RESPONDERS, given in Python.
UNIT_ROUTING_SQL = routing_sql()


def _edge_degrees(lat: float) -> float:
    """A bbox margin in degrees that surely contains EDGE_METRES around a point at ``lat``
    (the index prefilter; the exact test is ST_DWithin on geography)."""
    return 1.5 * EDGE_METRES / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))


def routing_params(*, point: Point, at: dt.datetime) -> dict[str, Any]:
    """The parameters of the routing statement (a caller adds those of its ``responders``)."""
    if point.srid and point.srid != settings.GRIDMAP_SRID:
        point = point.transform(settings.GRIDMAP_SRID, clone=True)
    return {
        "x": point.x,
        "y": point.y,
        "at": at,
        "day": timezone.localdate(at) if timezone.is_aware(at) else at.date(),
        "deg": _edge_degrees(point.y),
        "metres": EDGE_METRES,
        # Nearest unit: planar distance with longitude scaled by cos(latitude), exact to a
        # fraction of a percent across a grid and far cheaper than geography.
        "kx": math.cos(math.radians(point.y)),
    }


def lookup(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run a routing statement (``routing_sql``): its one row, as a dict. Prepared on the
    connection (``gridmap.sql.prepared_cursor``): the statement is long, and is parsed and
    planned once per connection rather than for every report."""
    with prepared_cursor() as cur:
        cur.execute(sql, params)
        (raw,) = cur.fetchone()
    # Django has psycopg hand jsonb over as text; one document, decoded once.
    return json.loads(raw) if isinstance(raw, str) else raw


def route_unit(*, point: Point, at: dt.datetime) -> RoutingResult:
    """Routing of a ten-household unit: its grid's leader and party-building guide only (both
    routed), with the same vacancy fall-back.

    Raises ``OutsideEveryDistrict`` when the point is in no district.
    """
    row = lookup(UNIT_ROUTING_SQL, routing_params(point=point, at=at))
    return decide(row, responders=UNIT_RESPONDERS, severity=None)


# --- deciding (pure) ------------------------------------------------------------------------
def _label(code: str) -> dict[str, str]:
    return {"msgid": LABELS.get(code, code)}


def _ref(value: dict[str, Any] | None) -> PlaceRef | None:
    return PlaceRef(value["id"], value["code"], value["name"]) if value else None


class _Recipients:
    """Recipients in order, one per (worker, responder), with the explanation beside them."""

    def __init__(self) -> None:
        self.people: list[RoutedPerson] = []
        self.explanation: list[dict[str, Any]] = []
        self._seen: set[tuple[int, str]] = set()

    def say(self, msgid: str, **params: Any) -> None:
        self.explanation.append({"msgid": msgid, "params": params})

    def add(self, holder: dict[str, Any], *, kind: str, responder: str, role: str) -> bool:
        key = (holder["worker_id"], responder)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.people.append(
            RoutedPerson(
                worker_id=holder["worker_id"],
                kind=str(kind),
                responder=str(responder),
                role=str(role),
                name=holder["name"],
                # Read by the routing statement: the column's token (gridmap.crypto).
                phone=decrypt(holder["phone"] or ""),
            )
        )
        return True


def decide(row: dict[str, Any], *, responders: list[str], severity: str | None) -> RoutingResult:
    """The recipients and the explanation of a routing statement's row (pure): ``responders``
    is the tier (``Responder`` values), ``severity`` an incident's or None."""
    grid, village, town, district = row["grid"], row["village"], row["town"], row["district"]
    station, holder_rows, unit_row = row["station"], row["holders"], row["unit"]
    if not (grid or village or town or district):
        raise OutsideEveryDistrict

    # Holders by (place code, role), in the statement's order (longest-serving first).
    by_place: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for h in holder_rows:
        by_place.setdefault((h["place"], h["role"]), []).append(h)

    def holder(place: dict[str, Any] | None, role: str) -> dict[str, Any] | None:
        found = by_place.get((place["code"], role)) if place else None
        return found[0] if found else None

    out = _Recipients()
    place_of_role = {
        Role.VILLAGE_SECRETARY: village,
        Role.MEDIATION_DIRECTOR: village,
        Role.STATION_HEAD: station,
        Role.TOWN_DISPATCHER: town,
        Role.VILLAGE_LAWYER: village,
        Role.AUXILIARY_POLICE: village,
        Role.TOWN_DUTY_OFFICER: town,
    }

    def fill(responder: str, *, kind: str) -> None:
        """The grid role ``responder`` to its holder, or to the first one up who holds the
        next role (saying so)."""
        found = holder(grid, responder)
        if found is not None:
            added = out.add(found, kind=kind, responder=responder, role=responder)
            if added:
                msgid = EXPLAIN_PERSON_COPIED if kind == RecipientKind.COPIED else EXPLAIN_PERSON
                out.say(msgid, responder=_label(responder), name=found["name"])
            return
        for role in FALLBACK[responder]:
            found = holder(place_of_role[role], role)
            if found is not None:
                out.add(found, kind=kind, responder=responder, role=role)
                out.say(
                    EXPLAIN_VACANT_FALLBACK,
                    responder=_label(responder),
                    role=_label(role),
                    name=found["name"],
                )
                return
        out.say(EXPLAIN_VACANT_NOBODY, responder=_label(responder))

    def direct(role: str, *, msgid: str = EXPLAIN_PERSON) -> None:
        """A village, station or town role to its holder (no fall-back but the on-duty
        officer's: say it is vacant)."""
        found = holder(place_of_role[role], role)
        if found is None and role in DIRECT_FALLBACK and place_of_role[role] is not None:
            for other in DIRECT_FALLBACK[role]:
                found = holder(place_of_role[other], other)
                if found is not None:
                    out.add(found, kind=RecipientKind.ROUTED, responder=role, role=other)
                    out.say(
                        EXPLAIN_VACANT_FALLBACK,
                        responder=_label(role),
                        role=_label(other),
                        name=found["name"],
                    )
                    return
            out.say(EXPLAIN_VACANT_NOBODY, responder=_label(role))
            return
        if found is None:
            if place_of_role[role] is not None:
                out.say(EXPLAIN_VACANT, responder=_label(role))
            return
        if out.add(found, kind=RecipientKind.ROUTED, responder=role, role=role):
            out.say(msgid, responder=_label(role), role=_label(role), name=found["name"])

    # Where the point is.
    if grid:
        out.say(EXPLAIN_IN_GRID, code=grid["code"], name=grid["name"])
        base_level = Level.GRID
    elif village:
        out.say(EXPLAIN_IN_VILLAGE_NO_GRID, code=village["code"], name=village["name"])
        base_level = Level.VILLAGE
    elif town and town.get("nearest"):
        out.say(
            EXPLAIN_NEAREST_TOWN, district=district["code"], code=town["code"], name=town["name"]
        )
        base_level = Level.TOWN
    elif town:
        out.say(EXPLAIN_IN_TOWN_NO_VILLAGE, code=town["code"], name=town["name"])
        base_level = Level.TOWN
    else:
        out.say(EXPLAIN_IN_DISTRICT_NO_TOWN, code=district["code"], name=district["name"])
        base_level = Level.COUNTY

    # Who the place itself sends it to when there is no grid.
    if not grid and village:
        direct(Role.VILLAGE_SECRETARY, msgid=EXPLAIN_NO_GRID_ROUTED)
        direct(Role.STATION_HEAD, msgid=EXPLAIN_NO_GRID_ROUTED)
    elif not grid and not village and town:
        direct(Role.TOWN_DISPATCHER, msgid=EXPLAIN_NO_VILLAGE_ROUTED)

    # The tier, in the order the responders are listed (Responder's order).
    wanted = set(responders)
    for responder in Responder.values:
        if responder not in wanted:
            continue
        if responder == Responder.GRID_LEADER:
            if grid:
                fill(responder, kind=RecipientKind.ROUTED)
        elif responder == Responder.PARTY_GUIDE:
            pass  # below: the guide is on every incident in the grid
        elif responder == Responder.CENTRAL_HOUSEHOLD:
            if grid or unit_row:
                _central_household(out, unit_row)
        elif responder == Responder.MEDIATION_TEAM:
            team = by_place.get((village["code"], Role.MEDIATION_TEAM), []) if village else []
            for member in team:
                if out.add(
                    member,
                    kind=RecipientKind.ROUTED,
                    responder=responder,
                    role=Role.MEDIATION_TEAM,
                ):
                    out.say(
                        EXPLAIN_PERSON, responder={"msgid": TEAM_MEMBER_LABEL}, name=member["name"]
                    )
            if village and not team:
                out.say(EXPLAIN_VACANT, responder=_label(responder))
        else:
            direct(responder)
    if grid:
        guide_kind = (
            RecipientKind.ROUTED if Responder.PARTY_GUIDE in wanted else RecipientKind.COPIED
        )
        fill(Responder.PARTY_GUIDE, kind=guide_kind)

    # Neighbouring grids within EDGE_METRES: their leaders watch.
    for other in row["near"]:
        leader = by_place.get((other["code"], Role.GRID_LEADER))
        if not leader:
            out.say(EXPLAIN_WATCHING_VACANT, code=other["code"])
            continue
        if out.add(
            leader[0],
            kind=RecipientKind.WATCHING,
            responder=Responder.GRID_LEADER,
            role=Role.GRID_LEADER,
        ):
            out.say(EXPLAIN_WATCHING, code=other["code"], name=leader[0]["name"])

    if severity is not None:
        if Responder.MEDIATION_TEAM in wanted and severity != Severity.BLUE:
            out.say(EXPLAIN_TEAM_ADDED, severity={"msgid": severity})
        else:
            out.say(EXPLAIN_SEVERITY, severity={"msgid": severity})
    level = max(base_level, SEVERITY_LEVEL.get(severity, Level.GRID), key=LEVEL_ORDER.index)
    out.say(EXPLAIN_LEVEL, level={"msgid": str(level)})

    place = grid or village or town or district
    return RoutingResult(
        generation=row["generation"],
        grid=_ref(grid),
        village=_ref(village),
        town=_ref(town),
        district=_ref(district),
        station=_ref(station),
        place_code=place["code"],
        responsible_level=str(level),
        recipients=out.people,
        explanation=out.explanation,
    )


def _central_household(out: _Recipients, unit_row: dict[str, Any] | None) -> None:
    if not unit_row or not unit_row.get("central_id"):
        out.say(EXPLAIN_CENTRAL_NONE)
        return
    if unit_row.get("worker_id") is None:
        out.say(EXPLAIN_CENTRAL_NO_WORKER, unit=unit_row["name"], name=unit_row["member_name"])
        return
    holder = {
        "worker_id": unit_row["worker_id"],
        "name": unit_row["worker_name"],
        "phone": unit_row["worker_phone"],
    }
    if out.add(
        holder,
        kind=RecipientKind.ROUTED,
        responder=Responder.CENTRAL_HOUSEHOLD,
        role=Responder.CENTRAL_HOUSEHOLD,
    ):
        out.say(EXPLAIN_PERSON, responder=_label(Responder.CENTRAL_HOUSEHOLD), name=holder["name"])


# --- rendering ------------------------------------------------------------------------------
def render_explanation(parts: list[dict[str, Any]]) -> str:
    """The stored explanation as one sentence in the active language."""
    return render_parts(parts)
