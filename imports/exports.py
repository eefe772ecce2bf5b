"""Taking a county's records out again: every kind of record, and every boundary level, as
XLSX, CSV, GeoPackage or Shapefile (issue 13, point 7).

``export(kind, path, fmt=, area=, user=, unmasked=)`` writes one kind and returns the number of
rows written. The columns are the kind's (``imports.kinds``): an XLSX has the template's
Chinese header row and the same text formatting, with the values as the import reads them
(tags and roles by their Chinese names, dates as ISO text, WGS84 longitude and latitude), so
an export re-imports unchanged. A CSV has the same columns in UTF-8 with a BOM (Excel opens
it as UTF-8). GeoPackage and Shapefile are for the kinds with a geometry (``GEOMETRY_TYPES``):
the same columns (a GeoPackage with the Chinese headers, a Shapefile with the 10-byte
``Column.field_name``s) and the geometry in WGS84; a building's footprint is the geometry
there, and its ``footprint`` WKT and centre (``lon``, ``lat``) columns are left out.

Boundary levels (``BOUNDARY_LEVELS``): the current generation's code, name and parent's code,
with the multipolygon (GeoPackage, Shapefile; in a CSV as WKT; an XLSX leaves the geometry
out, as a cell holds at most 32,767 characters).

Which rows: ``area`` (a boundary code) keeps the records whose place code starts with it (a
city code stands for its districts); ``user`` keeps those inside the user's jurisdiction
(``accounts.selectors.jurisdiction_prefixes``; None: everything). A record's place code is
its grid's (buildings, households, ten-household units; party members and central households
through their household), its village's (catchments, party branches, service centres), its
own (stations, boundaries), the place of the role (roles), or the places of a worker's roles
and of the party member they are (workers). A record without a place (a household outside
every grid) is exported only when neither filter is given.

Personal fields (residents' ID numbers and phones, workers' ID numbers, the phone of a worker
who is a resident party member) are masked with ``gridmap.personal_data``'s masks unless the
exporting user may see them (``accounts.selectors.can_see_personal_data``), or, without a
user (an operator on the server: a migration, the round trip), unless ``unmasked``.

Everything streams: rows come through server-side cursors (``QuerySet.iterator``), the XLSX
is written by openpyxl in write-only mode, the geo files in batches appended by pyogrio, so
memory stays flat however many households.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import reduce
from operator import and_
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.gis.db.models.functions import AsWKB, AsWKT, Centroid
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from accounts.selectors import can_see_personal_data, jurisdiction_prefixes
from gridmap.exports import safe_cell
from gridmap.jurisdiction import boundary_scope_q, scope_q
from gridmap.messages import render_message
from gridmap.personal_data import mark_answer, mask_id_number, mask_phone
from grids.models import (
    Building,
    CatchmentAssignment,
    City,
    District,
    Grid,
    Role,
    RoleAssignment,
    ServiceCentre,
    Station,
    Town,
    Village,
    Worker,
)
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    Tag,
    TenHouseholdUnit,
)

from .kinds import KIND_NAMES, KINDS, Column, Kind

FORMATS: tuple[str, ...] = ("xlsx", "csv", "gpkg", "shp")
GEO_FORMATS = {"gpkg", "shp"}
# A ``.zip`` is a zipped Shapefile (one file to download; the import reads it as it is).
SUFFIX_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".gpkg": "gpkg", ".shp": "shp", ".zip": "shp"}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# GDAL writes a zipped Shapefile when the name ends so.
ZIPPED_SHAPEFILE = ".shp.zip"
BOUNDARY_LEVELS: tuple[str, ...] = ("districts", "towns", "villages", "grids")
EXPORT_KIND_NAMES: tuple[str, ...] = KIND_NAMES + BOUNDARY_LEVELS
# Rows fetched from the database at a time (a server-side cursor), and features per write of
# a geo file.
CHUNK = 2000
GEO_BATCH = 5000
TEXT_FORMAT = "@"
# Records on one sheet of an XLSX: Excel's 1,048,576 rows less the header.
XLSX_SHEET_ROWS = 1_048_575
CRS = "EPSG:4326"
# The language of the values the import reads: tags and roles by their Chinese names.
VALUE_LANGUAGE = "zh-hans"
# Table columns that the geometry replaces in a geo file (left out there): a building's
# footprint WKT and its centre (the import would build a square around a point it is given),
# a boundary's WKT.
GEOMETRY_TWINS = {"footprint", "geometry"}
BUILDING_POINT = {"lon", "lat"}
# The kinds whose rows carry personal fields (masked or not).
PERSONAL_KINDS = {"households", "workers", "roles", "party_members"}
# Between the member households' codes of a ten-household unit.
LIST_SEPARATOR = "、"

MSG_UNKNOWN_KIND = gettext_noop("Unknown kind %(kind)s: use one of %(kinds)s.")
MSG_UNKNOWN_FORMAT = gettext_noop(
    "Cannot tell the format of %(path)s: name it .xlsx, .csv, .gpkg, .shp or .zip (a zipped "
    "Shapefile), or give the format."
)
MSG_NO_GEOMETRY = gettext_noop(
    "%(kind)s have no geometry: export them as XLSX or CSV (GeoPackage and Shapefile are for "
    "buildings, households, stations, service centres and boundaries)."
)
MSG_UNKNOWN_AREA = gettext_noop("No current boundary has the code %(area)s.")


class ExportError(Exception):
    """The export cannot be made as asked; ``message`` is ``{"msgid", "params"}``."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.message: dict[str, Any] = {"msgid": msgid, "params": params}
        super().__init__(msgid % params if params else msgid)

    def __str__(self) -> str:
        """The message in the active language."""
        return render_message(self.message)


# --- Boundary levels as kinds ------------------------------------------------------------------

BOUNDARY_MODELS: dict[str, type] = {
    "districts": District,
    "towns": Town,
    "villages": Village,
    "grids": Grid,
}
CODE_LENGTHS = {"districts": 6, "towns": 9, "villages": 12, "grids": 15}


def _boundary_kind(name: str, label: str) -> Kind:
    return Kind(
        name=name,
        label=label,
        columns=(
            Column("code", "编码", gettext_noop("Code of the area."), required=True, text=True),
            Column("name", "名称", gettext_noop("Name of the area."), required=True),
            Column(
                "parent_code",
                "上级编码",
                gettext_noop("Code of the area it lies in."),
                text=True,
                short="parent",
            ),
            Column("geometry", "几何", gettext_noop("The boundary as WKT in WGS84.")),
        ),
    )


BOUNDARY_KINDS: dict[str, Kind] = {
    "districts": _boundary_kind("districts", gettext_noop("districts")),
    "towns": _boundary_kind("towns", gettext_noop("towns")),
    "villages": _boundary_kind("villages", gettext_noop("villages")),
    "grids": _boundary_kind("grids", gettext_noop("grids")),
}

# The geometry of each kind a GeoPackage or Shapefile carries (OGR's geometry type).
GEOMETRY_TYPES: dict[str, str] = {
    "buildings": "Polygon",
    "households": "Point",
    "stations": "Point",
    "service_centres": "Point",
    **dict.fromkeys(BOUNDARY_LEVELS, "MultiPolygon"),
}


def export_kind(name: str) -> Kind:
    """The columns of an export kind (an import kind or a boundary level)."""
    kind = KINDS.get(name) or BOUNDARY_KINDS.get(name)
    if kind is None:
        raise ExportError(MSG_UNKNOWN_KIND, kind=name, kinds=", ".join(EXPORT_KIND_NAMES))
    return kind


def export_columns(name: str, fmt: str) -> tuple[Column, ...]:
    """The columns an export of ``name`` as ``fmt`` writes, in order (see the docstring)."""
    columns = export_kind(name).columns
    if fmt in GEO_FORMATS:
        left_out = GEOMETRY_TWINS | (BUILDING_POINT if name == "buildings" else set())
        return tuple(c for c in columns if c.key not in left_out)
    if fmt == "xlsx" and name in BOUNDARY_KINDS:
        return tuple(c for c in columns if c.key != "geometry")
    return columns


def export_formats(name: str) -> tuple[str, ...]:
    """The formats ``name`` can be exported as (for a page's choices): XLSX and CSV, and
    GeoPackage and Shapefile for a kind with a geometry."""
    export_kind(name)
    return FORMATS if name in GEOMETRY_TYPES else ("xlsx", "csv")


def download_name(name: str, fmt: str, area: str | None = None) -> str:
    """A file name for a download: ``households-450702.xlsx``; a Shapefile is zipped
    (``.zip``: one file)."""
    suffix = "zip" if fmt == "shp" else fmt
    return f"{name}-{area}.{suffix}" if area else f"{name}.{suffix}"


def export_format(path: Path, fmt: str | None) -> str:
    """``fmt``, or the format ``path``'s suffix names."""
    if fmt is None:
        fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt not in FORMATS:
        raise ExportError(MSG_UNKNOWN_FORMAT, path=path.name)
    return fmt


# --- Which rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The rows asked for: inside ``area`` (a code prefix) and the ``prefixes`` of a user's
    jurisdiction (None: no restriction), personal fields ``visible`` or masked."""

    area: str | None
    prefixes: list[str] | None
    visible: bool

    def q(self, code_path: str) -> Q | None:
        """Rows whose place code (at ``code_path``) lies inside the scope; None: all rows."""
        parts = [
            q
            for q in (
                scope_q([self.area], code_path) if self.area else None,
                scope_q(self.prefixes, code_path),
            )
            if q is not None
        ]
        return reduce(and_, parts) if parts else None

    def filter(self, qs: QuerySet, code_path: str) -> QuerySet:
        q = self.q(code_path)
        return qs if q is None else qs.filter(q)

    def id_number(self, value: str | None) -> str:
        return (value or "") if self.visible else mask_id_number(value or "")

    def phone(self, value: str | None, *, resident: bool = True) -> str:
        if self.visible or not resident:
            return value or ""
        return mask_phone(value or "")


def area_prefix(area: str) -> str:
    """The code prefix of a boundary: a city code (450700) stands for its districts (4507).
    Raises ``ExportError`` for a code no current boundary has."""
    area = area.strip()
    if City.objects.current().filter(code=area).exists():
        return area[:-2] if area.endswith("00") else area
    for model in BOUNDARY_MODELS.values():
        if model.objects.current().filter(code=area).exists():
            return area
    raise ExportError(MSG_UNKNOWN_AREA, area=area)


# --- Rows of each kind ------------------------------------------------------------------------

# A row: its values by column key, and the geometry as WKB (None for a table).
Row = tuple[dict[str, Any], bytes | None]


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _last_day(period: Any) -> str:
    """The last day of a ``[start, end)`` period as ISO text; empty for an open period."""
    if period is None or period.upper is None:
        return ""
    upper = period.upper
    return _iso(upper if period.upper_inc else upper - dt.timedelta(days=1))


def _first_day(period: Any) -> str:
    if period is None or period.lower is None:
        return ""
    lower = period.lower
    return _iso(lower if period.lower_inc else lower + dt.timedelta(days=1))


def _stream(qs: QuerySet, fields: list[str]) -> Iterator[dict[str, Any]]:
    for values in qs.values_list(*fields).iterator(chunk_size=CHUNK):
        yield dict(zip(fields, values, strict=True))


def _wkb(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _labels(choices: Any) -> dict[str, str]:
    """Value -> Chinese label of a TextChoices (what the import reads)."""
    with translation.override(VALUE_LANGUAGE):
        return {c.value: str(c.label) for c in choices}


def _resident_worker() -> Exists:
    """The worker is a resident party member (a central household's worker carries the
    household's phone: a resident's, masked)."""
    return Exists(PartyMember.objects.filter(worker=OuterRef("pk")))


def buildings_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    centre = Centroid("footprint")
    qs = scope.filter(Building.objects.all(), "grid__code").annotate(
        lon=_X(centre), lat=_Y(centre), wkt=AsWKT("footprint")
    )
    fields = ["code", "name", "lon", "lat", "floors", "wkt"]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("footprint"))
        fields.append("wkb")
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "code": r["code"] or "",
            "name": r["name"],
            "address": r["name"],
            "lon": r["lon"],
            "lat": r["lat"],
            "floors": r["floors"],
            "footprint": r["wkt"],
        }
        yield values, _wkb(r.get("wkb"))


def households_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    tags = _labels(Tag)
    qs = scope.filter(Household.objects.all(), "grid__code").annotate(
        lon=_X("location"), lat=_Y("location")
    )
    fields = [
        "code",
        "head_name",
        "id_number",
        "phone",
        "address",
        "size",
        "tags",
        "lon",
        "lat",
        "building__code",
    ]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("location"))
        fields.append("wkb")
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "code": r["code"] or "",
            "head_name": r["head_name"],
            "id_number": scope.id_number(r["id_number"]),
            "phone": scope.phone(r["phone"]),
            "address": r["address"],
            "size": r["size"],
            "tags": ",".join(tags.get(t, t) for t in r["tags"] or []),
            "lon": r["lon"],
            "lat": r["lat"],
            "building_code": r["building__code"] or "",
        }
        yield values, _wkb(r.get("wkb"))


PLACE_CODE = Coalesce("grid__code", "village__code", "station__code", "town__code")


def _workers_q(scope: Scope) -> Q | None:
    """Workers inside the scope: one of their roles (any period) is held there, or the party
    member they are lives there."""
    roles_q = scope.q("place_code")
    if roles_q is None:
        return None
    roles = RoleAssignment.objects.annotate(place_code=PLACE_CODE).filter(
        roles_q, worker=OuterRef("pk")
    )
    members = scope.filter(
        PartyMember.objects.filter(worker=OuterRef("pk")), "household__grid__code"
    )
    return Q(Exists(roles)) | Q(Exists(members))


def workers_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = Worker.objects.annotate(resident=_resident_worker())
    q = _workers_q(scope)
    if q is not None:
        qs = qs.filter(q)
    fields = ["name", "phone", "id_number", "email", "is_party_member", "resident"]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "name": r["name"],
            "phone": scope.phone(r["phone"], resident=r["resident"]),
            "id_number": scope.id_number(r["id_number"]),
            "email": r["email"],
            "party_member": "是" if r["is_party_member"] else "否",
        }
        yield values, None


def roles_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    roles = _labels(Role)
    resident = Exists(PartyMember.objects.filter(worker=OuterRef("worker")))
    qs = RoleAssignment.objects.annotate(place_code=PLACE_CODE, resident=resident)
    qs = scope.filter(qs, "place_code")
    fields = ["worker__phone", "worker__name", "role", "place_code", "period", "resident"]
    for r in _stream(qs.order_by("place_code", "role", "period", "pk"), fields):
        values = {
            "phone": scope.phone(r["worker__phone"], resident=r["resident"]),
            "name": r["worker__name"],
            "role": roles.get(r["role"], r["role"]),
            "place_code": r["place_code"],
            "start": _first_day(r["period"]),
            "end": _last_day(r["period"]),
        }
        yield values, None


def stations_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(Station.objects.all(), "code").annotate(
        lon=_X("location"), lat=_Y("location")
    )
    fields = ["code", "name", "town__code", "address", "lon", "lat"]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("location"))
        fields.append("wkb")
    for r in _stream(qs.order_by("code"), fields):
        values = {
            "code": r["code"],
            "name": r["name"],
            "town_code": r["town__code"],
            "address": r["address"],
            "lon": r["lon"],
            "lat": r["lat"],
        }
        yield values, _wkb(r.get("wkb"))


def catchments_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    """One row per current village: the assignment in force today, else the latest one. (The
    import takes a village once a file and ends its previous station the day before the
    row's start, so a file of its whole history would be refused; the history stays here.)"""
    today = timezone.localdate()
    qs = scope.filter(
        CatchmentAssignment.objects.filter(village__generation_high__isnull=True),
        "village__code",
    ).annotate(in_force=ExpressionWrapper(Q(period__contains=today), output_field=BooleanField()))
    qs = qs.order_by("village__code", "-in_force", "-period", "-pk").distinct("village__code")
    fields = ["village__code", "station__code", "period"]
    for r in _stream(qs, fields):
        values = {
            "village_code": r["village__code"],
            "station_code": r["station__code"],
            "start": _first_day(r["period"]),
        }
        yield values, None


def party_branches_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(PartyBranch.objects.all(), "village__code")
    for r in _stream(qs.order_by("pk"), ["code", "name", "village__code"]):
        values = {"code": r["code"] or "", "name": r["name"], "village_code": r["village__code"]}
        yield values, None


def party_members_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(PartyMember.objects.all(), "household__grid__code")
    fields = ["household__code", "name", "branch__code", "joined_on", "worker__phone"]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "household_code": r["household__code"] or "",
            "name": r["name"],
            "branch_code": r["branch__code"] or "",
            "joined_on": _iso(r["joined_on"]),
            "phone": scope.phone(r["worker__phone"]),
        }
        yield values, None


def central_households_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(CentralHousehold.objects.all(), "household__grid__code").annotate(
        same=ExpressionWrapper(
            Q(party_member__household_id=F("household_id")), output_field=BooleanField()
        )
    )
    fields = [
        "household__code",
        "party_member__name",
        "party_member__household__code",
        "same",
        "designated_on",
    ]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "household_code": r["household__code"] or "",
            "member_name": r["party_member__name"],
            "member_household_code": (
                "" if r["same"] else r["party_member__household__code"] or ""
            ),
            "designated_on": _iso(r["designated_on"]),
        }
        yield values, None


def service_centres_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    qs = scope.filter(ServiceCentre.objects.all(), "village__code").annotate(
        lon=_X("location"), lat=_Y("location")
    )
    fields = ["code", "name", "village__code", "lon", "lat"]
    if geometry:
        qs = qs.annotate(wkb=AsWKB("location"))
        fields.append("wkb")
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "code": r["code"] or "",
            "name": r["name"],
            "village_code": r["village__code"] or "",
            "lon": r["lon"],
            "lat": r["lat"],
        }
        yield values, _wkb(r.get("wkb"))


def ten_household_units_rows(scope: Scope, geometry: bool) -> Iterator[Row]:
    members = (
        Household.objects.filter(ten_household_unit=OuterRef("pk"), code__isnull=False)
        .order_by()
        .values("ten_household_unit")
        .annotate(codes=StringAgg("code", LIST_SEPARATOR, order_by="code"))
        .values("codes")
    )
    qs = scope.filter(TenHouseholdUnit.objects.all(), "grid__code").annotate(
        member_codes=Subquery(members)
    )
    fields = ["head_household__code", "name", "central_household__household__code", "member_codes"]
    for r in _stream(qs.order_by("pk"), fields):
        values = {
            "head_household_code": r["head_household__code"] or "",
            "name": r["name"],
            "central_household_code": r["central_household__household__code"] or "",
            "member_codes": r["member_codes"] or "",
        }
        yield values, None


def boundary_rows(level: str) -> Callable[[Scope, bool], Iterator[Row]]:
    model = BOUNDARY_MODELS[level]

    def rows(scope: Scope, geometry: bool) -> Iterator[Row]:
        qs = model.objects.current()
        if scope.area:
            qs = qs.filter(code__startswith=scope.area)
        user_q = boundary_scope_q(scope.prefixes, CODE_LENGTHS[level])
        if user_q is not None:
            qs = qs.filter(user_q)
        parent = f"{model.parent_field}__code"
        fields = ["code", "name", parent]
        if geometry:
            qs = qs.annotate(wkb=AsWKB("geom"))
            fields.append("wkb")
        else:
            qs = qs.annotate(wkt=AsWKT("geom"))
            fields.append("wkt")
        for r in _stream(qs.order_by("code"), fields):
            values = {
                "code": r["code"],
                "name": r["name"],
                "parent_code": r[parent] or "",
                "geometry": r.get("wkt"),
            }
            yield values, _wkb(r.get("wkb"))

    return rows


ROWS: dict[str, Callable[[Scope, bool], Iterator[Row]]] = {
    "buildings": buildings_rows,
    "households": households_rows,
    "workers": workers_rows,
    "roles": roles_rows,
    "stations": stations_rows,
    "catchments": catchments_rows,
    "party_branches": party_branches_rows,
    "party_members": party_members_rows,
    "central_households": central_households_rows,
    "service_centres": service_centres_rows,
    "ten_household_units": ten_household_units_rows,
    **{level: boundary_rows(level) for level in BOUNDARY_LEVELS},
}


# --- Writers ----------------------------------------------------------------------------------


def _table_value(col: Column, value: Any) -> Any:
    """A value as a table cell: text columns as text; text guarded against formulas."""
    if value is None or value == "":
        return None
    if col.text:
        value = str(value)
    return safe_cell(value)


def _xlsx_sheet(book: Workbook, title: str, columns: tuple[Column, ...]) -> Any:
    """A new sheet with the template's header row and text-formatted columns."""
    ws = book.create_sheet(title)
    for index, col in enumerate(columns, start=1):
        dim = ws.column_dimensions[get_column_letter(index)]
        dim.width = max(12, len(col.header) * 2 + 4)
        if col.text:
            dim.number_format = TEXT_FORMAT
    bold = Font(bold=True)
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    return ws


def write_xlsx(path: Path, kind: Kind, columns: tuple[Column, ...], rows: Iterator[Row]) -> int:
    """The template's first sheet: the Chinese header, then one row per record (streamed).
    A sheet holds ``XLSX_SHEET_ROWS`` records (Excel's limit is 1,048,576 rows): more go on
    further sheets, each with the header (import each with ``--sheet``; CSV has no limit)."""
    book = Workbook(write_only=True)
    label = gettext(kind.label)
    ws = _xlsx_sheet(book, label[:31], columns)
    count = 0
    on_sheet = 0
    for values, _geometry in rows:
        if on_sheet == XLSX_SHEET_ROWS:
            sheet = len(book.worksheets) + 1
            ws = _xlsx_sheet(book, f"{label[:26]} {sheet}", columns)
            on_sheet = 0
        out: list[Any] = []
        for col in columns:
            value = _table_value(col, values.get(col.key))
            if col.text and value is not None:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = TEXT_FORMAT
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
        count += 1
        on_sheet += 1
    book.save(path)
    return count


def write_csv(path: Path, kind: Kind, columns: tuple[Column, ...], rows: Iterator[Row]) -> int:
    """UTF-8 with a BOM (Excel then reads it as UTF-8), the Chinese header row."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([c.header for c in columns])
        for values, _geometry in rows:
            row = [_table_value(col, values.get(col.key)) for col in columns]
            writer.writerow(["" if v is None else v for v in row])
            count += 1
    return count


def _field_array(col: Column, values: list[Any]) -> np.ndarray:
    """One column of a batch for pyogrio: numbers as numbers (empty: NaN), the rest text."""
    if not col.text and isinstance(col.example, float):
        return np.array([np.nan if v is None or v == "" else v for v in values], dtype="float64")
    numbers = not col.text and isinstance(col.example, int)
    if numbers and all(isinstance(v, int) for v in values):
        return np.array(values, dtype="int64")
    return np.array([None if v is None or v == "" else str(v) for v in values], dtype=object)


def write_geo(
    path: Path, kind: Kind, columns: tuple[Column, ...], rows: Iterator[Row], fmt: str
) -> int:
    """A GeoPackage (Chinese headers) or Shapefile (10-byte names) layer named after the kind,
    written in batches of ``GEO_BATCH`` features; a Shapefile named ``.zip`` is zipped. An
    existing file is replaced."""
    from pyogrio.raw import write

    driver = "GPKG" if fmt == "gpkg" else "ESRI Shapefile"
    names = [c.header if fmt == "gpkg" else c.field_name for c in columns]
    geometry_type = GEOMETRY_TYPES[kind.name]
    target = path
    if fmt == "shp" and path.suffix.lower() == ".zip":
        if not path.name.lower().endswith(ZIPPED_SHAPEFILE):
            target = path.with_name(path.stem + ZIPPED_SHAPEFILE)
    elif fmt == "shp":
        for part in SHAPEFILE_PARTS:
            path.with_suffix(part).unlink(missing_ok=True)
    # pyogrio would add a layer to an existing GeoPackage or zip.
    path.unlink(missing_ok=True)
    target.unlink(missing_ok=True)
    count = 0
    first = True

    def flush(batch: list[Row]) -> None:
        nonlocal first
        geometry = np.array([g for _, g in batch], dtype=object)
        data = [_field_array(c, [v.get(c.key) for v, _ in batch]) for c in columns]
        write(
            str(target),
            geometry,
            data,
            names,
            layer=kind.name,
            driver=driver,
            geometry_type=geometry_type,
            crs=CRS,
            encoding="UTF-8" if fmt == "shp" else None,
            append=not first,
        )
        first = False

    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        count += 1
        if len(batch) >= GEO_BATCH:
            flush(batch)
            batch = []
    if batch or first:
        flush(batch)
    if target != path:
        target.rename(path)
    return count


# --- The export -------------------------------------------------------------------------------


def export(
    kind: str,
    path: Path | str,
    *,
    fmt: str | None = None,
    area: str | None = None,
    user: Any = None,
    unmasked: bool = False,
) -> int:
    """Write the records of ``kind`` to ``path`` and return how many rows were written (see the
    module docstring). Raises ``ExportError`` for an unknown kind, format or area, or a geo
    format asked of a kind without geometry."""
    path = Path(path)
    spec = export_kind(kind)
    fmt = export_format(path, fmt)
    if fmt in GEO_FORMATS and kind not in GEOMETRY_TYPES:
        raise ExportError(MSG_NO_GEOMETRY, kind={"msgid": spec.label})
    scope = Scope(
        area=area_prefix(area) if area else None,
        prefixes=jurisdiction_prefixes(user) if user is not None else None,
        visible=can_see_personal_data(user) if user is not None else unmasked,
    )
    if kind in PERSONAL_KINDS:
        # Inside a request (a page's download): the answer carries residents' data, masked or
        # not, and is sent no-store (gridmap.personal_data). Outside one: nothing.
        mark_answer()
    columns = export_columns(kind, fmt)
    rows = ROWS[kind](scope, fmt in GEO_FORMATS)
    if fmt == "xlsx":
        return write_xlsx(path, spec, columns, rows)
    if fmt == "csv":
        return write_csv(path, spec, columns, rows)
    return write_geo(path, spec, columns, rows, fmt)
