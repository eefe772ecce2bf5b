"""The households behind the coverage figures, one page at a time (reads only).

Three lists, each of an area the caller has already checked against the viewer's
jurisdiction (``coverage.views.chosen_area``):

- ``no_grid``: households inside a current village of the area that no grid holds;
- ``no_unit``: households of the area's grids in no ten-household unit;
- ``beyond``: households of one village of the area beyond the 15-minute service circle, with
  their distance (by road, or a straight-line estimate where the village has no road data),
  computed in PostGIS/pgRouting for that village (``coverage.service_circle.beyond_page``).

Counts and pages are SQL (``count(*)``, ``LIMIT``/``OFFSET``); no list loads every household.
Heads of household are named through the one masking rule (``gridmap.personal_data.show``),
which also marks the answer no-store and logs an unmasked view.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridmap import personal_data
from grids.models import Village
from households.models import Household

from .service_circle import Method, beyond_page

NO_GRID = "no_grid"
NO_UNIT = "no_unit"
BEYOND = "beyond"
LISTS = {
    NO_GRID: gettext_lazy("Households in no grid"),
    NO_UNIT: gettext_lazy("Households in no ten-household unit"),
    BEYOND: gettext_lazy("Households beyond the 15-minute service circle"),
}
PAGE_SIZE = 100


@dataclass(frozen=True)
class HouseholdRow:
    id: int
    head_name: str  # as the viewer may see it
    address: str
    grid: str  # "" when in no grid
    distance_m: float | None = None  # the beyond list only
    method: str = ""  # the beyond list only: Method.NETWORK or Method.ESTIMATE


@dataclass
class HouseholdPage:
    kind: str
    count: int
    rows: list[HouseholdRow]
    method: str = ""  # the beyond list: how the village's distances are measured
    horizon_m: float | None = None  # the beyond list: roads walked this far at most


def village_in_area(prefix: str, code: str) -> Village | None:
    """The current village ``code`` when it lies in the area of ``prefix``."""
    if not code.startswith(prefix):
        return None
    return Village.objects.current().filter(code=code).only("id", "code", "name").first()


def _queryset(kind: str, prefix: str) -> QuerySet[Household]:
    if kind == NO_GRID:
        inside = Village.objects.current().filter(
            code__startswith=prefix, geom__covers=OuterRef("location")
        )
        return Household.objects.filter(grid__isnull=True).filter(Exists(inside))
    return Household.objects.filter(grid__code__startswith=prefix, ten_household_unit__isnull=True)


def _head(name: str, *, visible: bool, household_id: int, grid: str) -> str:
    return personal_data.show(
        name,
        kind=personal_data.HEAD_NAME,
        visible=visible,
        record_type="household",
        record_id=household_id,
        code=grid or None,
    )


def household_page(
    kind: str,
    *,
    prefix: str,
    village: str | None,
    visible: bool,
    offset: int = 0,
    limit: int | None = PAGE_SIZE,
) -> HouseholdPage:
    """One page of the list ``kind`` (every row when ``limit`` is None). ``visible``: the
    viewer sees names unmasked (``accounts.selectors.can_see_personal_data``)."""
    if kind == BEYOND:
        if village is None:
            raise ValueError("the beyond list is per village")
        page = beyond_page(village, offset=offset, limit=limit)
        rows = [
            HouseholdRow(
                r.id,
                _head(r.head_name, visible=visible, household_id=r.id, grid=r.grid),
                r.address,
                r.grid,
                r.distance_m,
                r.method,
            )
            for r in page.rows
        ]
        return HouseholdPage(kind, page.count, rows, page.method, page.horizon_m)
    qs = _queryset(kind, prefix)
    if village is not None and kind == NO_UNIT:
        qs = qs.filter(grid__village__code=village)
    elif village is not None:
        here = Village.objects.current().filter(code=village, geom__covers=OuterRef("location"))
        qs = qs.filter(Exists(here))
    count = qs.count()
    window = qs.order_by("id").values_list("id", "head_name", "address", "grid__code")
    window = window[offset : offset + limit] if limit is not None else window[offset:]
    rows = [
        HouseholdRow(
            hid,
            _head(name, visible=visible, household_id=hid, grid=grid or ""),
            address,
            grid or "",
        )
        for hid, name, address, grid in window
    ]
    return HouseholdPage(kind, count, rows)


def distance_text(row: HouseholdRow, horizon_m: float | None) -> str:
    """How far a household beyond the circle is, for people."""
    if row.distance_m is None:
        if row.method == Method.ESTIMATE:
            return _("no service centre")
        return _("more than %(metres)s m by road") % {"metres": f"{horizon_m or 0:,.0f}"}
    if row.method == Method.ESTIMATE:
        return _("%(metres)s m in a straight line") % {"metres": f"{row.distance_m:,.0f}"}
    return _("%(metres)s m by road") % {"metres": f"{row.distance_m:,.0f}"}
