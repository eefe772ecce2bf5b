"""Signals and hooks of grids: the apps above keep derived data in step with the boundaries,
and lend grids what grids shows but does not own, without grids importing them.

This module imports no model, so an app's ``apps.py`` can import it at module level.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.dispatch import Signal

# Sent after a committed boundary import or supersede (villages may have moved). Argument:
# ``level`` (the level imported).
boundaries_changed = Signal()

# Sent inside the transaction of a grid's creation, change or supersede, after the buildings
# have followed: whatever derives its grid from a location (households, then their
# ten-household units) derives it again. Arguments: ``old`` (the grid rows pointed at until
# now) and ``new`` (the grid now current; ``old`` itself when created or changed in place).
grid_replaced = Signal()


# --- household figures ---------------------------------------------------------------------
# The household count and population of grids, villages and towns (the map's popups and the
# admin's columns) come from households, an app above grids: households/apps.py registers its
# annotation here (``households.selectors.with_household_figures``), and
# ``grids.selectors.with_household_figures`` calls it.
HouseholdFigures = Callable[[QuerySet, str], QuerySet]
NO_HOUSEHOLD_FIGURES = (
    "No household figures are registered: households must be in INSTALLED_APPS "
    "(households/apps.py registers households.selectors.with_household_figures)."
)
_household_figures: HouseholdFigures | None = None


def register_household_figures(annotate: HouseholdFigures) -> None:
    global _household_figures
    _household_figures = annotate


def household_figures() -> HouseholdFigures:
    if _household_figures is None:
        raise ImproperlyConfigured(NO_HOUSEHOLD_FIGURES)
    return _household_figures


# The same figures as SQL, for the point lookup's one statement (``grids.selectors.grid_at``):
# a SELECT of two columns (household count, population) of the households whose grid id is
# ``{grid_id}`` (formatted in by the caller), registered by households/apps.py.
NO_HOUSEHOLD_FIGURES_SQL = (
    "No household figures SQL is registered: households must be in INSTALLED_APPS "
    "(households/apps.py registers households.selectors.GRID_FIGURES_SQL)."
)
_household_figures_sql: str | None = None


def register_household_figures_sql(sql: str) -> None:
    global _household_figures_sql
    _household_figures_sql = sql


def household_figures_sql() -> str:
    if _household_figures_sql is None:
        raise ImproperlyConfigured(NO_HOUSEHOLD_FIGURES_SQL)
    return _household_figures_sql
