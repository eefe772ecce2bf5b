"""GeoDjango's PostGIS backend, reading ``timestamptz`` with psycopg's compiled loader.

Django's psycopg backend reads every ``timestamptz`` through a subclass of psycopg's
pure-Python loader whose only change is the zone it puts on the value
(``django.db.backends.postgresql.psycopg_any.BaseTzLoader``): 6-8 us a value, where psycopg's
compiled loader (``psycopg[binary]``) takes well under one. A page of 50 cases with four dates
each spent 1-2 ms there (issue 16 point 4). With ``USE_TZ`` Django's sessions speak UTC, and
for UTC the compiled loader gives the very same value (aware, ``datetime.timezone.utc``).

The loader is registered on each cursor (``create_cursor``), not on the connection: Django
compares its connection's loader with its own zone whenever it opens a cursor, and the
compiled class has no zone to compare. A connection with another ``TIME_ZONE`` keeps Django's
loader."""

from __future__ import annotations

from typing import Any

from django.contrib.gis.db.backends.postgis.base import (
    DatabaseWrapper as PostGISDatabaseWrapper,
)

from .timestamps import compiled_timestamps


class DatabaseWrapper(PostGISDatabaseWrapper):
    def create_cursor(self, name: Any = None) -> Any:
        return compiled_timestamps(super().create_cursor(name), self)
