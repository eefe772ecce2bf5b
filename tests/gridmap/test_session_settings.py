"""What every Django connection sets when it opens (gridmap.sql.session_settings): prepared
statements on generic plans, no parallel workers for a request's statements (session 12:
starting them cost 20-50 ms a statement) and no JIT compilation (session 13); the KPI
aggregate asks for workers again in its own transaction."""

from __future__ import annotations

from django.db import connection, transaction

from gridmap.sql import SESSION_SETTINGS, session_options
from reports.kpis import kpi_planner


def _show(name: str) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SHOW {name}")
        return cur.fetchone()[0]


def _server_default(name: str) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT reset_val FROM pg_settings WHERE name = %s", [name])
        return cur.fetchone()[0]


def test_a_django_connection_has_the_session_settings(db):
    assert _show("plan_cache_mode") == "force_generic_plan"
    assert _show("max_parallel_workers_per_gather") == "0"
    assert _show("jit") == "off"
    assert set(SESSION_SETTINGS) == {"plan_cache_mode", "max_parallel_workers_per_gather", "jit"}
    assert session_options() == (
        "-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0 -c jit=off"
    )


class _Undo(Exception):
    pass


def test_the_kpi_statement_has_parallel_workers_for_its_transaction_only(db):
    default = _server_default("max_parallel_workers_per_gather")
    try:
        # (The test runs in a transaction: the block is a savepoint, undone to end it.)
        with transaction.atomic(), connection.cursor() as cur:
            kpi_planner(cur)
            assert _show("max_parallel_workers_per_gather") == default
            assert _show("random_page_cost") == "1.1"
            raise _Undo
    except _Undo:
        pass
    assert _show("max_parallel_workers_per_gather") == "0"


def test_parallel_plans_sets_the_servers_value_and_puts_the_sessions_back(db):
    from gridmap.sql import parallel_plans

    default = _server_default("max_parallel_workers_per_gather")
    with parallel_plans():
        assert _show("max_parallel_workers_per_gather") == default
    assert _show("max_parallel_workers_per_gather") == "0"
    try:
        with parallel_plans():
            raise _Undo
    except _Undo:
        pass
    assert _show("max_parallel_workers_per_gather") == "0"  # after an error too
