"""Shared fixtures.

Tests run against a real PostGIS test database. Rules every test keeps:
- never assume the database is empty: the small demo (Qinzhou codes 4507...) may be loaded
  by the session fixture ``demo``; factories use codes under 99xxxx and tiny polygons near
  lon 100, lat 0, far from the demo;
- tests that need the demo take the ``demo`` fixture; it is loaded once per test database.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import setup_databases, teardown_databases

DEMO_SEED = 7


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, django_db_keepdb, request):
    """pytest-django's, made safe for session and module fixtures.

    pytest-django sets up the test databases that the *collected tests' marks* ask for. A
    module run alone whose tests have no ``django_db`` mark but whose fixtures take
    ``django_db_setup`` (the jurisdiction matrix's world, the demo) would otherwise run on
    the development database named in the settings: the demo committed there, the matrix's
    world written there. Here the default test database is set up whatever the marks say.
    """
    config = None
    if not connection.settings_dict["NAME"].startswith("test_"):
        with django_db_blocker.unblock():
            config = setup_databases(
                verbosity=request.config.option.verbose, interactive=False,
                keepdb=django_db_keepdb, aliases={"default"},
            )  # fmt: skip
    assert connection.settings_dict["NAME"].startswith("test_")
    yield
    if config is not None and not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session")
def demo(django_db_setup, django_db_blocker):
    """The small demo county, committed to the test database once (reused with --reuse-db)."""
    from demo.loader import demo_loaded

    with django_db_blocker.unblock():
        if not demo_loaded():
            call_command("load_demo", scale="small", seed=DEMO_SEED, verbosity=0)
        # Its roads too (as `make run` loads them), for the 15-minute service circle.
        call_command("load_demo_roads", seed=DEMO_SEED, if_empty=True, verbosity=0)
        yield


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def two_grids(db):
    """Two grids of one village side by side, sharing the edge lon = 100.05 (west has the
    smaller code)."""
    from tests.factories import GridFactory, VillageFactory, rect

    village = VillageFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
    west = GridFactory(
        village=village, code=village.code + "001", geom=rect(100.0, 0.0, 100.05, 0.1)
    )
    east = GridFactory(
        village=village, code=village.code + "002", geom=rect(100.05, 0.0, 100.1, 0.1)
    )
    return west, east


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    """Each test starts with an empty API-token cache (accounts.authentication): a test's
    rolled-back rows send no signal, so an entry cached in one test must not reach the next."""
    from accounts.authentication import invalidate_token_cache

    invalidate_token_cache()
    yield
    invalidate_token_cache()
