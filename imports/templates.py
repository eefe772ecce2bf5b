"""The template of a kind: a workbook a clerk fills in and imports as it is.

Sheet 1 (named after the kind, in the reader's language) has the header row in Chinese, one
example row and nothing else. Each header cell carries a comment with the column's English key
and its help, so a clerk who hovers sees what goes there; the keys are not a second row, so
the file re-imports without a row to skip (the reader would skip such a key row anyway).
Columns of codes, ID numbers and phones are formatted as text (``@``) for the whole column, so
Excel keeps ``450702199001011234`` and ``0777...`` as typed. Required columns' headers are
bold and red. Sheet 2, 说明, explains each column: header, key, required or not, help, example.
"""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext, gettext_noop
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from gridmap.exports import safe_cell, safe_row

from .kinds import Kind

HELP_SHEET = "说明"
TEXT_FORMAT = "@"

MSG_HELP_HEADERS = (
    gettext_noop("column header"),
    gettext_noop("key"),
    gettext_noop("required"),
    gettext_noop("what goes there"),
    gettext_noop("example"),
)
MSG_YES = gettext_noop("yes")
MSG_NO = gettext_noop("no")
MSG_HELP_INTRO = gettext_noop(
    "Fill in one row per record on the first sheet, below the header row; delete the example "
    "row. Columns may be in any order; the header may be in Chinese or the English key. Keep "
    "columns formatted as text where they are."
)


def write_template(kind: Kind, path: str | Path) -> Path:
    """Write the template of ``kind`` to ``path`` (an .xlsx) and return the path."""
    path = Path(path)
    book = Workbook()
    ws = book.active
    ws.title = gettext(kind.label)[:31]
    bold_red = Font(bold=True, color="C00000")
    bold = Font(bold=True)
    for index, col in enumerate(kind.columns, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index, value=col.header)
        cell.font = bold_red if col.required else bold
        note = f"{col.key}\n{gettext(col.help)}"
        cell.comment = Comment(note, "gridmap", width=300, height=120)
        example = ws.cell(row=2, column=index, value=safe_cell(_example(col.example, col.text)))
        ws.column_dimensions[letter].width = max(12, len(col.header) * 2 + 4)
        if col.text:
            ws.column_dimensions[letter].number_format = TEXT_FORMAT
            example.number_format = TEXT_FORMAT
    ws.freeze_panes = "A2"

    help_ws = book.create_sheet(HELP_SHEET)
    help_ws.append([gettext(MSG_HELP_INTRO)])
    help_ws.append([])
    help_ws.append([gettext(h) for h in MSG_HELP_HEADERS])
    for cell in help_ws[3]:
        cell.font = bold
    for col in kind.columns:
        help_ws.append(
            safe_row(
                [
                    col.header,
                    col.key,
                    gettext(MSG_YES if col.required else MSG_NO),
                    gettext(col.help),
                    _example(col.example, col.text),
                ]
            )
        )
    for letter, width in zip("ABCDE", (14, 16, 8, 70, 24), strict=True):
        help_ws.column_dimensions[letter].width = width
    for row in help_ws.iter_rows(min_row=4):
        row[3].alignment = Alignment(wrap_text=True, vertical="top")
    book.save(path)
    return path


def _example(value: str | int | float, text: bool) -> str | int | float:
    return str(value) if text else value
