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

Boundary levels (``BOUNDARY_LEVELS``, cities to grids): the current generation's code, name,
parent's code and (towns, villages) kind, with the multipolygon (GeoPackage, Shapefile, with
the keys as field names, as ``import_boundaries`` reads them; in a CSV as WKT; an XLSX leaves
the geometry out, as a cell holds at most 32,767 characters).

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

from pathlib import Path
from typing import Any

from accounts.selectors import can_see_personal_data, jurisdiction_prefixes
from gridmap.personal_data import mark_answer

from .rows import ROWS, Scope, area_prefix
from .spec import (
    BOUNDARY_KINDS,
    BOUNDARY_LEVELS,
    EXPORT_KIND_NAMES,
    FORMATS,
    GEO_FORMATS,
    GEOMETRY_TYPES,
    MSG_NO_GEOMETRY,
    MSG_UNKNOWN_AREA,
    MSG_UNKNOWN_FORMAT,
    MSG_UNKNOWN_KIND,
    ExportError,
    download_name,
    export_columns,
    export_format,
    export_formats,
    export_kind,
)
from .writers import write_csv, write_geo, write_xlsx

__all__ = [
    "BOUNDARY_KINDS",
    "BOUNDARY_LEVELS",
    "EXPORT_KIND_NAMES",
    "FORMATS",
    "GEOMETRY_TYPES",
    "MSG_NO_GEOMETRY",
    "MSG_UNKNOWN_AREA",
    "MSG_UNKNOWN_FORMAT",
    "MSG_UNKNOWN_KIND",
    "PERSONAL_KINDS",
    "ExportError",
    "download_name",
    "export",
    "export_columns",
    "export_formats",
    "export_kind",
]

# The kinds whose rows carry personal fields (masked or not).
PERSONAL_KINDS = {"households", "workers", "roles", "party_members", "duty_shifts"}


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
