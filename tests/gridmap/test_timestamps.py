"""Date-times are read by psycopg's compiled loader (``gridmap.db``), with the very values
Django's own loader gave: aware, in UTC, to the microsecond."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from psycopg.pq import Format

from gridmap.sql import prepared_cursor

pytestmark = pytest.mark.django_db

TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid
# The compiled class psycopg uses for the pure-Python one (with psycopg[binary]).
COMPILED = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)


def test_the_compiled_loader_reads_every_cursors_date_times():
    assert "psycopg_binary" in COMPILED.__module__
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is COMPILED
    with prepared_cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is COMPILED


@pytest.mark.parametrize("use_prepared", [False, True])
def test_the_values_are_djangos(use_prepared):
    written = [
        dt.datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        dt.datetime(2026, 10, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ]
    sql = "SELECT unnest(%s::timestamptz[])"
    if use_prepared:
        with prepared_cursor() as cursor:
            cursor.execute(sql, [written])
            read = [row[0] for row in cursor.fetchall()]
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, [written])
            read = [row[0] for row in cursor.fetchall()]
    assert read == written
    # In UTC, as Django's loader gave them (datetime.timezone.utc, not a ZoneInfo).
    assert all(value.tzinfo is dt.UTC for value in read)
