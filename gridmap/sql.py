"""Table and column names for raw SQL, taken from the models (``_meta``), never spelled out.

Raw statements (spatial joins, pgRouting, the routing lookup) name their tables through
``tables(grid=Grid, village=Village)``: a dict of quoted names to format into the SQL text,
``"... FROM {grid} g JOIN {village} v ON v.id = g.village_id".format(**tables(...))``.
Build the text once (at import, or cached) where a statement is on a hot path.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Model


def table(model: type[Model]) -> str:
    """The quoted table name of ``model`` (``"grids_grid"``)."""
    return connection.ops.quote_name(model._meta.db_table)


def tables(**models: type[Model]) -> dict[str, str]:
    """The quoted table names of ``models`` by keyword: ``tables(grid=Grid)`` gives
    ``{"grid": '"grids_grid"'}``."""
    return {name: table(model) for name, model in models.items()}


def column(model: type[Model], field: str) -> str:
    """The quoted column of ``model``'s field ``field`` (``column(Grid, "village")`` gives
    ``"village_id"``)."""
    return connection.ops.quote_name(model._meta.get_field(field).column)


def prefix_range(prefix: str) -> tuple[str, str]:
    """``[lo, hi)`` holding exactly the codes that start with ``prefix`` (byte order, as the
    pattern operators ``~>=~`` and ``~<~`` compare): ``4507`` -> ``[4507, 4508)``. Written so,
    a prefix is an index range of a ``varchar_pattern_ops`` index (the KPIs, the service
    figures)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period of dates ``[start, end)`` as aware datetimes at local midnight
    (``settings.TIME_ZONE``), for ``at >= lo AND at < hi``."""
    tz = ZoneInfo(settings.TIME_ZONE)
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end, dt.time(), tzinfo=tz),
    )
