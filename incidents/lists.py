"""The three lists (``cases.lists``) for incidents: their filters (category, severity), their
columns (category, severity, where, what, who it was routed to) and the columns of each list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cases import lists as case_lists
from cases.list_registry import CaseLists
from cases.lists import (
    ACK_DUE,
    CASE,
    EXTENSIONS,
    LIGHT,
    LIGHT_LABELS,
    MSG_TOO_MANY_FOR_XLSX,
    ON_TIME,
    OWNER,
    OWNER_LEVEL,
    PAGE_SIZE,
    PLACE_CODE,
    REPORTED,
    RESOLVE_DUE,
    RESOLVED,
    REWORK,
    SATISFACTION,
    SIGNED_AT,
    SIGNED_BY,
    STATUS,
    XLSX_MAX_ROWS,
    AreaLevel,
    Cell,
    Column,
    ListKind,
    User,
    areas_for,
)
from cases.paging import Keyset
from grids.models import Grid, Town, Village

from .models import Incident, IncidentRecipient, RecipientKind, Severity
from .selectors import category_choices, list_rows

__all__ = [
    "COLUMNS",
    "LISTS",
    "LIGHT_LABELS",
    "MSG_TOO_MANY_FOR_XLSX",
    "PAGE_SIZE",
    "XLSX_MAX_ROWS",
    "AreaLevel",
    "ListFilterForm",
    "ListKind",
    "ListSpec",
    "areas_for",
    "csv_lines",
    "list_queryset",
    "rows",
    "xlsx_bytes",
]


@dataclass(frozen=True)
class ListSpec(case_lists.ListSpec):
    """What to list, with the incidents' own filters."""

    category: str | None = None
    severity: str | None = None


def _name_of(model: type[Model], key: str) -> Subquery:
    return Subquery(model.objects.filter(pk=OuterRef(key)).order_by().values("name")[:1])


def list_queryset(*, user: User, spec: ListSpec, names: bool = True) -> QuerySet[Incident]:
    """The rows of a list, in one query (``cases.lists.list_queryset`` on incidents, with the
    category and places joined and, on the responsibility list, the people it was routed to
    by name as recorded at the reported time). Without ``names``, the filter and the order
    only: the keys of a page, whose rows ``incidents.selectors.list_rows`` reads."""
    qs = Incident.objects.all()
    if spec.category:
        qs = qs.filter(category__code=spec.category)
    if spec.severity:
        qs = qs.filter(severity=spec.severity)
    if not names:
        return case_lists.list_queryset(user=user, spec=spec, qs=qs, names=False)
    # The places' names as columns (no town, village and grid objects built per row: a
    # third of the page's rows' cost), each looked up by key for the rows read: joined, the
    # planner hashed the whole grid and village tables for a page of 50 rows.
    qs = (
        qs.select_related("category")
        .defer("location", "explanation")
        .annotate(
            town_name=_name_of(Town, "town_id"),
            village_name=_name_of(Village, "village_id"),
            grid_name=_name_of(Grid, "grid_id"),
        )
    )
    if spec.kind == ListKind.RESPONSIBILITY:
        routed = IncidentRecipient.objects.filter(
            incident=OuterRef("pk"), kind=RecipientKind.ROUTED
        ).order_by("id")
        qs = qs.annotate(responsible=ArraySubquery(routed.values("name")))
    return case_lists.list_queryset(user=user, spec=spec, qs=qs)


def place_text(incident: Incident) -> str:
    """Town · village · grid as the case was routed (the recorded versions): the names
    ``list_queryset`` reads with the row, else its places'."""
    if hasattr(incident, "town_name"):
        names = [incident.town_name, incident.village_name, incident.grid_name]  # type: ignore[attr-defined]
    else:
        names = [p.name if p else None for p in (incident.town, incident.village, incident.grid)]
    return " · ".join(n for n in names if n) or incident.place_code


CATEGORY = Column("category", _("category"), lambda i, now: i.category.name)
SEVERITY = Column(
    "severity", _("severity"), lambda i, now: i.severity, "severity", dict(Severity.choices)
)
PLACE = Column("place", _("place"), lambda i, now: place_text(i), "place")
DESCRIPTION = Column("description", _("description"), lambda i, now: i.description, "long")
RESPONSIBLE = Column(
    "responsible", _("responsible people"), lambda i, now: list(i.responsible or []), "people"
)

# What and where, as every list starts.
WHAT = [CATEGORY, SEVERITY, PLACE, PLACE_CODE]
COLUMNS: dict[str, list[Column]] = {
    ListKind.PROBLEMS: [CASE, REPORTED, *WHAT, STATUS, LIGHT, OWNER_LEVEL, OWNER, RESOLVE_DUE],
    ListKind.RESPONSIBILITY: [
        *[CASE, *WHAT, STATUS, LIGHT, OWNER_LEVEL, OWNER],
        *[RESPONSIBLE, ACK_DUE, RESOLVE_DUE],
    ],
    ListKind.CLOSEOUT: [
        *[CASE, *WHAT, REPORTED, RESOLVED, SIGNED_BY, SIGNED_AT],
        *[ON_TIME, SATISFACTION, REWORK, EXTENSIONS],
    ],
}
# The description closes every list (the longest column).
for _columns in COLUMNS.values():
    _columns.append(DESCRIPTION)


def rows(incidents: Any, kind: str, now: dt.datetime) -> Iterator[tuple[Incident, list[Cell]]]:
    return case_lists.rows(incidents, COLUMNS[kind], now)


def csv_lines(qs: QuerySet[Incident], kind: str, now: dt.datetime) -> Iterator[str]:
    return case_lists.csv_lines(qs, COLUMNS[kind], now)


def xlsx_bytes(qs: QuerySet[Incident], kind: str, now: dt.datetime, title: str) -> bytes:
    return case_lists.xlsx_bytes(qs, COLUMNS[kind], now, title)


class ListFilterForm(case_lists.ListFilterForm):
    """The query string of ``/lists/`` with the incidents' filters."""

    category = forms.ChoiceField(label=_("Category"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False)
    spec_class = ListSpec

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        anything = [("", _("all"))]
        self.fields["severity"].choices = anything + list(Severity.choices)
        self.fields["category"].choices = anything + category_choices()

    def spec_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            **super().spec_fields(),
            "category": data.get("category") or None,
            "severity": data.get("severity") or None,
        }


def columns_for(kind: str, user: User) -> list[Column]:
    """The columns of a list (the same for every viewer: an incident list names no resident)."""
    return COLUMNS[kind]


def _queryset(user: User, spec: case_lists.ListSpec) -> QuerySet[Incident]:
    assert isinstance(spec, ListSpec)
    return list_queryset(user=user, spec=spec)


def _keys(user: User, spec: case_lists.ListSpec) -> QuerySet[Incident]:
    assert isinstance(spec, ListSpec)
    return list_queryset(user=user, spec=spec, names=False)


# The incidents' lists on ``/lists/`` (``cases.list_views``; registered by the app).
LISTS = CaseLists(
    key="incident",
    label=_("Incidents"),
    form=ListFilterForm,
    queryset=_queryset,
    columns=columns_for,
    case_url="case",
    filters_template="incidents/_list_filters.html",
    descriptions={
        ListKind.PROBLEMS: _("All cases, the newest first."),
        ListKind.RESPONSIBILITY: _("Open cases, the most urgent first."),
        ListKind.CLOSEOUT: _("Closed-out cases, the latest first."),
    },
    count_text=lambda n: ngettext("%(counter)s case", "%(counter)s cases", n) % {"counter": n},
    row_attribute="data-incident-id",
    xlsx_max_rows=lambda: XLSX_MAX_ROWS,  # read when exporting (a test lowers it here)
    # A page's rows by key, in one prepared statement (the exports keep the queryset's).
    keys=_keys,
    page_rows=list_rows,
    # The problem list (every case, the newest first) is paged by keyset.
    keysets={ListKind.PROBLEMS: Keyset("reported_at")},
)
