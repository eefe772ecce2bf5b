"""The coverage report as the page shows it, as CSV and as a printable PDF with a static map.

``coverage.report.coverage_report(area_code)`` returns a dict of checks, each a dict of figures
and item lists (the JSON of ``GET /api/coverage/``). ``sections`` walks it without knowing every
field: a number is a figure; a list (of codes or of item dicts) or an id list
(``{"count", "ids", "truncated"}``) is a figure counting its items, with the items behind it.
Labels come from ``LABELS`` where a field is known, else from the field name.

Libraries: matplotlib draws the static map (geopandas' plotting, Agg backend, no display);
reportlab writes the PDF (pure Python: no system libraries, unlike WeasyPrint's Pango), with
WenQuanYi Micro Hei (Debian's fonts-wqy-microhei) registered for Chinese text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridmap.exports import safe_row
from grids.models import Grid, Role, Village
from households.models import Household

from .service_circle import Method

CJK_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
CJK_FONT = "WenQuanYiMicroHei"
# The PDF lists at most this many items per figure; the CSV lists every item the report has.
PDF_MAX_ITEMS = 60

# Labels of the checks and figures the report is known to have (coverage/checks.py).
LABELS: dict[str, Any] = {
    "tiling": gettext_lazy("Grid tiling"),
    "villages": gettext_lazy("Villages"),
    "villages_with_gaps": gettext_lazy("Villages with gaps between grids"),
    "villages_with_overlaps": gettext_lazy("Villages with overlapping grids"),
    "gap_area_m2": gettext_lazy("Area of gaps (m²)"),
    "overlap_area_m2": gettext_lazy("Area of overlaps (m²)"),
    "gaps": gettext_lazy("Gaps between grids"),
    "overlaps": gettext_lazy("Overlaps of grids"),
    "buildings_in_no_grid": gettext_lazy("Buildings in no grid"),
    "households_in_no_grid": gettext_lazy("Households in no grid"),
    "village": gettext_lazy("Village"),
    "grids": gettext_lazy("Grids"),
    "area_m2": gettext_lazy("Area (m²)"),
    "location": gettext_lazy("Location"),
    "code": gettext_lazy("Code"),
    "id": gettext_lazy("ID"),
    "roles": gettext_lazy("Roles"),
    "grids_missing_any_role": gettext_lazy("Grids missing a role"),
    "grids_missing.grid_leader": gettext_lazy("Grids without a grid leader"),
    "grids_missing.grid_member": gettext_lazy("Grids without a grid member"),
    "grids_missing.party_guide": gettext_lazy("Grids without a party-building guide"),
    "max_roles_per_worker": gettext_lazy("Most roles a worker may hold"),
    "overloaded_workers": gettext_lazy("Workers holding too many roles"),
    "name": gettext_lazy("Name"),
    "assignments": gettext_lazy("Assignments"),
    "grid_size": gettext_lazy("Grid size"),
    "norm": gettext_lazy("Norm (households per grid)"),
    "bin": gettext_lazy("Histogram bin (households)"),
    "histogram": gettext_lazy("Histogram of households per grid"),
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "within_norm": gettext_lazy("Grids within the norm"),
    "below_norm": gettext_lazy("Grids below the norm"),
    "above_norm": gettext_lazy("Grids above the norm"),
    "households": gettext_lazy("Households"),
    "units": gettext_lazy("Ten-household units"),
    "households_in_unit": gettext_lazy("Households in a ten-household unit"),
    "households_in_no_unit": gettext_lazy("Households in no ten-household unit"),
    "share_in_unit": gettext_lazy("Share of households in a unit"),
    "units_without_central_household": gettext_lazy("Units without a central household"),
    "central_households": gettext_lazy("Central households"),
    "central_households_per_grid": gettext_lazy("Central households per grid"),
    "grids_without_central_household": gettext_lazy("Grids without a central household"),
    "grid": gettext_lazy("Grid"),
    "staffing": gettext_lazy("Staffing"),
    "norm_households_per_worker": gettext_lazy("Norm: households per full-time worker"),
    "full_time_workers": gettext_lazy("Full-time workers"),
    "households_per_worker": gettext_lazy("Households per full-time worker"),
    "workers": gettext_lazy("Workers"),
    "workers_needed": gettext_lazy("Workers needed"),
    "shortfall": gettext_lazy("Workers short"),
    "stations_over_norm": gettext_lazy("Stations short of workers"),
    "stations": gettext_lazy("Stations"),
    "villages_per_station": gettext_lazy("Norm (villages per station)"),
    "villages_in_no_station": gettext_lazy("Villages in no station"),
    "villages_in_several_stations": gettext_lazy("Villages in several stations"),
    "stations_too_few_villages": gettext_lazy("Stations with too few villages"),
    "stations_too_many_villages": gettext_lazy("Stations with too many villages"),
    "stations_not_contiguous": gettext_lazy("Stations whose villages are not contiguous"),
    "parts": gettext_lazy("Parts"),
    "service_circle": gettext_lazy("15-minute service circle"),
    "available": gettext_lazy("Available"),
    "message": gettext_lazy("Note"),
    "settings": gettext_lazy("Settings used"),
    # Check 7, the service circle (coverage/service_circle.py).
    "area_code": gettext_lazy("Area code"),
    "walking_kmh": gettext_lazy("Walking speed (km/h)"),
    "minutes": gettext_lazy("Minutes on foot"),
    "reach_m": gettext_lazy("Reach on foot (m)"),
    "covered": gettext_lazy("Households within the circle"),
    "share": gettext_lazy("Share within the circle"),
    "estimated_households": gettext_lazy("Households of villages without road data"),
    "estimated_covered": gettext_lazy("Of these, within the circle (straight-line estimate)"),
    "network_households": gettext_lazy("Households of villages with road data"),
    "network_covered": gettext_lazy("Of these, within the circle by road"),
    "uncovered_households": gettext_lazy("Households beyond the circle"),
    "beyond": gettext_lazy("Beyond the circle"),
    "method": gettext_lazy("Method"),
    "status": gettext_lazy("Status"),
    # Check 8, key persons not visited within their interval (issue 14, presence.care).
    "key_persons": gettext_lazy("Key persons"),
    "key_persons_overdue": gettext_lazy("Key persons not visited within their interval"),
    "overdue_by_category": gettext_lazy("Not visited in time, by category"),
    "key_persons_not_visited": gettext_lazy("Key persons to visit"),
    "category": gettext_lazy("Category"),
    "overdue": gettext_lazy("Not visited in time"),
    "household": gettext_lazy("Household"),
    "due_on": gettext_lazy("To be visited by"),
    "days_overdue": gettext_lazy("Days overdue"),
    # The settings the report used (coverage/report.py).
    "grid_households_norm": gettext_lazy("Norm (households per grid)"),
    "station_villages": gettext_lazy("Norm (villages per station)"),
    "station_contiguity_tolerance_m": gettext_lazy("Contiguity tolerance of stations (m)"),
}
# Values that are keys (a role, a method, a status): shown by their label.
STATUS_LABELS: dict[str, Any] = {
    "not_available_yet": gettext_lazy("not available yet"),
    "computing": gettext_lazy("being computed, reload in a minute or two"),
}
# Fields that are not figures of the area (the service areas are a map layer).
SKIPPED = {"seconds", "service_areas"}


def label(key: str) -> str:
    known = LABELS.get(key, LABELS.get(key.rsplit(".", 1)[-1]))
    if known is not None:
        return str(known)
    return key.replace("_", " ").capitalize()


def labelled(key: str) -> bool:
    """Whether ``key`` has a translated label (tests/coverage/test_links.py checks every
    field of the report has one)."""
    return key in LABELS or key.rsplit(".", 1)[-1] in LABELS


def _assignment(text: str) -> str:
    """``grid_leader 450702001001001`` (checks.check_roles) as ``网格长 450702001001001``."""
    role, _sep, place = text.partition(" ")
    return f"{_role_label(role)} {place}".strip()


def _role_label(role: str) -> str:
    try:
        return str(Role(role).label)
    except ValueError:
        return role


def _method_label(method: str) -> str:
    try:
        return str(Method(method).label)
    except ValueError:
        return method


def display_field(key: str, value: Any) -> str:
    """``value`` of the field ``key`` for people: keys among the values (roles, methods,
    statuses) by their labels."""
    name = key.rsplit(".", 1)[-1]
    if name == "method" and isinstance(value, str):
        return _method_label(value)
    if name == "status" and isinstance(value, str):
        return str(STATUS_LABELS.get(value, value))
    if name == "assignments" and isinstance(value, list | tuple):
        return ", ".join(_assignment(str(v)) for v in value)
    return display(value)


@dataclass
class Cell:
    """One cell of an item table: its text and, when it leads somewhere, a link."""

    text: str
    href: str | None = None

    def __str__(self) -> str:
        return self.text


@dataclass
class Row:
    cells: list[Cell]
    actions: list[Cell] = field(default_factory=list)


@dataclass
class Figure:
    key: str  # "<check>-<field>", also the HTML id of its items
    name: str  # the field, with the path to it ("grids_missing.grid_leader")
    label: str
    value: Any
    items: list[dict[str, Any]] | None = None  # the rows behind the figure, when it has any
    truncated: bool = False  # the report cut the list (the count stays exact)
    # Where the figure's value leads (its items: an anchor on the page or a list page), and
    # per item row, links by column and actions (coverage.links fills these for a viewer).
    href: str | None = None
    cell_links: list[dict[str, str]] = field(default_factory=list)
    row_actions: list[list[Cell]] = field(default_factory=list)
    # Columns added for the page only (e.g. the "assign" actions).
    has_actions: bool = False

    @property
    def display(self) -> str:
        return display_field(self.name, self.value)

    @property
    def cells(self) -> list[list[str]]:
        """The items as display strings, one list per row, in ``columns`` order."""
        columns = self.columns
        return [[display_field(c, row.get(c)) for c in columns] for row in self.items or []]

    @property
    def rows(self) -> list[Row]:
        """The items as cells with their links and actions (the page's tables)."""
        out: list[Row] = []
        columns = self.columns  # once: it reads every item (a city's tables hold thousands)
        for n, texts in enumerate(self.cells):
            links = self.cell_links[n] if n < len(self.cell_links) else {}
            actions = self.row_actions[n] if n < len(self.row_actions) else []
            cells = [Cell(t, links.get(c)) for c, t in zip(columns, texts, strict=True)]
            out.append(Row(cells, actions))
        return out

    @property
    def column_labels(self) -> list[str]:
        return [label(c) for c in self.columns]

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.items or []:
            for column in row:
                seen.setdefault(column, None)
        return list(seen)


@dataclass
class Section:
    key: str
    label: str
    figures: list[Figure] = field(default_factory=list)


def display(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(display(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{label(k)}: {display_field(k, v)}" for k, v in value.items())
    return str(value)


def _is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and "type" in value and "coordinates" in value


def _figures(check: str, data: dict[str, Any], prefix: str = "") -> list[Figure]:
    figures: list[Figure] = []
    for name, value in data.items():
        key = f"{check}-{prefix}{name}".replace("_", "-").replace(".", "-")
        if _is_geometry(value) or name in SKIPPED:
            continue
        if isinstance(value, dict) and {"count", "ids"} <= set(value):
            rows = [{"id": i} for i in value["ids"]]
            figures.append(
                Figure(
                    key,
                    prefix + name,
                    label(prefix + name),
                    value["count"],
                    rows,
                    bool(value.get("truncated")),
                )  # fmt: skip
            )
        elif isinstance(value, dict):
            figures.extend(_figures(check, value, prefix=f"{prefix}{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
            # A range of a setting, e.g. the norm [300, 500].
            figures.append(
                Figure(key, prefix + name, label(prefix + name), "–".join(map(str, value)))
            )
        elif isinstance(value, list):
            rows = [
                {k: v for k, v in item.items() if not _is_geometry(v)}
                if isinstance(item, dict)
                else {"code": item}
                for item in value
            ]
            figures.append(Figure(key, prefix + name, label(prefix + name), len(value), rows))
        else:
            figures.append(Figure(key, prefix + name, label(prefix + name), value))
    return figures


def sections(report: dict[str, Any]) -> list[Section]:
    """The report's checks as sections of figures, in the report's order, then the settings."""
    result = [
        Section(check, label(check), _figures(check, data))
        for check, data in report.get("checks", {}).items()
    ]
    if report.get("settings"):
        result.append(
            Section("settings", label("settings"), _figures("settings", report["settings"]))
        )
    return result


def load_report(area_code: str) -> dict[str, Any]:
    """The report as pages show it: the service circle recomputed within the request only
    when few households wait for it (else "computing", see ``coverage.report``)."""
    from .report import coverage_report

    return coverage_report(area_code, max_households=settings.GRIDMAP_COVERAGE_INLINE_HOUSEHOLDS)


# The read API (coverage/api.py), at the paths the issue fixes.
REPORT_API = "/api/coverage/"
UNCOVERED_API = "/api/coverage/uncovered-households/"
CLUSTERS_API = "/api/coverage/uncovered-clusters/"


def map_config(area_code: str, prefix: str, *, has_basemap: bool) -> dict[str, Any]:
    """Where coverage.js finds its layers (the read APIs) and which codes belong to the area."""
    query = "?" + urlencode({"area": area_code})
    return {
        "area": area_code,
        "prefix": prefix,
        "layerUrl": reverse("layer", kwargs={"level": "LEVEL"}),
        "reportUrl": REPORT_API + query,
        "uncoveredUrl": UNCOVERED_API + query,
        "clustersUrl": CLUSTERS_API + query,
        "hasBasemap": has_basemap,
    }


# --- CSV -----------------------------------------------------------------------------------
def report_csv(report: dict[str, Any], area: Any) -> str:
    """One row per figure (item empty), then one row per item behind it (value empty). Text
    that would be a formula is quoted (``gridmap.exports``); figures stay numbers."""
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 Chinese text correctly with a BOM
    writer = csv.writer(out)
    writer.writerow(
        safe_row(
            [_("Area"), _("Check"), _("Figure"), _("Field"), _("Value"), _("Item"), _("Details")]
        )
    )
    for section in sections(report):
        for figure in section.figures:
            # Numbers stay numbers; words (a status, yes/no) in the reader's language.
            value = figure.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                value = figure.display
            writer.writerow(
                safe_row([area.code, section.label, figure.label, figure.key, value, "", ""])
            )
            for number, row in enumerate(figure.items or [], start=1):
                details = "; ".join(f"{label(k)}: {display_field(k, v)}" for k, v in row.items())
                writer.writerow(
                    safe_row(
                        [area.code, section.label, figure.label, figure.key, "", number, details]
                    )
                )
    return out.getvalue()


# --- the static map ------------------------------------------------------------------------
def map_png(area_code: str, report: dict[str, Any], *, width_px: int = 1600) -> bytes:
    """The area's villages and grids with the located items of the report drawn in red."""
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from .checks import area_prefix

    prefix = area_prefix(area_code)
    villages = gpd.GeoSeries.from_wkb(
        [
            bytes(g.wkb)
            for g in Village.objects.current()
            .filter(code__startswith=prefix)
            .values_list("geom", flat=True)
        ]  # fmt: skip
    )
    grids = gpd.GeoSeries.from_wkb(
        [
            bytes(g.wkb)
            for g in Grid.objects.current()
            .filter(code__startswith=prefix)
            .values_list("geom", flat=True)
        ]  # fmt: skip
    )
    missing_roles = set(report.get("checks", {}).get("roles", {}).get("grids_missing_any_role", []))
    outlined = gpd.GeoSeries.from_wkb(
        [
            bytes(g.wkb)
            for g in Grid.objects.current()
            .filter(code__in=missing_roles)
            .values_list("geom", flat=True)
        ]
    )
    # Households in no ten-household unit, as GET /api/coverage/uncovered-households/ has them.
    no_unit = list(
        Household.objects.filter(
            grid__code__startswith=prefix, ten_household_unit__isnull=True
        ).values_list("location", flat=True)
    )
    points = [item["location"] for item in _located_items(report)]
    figure, axes = plt.subplots(figsize=(8, 6), dpi=width_px / 8)
    if len(grids):
        grids.plot(ax=axes, facecolor="#e7f1fb", edgecolor="#1864ab", linewidth=0.3)
    if len(villages):
        villages.plot(ax=axes, facecolor="none", edgecolor="#5f3dc4", linewidth=0.8)
    if len(outlined):
        outlined.plot(ax=axes, facecolor="none", edgecolor="#f08c00", linewidth=1.6)
    if no_unit:
        axes.scatter([p.x for p in no_unit], [p.y for p in no_unit], s=6, c="#fab005", zorder=4)
    if points:
        xs, ys = zip(*points, strict=True)
        axes.scatter(xs, ys, s=28, c="#e03131", edgecolors="white", linewidths=0.6, zorder=5)
    axes.set_aspect("equal")
    axes.set_axis_off()
    figure.tight_layout(pad=0.2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _located_items(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Items of the report with a ``location`` [lon, lat] (gaps, overlaps...)."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            location = value.get("location")
            if isinstance(location, list | tuple) and len(location) == 2:
                found.append(value)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(report)
    return found


# --- PDF -----------------------------------------------------------------------------------
def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        if not os.path.exists(CJK_FONT_PATH):
            return "Helvetica"  # no Chinese glyphs, but a PDF all the same
        pdfmetrics.registerFont(TTFont(CJK_FONT, CJK_FONT_PATH, subfontIndex=0))
    return CJK_FONT


def report_pdf(report: dict[str, Any], area: Any) -> bytes:
    """A4 portrait: the title, the map, a table of figures per check, then the items."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _register_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=16, leading=21, spaceAfter=4)
    heading = ParagraphStyle("heading", parent=base, fontSize=12, leading=16, spaceBefore=8)
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor="#555555")

    def p(text: Any, style: ParagraphStyle = base) -> Paragraph:
        from xml.sax.saxutils import escape

        return Paragraph(escape(str(text)), style)

    table_style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f1f3f5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    width = A4[0] - 30 * mm
    story: list[Any] = [
        p(_("Coverage report"), title),
        p(f"{area.name} {area.code} · {dt.date.today():%Y-%m-%d}", small),
        Spacer(1, 4 * mm),
        Image(io.BytesIO(map_png(area.code, report)), width=width, height=width * 0.75),
        p(
            _(
                "Red dots: gaps and overlaps; orange outlines: grids missing a role; "
                "yellow dots: households in no ten-household unit."
            ),
            small,
        ),
    ]
    all_sections = sections(report)
    for section in all_sections:
        story.append(p(section.label, heading))
        rows = [[p(_("Figure")), p(_("Value"))]]
        rows += [[p(f.label), p(f.display)] for f in section.figures]
        table = Table(rows, colWidths=[width * 0.7, width * 0.3], repeatRows=1)
        table.setStyle(table_style)
        story.append(table)
    for section in all_sections:
        for figure in section.figures:
            if not figure.items:
                continue
            story.append(p(f"{section.label} · {figure.label}", heading))
            columns = figure.columns
            shown = figure.items[:PDF_MAX_ITEMS]
            rows = [[p(label(c)) for c in columns]]
            rows += [[p(display_field(c, item.get(c))) for c in columns] for item in shown]
            table = Table(rows, colWidths=[width / len(columns)] * len(columns), repeatRows=1)
            table.setStyle(table_style)
            story.append(table)
            if len(shown) < figure_count(figure):
                story.append(
                    p(
                        _("First %(shown)s of %(count)s; the CSV export lists more.")
                        % {"shown": len(shown), "count": display(figure_count(figure))},
                        small,
                    )
                )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{_('Coverage report')} {area.code}",
    )
    document.build(story)
    return buffer.getvalue()


def figure_count(figure: Figure) -> int:
    return figure.value if isinstance(figure.value, int) else len(figure.items or [])
