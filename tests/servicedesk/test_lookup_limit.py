"""The status page's lookup limit is counted in the database (``servicedesk.lookup_limit``):
two worker processes (two connections, each with its own per-process cache) share one
count, a restart (an emptied cache) does not reset it, a window restarts once it has passed,
and passed windows are swept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.utils import timezone

from servicedesk import lookup_limit
from servicedesk.lookup_limit import LOOKUP_MISSES, LOOKUP_WINDOW, misses, record_miss
from servicedesk.models import LookupMiss

ADDRESS = "192.0.2.7"


@pytest.fixture
def second_worker(django_db_setup, django_db_blocker):
    """Another connection to the same database, as a second gunicorn worker has. Both
    connections commit (autocommit, no test transaction), so the counts are removed after;
    nothing else is written, so the database is not flushed (its migrations' data stays)."""
    with django_db_blocker.unblock():
        LookupMiss.objects.all().delete()
        other = connections.create_connection("default")
        try:
            yield other
        finally:
            other.close()
            LookupMiss.objects.all().delete()


def test_two_workers_share_one_count(second_worker):
    now = timezone.now()
    half = LOOKUP_MISSES // 2
    for _ in range(half):
        record_miss(ADDRESS, now=now)
    for _ in range(LOOKUP_MISSES - half - 1):
        record_miss(ADDRESS, now=now, db=second_worker)
    assert misses(ADDRESS, now=now, db=second_worker) == LOOKUP_MISSES - 1
    assert not lookup_limit.too_many(ADDRESS, now=now)
    # The last miss from the second worker: both now refuse.
    assert record_miss(ADDRESS, now=now, db=second_worker) == LOOKUP_MISSES
    assert lookup_limit.too_many(ADDRESS, now=now)
    assert lookup_limit.too_many(ADDRESS, now=now, db=second_worker)
    # Another address is not counted with it.
    assert misses("192.0.2.8", now=now) == 0


def test_the_pages_count_across_workers_and_restarts(second_worker):
    now = timezone.now()
    for _ in range(LOOKUP_MISSES - 1):
        record_miss(ADDRESS, now=now, db=second_worker)
    cache.clear()  # a restart of this worker: its cache is empty
    client = Client(REMOTE_ADDR=ADDRESS)
    assert client.get("/service/QQQQ0001/").status_code == 404
    assert client.get("/service/QQQQ0002/").status_code == 429
    assert Client(REMOTE_ADDR="192.0.2.8").get("/service/QQQQ0002/").status_code == 404


def test_a_window_restarts_once_passed_and_passed_windows_are_swept(db):
    start = timezone.now()
    for _ in range(LOOKUP_MISSES):
        record_miss(ADDRESS, now=start)
    assert lookup_limit.too_many(ADDRESS, now=start)
    later = start + dt.timedelta(seconds=LOOKUP_WINDOW + 1)
    assert misses(ADDRESS, now=later) == 0
    assert record_miss(ADDRESS, now=later) == 1
    # Another address's miss, after that window too, sweeps the passed one.
    record_miss("192.0.2.9", now=later + dt.timedelta(seconds=LOOKUP_WINDOW + 1))
    assert LookupMiss.objects.count() == 1
    # Only keyed hashes are stored, never the address.
    assert not LookupMiss.objects.filter(address__contains="192.0.2").exists()
