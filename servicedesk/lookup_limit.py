"""The public status page's lookup limit: at most ``LOOKUP_MISSES`` unknown codes per
address in ``LOOKUP_WINDOW`` seconds (a window starts at the first miss), then 429 until it
has passed.

The count is a row per address in ``servicedesk_lookupmiss`` (``LookupMiss``), not Django's
cache: the cache is per process (``CACHES`` is not configured, so each gunicorn worker has its
own and a restart empties it), the database is the one thing every worker shares, as
django-axes' login lockout also counts there. One miss is one statement: an atomic upsert
(``INSERT ... ON CONFLICT DO UPDATE``, restarting the window once it has passed) that sweeps
the rows of passed windows in the same statement, so the table holds only the current
windows. The address is stored as its keyed hash (``gridmap.crypto.keyed_hash``).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from gridmap.crypto import keyed_hash
from gridmap.sql import table

from .models import LookupMiss

LOOKUP_MISSES = 20
LOOKUP_WINDOW = 600

_MISS_SQL = """
WITH swept AS (
  DELETE FROM {t} WHERE since <= %(passed)s AND address <> %(address)s
)
INSERT INTO {t} AS m (address, misses, since) VALUES (%(address)s, 1, %(now)s)
ON CONFLICT (address) DO UPDATE SET
  misses = CASE WHEN m.since <= %(passed)s THEN 1 ELSE m.misses + 1 END,
  since = CASE WHEN m.since <= %(passed)s THEN %(now)s ELSE m.since END
RETURNING misses
"""


def _key(address: str) -> str:
    return keyed_hash(address or "unknown")


def _passed(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=LOOKUP_WINDOW)


def misses(
    address: str, *, now: dt.datetime | None = None, db: BaseDatabaseWrapper | None = None
) -> int:
    """The unknown codes looked up from ``address`` in its current window (``db``: the
    connection to count on, the process's own by default)."""
    now = now or timezone.now()
    db = db or default_connection
    sql = f"SELECT misses FROM {table(LookupMiss)} WHERE address = %s AND since > %s"
    with db.cursor() as cur:
        cur.execute(sql, [_key(address), _passed(now)])
        row = cur.fetchone()
    return row[0] if row else 0


def too_many(
    address: str, *, now: dt.datetime | None = None, db: BaseDatabaseWrapper | None = None
) -> bool:
    """Whether ``address`` has used up its misses for the window."""
    return misses(address, now=now, db=db) >= LOOKUP_MISSES


def record_miss(
    address: str, *, now: dt.datetime | None = None, db: BaseDatabaseWrapper | None = None
) -> int:
    """Count one unknown code from ``address`` (one atomic statement; sweeps passed
    windows); the misses of its window so far."""
    now = now or timezone.now()
    db = db or default_connection
    params = {"address": _key(address), "now": now, "passed": _passed(now)}
    with db.cursor() as cur:
        cur.execute(_MISS_SQL.format(t=table(LookupMiss)), params)
        return int(cur.fetchone()[0])
