"""Reads of households."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.selectors import scope_q
from gridmap.crypto import keyed_hash
from gridmap.sql import table
from grids.models import Grid

from .models import Household, TenHouseholdUnit


def households_by_number_q(number: str) -> Q:
    """Households whose ID number or phone is exactly ``number`` (spaces and dashes aside), by
    the keyed hashes: the columns themselves are encrypted (gridmap.crypto)."""
    digest = keyed_hash(number)
    if not digest:
        return Q(pk__in=[])
    return Q(id_number_hash=digest) | Q(phone_hash=digest)


def with_household_figures(qs: QuerySet, household_link: str = "grid") -> QuerySet:
    """Annotate ``household_count`` and ``population`` from the households under each row.

    ``household_link`` is the path from a household to the row's model: ``grid`` for grids,
    ``grid__village`` for villages, ``grid__village__town`` for towns. Correlated subqueries
    (on the indexed household.grid_id) rather than a join + GROUP BY over geometry columns.
    Registered in ``grids.signals`` so that grids' own lists (the API, the admin) show them.
    """
    per_row = (
        Household.objects.filter(**{household_link: OuterRef("pk")})
        .order_by()
        .values(household_link)
    )
    return qs.annotate(
        household_count=Coalesce(Subquery(per_row.annotate(n=Count("id")).values("n")), 0),
        population=Coalesce(Subquery(per_row.annotate(p=Sum("size")).values("p")), 0),
    )


# ``with_household_figures`` of one grid as SQL (the grid's id formatted in as ``{grid_id}``),
# for the point lookup's single statement (``grids.selectors.grid_at``).
GRID_FIGURES_SQL = (
    "SELECT count(*) AS household_count, coalesce(sum(size), 0) AS population "
    f"FROM {table(Household)} WHERE grid_id = {{grid_id}}"
)


def grid_household_figures(grid: Grid) -> dict[str, int]:
    agg = Household.objects.filter(grid=grid).aggregate(
        household_count=Count("id"), population=Sum("size")
    )
    return {"household_count": agg["household_count"], "population": agg["population"] or 0}


def units_visible_to(user: Any) -> QuerySet[TenHouseholdUnit]:
    """The ten-household units inside the user's jurisdiction (``accounts.selectors``)."""
    qs = TenHouseholdUnit.objects.all()
    scope = scope_q(user, "grid__code")
    return qs if scope is None else qs.filter(scope)
