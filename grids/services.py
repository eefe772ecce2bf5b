"""Writes to boundaries (see the generations note in grids.models)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.contrib.postgres.fields import DateRangeField
from django.db import connection, models, transaction
from django.db.models import Q

from gridmap.sql import tables

from .models import Boundary, Building, Generation, Grid
from .signals import grid_replaced

B = TypeVar("B", bound=Boundary)

NOT_CURRENT = "{boundary} was closed at generation {high}; only a current boundary is superseded."
LATER_GENERATION = (
    "{boundary} belongs to generation {low}, later than generation {generation}; "
    "it cannot be superseded into an earlier generation."
)


# What follows a superseded boundary
# ----------------------------------
# A new version of a boundary takes over the present; the past stays with the old row.
# Each reference to the old row is handled by kind:
# - a child boundary (the child's ``parent_field``) that is current gets a new version of its
#   own, pointing at the new parent (recursively); closed children are history and stay;
# - a dated row (a ``period``: role and catchment assignments) follows unless it has ended
#   (current and future assignments follow; ended ones are history);
# - a derived grid (households, buildings, ten-household units) is derived again in PostGIS:
#   buildings here, households and their units by households (the ``grid_replaced`` signal);
# - CURRENT_STATE_RELATIONS describe the present and are re-pointed;
# - anything else (an incident routed to a grid, say) records the past and keeps the old row.
CURRENT_STATE_RELATIONS: set[tuple[str, str]] = {
    ("grids.station", "town"),
    ("grids.servicecentre", "village"),
    ("households.partybranch", "village"),
}
DERIVED_RELATIONS: set[tuple[str, str]] = {
    ("households.household", "grid"),
    ("grids.building", "grid"),
    ("households.tenhouseholdunit", "grid"),
}


@transaction.atomic
def boundary_create(*, model: type[B], generation: Generation, **fields: Any) -> B:
    """A new boundary, current from ``generation`` on (a grid takes the households inside it)."""
    row = model(generation_low=generation, **fields)
    row.full_clean()
    row.save()
    if isinstance(row, Grid):
        _rederive_grid_members(old=row, new=row)
    return row


@transaction.atomic
def boundary_supersede(old: B, *, generation: Generation, **changes: Any) -> B:
    """Close ``old`` and create its successor in ``generation`` with ``changes`` applied.

    ``old`` is closed at the generation before ``generation``; current references follow the
    new row as described above. A row that was itself created in ``generation`` has no past
    to keep: it is updated in place.
    """
    if old.generation_high_id is not None:
        raise ValueError(NOT_CURRENT.format(boundary=old, high=old.generation_high_id))
    if old.generation_low_id > generation.pk:
        raise ValueError(
            LATER_GENERATION.format(
                boundary=old, low=old.generation_low_id, generation=generation.pk
            )
        )
    if old.generation_low_id == generation.pk:
        return _update_in_place(old, changes)

    previous = Generation.objects.filter(pk__lt=generation.pk).order_by("-pk").first()
    type(old).objects.filter(pk=old.pk).update(generation_high=previous)
    old.generation_high = previous

    new = _successor(old, generation=generation, changes=changes)
    _follow(old, new, generation=generation)
    return new


def _successor(old: B, *, generation: Generation, changes: dict[str, Any]) -> B:
    model = type(old)
    values = {
        field.attname: getattr(old, field.attname)
        for field in model._meta.concrete_fields
        if not field.primary_key
    }
    new = model(**values)
    for name, value in changes.items():
        model._meta.get_field(name)  # unknown names fail loudly
        setattr(new, name, value)
    new.generation_low = generation
    new.generation_high = None
    new.full_clean()
    new.save()
    return new


def _update_in_place(row: B, changes: dict[str, Any]) -> B:
    for name, value in changes.items():
        type(row)._meta.get_field(name)
        setattr(row, name, value)
    row.full_clean()
    row.save()
    if isinstance(row, Grid):
        _rederive_grid_members(old=row, new=row)
    return row


def _is_dated(model: type[models.Model]) -> bool:
    return any(
        f.name == "period" and isinstance(f, DateRangeField) for f in model._meta.concrete_fields
    )


def _not_ended(on: dt.date) -> Q:
    return Q(period__endswith__isnull=True) | Q(period__endswith__gt=on)


def _follow(old: Boundary, new: Boundary, *, generation: Generation) -> None:
    today = dt.date.today()
    for relation in type(old)._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        model, field = relation.related_model, relation.field.name
        key = (model._meta.label_lower, field)
        rows = model._default_manager.filter(**{field: old})
        if issubclass(model, Boundary) and field == model.parent_field:
            for child in rows.filter(generation_high__isnull=True).order_by("code"):
                boundary_supersede(child, generation=generation, **{field: new})
        elif key in DERIVED_RELATIONS:
            continue  # derived below, in dependency order
        elif _is_dated(model):
            rows.filter(_not_ended(today)).update(**{field: new})
        elif key in CURRENT_STATE_RELATIONS:
            rows.update(**{field: new})
    if isinstance(old, Grid):
        _rederive_grid_members(old=old, new=new)


def _rederive_grid_members(*, old: Grid, new: Grid) -> None:
    """Derive the grid again for what pointed at ``old`` or now stands inside ``new``: the
    buildings here, then (in the same transaction, through ``grid_replaced``) whatever the
    apps above derive from a grid (households and their ten-household units)."""
    building_ids = list(
        Building.objects.filter(Q(grid=old) | Q(footprint__intersects=new.geom)).values_list(
            "id", flat=True
        )
    )
    buildings_assign_grids(ids=building_ids)
    grid_replaced.send(sender=Grid, old=old, new=new)


_T = tables(building=Building, grid=Grid)

# Resolves a footprint on a shared grid edge with grids.selectors.EDGE_TIE_BREAK (smallest
# code), like the households' statement.
# The grid a point lies in, as every derivation writes it (buildings here, households in
# households.services, the county's imports in imports.handlers): the current grid covering
# the point, a point on a shared edge going to the smallest code (grids.selectors.EDGE_TIE_BREAK).
# ``{point}`` is SQL for the point, ``{grid}`` the grid table.
GRID_OF_POINT_SQL = """(
       SELECT g.id FROM {grid} g
        WHERE g.generation_high_id IS NULL AND ST_Covers(g.geom, {point})
        ORDER BY g.code LIMIT 1)"""

_ASSIGN_BUILDINGS_SQL = (
    """
UPDATE {building} b
   SET grid_id = """
    + GRID_OF_POINT_SQL.replace("{point}", "ST_PointOnSurface(b.footprint)")
    + """
 WHERE {where}
"""
)


@transaction.atomic
def buildings_assign_grids(*, ids: list[int] | None = None) -> int:
    """Derive ``grid`` from the footprint for the given buildings (all when ids is None)."""
    where, params = ("b.id = ANY(%s)", [ids]) if ids is not None else ("TRUE", [])
    with connection.cursor() as cur:
        cur.execute(_ASSIGN_BUILDINGS_SQL.format(where=where, **_T), params)
        return cur.rowcount
