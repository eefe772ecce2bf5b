"""One cell of a county's file, cleaned: the per-value normalisers and validators of an import.

Pure functions, no database. Each ``clean_*`` takes the cell as the reader gave it (text from
a CSV; text, int, float, bool, date or datetime from a workbook; ``None`` for an empty cell)
and returns a ``Cleaned``: the value to store and whether a safe normalisation rewrote what the
cell said (full-width digits, spaces, a lowercase ``x``, ``+86``, ``3.0`` from Excel...). A
value that cannot be used raises ``RowError(column, msgid, params)``: the msgid is English,
marked with ``gettext_noop``, rendered in the reader's language by ``gridmap.messages``.
``NormalisationCounter`` counts the normalised values per column and the rows they are in, so
the summary can say "12 rows normalised"; ``NormalisationCounter.clean_row`` cleans a whole row
and collects every refused column of it, not only the first.

What is "safely normalisable" (counted, never refused): full-width digits and letters
(NFKC), spaces and dashes inside numbers, a lowercase ``x`` check character, ``+86``/``0086``/
``86`` before a mobile number, an integer written ``3.0`` or ``3人``, an Excel date serial, a
15-digit first-generation ID number (converted to 18 digits as GB 11643-1999 prescribes:
``19`` inserted before the year and the check character appended; every such card was issued
to someone born in the 1900s). Reading one of the accepted spellings of a date (``2026/1/5``,
``2026年1月5日``) or of yes/no (``是``, ``yes``) is parsing, not normalising: not counted.

Excel damage. A number of more than 15 digits typed into a cell formatted as a number keeps
only 15 significant digits: ``450702199001011234`` becomes ``4.50702E+17`` on screen and
``450702199001011000`` in the cell. Such a value is refused with how to fix it (format the
column as text, type the numbers again): scientific notation, a float (``...234.0``) of more
than 15 digits, a float number cell of more than 15 digits, or 16-18 digits whose
digits after the 15th are all zeros and which fail the check digit. (An 18-digit number ending
in ``000`` whose check digit is right is a real number and accepted: one in about a thousand
real numbers ends so; a damaged one passes the check one time in eleven.)

Coordinates: ``clean_lon_lat`` reads degrees and converts GCJ-02 (AMap, Tencent) and BD-09
(Baidu) to WGS84 with ``grids.coords``, the conversion ``import_boundaries`` uses.
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar

import numpy as np
from django.utils.translation import gettext_noop

from gridmap.messages import render_message
from grids.coords import bd09_to_wgs84_coords, gcj02_to_wgs84_coords

T = TypeVar("T")
# A cell as a reader gives it: text (CSV, a text cell), a workbook's typed value, or None.
Cell = str | int | float | bool | date | datetime | None

# --- Reasons (English msgids; zh-hans in locale/) ---------------------------------------------
MSG_REQUIRED = gettext_noop("This column must not be empty.")
MSG_TEXT_TOO_LONG = gettext_noop("At most %(max_length)s characters; this has %(length)s.")
MSG_EXCEL_DAMAGED = gettext_noop(
    "%(value)s was damaged by Excel: the number was stored as a number, so it shows in "
    "scientific notation or its last digits became zeros. Format the column as text (Format "
    "Cells, Text), type the numbers again and import the file again."
)
MSG_ID_NUMBER_LENGTH = gettext_noop(
    "An ID number has 18 characters (15 digits on a first-generation card); %(value)s has "
    "%(length)s."
)
MSG_ID_NUMBER_CHARACTERS = gettext_noop(
    "An ID number is 17 digits and a final digit or X; %(value)s is not."
)
MSG_ID_NUMBER_CHECK = gettext_noop(
    "The ID number %(value)s is wrong: with these first 17 digits its last character must be "
    "%(expected)s (GB 11643 check). A digit was probably mistyped."
)
MSG_ID_NUMBER_BIRTH_DATE = gettext_noop(
    "The ID number %(value)s holds the birth date %(birth)s, which is not a real date."
)
MSG_ID_NUMBER_BIRTH_FUTURE = gettext_noop(
    "The ID number %(value)s holds the birth date %(birth)s, which is in the future."
)
MSG_PHONE_SEVERAL = gettext_noop("One phone number per cell: %(value)s holds several.")
MSG_PHONE_NO_AREA_CODE = gettext_noop(
    "The landline %(value)s needs its area code, for example 0777-2822222."
)
MSG_PHONE_INVALID = gettext_noop(
    "%(value)s is neither a mainland mobile number (11 digits beginning 13 to 19) nor a "
    "landline with its area code (for example 0777-2822222)."
)
MSG_INTEGER_INVALID = gettext_noop("%(value)s is not a whole number.")
MSG_INTEGER_TOO_SMALL = gettext_noop("%(value)s is less than %(minimum)s.")
MSG_INTEGER_TOO_LARGE = gettext_noop("%(value)s is more than %(maximum)s.")
MSG_BOOLEAN_INVALID = gettext_noop("%(value)s is not yes or no (是 or 否).")
MSG_DATE_INVALID = gettext_noop("%(value)s is not a date; write it as 2026-01-05.")
MSG_COORDINATE_INVALID = gettext_noop("%(value)s is not a number of degrees.")
MSG_COORDINATE_HALF = gettext_noop("Give both longitude and latitude, or neither.")
MSG_LONGITUDE_RANGE = gettext_noop("The longitude %(value)s is outside -180 to 180.")
MSG_LATITUDE_RANGE = gettext_noop("The latitude %(value)s is outside -90 to 90.")
MSG_LON_LAT_SWAPPED = gettext_noop(
    "Longitude %(lon)s and latitude %(lat)s seem to be swapped: in China the longitude is "
    "the larger number (73 to 135)."
)
MSG_UNKNOWN_CRS = gettext_noop("Unknown coordinate system %(crs)s: use wgs84, gcj02 or bd09.")


class RowError(Exception):
    """A cell that cannot be imported: the column, the reason and its parameters."""

    def __init__(self, column: str, msgid: str, params: Mapping[str, Any] | None = None) -> None:
        self.column = column
        self.msgid = msgid
        self.params: dict[str, Any] = dict(params or {})
        super().__init__(column, msgid, self.params)

    def as_message(self) -> dict[str, Any]:
        """The stored form ``{"msgid", "params"}`` of ``gridmap.messages``."""
        return {"msgid": self.msgid, "params": self.params}

    def message(self) -> str:
        """The reason in the active language."""
        return render_message(self.as_message())

    def __str__(self) -> str:
        return f"{self.column}: {self.message()}"


@dataclass(frozen=True)
class Cleaned(Generic[T]):
    """A cleaned value and whether a safe normalisation rewrote the cell to get it."""

    value: T
    normalised: bool = False


# --- Shared helpers ---------------------------------------------------------------------------
_SPACES = re.compile(r"\s+")
# Text that clean_text would change: a space at either end, two together, or one that is not
# a plain space (a tab, a full-width space...).
_UNTIDY_SPACES = re.compile(r"^\s|\s$|\s\s|[^\S ]")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_FLOAT_INTEGRAL = re.compile(r"^([+-]?\d+)\.0+$")
# Excel keeps 15 significant digits of a number.
EXCEL_DIGITS = 15


def is_empty(raw: Cell) -> bool:
    """True for a missing cell, an empty string or one of only spaces (full-width included)."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def half_width(text: str) -> str:
    """Full-width digits, letters and signs as ASCII (``１２Ａ`` -> ``12A``); other text kept."""
    return unicodedata.normalize("NFKC", text)


def _shown(raw: Cell) -> str:
    """The cell as the clerk sees it, for a message (a long number as Excel shows it)."""
    if isinstance(raw, float):
        return f"{raw:.15G}"
    return str(raw).strip()


def _number_cell(raw: Cell) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def _integral_text(raw: Cell) -> tuple[str, bool] | None:
    """A number cell or ``3.0`` text as its digits, and whether it was rewritten; None if the
    value is not written as an integer."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw), False
    if isinstance(raw, float):
        if not math.isfinite(raw) or not raw.is_integer():
            return None
        return str(int(raw)), True
    return None


def _excel_damaged(raw: Cell, column: str) -> None:
    """Refuse a long number Excel has mangled (see the module docstring). An int cell keeps
    its digits (a file written by a program, not by Excel, which stores numbers as floats):
    it is judged by its digits like text."""
    if isinstance(raw, float):
        digits = _integral_text(raw)
        if digits is not None and len(digits[0].lstrip("-")) > EXCEL_DIGITS:
            raise RowError(column, MSG_EXCEL_DAMAGED, {"value": _shown(raw)})
        return
    if isinstance(raw, str):
        text = _SPACES.sub("", half_width(raw))
        if _SCIENTIFIC.match(text):
            raise RowError(column, MSG_EXCEL_DAMAGED, {"value": raw.strip()})
        match = _FLOAT_INTEGRAL.match(text)
        if match and len(match.group(1).lstrip("+-")) > EXCEL_DIGITS:
            raise RowError(column, MSG_EXCEL_DAMAGED, {"value": raw.strip()})


def _required(column: str, required: bool, empty: T) -> Cleaned[T]:
    if required:
        raise RowError(column, MSG_REQUIRED)
    return Cleaned(empty)


# --- Text and codes ---------------------------------------------------------------------------
def clean_text(
    raw: Cell, *, column: str = "", required: bool = False, max_length: int | None = None
) -> Cleaned[str]:
    """Text with surrounding spaces removed and runs of spaces inside made one; "" if empty."""
    if type(raw) is str and raw and not _UNTIDY_SPACES.search(raw):
        if max_length is not None and len(raw) > max_length:
            raise RowError(
                column, MSG_TEXT_TOO_LONG, {"max_length": max_length, "length": len(raw)}
            )
        return Cleaned(raw, False)  # the common case, already tidy
    if is_empty(raw):
        return _required(column, required, "")
    original = raw if isinstance(raw, str) else str(raw)
    text = _SPACES.sub(" ", original).strip()
    if max_length is not None and len(text) > max_length:
        raise RowError(column, MSG_TEXT_TOO_LONG, {"max_length": max_length, "length": len(text)})
    return Cleaned(text, normalised=isinstance(raw, str) and text != raw)


def clean_code(
    raw: Cell, *, column: str = "", required: bool = False, max_length: int | None = None
) -> Cleaned[str]:
    """A code (place code, household number, station code): full-width characters made
    half-width, every space removed, a number cell or ``450702001001.0`` as its digits."""
    if type(raw) is str and raw.isascii() and raw.isalnum() and not _SCIENTIFIC.match(raw):
        # The common case, already clean (letters and digits only).
        if max_length is not None and len(raw) > max_length:
            raise RowError(
                column, MSG_TEXT_TOO_LONG, {"max_length": max_length, "length": len(raw)}
            )
        return Cleaned(raw, False)
    if is_empty(raw):
        return _required(column, required, "")
    _excel_damaged(raw, column)
    integral = _integral_text(raw)
    if integral is not None:
        code, normalised = integral
    else:
        text = str(raw)
        code = _SPACES.sub("", half_width(text))
        match = _FLOAT_INTEGRAL.match(code)
        if match:
            code = match.group(1)
        normalised = code != text
    if max_length is not None and len(code) > max_length:
        raise RowError(column, MSG_TEXT_TOO_LONG, {"max_length": max_length, "length": len(code)})
    return Cleaned(code, normalised)


# --- ID numbers (GB 11643-1999) ---------------------------------------------------------------
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_18 = re.compile(r"^\d{17}[\dX]$")
_ID_15 = re.compile(r"^\d{15}$")
_ID_SEPARATORS = re.compile(r"[\s\-]")


def id_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of an ID number."""
    if len(first17) != len(ID_WEIGHTS):
        raise ValueError(f"17 digits expected, got {first17!r}")
    total = sum(map(operator.mul, map(int, first17), ID_WEIGHTS))
    return ID_CHECK[total % 11]


def _birth(column: str, value: str, yyyymmdd: str, today: date) -> None:
    shown = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        born = None
    if born is None or born.year < 1880:
        raise RowError(column, MSG_ID_NUMBER_BIRTH_DATE, {"value": value, "birth": shown})
    if born > today:
        raise RowError(column, MSG_ID_NUMBER_BIRTH_FUTURE, {"value": value, "birth": shown})


def clean_id_number(
    raw: Cell, *, column: str = "", required: bool = False, today: date | None = None
) -> Cleaned[str]:
    """A resident ID number as 18 characters (17 digits and a digit or ``X``), "" if empty.

    Normalised: full-width characters, spaces and dashes, a lowercase ``x``, a 15-digit
    first-generation number (made 18). Refused: Excel damage, a wrong length or character, a
    wrong check character, a birth date that does not exist or is after ``today``.
    """
    if (
        type(raw) is str
        and raw.isascii()  # \d also matches full-width digits, which must be normalised
        and _ID_18.match(raw)
        and id_check_character(raw[:17]) == raw[17]
    ):
        # The common case, already clean: only the birth date is left to check.
        _birth(column, raw, raw[6:14], today or date.today())
        return Cleaned(raw, False)
    if is_empty(raw):
        return _required(column, required, "")
    today = today or date.today()
    _excel_damaged(raw, column)
    integral = _integral_text(raw)
    if integral is not None:
        text, normalised = integral
        shown = text
    else:
        original = str(raw)
        shown = original.strip()
        text = _ID_SEPARATORS.sub("", half_width(original)).upper()
        match = _FLOAT_INTEGRAL.match(text)
        if match:
            text = match.group(1)
        normalised = text != original
    if _ID_15.match(text):
        _birth(column, shown, "19" + text[6:12], today)
        body = text[:6] + "19" + text[6:]
        return Cleaned(body + id_check_character(body), True)
    if len(text) != 18:
        if text.isdigit() and 15 < len(text) < 18 and set(text[EXCEL_DIGITS:]) == {"0"}:
            raise RowError(column, MSG_EXCEL_DAMAGED, {"value": shown})
        raise RowError(column, MSG_ID_NUMBER_LENGTH, {"value": shown, "length": len(text)})
    if not _ID_18.match(text):
        raise RowError(column, MSG_ID_NUMBER_CHARACTERS, {"value": shown})
    expected = id_check_character(text[:17])
    if text[17] != expected:
        if text.endswith("000"):
            raise RowError(column, MSG_EXCEL_DAMAGED, {"value": shown})
        raise RowError(column, MSG_ID_NUMBER_CHECK, {"value": shown, "expected": expected})
    _birth(column, shown, text[6:14], today)
    return Cleaned(text, normalised)


# --- Phone numbers ----------------------------------------------------------------------------
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Three-digit area codes (with the 0): Beijing 010 and the 02x cities; every other one has four.
_AREA3 = re.compile(r"^0(?:10|2\d)")
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）.]")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
# 0777-2822222-801: a dash after a whole local number introduces an extension.
_DASH_EXTENSION = re.compile(r"(?<=\d{7})\s*-\s*(\d{1,6})$")
_SEVERAL = re.compile(r"[/,;，；、|]|1[3-9]\d{9}\D+1[3-9]\d{9}")


def clean_phone(raw: Cell, *, column: str = "", required: bool = False) -> Cleaned[str]:
    """A mainland mobile number as 11 digits, or a landline as ``0AAA-NNNNNNN[-EXT]``; "" if
    empty. Normalised: full-width digits, spaces, dashes and brackets, ``+86``/``0086``/``86``,
    a number cell. Refused: several numbers in one cell, a landline without its area code,
    anything else that is not a mainland number."""
    if type(raw) is str and len(raw) == 11 and raw.isascii() and MOBILE_RE.match(raw):
        return Cleaned(raw, False)  # the common case, already clean
    if is_empty(raw):
        return _required(column, required, "")
    integral = _integral_text(raw)
    if integral is not None:
        text, float_cell = integral
        original = str(raw)
    else:
        original, float_cell = str(raw), False
        text = half_width(original).strip()
    shown = text if float_cell else original.strip()
    if _SEVERAL.search(text):
        raise RowError(column, MSG_PHONE_SEVERAL, {"value": shown})
    extension = ""
    match = _EXTENSION.search(text) or _DASH_EXTENSION.search(text)
    if match:
        extension = match.group(1)
        text = text[: match.start()]
    international = False
    compact = _PHONE_SEPARATORS.sub("", text)
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            compact, international = compact[len(prefix) :], True
            break
    else:
        if len(compact) == 13 and compact.startswith("86") and MOBILE_RE.match(compact[2:]):
            compact = compact[2:]
    if not compact.isdigit():
        raise RowError(column, MSG_PHONE_INVALID, {"value": shown})
    if MOBILE_RE.match(compact) and not extension:
        return Cleaned(compact, compact != original)
    if international and not compact.startswith("0"):
        compact = "0" + compact  # +86 777 2822222: the trunk 0 is dropped abroad
    if compact.startswith("0") and not compact.startswith("00"):
        area_length = 3 if _AREA3.match(compact) else 4
        area, local = compact[:area_length], compact[area_length:]
        if 7 <= len(local) <= 8 and local[0] not in "01":
            number = f"{area}-{local}" + (f"-{extension}" if extension else "")
            return Cleaned(number, number != original)
    elif 7 <= len(compact) <= 8 and compact[0] not in "01":
        raise RowError(column, MSG_PHONE_NO_AREA_CODE, {"value": shown})
    raise RowError(column, MSG_PHONE_INVALID, {"value": shown})


# --- Integers, booleans, dates ----------------------------------------------------------------
# A unit a clerk writes after a count: 3人, 2层, 1户, 4口.
_COUNT_UNIT = re.compile(r"^([+-]?\d+(?:\.0+)?)\s*[人层户口个名栋间]$")


def clean_integer(
    raw: Cell,
    *,
    column: str = "",
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> Cleaned[int | None]:
    """A whole number (人口数, 层数); ``3.0`` from Excel, full-width digits and a unit (``3人``)
    are normalised. None if empty."""
    if type(raw) is str and raw.isascii() and raw.isdigit():
        value, normalised = int(raw), False  # the common case, already clean
        if minimum is not None and value < minimum:
            raise RowError(column, MSG_INTEGER_TOO_SMALL, {"value": value, "minimum": minimum})
        if maximum is not None and value > maximum:
            raise RowError(column, MSG_INTEGER_TOO_LARGE, {"value": value, "maximum": maximum})
        return Cleaned(value, normalised)
    if is_empty(raw):
        return _required(column, required, None)
    shown = str(raw).strip()
    integral = _integral_text(raw)
    if integral is not None:
        value, normalised = int(integral[0]), integral[1]
    elif isinstance(raw, str):
        text = half_width(raw).strip()
        unit = _COUNT_UNIT.match(text)
        if unit:
            text = unit.group(1)
        match = _FLOAT_INTEGRAL.match(text)
        if match:
            text = match.group(1)
        if not re.fullmatch(r"[+-]?\d+", text):
            raise RowError(column, MSG_INTEGER_INVALID, {"value": shown})
        value = int(text)
        normalised = str(value) != raw
    else:
        raise RowError(column, MSG_INTEGER_INVALID, {"value": shown})
    if minimum is not None and value < minimum:
        raise RowError(column, MSG_INTEGER_TOO_SMALL, {"value": value, "minimum": minimum})
    if maximum is not None and value > maximum:
        raise RowError(column, MSG_INTEGER_TOO_LARGE, {"value": value, "maximum": maximum})
    return Cleaned(value, normalised)


# Accepted spellings of yes and no, compared after NFKC, trimming and lowercasing.
TRUE_WORDS = frozenset(
    {"是", "是党员", "党员", "中共党员", "有", "对", "√", "✓", "✔", "y", "yes", "true", "t", "1"}
)
FALSE_WORDS = frozenset(
    {"否", "不是", "非党员", "不是党员", "群众", "无", "没有", "×", "✗"}
    | {"n", "no", "false", "f", "0"}
)


def clean_boolean(raw: Cell, *, column: str = "", required: bool = False) -> Cleaned[bool | None]:
    """Yes or no in Chinese (是/否, 是党员/群众, √/×) or English (yes/no, true/false, 1/0);
    None if empty. Surrounding spaces and full-width letters count as normalised."""
    if is_empty(raw):
        return _required(column, required, None)
    if isinstance(raw, bool):
        return Cleaned(raw)
    if _number_cell(raw) and raw in (0, 1):
        return Cleaned(bool(raw))
    text = str(raw)
    word = half_width(text).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        normalised = word != text.lower()
        return Cleaned(word in TRUE_WORDS, normalised)
    raise RowError(column, MSG_BOOLEAN_INVALID, {"value": text.strip()})


# Excel's 1900 date system: serial 1 is 1900-01-01 and the phantom 1900-02-29 is serial 60, so
# every serial from 61 on counts days from 1899-12-30.
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_SERIALS = (61, 2958465)  # 1900-03-01 .. 9999-12-31
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]0{1,2}:0{2}(?::0{2}(?:\.0+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def clean_date(raw: Cell, *, column: str = "", required: bool = False) -> Cleaned[date | None]:
    """A date from a date cell, an Excel serial (normalised), ``2026-01-05``, ``2026/1/5``,
    ``2026.1.5``, ``2026年1月5日`` or ``20260105``; None if empty."""
    if is_empty(raw):
        return _required(column, required, None)
    shown = str(raw).strip()
    if isinstance(raw, datetime):
        if raw.time() != datetime.min.time():
            raise RowError(column, MSG_DATE_INVALID, {"value": shown})
        return Cleaned(raw.date())
    if isinstance(raw, date):
        return Cleaned(raw)
    integral = _integral_text(raw)
    text = integral[0] if integral is not None else half_width(str(raw)).strip()
    match = _FLOAT_INTEGRAL.match(text)
    if match:
        text = match.group(1)
    for pattern in _DATE_PATTERNS:
        parts = pattern.match(text)
        if parts:
            try:
                value = date(*(int(p) for p in parts.groups()))
            except ValueError:
                break
            return Cleaned(value, normalised=isinstance(raw, str) and text != raw.strip())
    else:
        if text.isdigit() and EXCEL_SERIALS[0] <= int(text) <= EXCEL_SERIALS[1]:
            return Cleaned(EXCEL_EPOCH + timedelta(days=int(text)), True)
    raise RowError(column, MSG_DATE_INVALID, {"value": shown})


# --- Coordinates ------------------------------------------------------------------------------
# How the coordinates of a file were captured; all are longitude/latitude in degrees.
WGS84 = "wgs84"  # also CGCS2000 (EPSG:4490), within centimetres of it
GCJ02 = "gcj02"
BD09 = "bd09"
TO_WGS84: dict[str, Callable[[np.ndarray], np.ndarray] | None] = {
    WGS84: None,
    GCJ02: gcj02_to_wgs84_coords,
    BD09: bd09_to_wgs84_coords,
}
# China's longitudes and latitudes (for telling a swapped pair).
CHINA_LON = (73.0, 135.5)
CHINA_LAT = (3.0, 54.0)


def _degrees(raw: Cell, column: str) -> tuple[float, bool]:
    if _number_cell(raw):
        value = float(raw)  # type: ignore[arg-type]
        normalised = False
    else:
        original = str(raw)
        text = half_width(original).strip().rstrip("°").strip()
        try:
            value = float(text)
        except ValueError:
            raise RowError(column, MSG_COORDINATE_INVALID, {"value": original.strip()}) from None
        normalised = text != original
    if not math.isfinite(value):
        raise RowError(column, MSG_COORDINATE_INVALID, {"value": str(raw).strip()})
    return value, normalised


def clean_lon_lat(
    lon: Cell,
    lat: Cell,
    *,
    lon_column: str = "lon",
    lat_column: str = "lat",
    crs: str = WGS84,
    required: bool = False,
    convert: bool = True,
) -> Cleaned[tuple[float, float] | None]:
    """Longitude and latitude in degrees, converted to WGS84 from ``crs`` (``wgs84``,
    ``gcj02`` or ``bd09``); None if both are empty. Refused: one without the other, not a
    number, out of range, a pair that is swapped (latitude in China's longitudes and the
    longitude in its latitudes). Whether the point lies in a district is the database's check.

    ``convert=False`` validates only and returns the file's own degrees, for a caller that
    converts a whole column at once with ``lon_lat_to_wgs84`` (a large file)."""
    if crs not in TO_WGS84:
        raise RowError(lon_column, MSG_UNKNOWN_CRS, {"crs": crs})
    if is_empty(lon) and is_empty(lat):
        return _required(lon_column, required, None)
    if is_empty(lon) or is_empty(lat):
        raise RowError(lon_column if is_empty(lon) else lat_column, MSG_COORDINATE_HALF)
    x, lon_normalised = _degrees(lon, lon_column)
    y, lat_normalised = _degrees(lat, lat_column)
    if CHINA_LAT[0] <= x <= CHINA_LAT[1] and CHINA_LON[0] <= y <= CHINA_LON[1]:
        raise RowError(lon_column, MSG_LON_LAT_SWAPPED, {"lon": x, "lat": y})
    if not -180 <= x <= 180:
        raise RowError(lon_column, MSG_LONGITUDE_RANGE, {"value": x})
    if not -90 <= y <= 90:
        raise RowError(lat_column, MSG_LATITUDE_RANGE, {"value": y})
    if convert and crs != WGS84:
        x, y = (float(v) for v in lon_lat_to_wgs84(np.array([[x, y]]), crs)[0])
    return Cleaned((x, y), lon_normalised or lat_normalised)


def lon_lat_to_wgs84(lonlat: np.ndarray, crs: str) -> np.ndarray:
    """An (N, 2) array of lon/lat in ``crs`` (``wgs84``, ``gcj02``, ``bd09``) in WGS84, in one
    pass (``grids.coords``, numpy over the whole array)."""
    convert = TO_WGS84[crs]
    lonlat = np.asarray(lonlat, dtype=float)
    return lonlat.copy() if convert is None else convert(lonlat)


# --- Counting ---------------------------------------------------------------------------------
@dataclass
class NormalisationCounter:
    """How many values were normalised per column, and in how many rows."""

    columns: Counter[str] = field(default_factory=Counter)
    rows: int = 0

    def add(self, column: str, cleaned: Cleaned[T]) -> T:
        """Count ``cleaned`` if normalised; its value."""
        if cleaned.normalised:
            self.columns[column] += 1
        return cleaned.value

    def clean_row(
        self, row: Mapping[str, Cell], cleaners: Mapping[str, Callable[..., Cleaned[Any]]]
    ) -> tuple[dict[str, Any], list[RowError]]:
        """Clean each column of ``row`` named in ``cleaners`` (``column -> clean_*``, a
        ``functools.partial`` for options) and return the values and every refusal. The counts
        are taken only for a row that is not refused (a refused row is not imported).
        Coordinates take two cells: clean them with ``clean_lon_lat`` and ``add`` the result."""
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        normalised: list[str] = []
        for column, cleaner in cleaners.items():
            try:
                cleaned = cleaner(row.get(column), column=column)
            except RowError as error:
                errors.append(error)
                continue
            values[column] = cleaned.value
            if cleaned.normalised:
                normalised.append(column)
        if not errors:
            self.columns.update(normalised)
            self.rows += bool(normalised)
        return values, errors


# --- The clean cells, recognised in SQL -------------------------------------------------------
# A large CSV is COPY'd as text and cleaned in the database (``imports.pipeline._load_sql``).
# Each ``*_sql`` below is a condition on one cell (SQL text, NULL for a column the file lacks)
# that holds only for a cell its ``clean_*`` above returns as it is, not normalised, and does
# not refuse (the cleaners' "common case"); the value is then the cell itself, cast. A row with
# any other cell is cleaned in Python by the cleaners themselves, so every message and every
# normalisation comes from one place. The conditions may be stricter than the cleaners (a cell
# they do not recognise only goes the slower way), never looser: ``tests/imports`` compares
# both ways cell by cell. Every cast is behind a CASE, so no cell can make the statement fail.


@cache
def _whitespace_sql() -> str:
    """A regular-expression class body of every character Python's ``\\s`` matches but the
    space (``str.isspace``), as ``\\uXXXX`` escapes for PostgreSQL."""
    return "".join(f"\\u{c:04x}" for c in range(0x10000) if chr(c).isspace() and chr(c) != " ")


def empty_sql(cell: str) -> str:
    """SQL: the cell is missing or empty (not one of spaces only: that goes the slower way)."""
    return f"coalesce({cell}, '') = ''"


def text_sql(cell: str, *, max_length: int) -> str:
    """SQL: ``clean_text`` returns ``cell`` as it is (not empty, tidy, not too long)."""
    untidy = f"^ | $|  |[{_whitespace_sql()}]"
    return (
        f"coalesce({cell} <> '' AND {cell} !~ '{untidy}' AND length({cell}) <= {max_length}, false)"
    )


# (PostgreSQL's regular expressions run a bounded repetition such as ``{1,40}`` as that many
# states: several times slower than ``+`` and a length test. The patterns below use ``+`` and
# test lengths apart; at a million rows that is about six seconds of the households import.)
def code_sql(cell: str, *, max_length: int, required: bool) -> str:
    """SQL: ``clean_code`` returns ``cell`` as it is (letters and digits, not scientific
    notation), or "" for an empty cell of a column that is not required."""
    clean = (
        f"coalesce({cell} ~ '^[A-Za-z0-9]+$' AND length({cell}) <= {max_length} "
        f"AND {cell} !~ '^[0-9]+[eE][0-9]+$', false)"
    )
    return clean if required else f"({empty_sql(cell)} OR {clean})"


def id_number_sql(cell: str) -> str:
    """SQL: ``clean_id_number`` returns ``cell`` as it is (17 digits and a right check
    character, a real birth date from 1880 to the date given as the one parameter), or ""
    for an empty cell. (The check sum is taken over the digits' code points, ``ascii``, less
    48 times the sum of the weights: cheaper than casting each digit.)"""
    total = " + ".join(f"ascii(substr({cell}, {i + 1}, 1)) * {w}" for i, w in enumerate(ID_WEIGHTS))
    offset = ord("0") * sum(ID_WEIGHTS)
    y, m, d = (f"substr({cell}, {a}, {b})::int" for a, b in ((7, 4), (11, 2), (13, 2)))
    born = f"(make_date({y}, {m}, 1) + ({d} - 1))"
    return f"""(CASE WHEN {empty_sql(cell)} THEN TRUE
                     WHEN {cell} ~ '^[0-9]+X?$' AND length({cell}) = 18 THEN
                       substr('{ID_CHECK}', mod({total} - {offset}, 11) + 1, 1)
                         = substr({cell}, 18, 1)
                       AND CASE WHEN {y} >= 1880 AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND 31
                                THEN to_char({born}, 'YYYYMMDD') = substr({cell}, 7, 8)
                                     AND {born} <= %s::date
                                ELSE FALSE END
                     ELSE FALSE END)"""


def phone_sql(cell: str) -> str:
    """SQL: ``clean_phone`` returns ``cell`` as it is (a mobile number), or "" if empty."""
    return (
        f"({empty_sql(cell)} OR coalesce({cell} ~ '^1[3-9][0-9]+$' AND length({cell}) = 11, false))"
    )


def integer_sql(cell: str, *, minimum: int, maximum: int) -> str:
    """SQL: ``clean_integer`` reads ``cell`` (ASCII digits) within the bounds, or None if
    empty."""
    return f"""(CASE WHEN {empty_sql(cell)} THEN TRUE
                     WHEN {cell} ~ '^[0-9]+$' AND length({cell}) <= 9
                       THEN {cell}::int BETWEEN {minimum} AND {maximum}
                     ELSE FALSE END)"""


def integer_value_sql(cell: str) -> str:
    """SQL: the value of a cell ``integer_sql`` holds for."""
    return f"(CASE WHEN {empty_sql(cell)} THEN NULL ELSE {cell}::int END)"


_DEGREES_SQL = "^-?[0-9]+([.][0-9]+)?$"


def _degrees_sql(cell: str) -> str:
    """SQL: plain decimal degrees: at most 3 digits before the point, at most 17 after."""
    return (
        f"{cell} ~ '{_DEGREES_SQL}' AND length(split_part(ltrim({cell}, '-'), '.', 1)) <= 3 "
        f"AND length(split_part({cell}, '.', 2)) <= 17"
    )


def lon_lat_sql(lon: str, lat: str) -> str:
    """SQL: ``clean_lon_lat`` (WGS84, ``convert=False``) returns both cells as they are
    (plain decimal degrees in range, not swapped), or None for two empty cells."""
    x, y = f"{lon}::float8", f"{lat}::float8"
    return f"""(CASE WHEN {empty_sql(lon)} AND {empty_sql(lat)} THEN TRUE
                     WHEN {_degrees_sql(lon)} AND {_degrees_sql(lat)} THEN
                       {x} BETWEEN -180 AND 180 AND {y} BETWEEN -90 AND 90
                       AND NOT ({x} BETWEEN {CHINA_LAT[0]} AND {CHINA_LAT[1]}
                                AND {y} BETWEEN {CHINA_LON[0]} AND {CHINA_LON[1]})
                     ELSE FALSE END)"""


def degrees_value_sql(cell: str) -> str:
    """SQL: the degrees of a cell ``lon_lat_sql`` holds for."""
    return f"(CASE WHEN {empty_sql(cell)} THEN NULL ELSE {cell}::float8 END)"
