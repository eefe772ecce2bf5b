"""The error workbook (``--report PATH.xlsx``): the input rows as they were, with where and why
each was refused, so a clerk fixes them in place and imports the file again.

The sheet has the input's header row as it was (same headers, same order: it re-imports as the
input did), then three columns added at the end: the sheet and the row number in the input,
and the errors (``户编号：同一文件中出现两次；联系电话：……``: each a column's header as the file
names it and the reason, in the reader's language). File-level errors (a missing column) have
no row: they are written above the header, and the reader of the re-import skips them as
title rows; a file refused before its header matched gets a workbook of these lines only.
Written streaming (openpyxl write-only), every cell through ``safe_cell``: an input cell
``=HYPERLINK(...)`` is written as text, never as a formula.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from django.utils.translation import gettext, gettext_noop
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from gridmap.exports import safe_cell
from gridmap.messages import render_message

from .normalise import RowError
from .sources import Header, Record

MSG_SHEET = gettext_noop("sheet")
MSG_ROW = gettext_noop("row")
MSG_ERRORS = gettext_noop("errors")
MSG_COLUMN_REASON = gettext_noop("%(column)s: %(reason)s")
MSG_ERRORS_JOINER = gettext_noop("; ")
# An XLSX cell holds at most 32,767 characters (a geometry's WKT may be longer).
MAX_CELL = 32767


@dataclass(frozen=True)
class Refusal:
    """Why a row (or the file, when ``column`` is None and the row is None) was refused:
    ``column`` is the column key, ``message`` a ``{"msgid", "params"}`` message."""

    column: str | None
    message: dict[str, Any]

    @classmethod
    def of(cls, error: RowError) -> Refusal:
        """The refusal of a cell the cleaners of ``imports.normalise`` refused."""
        return cls(error.column or None, error.as_message())


def error_text(errors: Iterable[Refusal], header: Header) -> str:
    """The errors of one row in the reader's language, each with its column as the file
    names it."""
    parts = []
    for error in errors:
        reason = render_message(error.message)
        if error.column is None:
            parts.append(reason)
        else:
            column = header.label(error.column)
            parts.append(gettext(MSG_COLUMN_REASON) % {"column": column, "reason": reason})
    return gettext(MSG_ERRORS_JOINER).join(parts)


def _cell(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        value = _wkt(bytes(value))
    value = safe_cell(value)
    if isinstance(value, str) and len(value) > MAX_CELL:
        value = value[: MAX_CELL - 1] + "…"
    return value


def _wkt(wkb: bytes) -> str:
    import shapely

    return shapely.to_wkt(shapely.from_wkb(wkb))


class ErrorWorkbook:
    """``with ErrorWorkbook(path, header) as book: book.add(record, errors)``; saved on exit
    (also when the block raises, so what was found so far is kept)."""

    def __init__(
        self, path: str | Path, header: Header | None, *, file_errors: Iterable[Refusal] = ()
    ) -> None:
        self.path = Path(path)
        self.header = header
        self.rows = 0
        self._book = Workbook(write_only=True)
        self._ws = self._book.create_sheet((header.sheet if header else "")[:31] or "Sheet1")
        self._width = 0
        bold = Font(bold=True)
        for error in file_errors:
            self._ws.append([_cell(render_message(error.message))])
        if header is None:
            # The file was refused before its header matched: only the file's errors.
            return
        cells = [_cell(c) for c in header.cells]
        added = [gettext(MSG_SHEET), gettext(MSG_ROW), gettext(MSG_ERRORS)]
        row = []
        for value in [*cells, *added]:
            cell = WriteOnlyCell(self._ws, value=value)
            cell.font = bold
            row.append(cell)
        self._ws.append(row)
        self._width = len(header.cells)

    def add(self, record: Record, errors: Iterable[Refusal]) -> None:
        """One input row with its errors (the cells padded to the header's width)."""
        if self.header is None:
            raise ValueError("An error workbook without a header row has no rows.")
        cells = list(record.cells) + [None] * (self._width - len(record.cells))
        text = error_text(errors, self.header)
        self._ws.append(
            [_cell(c) for c in cells] + [_cell(record.sheet), record.number, _cell(text)]
        )
        self.rows += 1

    def save(self) -> Path:
        self._book.save(self.path)
        return self.path

    def __enter__(self) -> ErrorWorkbook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.save()


def write_error_workbook(
    path: str | Path,
    header: Header | None,
    rows: Iterable[tuple[Record, Iterable[Refusal]]],
    *,
    file_errors: Iterable[Refusal] = (),
) -> Path:
    """The error workbook of ``rows`` (each a record and its errors) at ``path``."""
    with ErrorWorkbook(path, header, file_errors=file_errors) as book:
        for record, errors in rows:
            book.add(record, errors)
    return book.path
