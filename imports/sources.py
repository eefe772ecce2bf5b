"""Reading a county's files: rows out of XLSX, CSV, GeoPackage, Shapefile and GeoJSON, and the
header row matched to a kind's columns.

Two steps, both streaming (memory stays flat however long the file):

1. ``read_rows(path, sheet=...)`` yields ``RawRow``: the sheet (an XLSX sheet, a geo layer, or
   the file name of a CSV), the row number as the user sees it (Excel's row number; a CSV's
   record number, which is the row Excel shows when it opens the CSV; a feature's number in a
   geo file, after its field-name row 1) and the cells as they are. XLSX is read with openpyxl
   in read-only mode (cached values of formulas, not the formulas); CSV in UTF-8 (with or
   without a BOM) or GB18030, whichever decodes: UTF-8 strictly first, then GB18030 (a
   superset of GBK and GB2312, what Excel and WPS write for "CSV" on a Chinese Windows);
   geo files through pyogrio, in batches, with the geometry as WKB in a last column
   ``geometry`` and the layer's CRS on the ``Source``.
2. ``open_source(path, kind, sheet=...)`` finds the header row among the first
   ``HEADER_SCAN_ROWS`` rows (the row that names the most columns of the kind, so merged title
   rows above it are skipped), matches each column by its Chinese header, its English key or
   its Shapefile name (``Column.short``), ignoring surrounding spaces, full-width spaces,
   full-width letters and case, reports unknown columns (not an error), refuses the file when
   a required column is missing or a column appears twice (``SourceError``, a message in the
   reader's language), and yields ``Record``: the raw row plus ``values`` by column key.
   Empty rows are skipped and counted.

Values stay raw (an int, a float, a datetime or text from XLSX; text from CSV; what the geo
file holds): normalising and validating them is the kind's business. Text that the project's
own writers guarded against formula injection (``gridmap.exports.safe_cell``) is read back as
it was (``read_cell``), so an error workbook or an export re-imports unchanged.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import operator
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_noop

from gridmap.exports import QUOTE, read_cell
from gridmap.messages import render_message

from .kinds import Column, Kind

# How many rows from the top may hold the header (title rows above it are skipped).
HEADER_SCAN_ROWS = 10
# Features read from a geo file at a time.
GEO_BATCH = 5000
# Bytes read at a time when deciding a CSV's encoding.
SNIFF_CHUNK = 1 << 16

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}
GEO_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".zip"}
# Binary Excel and WPS workbooks: openpyxl does not read them; the clerk saves as .xlsx.
OLD_EXCEL_SUFFIXES = {".xls", ".et"}
GEOMETRY = "geometry"
CSV_DELIMITERS = (",", ";", "\t")

# --- Messages (the tests reuse them) ----------------------------------------------------------
MSG_FILE_NOT_FOUND = gettext_noop("File not found: %(path)s")
MSG_UNKNOWN_FORMAT = gettext_noop(
    "%(path)s is not a file this import reads: use XLSX, CSV, GeoPackage, Shapefile or GeoJSON."
)
MSG_OLD_EXCEL = gettext_noop(
    "%(path)s is an old Excel file (.xls or .et): open it in Excel or WPS, save it as an Excel "
    "workbook (.xlsx) and import that."
)
MSG_UNREADABLE = gettext_noop("Cannot read %(path)s: %(error)s")
MSG_NO_SHEET = gettext_noop("%(path)s has no sheet %(sheet)s; its sheets are: %(sheets)s.")
MSG_NO_HEADER = gettext_noop(
    "No header row found in the first %(rows)s rows of %(sheet)s: no row names a column of "
    "%(kind)s. Download the template to see the columns."
)
MSG_MISSING_COLUMNS = gettext_noop(
    "The file has no column %(columns)s, which %(kind)s need. Add the column (its header is "
    "in the template) and import again."
)
MSG_DUPLICATE_COLUMN = gettext_noop(
    "Column %(column)s appears more than once in the header row (columns %(letters)s): keep one."
)


class SourceError(Exception):
    """The file as a whole cannot be imported; ``message`` is ``{"msgid", "params"}``."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.message: dict[str, Any] = {"msgid": msgid, "params": params}
        super().__init__(msgid % params if params else msgid)

    def __str__(self) -> str:
        """The message in the active language."""
        return render_message(self.message)


@dataclass(frozen=True)
class RawRow:
    """One row of a file: where it is, and its cells as they are."""

    sheet: str
    number: int
    cells: tuple[Any, ...]


@dataclass(frozen=True)
class Record:
    """A data row with its values by column key (raw, not normalised)."""

    sheet: str
    number: int
    cells: tuple[Any, ...]
    values: dict[str, Any]


# --- Header matching ------------------------------------------------------------------------


def header_text(value: Any) -> str:
    """A header cell as compared: NFKC (full-width letters, digits and the ideographic space
    become ASCII), surrounding white space stripped, case folded."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


def column_names(kind: Kind) -> dict[str, str]:
    """Compared header text -> column key: each column by its Chinese header, its key, its
    Shapefile name (``Column.short``) and its key cut at 10 characters (GDAL's own
    shortening of a long field name in a Shapefile)."""
    names: dict[str, str] = {}
    for col in kind.columns:
        for name in (col.header, col.key, col.field_name, col.key[:10]):
            names[header_text(name)] = col.key
    return names


def column_letter(index: int) -> str:
    """Excel's letter for the 0-based column ``index`` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class Header:
    """The matched header row of a file."""

    sheet: str
    number: int
    cells: tuple[Any, ...]
    # Column index -> column key, for the columns of the kind.
    keys: dict[int, str]
    # Headers (as in the file) of the columns the kind does not know, reported, not an error.
    unknown: list[str] = field(default_factory=list)

    def label(self, key: str) -> str:
        """The column's header as the file has it (its key when the file lacks it)."""
        for index, k in self.keys.items():
            if k == key:
                return str(self.cells[index]).strip()
        return key


def _score(cells: tuple[Any, ...], names: dict[str, str]) -> int:
    return len({names[t] for c in cells if (t := header_text(c)) in names})


def match_header(kind: Kind, rows: list[RawRow], *, extra: Iterable[str] = ()) -> Header:
    """The header among ``rows`` (the first rows of a sheet): the one naming the most columns
    of ``kind``, the earliest on a tie. Raises ``SourceError`` when none names any, when a
    required column is missing or a column appears twice. Headers in ``extra`` (a geo file's
    ``geometry``) are neither the kind's columns nor reported as unknown."""
    names = column_names(kind)
    best = max(rows, key=lambda r: _score(r.cells, names), default=None)
    if best is None or _score(best.cells, names) == 0:
        raise SourceError(
            MSG_NO_HEADER,
            rows=HEADER_SCAN_ROWS,
            sheet=rows[0].sheet if rows else "",
            kind={"msgid": kind.label},
        )
    keys: dict[int, str] = {}
    seen: dict[str, list[int]] = {}
    unknown: list[str] = []
    for index, cell in enumerate(best.cells):
        text = header_text(cell)
        if not text:
            continue
        key = names.get(text)
        if key is None and text in extra:
            continue
        if key is None:
            unknown.append(str(cell).strip())
            continue
        keys[index] = key
        seen.setdefault(key, []).append(index)
    for key, indexes in seen.items():
        if len(indexes) > 1:
            raise SourceError(
                MSG_DUPLICATE_COLUMN,
                column=kind.column(key).header,
                letters=", ".join(column_letter(i) for i in indexes),
            )
    missing = [c for c in kind.required if c.key not in seen]
    if missing:
        raise SourceError(
            MSG_MISSING_COLUMNS,
            columns=_column_list(missing),
            kind={"msgid": kind.label},
        )
    return Header(
        sheet=best.sheet, number=best.number, cells=best.cells, keys=keys, unknown=unknown
    )


def _column_list(columns: Iterable[Column]) -> str:
    """Columns as one parameter of a message: "户编号 (code), 地址 (address)"."""
    return ", ".join(f"{c.header} ({c.key})" for c in columns)


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _is_key_row(row: RawRow, header: Header) -> bool:
    """A second header row holding the English keys (a file with both headers): skipped."""
    filled = [(i, c) for i, c in enumerate(row.cells) if not _blank(c)]
    return bool(filled) and all(header_text(c) == header.keys.get(i) for i, c in filled)


class Source:
    """A file opened for one kind: its header matched, its records streamed once.

    Use it as a context manager (or call ``close``) when the records may not all be read.
    ``header`` is the matched header row; ``crs`` the geo layer's CRS (None for XLSX/CSV);
    after iterating, ``rows`` counts the data rows read and ``blank_rows`` the empty ones
    skipped between them."""

    def __init__(self, path: str | Path, kind: Kind, *, sheet: str | None = None) -> None:
        self.path = Path(path)
        self.kind = kind
        self.format = file_format(self.path)
        self.crs: str | None = geo_crs(self.path, sheet) if self.format == "geo" else None
        self._rows = read_rows(self.path, sheet=sheet)
        top = list(itertools.islice(self._rows, HEADER_SCAN_ROWS))
        extra = (GEOMETRY,) if self.format == "geo" else ()
        try:
            self.header = match_header(self.kind, top, extra=extra)
        except SourceError:
            self.close()
            raise
        self._pending = [r for r in top if r.number > self.header.number]
        self.rows = 0
        self.blank_rows = 0

    def close(self) -> None:
        """Release the file (an XLSX workbook is closed) when not read to the end."""
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def srid(self) -> int | None:
        """The EPSG code of the geo layer's CRS (None without a CRS or with one EPSG lacks):
        a record's geometry as EWKT is ``ewkt(record.values["geometry"], source.srid)``."""
        if self.crs is None:
            return None
        import pyproj

        return pyproj.CRS.from_user_input(self.crs).to_epsg()

    def __iter__(self) -> Iterator[Record]:
        names = list(self.header.keys.values())
        geo = self.format == "geo"
        for row, picked in self.picked():
            values = dict(zip(names, picked, strict=True))
            if geo:
                values[GEOMETRY] = row.cells[-1]
            yield Record(sheet=row.sheet, number=row.number, cells=row.cells, values=values)

    def picked(self) -> Iterator[tuple[RawRow, tuple[Any, ...]]]:
        """Each data row and its cells of the header's columns, in the order of
        ``header.keys`` (None for a cell the row lacks): what ``Record.values`` holds, without
        a dict (a large CSV cleaned in the database)."""
        keys = self.header.keys
        indices = list(keys.keys())
        width = max(indices) + 1 if indices else 0
        # The kind's cells of a row at least as wide as the header, in one C call.
        if len(indices) > 1:
            pick = operator.itemgetter(*indices)
        elif indices:
            index = indices[0]

            def pick(cells: tuple[Any, ...]) -> tuple[Any, ...]:
                return (cells[index],)
        else:

            def pick(cells: tuple[Any, ...]) -> tuple[Any, ...]:
                return ()

        first = True
        blank = 0
        # Records are read once: a second iteration goes on where the first stopped.
        pending, self._pending = self._pending, []
        for row in itertools.chain(pending, self._rows):
            cells = row.cells
            lead = cells[0] if cells else None
            # (A row whose first cell has text is not blank: the common case, decided at once.)
            if not (isinstance(lead, str) and lead.strip()) and all(_blank(c) for c in cells):
                blank += 1
                continue
            # Empty rows between data rows are counted; those after the last are not.
            self.blank_rows += blank
            blank = 0
            if first and _is_key_row(row, self.header):
                first = False
                continue
            first = False
            self.rows += 1
            if len(cells) >= width:
                yield row, pick(cells)
            else:
                yield row, tuple(cells[i] if i < len(cells) else None for i in indices)


def open_source(path: str | Path, kind: Kind, *, sheet: str | None = None) -> Source:
    """``path`` opened for ``kind``: see ``Source``. Raises ``SourceError``."""
    return Source(path, kind, sheet=sheet)


# --- Reading rows ---------------------------------------------------------------------------


def ewkt(wkb: bytes | None, srid: int | None) -> str | None:
    """A record's geometry (WKB, as a geo source gives it) as EWKT for PostGIS/GEOS:
    ``SRID=4326;POINT (108.65 21.95)``; plain WKT without an SRID; None without a geometry."""
    if wkb is None:
        return None
    import shapely

    text = shapely.to_wkt(shapely.from_wkb(wkb))
    return f"SRID={srid};{text}" if srid is not None else text


def file_format(path: Path) -> str:
    """ "xlsx", "csv" or "geo", by the file's suffix (its content is checked by the reader)."""
    if not path.exists():
        raise SourceError(MSG_FILE_NOT_FOUND, path=str(path))
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in GEO_SUFFIXES or path.is_dir():
        return "geo"
    if suffix in OLD_EXCEL_SUFFIXES:
        raise SourceError(MSG_OLD_EXCEL, path=path.name)
    raise SourceError(MSG_UNKNOWN_FORMAT, path=path.name)


def read_rows(path: str | Path, *, sheet: str | None = None) -> Iterator[RawRow]:
    """Every row of ``path`` (the first sheet or layer unless ``sheet``), streamed."""
    path = Path(path)
    fmt = file_format(path)
    if fmt == "xlsx":
        return _xlsx_rows(path, sheet)
    if fmt == "csv":
        return _csv_rows(path)
    return _geo_rows(path, sheet)


def _read_text(value: Any) -> Any:
    return read_cell(value) if isinstance(value, str) else value


# Excel keeps every number as a float; a whole number of at most 15 digits is read as an int
# (as openpyxl does for "3"), a longer one stays a float, so that an ID number Excel damaged
# (4.50702199001011E+17) is still recognised as such by the cleaners.
EXACT_FLOAT_DIGITS = 10**15


def _xlsx_cell(value: Any) -> Any:
    if value == "":
        return None  # an empty cell (calamine gives "", openpyxl None)
    if isinstance(value, float) and value.is_integer() and abs(value) < EXACT_FLOAT_DIGITS:
        return int(value)
    return _read_text(value)


def _xlsx_rows(path: Path, sheet: str | None) -> Iterator[RawRow]:
    """The rows of a workbook's sheet, read by python-calamine (Rust: about ten times faster
    than openpyxl's streaming reader on a large sheet). The sheet is decoded on first read."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise SourceError(MSG_UNREADABLE, path=path.name, error=str(exc)) from exc
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        book.close()
        raise SourceError(MSG_NO_SHEET, path=path.name, sheet=sheet, sheets=", ".join(names))
    title = sheet if sheet is not None else names[0]

    def rows() -> Iterator[RawRow]:
        try:
            ws = book.get_sheet_by_name(title)
            for number, cells in enumerate(ws.iter_rows(), start=1):
                yield RawRow(title, number, tuple(_xlsx_cell(c) for c in cells))
        except CalamineError as exc:
            raise SourceError(MSG_UNREADABLE, path=path.name, error=str(exc)) from exc
        finally:
            book.close()

    return rows()


def csv_encoding(path: Path) -> str:
    """ "utf-8-sig" when the whole file decodes as UTF-8 (a BOM or not), else "gb18030".

    Read in chunks through an incremental decoder, so a large file is not held in memory;
    a GB18030 file fails at its first Chinese character, usually in the header."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    with path.open("rb") as f:
        try:
            while chunk := f.read(SNIFF_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def csv_delimiter(sample: str) -> str:
    """The delimiter of a CSV: the most frequent of comma, semicolon (Excel in some locales)
    and tab in its first lines; a comma on a tie. (csv.Sniffer guesses wrong on files with a
    title row and quoted newlines.)"""
    return max(CSV_DELIMITERS, key=sample.count)


def _csv_rows(path: Path) -> Iterator[RawRow]:
    encoding = csv_encoding(path)

    def rows() -> Iterator[RawRow]:
        with path.open(encoding=encoding, errors="replace", newline="") as f:
            sample = f.read(SNIFF_CHUNK)
            f.seek(0)
            for number, cells in enumerate(csv.reader(f, delimiter=csv_delimiter(sample)), 1):
                # (read_cell only undoes a quote a cell starts with: most rows have none.)
                if QUOTE in "\0".join(cells):
                    yield RawRow(path.name, number, tuple(map(read_cell, cells)))
                else:
                    yield RawRow(path.name, number, tuple(cells))

    return rows()


def geo_crs(path: Path, layer: str | None) -> str | None:
    """The layer's CRS as pyogrio gives it ("EPSG:4326", or WKT), None when the file has none."""
    import pyogrio

    try:
        return pyogrio.read_info(path, layer=layer)["crs"]
    except Exception as exc:  # pyogrio's DataSourceError, DataLayerError, ...
        raise SourceError(MSG_UNREADABLE, path=path.name, error=str(exc)) from exc


def _geo_cell(value: Any) -> Any:
    """A numpy scalar as the Python value (``numpy.int64`` -> int, NaN/NaT -> None)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _geo_rows(path: Path, layer: str | None) -> Iterator[RawRow]:
    import pyogrio
    from pyogrio.raw import read

    try:
        info = pyogrio.read_info(path, layer=layer)
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio's DataSourceError, DataLayerError, ...
        raise SourceError(MSG_UNREADABLE, path=path.name, error=str(exc)) from exc
    name = layer if layer is not None else str(layers[0])
    fields = [str(f) for f in info["fields"]]
    total = int(info["features"])

    def rows() -> Iterator[RawRow]:
        yield RawRow(name, 1, (*fields, GEOMETRY))
        for start in range(0, total, GEO_BATCH):
            _meta, _fids, geometry, data = read(
                path, layer=layer, skip_features=start, max_features=GEO_BATCH
            )
            for i in range(len(geometry)):
                cells = tuple(_geo_cell(column[i]) for column in data)
                yield RawRow(name, start + i + 2, (*cells, geometry[i]))

    return rows()
