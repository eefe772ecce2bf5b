"""Date-times read by psycopg's compiled loader (``gridmap.db.base``); no model imported, so
``gridmap.sql`` may import it while apps load."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from psycopg.types.datetime import TimestamptzLoader


def compiled_timestamps(cursor: Any, wrapper: Any) -> Any:
    """The psycopg ``cursor`` of Django's connection ``wrapper``, reading ``timestamptz``
    with psycopg's compiled loader where the session speaks UTC (also for the cursors
    ``gridmap.sql.prepared_cursor`` opens itself)."""
    if settings.USE_TZ and wrapper.timezone_name == "UTC":
        # psycopg puts its compiled class in for the pure-Python one it is given.
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
    return cursor
