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
loader.

Django's health check (``CONN_HEALTH_CHECKS``) sends ``SELECT 1`` before the first statement
of every request on a kept connection: a round trip of 0.25-0.45 ms, an eighth of the point
lookup at city scale. A connection that ended a request less than
``GRIDMAP_DB_HEALTH_CHECK_AFTER`` seconds ago (1) without a database error, having answered
in it, is used without the check; a connection idle for longer is checked as Django checks
it. A server that went away inside that second fails the request's first statement instead of
the check: Django then closes the connection at the request's end, and the next request opens
a new one."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.gis.db.backends.postgis.base import (
    DatabaseWrapper as PostGISDatabaseWrapper,
)

from .timestamps import compiled_timestamps


class DatabaseWrapper(PostGISDatabaseWrapper):
    # When a request last ended on this connection with it proven alive (time.monotonic()).
    _alive_at: float = float("-inf")

    def close_if_unusable_or_obsolete(self) -> None:
        # Called as a request starts and as it ends. ``health_check_done`` is true here only
        # where the request now ending checked the connection or opened it; with no database
        # error since, it answered.
        if self.connection is not None and self.health_check_done and not self.errors_occurred:
            self._alive_at = time.monotonic()
        super().close_if_unusable_or_obsolete()

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done
            and not self.connection.closed
            and time.monotonic() - self._alive_at < settings.GRIDMAP_DB_HEALTH_CHECK_AFTER
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def create_cursor(self, name: Any = None) -> Any:
        return compiled_timestamps(super().create_cursor(name), self)
