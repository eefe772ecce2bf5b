"""Cells of the spreadsheets the project writes (CSV, XLSX): text that a spreadsheet program
would run as a formula is written as text.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel, LibreOffice
and WPS (``=HYPERLINK(...)`` can send the reader's data elsewhere); a leading tab or carriage
return can hide one. OWASP's guidance on CSV injection: start such a cell with a single quote,
which spreadsheet programs show as text. Only text is quoted: numbers, dates and times are
written as they are (a negative number is a number, not a formula). Every CSV and XLSX writer
passes its cells through ``safe_cell``; a reader of a CSV the project wrote (the planning
import) passes them back through ``read_cell``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.functional import Promise

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` before it when it is text that starts like a formula."""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def read_cell(text: str) -> str:
    """The text ``safe_cell`` was given: the quote it added is removed (only that one)."""
    if text.startswith(QUOTE) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
