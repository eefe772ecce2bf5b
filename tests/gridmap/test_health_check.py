"""The health check of a kept connection (``gridmap.db``): skipped on a connection that ended a
request less than ``GRIDMAP_DB_HEALTH_CHECK_AFTER`` seconds ago without a database error, run
as Django runs it otherwise. Driven on a connection of its own, as Django's request signals
drive it (``close_old_connections`` as a request starts and as it ends), against the real
server: the test client turns those signals off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connection
from django.db.utils import load_backend

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept() -> Iterator[object]:
    """A connection of Django's kind, kept between requests (CONN_MAX_AGE), with health
    checks on, counting its health checks."""
    settings_dict = {**connection.settings_dict, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    # A connection of its own, beside the test's.
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict)
    checks: list[bool] = []
    usable = wrapper.is_usable

    def counted() -> bool:
        checks.append(True)
        return usable()

    wrapper.is_usable = counted
    wrapper.checks = checks
    yield wrapper
    wrapper.close()


def request(wrapper, sql: str = "SELECT 1") -> None:
    """One request that runs ``sql`` on the connection, between the request signals."""
    wrapper.close_if_unusable_or_obsolete()  # request_started
    try:
        with wrapper.cursor() as cursor:
            cursor.execute(sql)
    finally:
        wrapper.close_if_unusable_or_obsolete()  # request_finished


def test_a_connection_that_just_answered_is_not_checked_again(kept, settings):
    settings.GRIDMAP_DB_HEALTH_CHECK_AFTER = 60
    request(kept)  # opens the connection: new connections are healthy
    request(kept)
    request(kept)
    assert kept.checks == []


def test_a_quiet_connection_is_checked(kept, settings):
    settings.GRIDMAP_DB_HEALTH_CHECK_AFTER = 0
    request(kept)
    request(kept)
    request(kept)
    assert len(kept.checks) == 2


def test_a_database_error_is_checked_as_django_checks_it(kept, settings):
    settings.GRIDMAP_DB_HEALTH_CHECK_AFTER = 60
    request(kept)
    with pytest.raises(DatabaseError):
        request(kept, "SELECT * FROM no_such_table")
    # The failed request's end checked the connection (Django's rule)...
    assert len(kept.checks) == 1
    # ... which proved it alive: the next requests use it without another check.
    request(kept)
    request(kept)
    assert len(kept.checks) == 1


def terminate(wrapper) -> None:
    """The server ends the connection's session (a restart, an administrator)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [wrapper.connection.info.backend_pid])


def test_a_connection_the_server_ended_while_quiet_is_replaced_by_the_check(kept, settings):
    settings.GRIDMAP_DB_HEALTH_CHECK_AFTER = 0
    request(kept)
    pid = kept.connection.info.backend_pid
    terminate(kept)
    request(kept)  # the check finds it gone and the request opens another
    assert kept.connection.info.backend_pid != pid


def test_a_connection_the_server_ended_within_the_second_fails_one_request_only(kept, settings):
    settings.GRIDMAP_DB_HEALTH_CHECK_AFTER = 60
    request(kept)
    pid = kept.connection.info.backend_pid
    terminate(kept)
    with pytest.raises(DatabaseError):
        request(kept)
    request(kept)  # closed at the failed request's end: a new connection
    assert kept.connection.info.backend_pid != pid
