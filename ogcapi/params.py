"""The query parameters of the OGC API, checked one by one: a bad value is a 400 that says
what to send instead (``OgcError``), never a silent default."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Polygon
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from gridmap.params import id_of
from grids.api import MSG_UNKNOWN_GENERATION
from grids.models import Generation

from . import crs as crs_mod
from .collections import Collection

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

MSG_BAD_LIMIT = gettext_noop("limit must be a whole number from 1 to %(max)s.")
MSG_BAD_BBOX = gettext_noop(
    "bbox must be four numbers (six with heights) in the axis order of bbox-crs: "
    "the lower corner, then the upper corner."
)
MSG_UNKNOWN_CRS = gettext_noop("Unknown %(param)s %(crs)s; choose one of: %(choices)s.")
MSG_BAD_CURSOR = gettext_noop("%(param)s must be the id of a feature of this collection.")
MSG_BOTH_CURSORS = gettext_noop("Give after or before, not both.")
MSG_BAD_FORMAT = gettext_noop("Unknown format %(f)s; this service answers in JSON (f=json).")
MSG_BAD_GENERATION = gettext_noop("generation must be a whole number.")
MSG_NOT_VERSIONED = gettext_noop("Only the boundary collections have generations.")
MSG_BAD_DATETIME = gettext_noop(
    "datetime must be a date and time (RFC 3339, e.g. 2026-05-01T08:00:00Z) or an interval "
    "start/end, where .. leaves one end open."
)
MSG_NOT_TEMPORAL = gettext_noop("Only the incidents have a time (datetime filters them).")


class OgcError(Exception):
    """A request the API refuses: the HTTP status, the OGC exception code, the message."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def bad(description: str) -> OgcError:
    return OgcError(400, "InvalidParameterValue", description)


def format_param(query: Any) -> None:
    """``f``: only ``json`` (the default) is served."""
    f = query.get("f")
    if f not in (None, "", "json"):
        raise bad(_(MSG_BAD_FORMAT) % {"f": f})


def limit_param(query: Any) -> int:
    raw = query.get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    value = id_of(raw)
    if value is None or not 1 <= value <= MAX_LIMIT:
        raise bad(_(MSG_BAD_LIMIT) % {"max": MAX_LIMIT})
    return value


def crs_param(query: Any, name: str) -> crs_mod.Crs:
    raw = query.get(name)
    if raw in (None, ""):
        return crs_mod.DEFAULT
    found = crs_mod.crs_of(raw)
    if found is None:
        choices = ", ".join(crs_mod.SUPPORTED)
        raise bad(_(MSG_UNKNOWN_CRS) % {"param": name, "crs": raw, "choices": choices})
    return found


def bbox_param(query: Any) -> Polygon | None:
    """``bbox`` in ``bbox-crs`` (CRS84 by default; axis order of that CRS) as a polygon in
    that CRS's SRID, x first as PostGIS stores it; None when absent."""
    raw = query.get("bbox")
    if raw in (None, ""):
        return None
    box_crs = crs_param(query, "bbox-crs")
    try:
        numbers = [float(v) for v in raw.split(",")]
    except ValueError:
        raise bad(_(MSG_BAD_BBOX)) from None
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise bad(_(MSG_BAD_BBOX))
    half = len(numbers) // 2
    lower, upper = numbers[:2], numbers[half : half + 2]
    if box_crs.north_first:
        lower, upper = lower[::-1], upper[::-1]
    (x0, y0), (x1, y1) = lower, upper
    if x0 > x1 or y0 > y1:
        raise bad(_(MSG_BAD_BBOX))
    if box_crs.srid in (4326, 4490) and not (x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90):
        raise bad(_(MSG_BAD_BBOX))
    # A degenerate bbox (a point or a line) still selects what lies there.
    eps = 1e-9
    if x0 == x1:
        x0, x1 = x0 - eps, x1 + eps
    if y0 == y1:
        y0, y1 = y0 - eps, y1 + eps
    return Polygon.from_bbox((x0, y0, x1, y1))


@dataclass(frozen=True)
class Cursor:
    """Keyset paging: features after (or before) the one with this key."""

    after: str | int | None = None
    before: str | int | None = None


def cursor_param(query: Any, collection: Collection) -> Cursor:
    after, before = query.get("after"), query.get("before")
    if after not in (None, "") and before not in (None, ""):
        raise bad(_(MSG_BOTH_CURSORS))
    values: dict[str, str | int | None] = {}
    for name, raw in (("after", after), ("before", before)):
        if raw in (None, ""):
            values[name] = None
            continue
        value = key_of(raw, collection)
        if value is None:
            raise bad(_(MSG_BAD_CURSOR) % {"param": name})
        values[name] = value
    return Cursor(**values)


def key_of(raw: str, collection: Collection) -> str | int | None:
    """A feature id of ``collection`` (a whole number, or a code of digits and letters)."""
    if collection.integer_key:
        return id_of(raw)
    return raw if raw.isascii() and raw.isalnum() and len(raw) <= 40 else None


def generation_param(query: Any, collection: Collection) -> int | None:
    raw = query.get("generation")
    if raw in (None, ""):
        return None
    if not collection.versioned:
        raise bad(_(MSG_NOT_VERSIONED))
    gid = id_of(raw)
    if gid is None:
        raise bad(_(MSG_BAD_GENERATION))
    if not Generation.objects.filter(pk=gid).exists():
        raise bad(_(MSG_UNKNOWN_GENERATION) % {"generation": gid})
    return gid


Interval = tuple[dt.datetime | None, dt.datetime | None]


def datetime_param(query: Any, collection: Collection) -> Interval | None:
    """``datetime``: an instant, a date (the whole day) or ``start/end`` (``..`` or empty:
    open), for the collections with a time (``Collection.temporal``); None when absent."""
    raw = query.get("datetime")
    if raw in (None, ""):
        return None
    if collection.temporal is None:
        raise bad(_(MSG_NOT_TEMPORAL))
    parts = raw.split("/")
    if len(parts) == 1:
        start, end = _instant(parts[0], end=False), _instant(parts[0], end=True)
    elif len(parts) == 2:
        start, end = (_instant(p, end=i == 1, open_ok=True) for i, p in enumerate(parts))
    else:
        raise bad(_(MSG_BAD_DATETIME))
    if start is not None and end is not None and start > end:
        raise bad(_(MSG_BAD_DATETIME))
    return start, end


def _instant(text: str, *, end: bool, open_ok: bool = False) -> dt.datetime | None:
    text = text.strip()
    if text in ("", "..") and open_ok:
        return None
    try:
        # A bare date first: parse_datetime reads 2026-05-01 as its midnight.
        day = parse_date(text) if len(text) == len("2026-05-01") else None
        moment = None if day is not None else parse_datetime(text)
    except ValueError:
        raise bad(_(MSG_BAD_DATETIME)) from None
    if moment is None and day is None:
        raise bad(_(MSG_BAD_DATETIME))
    if moment is None:
        moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
