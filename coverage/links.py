"""Where each figure of the coverage page leads, for one viewer.

Every figure with items links to them: to its table on the page (``#items-<key>``), or, for
households (which can be a city's tens of thousands), to a paginated list page
(``coverage-households``). A grid in an item table links to the map opened on it; a grid
missing a role offers "assign" (the admin's role-assignment form, prefilled) to whoever may
add role assignments there: a staff login with the admin permission whose jurisdiction
covers the grid (the admin checks the jurisdiction again when the form is saved, and
records the addition in its history).
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.selectors import jurisdiction_prefixes
from gridmap.codes import covers
from grids.models import GRID_ROLES, Grid

from .export import Cell, Section
from .lists import BEYOND, NO_GRID, NO_UNIT

GRID_CODE = re.compile(r"^\d{15}$")
# Figures counting households: their list page instead of an id table.
HOUSEHOLD_FIGURES = {
    "tiling-households-in-no-grid": NO_GRID,
    "units-households-in-no-unit": NO_UNIT,
}
# The households beyond the circle are listed per village: the figure leads to the villages.
BEYOND_FIGURE = "service-circle-uncovered-households"
VILLAGES_FIGURE = "service-circle-villages"
ASSIGN_PERMISSION = "grids.add_roleassignment"
# Check 8's list: its household column leads to the household file (presence).
KEY_PERSONS_FIGURE = "key-persons-key-persons-not-visited"


def may_assign(user: Any, code: str) -> bool:
    """Whether ``user`` may add a role assignment on the place ``code`` (the admin's rule)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(ASSIGN_PERMISSION)
        and covers(jurisdiction_prefixes(user), code)
    )


def households_url(area_code: str, kind: str, village: str | None = None, **extra: Any) -> str:
    query: dict[str, Any] = {"area": area_code, "list": kind}
    if village:
        query["village"] = village
    query.update(extra)
    return f"{reverse('coverage-households')}?{urlencode(query)}"


def map_url(grid_code: str) -> str:
    return f"{reverse('map')}?{urlencode({'grid': grid_code})}"


def assign_url(grid_id: int, role: str) -> str:
    return (
        f"{reverse('admin:grids_roleassignment_add')}?{urlencode({'grid': grid_id, 'role': role})}"
    )


def link_sections(sections: list[Section], *, area_code: str, user: Any) -> None:
    """Fill in the links of the figures and their items (``export.Figure``)."""
    missing_roles = {f"roles-grids-missing-{r}".replace("_", "-"): str(r) for r in GRID_ROLES}
    assignable: dict[str, int] = {}
    if user.is_staff and user.has_perm(ASSIGN_PERMISSION):
        codes = {
            row.get("code")
            for section in sections
            for figure in section.figures
            if figure.key in missing_roles
            for row in figure.items or []
        }
        assignable = dict(Grid.objects.current().filter(code__in=codes).values_list("code", "id"))
    for section in sections:
        for figure in section.figures:
            if figure.key in HOUSEHOLD_FIGURES and figure.value:
                figure.href = households_url(area_code, HOUSEHOLD_FIGURES[figure.key])
            elif figure.key == BEYOND_FIGURE:
                figure.href = f"#items-{VILLAGES_FIGURE}"
            elif figure.items:
                figure.href = f"#items-{figure.key}"
            for row in figure.items or []:
                links: dict[str, str] = {}
                for column in ("code", "grid"):
                    value = row.get(column)
                    if isinstance(value, str) and GRID_CODE.match(value):
                        links[column] = map_url(value)
                # Key persons not visited in time (check 8): each household's file.
                if figure.key == KEY_PERSONS_FIGURE and isinstance(row.get("household"), str):
                    links["household"] = reverse("household-file", args=[row["household"]])
                if figure.key == VILLAGES_FIGURE and row.get(BEYOND):
                    links[BEYOND] = households_url(area_code, BEYOND, row.get("code"))
                figure.cell_links.append(links)
                actions: list[Cell] = []
                role = missing_roles.get(figure.key)
                code = row.get("code")
                if role and code in assignable and may_assign(user, code):
                    actions.append(Cell(_("Assign"), assign_url(assignable[code], role)))
                figure.row_actions.append(actions)
            figure.has_actions = any(figure.row_actions)
