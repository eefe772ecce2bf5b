"""The kinds' lists the page ``/lists/`` offers (``cases.list_views``), registered from each
kind's ``AppConfig.ready`` (this module imports no model, so an app config may import it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from .lists import Column, ListFilterForm, ListSpec
    from .paging import Keyset


@dataclass(frozen=True)
class CaseLists:
    """The three lists of one kind of case, as the page and its exports need them."""

    # ``?case=`` value and the tab's label.
    key: str
    label: str | Promise
    # The kind's filter form (a ``cases.ListFilterForm``) and its parsed spec's rows.
    form: type[ListFilterForm]
    queryset: Callable[[Any, ListSpec], QuerySet[Any]]
    # The columns of a list for a viewer (``kind``, ``user``): personal data masked per role.
    columns: Callable[[str, Any], list[Column]]
    # The URL name of a case's page (one ``pk`` argument).
    case_url: str
    # The kind's own filter fields (a template included inside the filter form).
    filters_template: str
    # The names of the three lists in the kind's words, by ``ListKind``.
    list_labels: Mapping[str, str | Promise] = field(default_factory=dict)
    # What each list holds, one sentence by ``ListKind``.
    descriptions: Mapping[str, str | Promise] = field(default_factory=dict)
    # The row count as the page says it ("3 cases", "3 requests").
    count_text: Callable[[int], str] = lambda n: str(n)  # noqa: E731
    # The data attribute naming a row's case on the page (``data-incident-id``).
    row_attribute: str = "data-case-id"
    # The figures of what the filter holds, for the page (a template and its context).
    figures: Callable[[Any, ListSpec], dict[str, Any] | None] | None = None
    figures_template: str = ""
    # Called before an export is answered (notes the personal data its body will show).
    before_export: Callable[[Any, QuerySet[Any], ListSpec], None] | None = None

    # A stylesheet of the kind's own for the page (a static path), or "".
    stylesheet: str = ""
    # The XLSX ceiling, read when exporting (None: ``cases.lists.XLSX_MAX_ROWS``).
    xlsx_max_rows: Callable[[], int] | None = None
    # A page's rows read by their keys, for a kind that reads them itself (``kind``, the
    # keys in order -> the rows in that order, with what the columns show); the page then
    # pages ``keys`` (the list's filter and order, nothing named). Without them the page
    # reads its rows from ``queryset``.
    keys: Callable[[Any, ListSpec], QuerySet[Any]] | None = None
    page_rows: Callable[[str, list[Any]], list[Any]] | None = None
    # The lists paged by keyset (``cases.paging.Keyset``), by ``ListKind``: their pager's
    # Next and Previous carry a cursor, so a deep page skips nothing. Their order must be
    # the keyset's (a non-null date-time then the key, both descending).
    keysets: Mapping[str, Keyset] = field(default_factory=dict)

    def list_label(self, kind: str) -> str:
        return str(self.list_labels.get(kind) or _list_kind_label(kind))


_REGISTERED: dict[str, CaseLists] = {}


def register(case_lists: CaseLists) -> CaseLists:
    """Offer a kind's lists on ``/lists/`` (idempotent), in the order of registration."""
    _REGISTERED[case_lists.key] = case_lists
    return case_lists


def registered() -> list[CaseLists]:
    return list(_REGISTERED.values())


def _list_kind_label(kind: str) -> str:
    from .lists import ListKind  # the models' module: not at import time (app loading)

    return str(ListKind(kind).label)
