"""Bulk writing for the demo loaders: ids reserved from a table's sequence, then PostgreSQL COPY.

Values go in column by column as text (``text`` escapes free text for COPY's text format,
``ewkb_hex`` writes geometries); ids are drawn beforehand with ``reserve_ids`` so rows can
point at each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, models

SRID = settings.GRIDMAP_SRID
COPY_CHUNK = 20_000


def reserve_ids(model: type[models.Model], n: int) -> np.ndarray:
    """``n`` ids drawn from ``model``'s id sequence (contiguous unless others drew meanwhile)."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    table = model._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            "SELECT min(v), max(v), count(*) FROM (SELECT nextval(pg_get_serial_sequence(%s, "
            "'id')) AS v FROM generate_series(1, %s)) s",
            [table, n],
        )
        lo, hi, count = cur.fetchone()
        if hi - lo + 1 == count == n:
            return np.arange(lo, hi + 1, dtype=np.int64)
        # Someone else drew ids meanwhile: ours are not contiguous, so ask for them.
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, n],
        )
        return np.array([r[0] for r in cur.fetchall()], dtype=np.int64)


def ewkb_hex(geoms: np.ndarray) -> np.ndarray:
    return shapely.to_wkb(shapely.set_srid(geoms, SRID), hex=True, include_srid=True)


_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(values: np.ndarray) -> list[str]:
    return [str(v).translate(_ESCAPE) for v in values]


def copy_rows(model: type[models.Model], fields: list[str], columns: list[Iterable]) -> None:
    """COPY rows (given column by column, already text; None = NULL) into ``model``'s table."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
    rows: Iterator[tuple] = zip(*columns, strict=True)
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:  # the psycopg cursor
        buf: list[str] = []
        for row in rows:
            buf.append("\t".join("\\N" if v is None else v for v in row))
            if len(buf) >= COPY_CHUNK:
                copy.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            copy.write("\n".join(buf) + "\n")
