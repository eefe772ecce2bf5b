"""The writers: XLSX (openpyxl write-only, the template's header and text formats), CSV
(UTF-8 with a BOM) and GeoPackage or Shapefile (pyogrio, in appended batches)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from gridmap.exports import safe_cell
from imports.kinds import Column, Kind

from .rows import Row
from .spec import BOUNDARY_KINDS, GEOMETRY_TYPES

# Features per write of a geo file.
GEO_BATCH = 5000
TEXT_FORMAT = "@"
# Records on one sheet of an XLSX: Excel's 1,048,576 rows less the header.
XLSX_SHEET_ROWS = 1_048_575
CRS = "EPSG:4326"
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# GDAL writes a zipped Shapefile when the name ends so.
ZIPPED_SHAPEFILE = ".shp.zip"


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
    if fmt == "shp":
        names = [c.field_name for c in columns]
    elif kind.name in BOUNDARY_KINDS:
        # What import_boundaries reads by default (--code-field code, --name-field name).
        names = [c.key for c in columns]
    else:
        names = [c.header for c in columns]
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
