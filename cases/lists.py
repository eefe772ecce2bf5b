"""The three lists of four-level linkage: 问题清单 / 责任清单 / 销号清单, for any kind of case.

- **Problem list** (``problems``): every case of the area reported in the period, with its
  status, traffic light, owner and place.
- **Responsibility list** (``responsibility``): every *open* case of the area, with the level
  and place that own it now, the people it was routed to (their names as recorded at the
  reported time) and its deadlines.
- **Close-out list** (``closeout``): every case of the area closed out (销号) in the period,
  with who signed it off and when, and whether that was on time.

An *area* is a station (the villages of its current catchment), a town or a county (by code
prefix; codes nest); without one, the whole jurisdiction. The jurisdiction
(``accounts.selectors.scope_q`` on ``place_code``) always applies on top, so choosing an area
outside it shows nothing rather than someone else's cases.

Each list is one SQL query whatever the number of rows: the sign-off and the owner's place
name come by subqueries (a kind adds its own: an incident's category and places by
``select_related``, its routed names by a subquery). The traffic light is computed in Python
from the row's own fields (``cases.deadlines.traffic_light``), without queries. Exports (CSV,
XLSX) use the same columns, with headers in the reader's language.

This module holds what every kind shares: the lists, the area, the filter, the case
columns, the page rows and the exports. A kind's own module (``incidents.lists``,
``servicedesk.lists``) adds its filters, its columns and the columns of each list, and says
what each list holds where that differs from the incidents' (``ListRules``: a service
request's problem list holds the requests not yet done, its close-out list those done,
delivered, returned or withdrawn, by the date they ended). The page and its exports are
``cases.list_views``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape as html_escape
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, TextChoices
from django.db.models.functions import Coalesce, Substr
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import (
    get_language,
    gettext,
    gettext_noop,
    pgettext,
    pgettext_lazy,
)
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from accounts.selectors import acting_places, jurisdiction_prefixes, scope_q
from gridmap.codes import Level
from gridmap.exports import safe_cell, safe_row
from gridmap.ttl import TTLCache
from grids.models import CatchmentAssignment, City, District, Grid, Station, Town, Village

from .deadlines import traffic_light
from .kinds import kind_of
from .models import OPEN_STATUSES, Case, Status
from .paging import MSG_BAD_CURSOR, BadCursor, Keyset

User = AbstractBaseUser | AnonymousUser

# The action name of a close-out (销号) in the case history (cases.workflow.Action).
CLOSE_OUT_ACTION = "close_out"

MSG_CODE_LEVEL = gettext_noop("%(code)s is not the code of a %(level)s.")
MSG_CODE_UNKNOWN = gettext_noop(
    "%(code)s is not the code of a station (town code, S, two digits), a town (9 digits) "
    "or a county (6 digits)."
)
MSG_LEVEL_NEEDS_CODE = gettext_noop("Choose which %(level)s.")
MSG_DATES_ORDER = gettext_noop("The period ends before it starts.")
MSG_TOO_MANY_FOR_XLSX = gettext_noop(
    "%(count)s rows are too many for an XLSX file (at most %(max)s): narrow the filter or "
    "export CSV."
)

# Rows per page on screen; an XLSX file is built in memory, so it has a ceiling (CSV streams).
PAGE_SIZE = 50
XLSX_MAX_ROWS = 100_000


class ListKind(TextChoices):
    PROBLEMS = "problems", _("Problem list")
    RESPONSIBILITY = "responsibility", _("Responsibility list")
    CLOSEOUT = "closeout", _("Close-out list")


class AreaLevel(TextChoices):
    STATION = "station", _("station")
    TOWN = "town", _("town")
    COUNTY = "county", _("county")


AREA_CODE_REGEX = {
    AreaLevel.STATION: re.compile(r"^\d{9}S\d{2}$"),
    AreaLevel.TOWN: re.compile(r"^\d{9}$"),
    AreaLevel.COUNTY: re.compile(r"^\d{6}$"),
}


def area_level_of(code: str) -> str | None:
    """The area level a code has the format of (a station, a town or a county)."""
    for level, regex in AREA_CODE_REGEX.items():
        if regex.match(code):
            return level
    return None


# --- the area and the rows --------------------------------------------------------------------
def area_q(level: str, code: str, path: str = "place_code") -> Q:
    """Q for rows whose ``path`` (a place code) lies in the area.

    A station's area is the villages of its *current* catchment, matched in the database (an
    ``EXISTS`` on the catchment, no list of codes in Python); a town's or a county's is its
    code prefix.
    """
    if level == AreaLevel.STATION:
        in_catchment = CatchmentAssignment.objects.active().filter(
            station__code=code, village__code=Substr(OuterRef(path), 1, 12)
        )
        return Q(Exists(in_catchment))
    return Q(**{f"{path}__startswith": code})


@dataclass(frozen=True)
class ListSpec:
    """What to list: the parsed filter (``ListFilterForm.spec``)."""

    kind: str = ListKind.PROBLEMS
    level: str | None = None
    code: str | None = None
    status: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _owner_name() -> Coalesce:
    """The name of the place that owns a case (``owner_code``), whatever its level."""

    def name_of(model: Any) -> Subquery:
        qs = model.objects.filter(code=OuterRef("owner_code"))
        if model is not Station:
            qs = qs.current()
        return Subquery(qs.order_by().values("name")[:1])

    return Coalesce(*(name_of(m) for m in (Grid, Village, Station, Town, District, City)))


@dataclass(frozen=True)
class ListRules:
    """What each list holds for a kind; the defaults are the incidents' (a case is closed out
    by its sign-off, 销号)."""

    # The statuses each list holds (None: every status).
    statuses: Mapping[str, Sequence[str] | None] = field(
        default_factory=lambda: {
            ListKind.PROBLEMS: None,
            ListKind.RESPONSIBILITY: list(OPEN_STATUSES),
            ListKind.CLOSEOUT: [Status.CLOSED],
        }
    )
    # The lists on which the status filter applies (the close-out list holds one status).
    status_filtered: frozenset[str] = frozenset({ListKind.PROBLEMS, ListKind.RESPONSIBILITY})
    # When a case ended, for the close-out list's period and order: a field, or an expression
    # (annotated as ``ended_at``).
    ended_at: str | Callable[[], Any] = "closed_at"
    # The actions whose last event is the sign-off (who ended it and when).
    sign_off_actions: tuple[str, ...] = (CLOSE_OUT_ACTION,)
    # Whether the lists apply the jurisdiction (``scope_q`` on ``place_code``); False where the
    # kind hands over the cases the user may open (the engine's ``cases_visible_to``).
    scoped: bool = True


INCIDENT_RULES = ListRules()


def list_queryset(
    *,
    user: User,
    spec: ListSpec,
    qs: QuerySet[Any],
    rules: ListRules = INCIDENT_RULES,
    names: bool = True,
) -> QuerySet[Any]:
    """The rows of a list, in one query: jurisdiction, area, period and status applied to
    ``qs`` (the kind's cases, its own filters applied), with the owner's place name (problem
    and responsibility lists) or the sign-off (close-out list) and the list's order.
    Without ``names``, the filter and the order only (the keys of a page whose rows are
    read by key: ``CaseLists.page_rows``)."""
    kind = kind_of(qs.model)
    if rules.scoped:
        scope = scope_q(user, "place_code")
        if scope is not None:
            qs = qs.filter(scope)
    if spec.level and spec.code:
        qs = qs.filter(area_q(spec.level, spec.code))

    # The period is of the report, except on the close-out list: of the end (close-out).
    period_field = "reported_at"
    if spec.kind == ListKind.CLOSEOUT:
        if callable(rules.ended_at):
            qs = qs.annotate(ended_at=rules.ended_at())
            period_field = "ended_at"
        else:
            period_field = rules.ended_at
    if spec.date_from:
        qs = qs.filter(**{f"{period_field}__gte": _day_start(spec.date_from)})
    if spec.date_to:
        qs = qs.filter(**{f"{period_field}__lt": _day_start(spec.date_to + dt.timedelta(days=1))})

    statuses = rules.statuses.get(spec.kind)
    if statuses is not None:
        qs = qs.filter(status__in=list(statuses))
    if spec.status and spec.kind in rules.status_filtered:
        qs = qs.filter(status=spec.status)

    if spec.kind == ListKind.PROBLEMS:
        if names:
            qs = qs.annotate(owner_name=_owner_name())
        return qs.order_by("-reported_at", "-id")
    if spec.kind == ListKind.RESPONSIBILITY:
        if names:
            qs = qs.annotate(owner_name=_owner_name())
        return qs.order_by(
            Coalesce("resolve_due_at", "acknowledge_due_at").asc(nulls_last=True), "id"
        )
    if not names:
        return qs.order_by(F(period_field).desc(nulls_last=True), "-id")
    sign_off = (
        kind.events(OuterRef("pk")).filter(action__in=rules.sign_off_actions).order_by("-seq")
    )
    return qs.annotate(
        signed_off_by=Subquery(sign_off.values("actor_name")[:1]),
        signed_off_at=Subquery(sign_off.values("at")[:1]),
    ).order_by(F(period_field).desc(nulls_last=True), "-id")


# --- columns ----------------------------------------------------------------------------------
LIGHT_LABELS = {
    "green": pgettext_lazy("traffic light", "green"),
    "yellow": pgettext_lazy("traffic light", "yellow"),
    "red": pgettext_lazy("traffic light", "red: overdue"),
}


@dataclass(frozen=True, eq=False)
class Column:
    """One column: its header, how to read a row, and how the page shows it (``kind``)."""

    key: str
    label: str | Promise
    value: Callable[[Any, dt.datetime], Any]
    # text, long, place, people, number, datetime, date, case, status, severity, level, light,
    # on_time
    kind: str = "text"
    # The labels of a choice the case's kind defines (an incident's severity), by value.
    labels: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Cell:
    key: str
    kind: str
    value: Any
    labels: Mapping[str, Any] | None = None

    @property
    def text(self) -> str:
        """The value as the export and the page write it (localised labels, local time)."""
        return cell_text(self.kind, self.value, self.labels)


def cell_text(kind: str, value: Any, labels: Mapping[str, Any] | None = None) -> str:
    if value is None or value == "":
        return ""
    if labels is not None:
        return str(labels.get(value, value))
    if kind == "datetime":
        return minute_text(timezone.localtime(value))
    if kind == "date":
        return value.isoformat()
    if kind == "status":
        return _choice_label(Status, value, get_language())
    if kind == "light":
        return str(LIGHT_LABELS.get(value, value))
    if kind == "on_time":
        return gettext("on time") if value else gettext("late")
    if kind == "level":
        return _choice_label(Level, value, get_language())
    if isinstance(value, list | tuple):
        # The list separator of the language: "、" in Chinese, ", " in English.
        return pgettext("list separator", ", ").join(str(v) for v in value)
    return str(value)


def minute_text(local: dt.datetime) -> str:
    """A local time to the minute, as ``strftime("%Y-%m-%d %H:%M")`` writes it, without its
    cost (a list page writes a hundred)."""
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


@functools.lru_cache(maxsize=512)
def _choice_label(choices: type[TextChoices], value: str, language: str | None) -> str:
    """A choice's label in ``language`` (the active one: the caller passes it so that each
    language keeps its own entry); a page writes the same few labels hundreds of times."""
    return str(choices(value).label)


def _owner_text(case: Case) -> str:
    name = getattr(case, "owner_name", None)
    return f"{name} ({case.owner_code})" if name else case.owner_code


def _light(case: Case, now: dt.datetime) -> str | None:
    if case.status not in OPEN_STATUSES:
        return None
    return traffic_light(case, now)


CASE = Column("id", _("No."), lambda i, now: i.pk, "case")
REPORTED = Column("reported_at", _("reported at"), lambda i, now: i.reported_at, "datetime")
PLACE_CODE = Column("place_code", _("place code"), lambda i, now: i.place_code)
STATUS = Column("status", _("status"), lambda i, now: i.status, "status")
LIGHT = Column("traffic_light", _("traffic light"), _light, "light")
OWNER_LEVEL = Column("owner_level", _("owning level"), lambda i, now: i.owner_level, "level")
OWNER = Column("owner", _("owning place"), lambda i, now: _owner_text(i))
ACK_DUE = Column(
    "acknowledge_due_at", _("acknowledge by"), lambda i, now: i.acknowledge_due_at, "datetime"
)
RESOLVE_DUE = Column("resolve_due_at", _("resolve by"), lambda i, now: i.resolve_due_at, "datetime")
RESOLVED = Column("resolved_at", _("resolved at"), lambda i, now: i.resolved_at, "datetime")
SIGNED_BY = Column("signed_off_by", _("signed off by"), lambda i, now: i.signed_off_by)
SIGNED_AT = Column("signed_off_at", _("signed off at"), lambda i, now: i.signed_off_at, "datetime")
ON_TIME = Column("closed_on_time", _("on time"), lambda i, now: i.closed_on_time, "on_time")
SATISFACTION = Column("satisfaction", _("satisfaction"), lambda i, now: i.satisfaction, "number")
REWORK = Column("rework_count", _("reopened"), lambda i, now: i.rework_count, "number")
EXTENSIONS = Column(
    "extension_count", _("extensions granted"), lambda i, now: i.extension_count, "number"
)


def row_cells(case: Case, columns: list[Column], now: dt.datetime) -> list[Cell]:
    return [Cell(c.key, c.kind, c.value(case, now), c.labels) for c in columns]


def rows(
    cases: Iterable[Any], columns: list[Column], now: dt.datetime
) -> Iterator[tuple[Any, list[Cell]]]:
    for case in cases:
        yield case, row_cells(case, columns, now)


def rows_html(
    cases: Iterable[Any],
    columns: Sequence[Column],
    now: dt.datetime,
    case_url: str,
    row_attribute: str,
) -> SafeString:
    """The table body of a page: a ``<tr>`` per case (its key in ``row_attribute``) with a
    ``<td>`` per column, written here with every value escaped (``_e``: the standard
    library's ``html.escape``, quotes included).

    Each column's writer is made once per language and script prefix (``_writers``): the
    labels of a choice, the chips, the local time zone and the case page's URL are looked up
    then, not per cell. A page of 50 rows and 14 columns costs about 1 ms; through ``Cell``
    objects and a template it cost 5-8 ms (issue 16, point 4)."""
    writers = _writers(
        tuple(columns),
        case_url,
        get_language(),
        get_script_prefix(),
        timezone.get_current_timezone_name(),
    )
    attribute = _e(row_attribute)
    parts = []
    for case in cases:
        parts.append(f'<tr {attribute}="{_e(case.pk)}">')
        for value_of, td, write in writers:
            parts.append(f"{td}{write(value_of(case, now))}</td>")
        parts.append("</tr>")
    return mark_safe("".join(parts))  # noqa: S308 (every value escaped)


def header_html(columns: Sequence[Column]) -> SafeString:
    """The table's header row (each column's label, capitalised), written once per columns
    and language."""
    return _header_html(tuple(columns), get_language())


@functools.lru_cache(maxsize=64)
def _header_html(columns: tuple[Column, ...], language: str | None) -> SafeString:
    # The language is part of the key only: the labels are read in the active one.
    return mark_safe(  # noqa: S308 (every value escaped)
        "<tr>"
        + "".join(
            f'<th scope="col" data-column="{_e(c.key)}">{_e(_capfirst(str(c.label)))}</th>'
            for c in columns
        )
        + "</tr>"
    )


def cell_html(cell: Cell, case_url: str) -> SafeString:
    """One cell's ``<td>`` as ``rows_html`` writes it."""
    column = Column(cell.key, "", lambda case, now: cell.value, cell.kind, cell.labels)
    _value_of, td, write = _writer(column, case_url)
    return mark_safe(f"{td}{write(cell.value)}</td>")  # noqa: S308 (every value escaped)


_Writer = tuple[Callable[[Any, dt.datetime], Any], str, Callable[[Any], str]]
MUTED_DASH = '<span class="gm-muted">–</span>'


@functools.lru_cache(maxsize=64)
def _writers(
    columns: tuple[Column, ...], case_url: str, language: str | None, prefix: str, zone: str
) -> tuple[_Writer, ...]:
    # The language, prefix and time zone are part of the key only: the writers read the
    # active ones. A column is its own key (``Column`` compares by identity).
    return tuple(_writer(column, case_url) for column in columns)


def _writer(column: Column, case_url: str) -> _Writer:
    """How a column reads a case, its ``<td>`` and how it writes a value (escaped markup)."""
    kind, labels = column.kind, column.labels
    td = f'<td class="cs-cell-{_e(kind)}" data-column="{_e(column.key)}">'
    if kind == "case":
        head, tail = _case_href_parts(case_url)
        head, tail = _e(head), _e(tail)

        def write(value: Any) -> str:
            return f'<a href="{head}{int(value)}{tail}">#{_e(value)}</a>'

        return column.value, td, write
    if kind in ("status", "severity", "light", "level", "on_time") or labels is not None:
        # Few values, written many times: each value's markup once.
        seen: dict[Any, str] = {}

        def write(value: Any) -> str:
            try:
                return seen[value]
            except KeyError:
                markup = seen[value] = _content(kind, value, labels)
                return markup
            except TypeError:  # not a key (a list): written each time
                return _content(kind, value, labels)

        return column.value, td, write
    if kind == "datetime":
        zone = timezone.get_current_timezone()

        def write(value: Any) -> str:
            if value is None:
                return MUTED_DASH
            return minute_text(value.astimezone(zone))

        return column.value, td, write
    if kind in PLAIN_KINDS:

        def write(value: Any) -> str:
            # cell_text of a plain value is its text.
            if value is None or value == "" or isinstance(value, list | tuple):
                return _content(kind, value, labels)
            text = value if type(value) is str else str(value)
            return _long_markup(text) if kind == "long" else _e(_capfirst(text))

        return column.value, td, write
    return column.value, td, lambda value: _content(kind, value, labels)


# The kinds whose text is the value's own (``cell_text``'s last line).
PLAIN_KINDS = frozenset({"text", "long", "place", "number"})


def _content(kind: str, value: Any, labels: Mapping[str, Any] | None) -> str:
    """The escaped markup inside a cell's ``<td>``, but for a case's link."""
    if value is None or value == "":
        return MUTED_DASH
    text = cell_text(kind, value, labels)
    if kind in ("status", "severity", "light"):
        return _chip(kind, str(value), text)
    if kind == "on_time":
        return f'<span class="cs-chip {"cs-ontime" if value else "cs-late"}">{_e(text)}</span>'
    if kind == "long":
        return _long_markup(text)
    return _e(_capfirst(text))


def _long_markup(text: str) -> str:
    """A long text's cell: its first 60 characters, the whole in the title."""
    short = text if len(text) <= 60 else Truncator(text).chars(60)
    return f'<span title="{_e(text)}">{_e(short)}</span>'


def area_options(areas: list[tuple[str, list[tuple[str, str]]]], selected: str) -> SafeString:
    """The area choice's ``<optgroup>``s and ``<option>``s (``areas_for``), ``selected``
    marked, every value escaped: the same few hundred options of a city are written once per
    jurisdiction, language and choice (a template loop cost ~4 ms a page)."""
    groups = tuple((group, tuple(choices)) for group, choices in areas)
    # Only a code on offer is part of the cache's key (anything else selects nothing).
    if not any(code == selected for _group, choices in groups for code, _label in choices):
        selected = ""
    return _area_options(groups, selected)


def select_options(choices: Iterable[tuple[Any, Any]], selected: str) -> SafeString:
    """The ``<option>``s of a filter's choices (labels capitalised as ``capfirst`` does),
    ``selected`` marked, every value escaped (a template loop per choice cost ~1 ms a page)."""
    selected = str(selected)
    return mark_safe(  # noqa: S308 (every value escaped)
        "".join(
            _option(value, _capfirst(str(label)), str(value) == selected)
            for value, label in choices
        )
    )


@functools.lru_cache(maxsize=256)
def _area_options(
    groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...], selected: str
) -> SafeString:
    parts = []
    for group, choices in groups:
        parts.append(f'<optgroup label="{_e(_capfirst(group))}">')
        parts.extend(_option(code, label, code == selected) for code, label in choices)
        parts.append("</optgroup>")
    return mark_safe("".join(parts))  # noqa: S308 (every value escaped)


def _option(value: Any, label: str, selected: bool) -> str:
    """An ``<option>``, its value and label escaped."""
    return f'<option value="{_e(value)}"{" selected" if selected else ""}>{_e(label)}</option>'


def _e(value: Any) -> str:
    if type(value) is int:  # a key or a count: nothing to escape
        return str(value)
    return html_escape(value if type(value) is str else str(value), quote=True)


def _capfirst(text: str) -> str:
    # django.utils.text.capfirst, without its lazy-string wrapper (cells are plain str).
    return text[:1].upper() + text[1:]


# A case's page, reversed once per URL name, language and script prefix (the URL is the same
# but for the id): the number stands in for the id and is replaced by it.
_CASE_ID_MARK = 918273645


def _case_href_parts(case_url: str) -> tuple[str, str]:
    """The case page's URL before and after its id (under the active language and prefix)."""
    head, _mark, tail = reverse(case_url, args=[_CASE_ID_MARK]).partition(str(_CASE_ID_MARK))
    return head, tail


@functools.lru_cache(maxsize=1024)
def _chip(kind: str, value: str, text: str) -> str:
    """A status, severity or traffic-light chip: a page writes the same few hundreds of times
    (keyed by the label too, so each language has its own)."""
    if kind == "status":
        return f'<span class="cs-chip cs-status cs-status-{_e(value)}">{_e(_capfirst(text))}</span>'
    if kind == "severity":
        return f'<span class="cs-chip cs-sev-{_e(value)}">{_e(_capfirst(text))}</span>'
    return (
        f'<span class="cs-chip cs-light-{_e(value)}" data-traffic-light="{_e(value)}">'
        f'<span class="cs-dot" aria-hidden="true"></span>{_e(_capfirst(text))}</span>'
    )


# --- export -----------------------------------------------------------------------------------
class _Echo:
    """A file-like object whose write returns the line (csv.writer into a streaming body)."""

    def write(self, value: str) -> str:
        return value


# Columns whose values are written as numbers (in the CSV too: a negative number is a number,
# not a formula to quote).
NUMBER_KINDS = ("number", "case")


def _csv_value(cell: Cell) -> Any:
    if cell.kind in NUMBER_KINDS and cell.value is not None and cell.labels is None:
        return cell.value
    return safe_cell(cell.text)


def csv_lines(qs: QuerySet[Any], columns: list[Column], now: dt.datetime) -> Iterator[str]:
    """The CSV file, line by line: a BOM (so spreadsheet programs read UTF-8), the headers in
    the active language, then the rows, fetched from the database in chunks. Text that would
    be a formula is quoted (``gridmap.exports``)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow(safe_row(str(c.label) for c in columns))
    for _case, cells in rows(qs.iterator(chunk_size=2000), columns, now):
        yield writer.writerow([_csv_value(cell) for cell in cells])


def _xlsx_value(cell: Cell) -> Any:
    if cell.value is None:
        return None
    if cell.kind == "datetime":
        # Spreadsheets have no time zones: local time, as the page shows it.
        return timezone.localtime(cell.value).replace(tzinfo=None)
    if cell.kind == "date":
        return cell.value
    if cell.kind in NUMBER_KINDS:
        return cell.value
    # openpyxl writes text starting with "=" as a formula: quoted, it stays text.
    return safe_cell(cell.text)


DATE_FORMATS = {"datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}


def xlsx_bytes(qs: QuerySet[Any], columns: list[Column], now: dt.datetime, title: str) -> bytes:
    """The list as an XLSX workbook (openpyxl, write-only: rows go straight to the file)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    widths = {"long": 60, "place": 30, "datetime": 17, "date": 11, "people": 24, "case": 8,
              "number": 10}  # fmt: skip
    for index, column in enumerate(columns):
        letter = get_column_letter(index + 1)
        sheet.column_dimensions[letter].width = widths.get(column.kind, 16)
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=safe_cell(str(column.label)))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for _case, cells in rows(qs.iterator(chunk_size=2000), columns, now):
        out = []
        for cell in cells:
            value = _xlsx_value(cell)
            if cell.kind in DATE_FORMATS and value is not None:
                written = WriteOnlyCell(sheet, value=value)
                written.number_format = DATE_FORMATS[cell.kind]
                out.append(written)
            else:
                out.append(value)
        sheet.append(out)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the filter -------------------------------------------------------------------------------
# The area choices of a jurisdiction, kept per process for GRIDMAP_AREA_CHOICES_SECONDS: every
# list page draws them (the stations, towns and districts of a city are a few hundred rows,
# 5 ms a page at city scale); a new or renamed place appears within those seconds.
_area_choices: TTLCache[tuple[list[tuple[str, str]], ...]] = TTLCache(
    "GRIDMAP_AREA_CHOICES_SECONDS", max_entries=1_000
)


def areas_for(user: User) -> list[tuple[str, list[tuple[str, str]]]]:
    """The stations, towns and counties inside the user's jurisdiction, for the area choice:
    ``[(level label, [(code, "code name"), ...]), ...]``, in three queries (or none, when
    the same jurisdiction's choices were read within ``GRIDMAP_AREA_CHOICES_SECONDS``)."""
    prefixes = jurisdiction_prefixes(user)
    if prefixes is not None and not prefixes:
        return []
    own = (
        ()
        if prefixes is None
        else tuple(sorted(code for level, code in acting_places(user) if level == "station"))
    )
    key = (None if prefixes is None else tuple(sorted(prefixes)), own)
    choices = _area_choices.get(key)
    if choices is None:
        choices = _area_choices_of(user, own)
        _area_choices.put(key, choices)
    labels = (AreaLevel.STATION.label, AreaLevel.TOWN.label, AreaLevel.COUNTY.label)
    return [(str(label), list(rows)) for label, rows in zip(labels, choices, strict=True) if rows]


def _area_choices_of(user: User, own: tuple[str, ...]) -> tuple[list[tuple[str, str]], ...]:
    districts = District.objects.current()
    towns = Town.objects.current()
    stations = Station.objects.all()
    scope = scope_q(user, "code")
    if scope is not None:
        districts = districts.filter(scope)
        towns = towns.filter(scope)
        stations = stations.filter(scope_q(user, "town__code") | Q(code__in=own))
    return tuple(
        [(code, f"{code} {name}") for code, name in qs.values_list("code", "name")]
        for qs in (stations, towns, districts)
    )


class ListFilterForm(forms.Form):
    """The query string of ``/lists/``: every parameter optional; bad ones are errors."""

    list = forms.ChoiceField(label=_("List"), choices=ListKind.choices, required=False)
    level = forms.ChoiceField(
        label=_("Area level"), choices=[("", "")] + AreaLevel.choices, required=False
    )
    code = forms.CharField(label=_("Area"), max_length=15, required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    format = forms.ChoiceField(
        choices=[("", "HTML"), ("html", "HTML"), ("csv", "CSV"), ("xlsx", "XLSX")], required=False
    )
    # Where a page of a list paged by keyset starts (its neighbour's Next or Previous).
    cursor = forms.CharField(required=False, max_length=300)

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The viewer (a kind's form offers the choices inside their jurisdiction).
        self.user = user
        # ``from`` is a Python keyword: the field is added by name.
        self.fields["from"] = forms.DateField(label=_("From"), required=False)
        self.fields["to"] = forms.DateField(label=_("To"), required=False)
        anything = [("", _("all"))]
        self.fields["status"].choices = anything + list(Status.choices)

    def clean_code(self) -> str:
        return (self.cleaned_data.get("code") or "").strip().upper()

    def clean_cursor(self) -> str:
        cursor = self.cleaned_data.get("cursor") or ""
        if cursor:
            try:
                Keyset("").parse(cursor)
            except BadCursor:
                raise forms.ValidationError(gettext(MSG_BAD_CURSOR)) from None
        return cursor

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        code, level = data.get("code") or "", data.get("level") or ""
        if code:
            found = area_level_of(code)
            if found is None:
                self.add_error("code", gettext(MSG_CODE_UNKNOWN) % {"code": code})
            elif level and level != found:
                label = AreaLevel(level).label
                self.add_error("code", gettext(MSG_CODE_LEVEL) % {"code": code, "level": label})
            else:
                data["level"] = found
        elif level:
            self.add_error(
                "code", gettext(MSG_LEVEL_NEEDS_CODE) % {"level": AreaLevel(level).label}
            )
        start, end = data.get("from"), data.get("to")
        if start and end and end < start:
            self.add_error("to", gettext(MSG_DATES_ORDER))
        return data

    # The spec class a kind's form fills (a subclass of ListSpec with the kind's filters).
    spec_class: type[ListSpec] = ListSpec

    def spec_fields(self) -> dict[str, Any]:
        """The spec's fields from the cleaned data (a kind's form adds its filters)."""
        data = self.cleaned_data
        return {
            "kind": data.get("list") or ListKind.PROBLEMS,
            "level": data.get("level") or None,
            "code": data.get("code") or None,
            "status": data.get("status") or None,
            "date_from": data.get("from"),
            "date_to": data.get("to"),
        }

    def spec(self) -> ListSpec:
        return self.spec_class(**self.spec_fields())
