"""Writes to households. The grid of a household or building is derived in PostGIS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.gis.db.models.functions import Distance
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.selectors import scope_q
from gridmap.sql import tables
from grids.models import Grid, Worker
from grids.services import (
    GRID_OF_POINT_SQL,
    buildings_assign_grids,  # noqa: F401  (its old name here: the demo)
)

from .models import CentralHousehold, Household, PartyMember, TenHouseholdUnit
from .notifications import notify_unit
from .routing import OutsideEveryDistrict, route_unit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

_T = tables(
    central=CentralHousehold,
    grid=Grid,
    household=Household,
    member=PartyMember,
    unit=TenHouseholdUnit,
    worker=Worker,
)

# Resolves a point on a shared grid edge with the tie-break of grids.selectors.EDGE_TIE_BREAK
# (smallest code), like the buildings' statement in grids.services, so the SQL path and the
# ORM path agree.
_ASSIGN_HOUSEHOLDS_SQL = (
    """
UPDATE {household} h
   SET grid_id = """
    + GRID_OF_POINT_SQL.replace("{point}", "h.location")
    + """
 WHERE {where}
"""
)


@transaction.atomic
def households_assign_grids(*, ids: list[int] | None = None) -> int:
    """Derive ``grid`` from ``location`` for the given households (all when ids is None)."""
    where, params = ("h.id = ANY(%s)", [ids]) if ids is not None else ("TRUE", [])
    with connection.cursor() as cur:
        cur.execute(_ASSIGN_HOUSEHOLDS_SQL.format(where=where, **_T), params)
        return cur.rowcount


@transaction.atomic
def ten_household_units_refresh(*, ids: list[int] | None = None) -> int:
    """Recompute each unit's grid (from its head household) and its map area (a 15 m
    buffer around the convex hull of its members), in one statement."""
    where, params = ("u.id = ANY(%s)", [ids]) if ids is not None else ("TRUE", [])
    sql = f"""
    UPDATE {_T["unit"]} u
       SET grid_id = head.grid_id,
           geom = (
             SELECT ST_Buffer(ST_ConvexHull(ST_Collect(m.location))::geography, 15, 4)::geometry
               FROM {_T["household"]} m
              WHERE m.ten_household_unit_id = u.id)
      FROM {_T["household"]} head
     WHERE head.id = u.head_household_id AND {where}
    """
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def households_follow_grid(*, old: Grid, new: Grid) -> None:
    """Derive the grid again for the households that pointed at ``old`` or now stand inside
    ``new``, then for their ten-household units. Connected to ``grids.signals.grid_replaced``
    (households/apps.py): it runs inside the transaction of the grid's change."""
    household_ids = list(
        Household.objects.filter(Q(grid=old) | Q(location__coveredby=new.geom)).values_list(
            "id", flat=True
        )
    )
    households_assign_grids(ids=household_ids)
    unit_ids = list(
        TenHouseholdUnit.objects.filter(
            Q(grid=old) | Q(head_household_id__in=household_ids)
        ).values_list("id", flat=True)
    )
    if unit_ids:
        ten_household_units_refresh(ids=unit_ids)


# --- central households ---------------------------------------------------------------------
# A central household is reached through its party member's Worker record (blue incidents go
# to the central household of the unit: incidents' routing). A member without one gets a
# worker: the member's name, the central household's phone (copied as stored, a token of the
# same keys, gridmap.crypto) and its keyed hash, a party member. One statement: worker ids
# are drawn from the sequence up front so the new workers and the member links are written
# together. A member running two central households gets one worker (the phone of the one
# designated first).
_CENTRAL_WORKERS_SQL = """
WITH m AS (
  SELECT DISTINCT ON (pm.id) pm.id AS member_id, pm.name, h.phone, h.phone_hash
    FROM {central} ch
    JOIN {member} pm ON pm.id = ch.party_member_id
    JOIN {household} h ON h.id = ch.household_id
   WHERE ch.household_id = ANY(%s) AND pm.worker_id IS NULL
   ORDER BY pm.id, ch.designated_on, ch.id
), c AS (
  SELECT m.*, nextval(pg_get_serial_sequence('{worker}', 'id')) AS worker_id FROM m
), w AS (
  INSERT INTO {worker} (id, name, phone, phone_hash, email, is_party_member)
  SELECT worker_id, name, phone, phone_hash, '', TRUE FROM c
)
UPDATE {member} pm SET worker_id = c.worker_id FROM c WHERE pm.id = c.member_id
"""


@transaction.atomic
def central_household_workers(*, household_ids: list[int]) -> int:
    """Give the party member of each central household of ``household_ids`` (the central
    households' own households) a Worker record when they have none; the number created."""
    with connection.cursor() as cur:
        cur.execute(_CENTRAL_WORKERS_SQL.format(**_T), [household_ids])
        return cur.rowcount


# --- ten-household units --------------------------------------------------------------------
# A ten-household unit (十户联防) groups about ten neighbouring households under a head
# household, usually linked to a party-member central household. Grid workers pick the
# members on the map; the unit is routed like an incident to its grid's leader and
# party-building guide, who get an inbox entry. Units outside the norm (fewer than 8 or more
# than 15 households, households in two grids, a central household far from the members) are
# saved all the same, with warnings the map and the API show.
UNIT_SIZE_MIN, UNIT_SIZE_MAX = 8, 15
# A central household farther than this from every member is flagged (it serves neighbours).
CENTRAL_HOUSEHOLD_REACH_M = 300

MSG_MEMBERS_REQUIRED = gettext_noop("Pick at least one member household.")
MSG_UNKNOWN_HOUSEHOLDS = gettext_noop(
    "These households do not exist or are outside your jurisdiction: %(ids)s."
)
MSG_ALREADY_IN_UNIT = gettext_noop(
    "%(household)s already belongs to the ten-household unit %(unit)s."
)
MSG_UNKNOWN_CENTRAL_HOUSEHOLD = gettext_noop(
    "There is no central household %(id)s in your jurisdiction."
)
WARN_UNIT_SIZE = gettext_noop("This unit has %(count)s households; a unit normally has 8 to 15.")
WARN_UNIT_GRIDS = gettext_noop("The households of this unit lie in %(count)s grids: %(codes)s.")
WARN_CENTRAL_HOUSEHOLD_FAR = gettext_noop(
    "The central household %(household)s is %(distance)s m from the nearest member household; "
    "a central household normally serves its neighbours."
)


def _household_label(household: Household) -> str:
    return f"{household.address} ({household.head_name})"


def _unit_warnings(*, members: list[Household]) -> list[dict[str, Any]]:
    warnings: list[dict[str, Any]] = []
    count = len(members)
    if not UNIT_SIZE_MIN <= count <= UNIT_SIZE_MAX:
        warnings.append({"msgid": WARN_UNIT_SIZE, "params": {"count": count}})
    codes = sorted({m.grid.code for m in members if m.grid is not None})
    if len(codes) > 1:
        warnings.append(
            {"msgid": WARN_UNIT_GRIDS, "params": {"count": len(codes), "codes": ", ".join(codes)}}
        )
    return warnings


def _member_errors(
    *, head_id: int, ids: list[int], members: list[Household]
) -> dict[str, list[str]]:
    """Unknown or foreign households, and households already in a unit, keyed by the field
    they came from (the head household's own problem under ``head_household``)."""
    errors: dict[str, list[str]] = {}

    def add(household_id: int, message: str) -> None:
        errors.setdefault("head_household" if household_id == head_id else "members", []).append(
            message
        )

    found = {m.pk for m in members}
    missing = [i for i in ids if i not in found]
    if head_id in missing:
        add(head_id, _(MSG_UNKNOWN_HOUSEHOLDS) % {"ids": head_id})
        missing.remove(head_id)
    if missing:
        add(missing[0], _(MSG_UNKNOWN_HOUSEHOLDS) % {"ids": ", ".join(map(str, missing))})
    for m in members:
        if m.ten_household_unit_id is not None or m.headed_unit_name is not None:
            unit = m.unit_name or m.headed_unit_name or f"#{m.ten_household_unit_id}"
            add(m.pk, _(MSG_ALREADY_IN_UNIT) % {"household": _household_label(m), "unit": unit})
    return errors


# The warnings of _unit_warnings and of the central household's reach, set-based: the import
# writes many units at once (imports.handlers.units). Same msgids, same parameters, and the
# distance Django's Distance gives for a geodetic point field (ST_DistanceSphere).
_UNIT_WARNINGS_SQL = """
UPDATE {unit} u SET warnings = coalesce((
  SELECT jsonb_agg(w.msg ORDER BY w.o) FROM (
    SELECT 1 AS o, jsonb_build_object('msgid', %(size)s::text,
                                      'params', jsonb_build_object('count', k.n)) AS msg
      FROM (SELECT count(*) AS n FROM {household} m WHERE m.ten_household_unit_id = u.id) k
     WHERE k.n NOT BETWEEN %(min)s AND %(max)s
    UNION ALL
    SELECT 2, jsonb_build_object('msgid', %(grids)s::text, 'params', jsonb_build_object(
                'count', count(DISTINCT g.code),
                'codes', string_agg(DISTINCT g.code, ', ' ORDER BY g.code)))
      FROM {household} m JOIN {grid} g ON g.id = m.grid_id
     WHERE m.ten_household_unit_id = u.id
    HAVING count(DISTINCT g.code) > 1
    UNION ALL
    SELECT 3, jsonb_build_object('msgid', %(far)s::text, 'params', jsonb_build_object(
                'household', ch.address || ' (' || ch.head_name || ')',
                'distance', round(f.d)::integer))
      FROM {central} c JOIN {household} ch ON ch.id = c.household_id
     CROSS JOIN LATERAL (
           SELECT min(ST_DistanceSphere(m.location, ch.location)) AS d
             FROM {household} m WHERE m.ten_household_unit_id = u.id) f
     WHERE c.id = u.central_household_id AND f.d > %(reach)s
  ) w), '[]'::jsonb)
 WHERE u.id = ANY(%(ids)s)
"""


@transaction.atomic
def ten_household_units_warn(*, ids: list[int]) -> int:
    """Store on each unit of ``ids`` the warnings ``ten_household_unit_create`` gives (fewer
    than 8 or more than 15 members, members in several grids, a central household farther than
    ``CENTRAL_HOUSEHOLD_REACH_M`` from every member), computed for all of them in one
    statement from the members stored; a unit within the norm gets none."""
    params = {
        "size": WARN_UNIT_SIZE,
        "min": UNIT_SIZE_MIN,
        "max": UNIT_SIZE_MAX,
        "grids": WARN_UNIT_GRIDS,
        "far": WARN_CENTRAL_HOUSEHOLD_FAR,
        "reach": CENTRAL_HOUSEHOLD_REACH_M,
        "ids": ids,
    }
    with connection.cursor() as cur:
        cur.execute(_UNIT_WARNINGS_SQL.format(**_T), params)
        return cur.rowcount


@transaction.atomic
def ten_household_unit_create(
    *,
    actor: AbstractBaseUser,
    name: str,
    head_household: Household,
    member_ids: list[int],
    central_household: CentralHousehold | None = None,
) -> TenHouseholdUnit:
    """Create a unit from households the actor picked, route it and notify its recipients.

    The head household is a member: it is added when the list lacks it. Members must lie in
    the actor's jurisdiction and belong to no other unit (``ValidationError`` keyed by
    ``members`` names them). The central household must be in the actor's jurisdiction; it
    need not be a member, but one farther than ``CENTRAL_HOUSEHOLD_REACH_M`` from every member
    is a warning. The unit's grid (from the head household) and its area come from
    ``ten_household_units_refresh``. The routing result (``households.routing.route_unit`` at
    the head household, now) is attached as ``unit.routing`` and the number of members as
    ``unit.member_count``, for the caller to show.
    """
    if not member_ids:
        raise ValidationError({"members": [_(MSG_MEMBERS_REQUIRED)]})
    ids = list(dict.fromkeys([head_household.pk, *member_ids]))

    # Lock the picked households: two workers cannot put one household in two units.
    qs = (
        Household.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("grid")
        .annotate(unit_name=F("ten_household_unit__name"), headed_unit_name=F("headed_unit__name"))
        .order_by("id")
    )
    scope = scope_q(actor, "grid__code")
    if scope is not None:
        qs = qs.filter(scope)
    members = list(qs)
    errors = _member_errors(head_id=head_household.pk, ids=ids, members=members)
    if errors:
        raise ValidationError(errors)

    if central_household is not None:
        central_qs = CentralHousehold.objects.filter(pk=central_household.pk)
        central_scope = scope_q(actor, "household__grid__code")
        if central_scope is not None:
            central_qs = central_qs.filter(central_scope)
        if not central_qs.exists():
            raise ValidationError(
                {
                    "central_household": [
                        _(MSG_UNKNOWN_CENTRAL_HOUSEHOLD) % {"id": central_household.pk}
                    ]
                }
            )

    head = next(m for m in members if m.pk == head_household.pk)
    unit = TenHouseholdUnit(
        name=name,
        head_household=head,
        central_household=central_household,
        created_by=actor,
    )
    unit.full_clean(exclude=["grid", "geom", "warnings"])
    unit.save()
    Household.objects.filter(pk__in=ids).update(ten_household_unit=unit)
    ten_household_units_refresh(ids=[unit.pk])

    warnings = _unit_warnings(members=members)
    if central_household is not None:
        nearest = (
            Household.objects.filter(ten_household_unit=unit)
            .annotate(d=Distance("location", central_household.household.location))
            .order_by("d")
            .values_list("d", flat=True)
            .first()
        )
        if nearest is not None and nearest.m > CENTRAL_HOUSEHOLD_REACH_M:
            warnings.append(
                {
                    "msgid": WARN_CENTRAL_HOUSEHOLD_FAR,
                    "params": {
                        "household": _household_label(central_household.household),
                        "distance": round(nearest.m),
                    },
                }
            )
    unit = TenHouseholdUnit.objects.select_related("grid").get(pk=unit.pk)
    if warnings:
        unit.warnings = warnings
        unit.save(update_fields=["warnings"])

    unit.member_count = len(ids)
    try:
        unit.routing = route_unit(point=head.location, at=timezone.now())
    except OutsideEveryDistrict as exc:  # only a superuser can pick such a household
        raise ValidationError({"head_household": exc.message_dict["geometry"]}) from None
    notify_unit(unit, unit.routing.recipients, count=len(ids))
    return unit
