"""What an export is made of: its kinds (the import's, and the boundary levels), their
columns by format, the formats, and the refusals (``ExportError``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils.translation import gettext_noop

from gridmap.messages import render_message
from imports.kinds import KIND_NAMES, KINDS, Column, Kind

FORMATS: tuple[str, ...] = ("xlsx", "csv", "gpkg", "shp")
GEO_FORMATS = {"gpkg", "shp"}
# A ``.zip`` is a zipped Shapefile (one file to download; the import reads it as it is).
SUFFIX_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".gpkg": "gpkg", ".shp": "shp", ".zip": "shp"}
BOUNDARY_LEVELS: tuple[str, ...] = ("cities", "districts", "towns", "villages", "grids")
EXPORT_KIND_NAMES: tuple[str, ...] = KIND_NAMES + BOUNDARY_LEVELS
# Table columns that the geometry replaces in a geo file (left out there): a building's
# footprint WKT and its centre (the import would build a square around a point it is given),
# a boundary's WKT.
GEOMETRY_TWINS = {"footprint", "geometry"}
BUILDING_POINT = {"lon", "lat"}

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


# A boundary level's geo file is what ``import_boundaries LEVEL PATH --kind-field kind`` reads
# with its default field names, so its fields are the keys (not the Chinese headers).
BOUNDARY_KIND_COLUMN = Column(
    "kind",
    "类型",
    gettext_noop("镇, 乡 or 街道 (a town); 村 or 社区 (a village)."),
)


def _boundary_kind(name: str, label: str, *, with_kind: bool) -> Kind:
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
            *((BOUNDARY_KIND_COLUMN,) if with_kind else ()),
            Column("geometry", "几何", gettext_noop("The boundary as WKT in WGS84.")),
        ),
    )


BOUNDARY_KINDS: dict[str, Kind] = {
    "cities": _boundary_kind("cities", gettext_noop("cities"), with_kind=False),
    "districts": _boundary_kind("districts", gettext_noop("districts"), with_kind=False),
    "towns": _boundary_kind("towns", gettext_noop("towns"), with_kind=True),
    "villages": _boundary_kind("villages", gettext_noop("villages"), with_kind=True),
    "grids": _boundary_kind("grids", gettext_noop("grids"), with_kind=False),
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
