"""Table and column names for raw SQL, taken from the models (``_meta``), never spelled out.

Raw statements (spatial joins, pgRouting, the routing lookup) name their tables through
``tables(grid=Grid, village=Village)``: a dict of quoted names to format into the SQL text,
``"... FROM {grid} g JOIN {village} v ON v.id = g.village_id".format(**tables(...))``.
Build the text once (at import, or cached) where a statement is on a hot path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from gridmap.db.timestamps import compiled_timestamps


def table(model: type[Model]) -> str:
    """The quoted table name of ``model`` (``"grids_grid"``)."""
    return connection.ops.quote_name(model._meta.db_table)


def tables(**models: type[Model]) -> dict[str, str]:
    """The quoted table names of ``models`` by keyword: ``tables(grid=Grid)`` gives
    ``{"grid": '"grids_grid"'}``."""
    return {name: table(model) for name, model in models.items()}


def column(model: type[Model], field: str) -> str:
    """The quoted column of ``model``'s field ``field`` (``column(Grid, "village")`` gives
    ``"village_id"``)."""
    return connection.ops.quote_name(model._meta.get_field(field).column)


def prefix_range(prefix: str) -> tuple[str, str]:
    """``[lo, hi)`` holding exactly the codes that start with ``prefix`` (byte order, as the
    pattern operators ``~>=~`` and ``~<~`` compare): ``4507`` -> ``[4507, 4508)``. Written so,
    a prefix is an index range of a ``varchar_pattern_ops`` index (the KPIs, the service
    figures)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period of dates ``[start, end)`` as aware datetimes at local midnight
    (``settings.TIME_ZONE``), for ``at >= lo AND at < hi``."""
    tz = ZoneInfo(settings.TIME_ZONE)
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end, dt.time(), tzinfo=tz),
    )


# --- prepared statements for the hot paths ---------------------------------------------------
# Django's psycopg backend binds parameters on the client (``server_side_binding`` is off) and
# sets ``prepare_threshold`` to None: every statement is sent as text with its values inlined
# and planned by PostgreSQL anew. The lookups on the hot path (``grids.selectors.grid_at``,
# the incident routing) are one fixed SQL text each, so they run through ``prepared_cursor``:
# a server-binding cursor that prepares the statement on the connection the first time and
# afterwards only sends the values (no parse, no plan; PostgreSQL keeps a custom or generic
# plan by its own rule). Statements are prepared per connection, which Django keeps for
# ``CONN_MAX_AGE``; a pooler in transaction mode (pgbouncer < 1.21) would break them
# (docs/deployment.md).
class _PreparingCursor(ServerBindingCursor):
    """A server-binding psycopg cursor whose statements are prepared (``prepare=True``)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


# What every Django connection sets when it opens (``session_settings``).
SESSION_SETTINGS = {
    "plan_cache_mode": "force_generic_plan",
    "max_parallel_workers_per_gather": "0",
    "jit": "off",
}


# A transaction's statements may have parallel workers again (the server's own value; for a
# session, ``parallel_plans``).
PARALLEL_AGAIN = "SET LOCAL max_parallel_workers_per_gather TO DEFAULT"


def session_options() -> str:
    """``SESSION_SETTINGS`` as libpq's ``options`` (``-c name=value ...``): the bench's raw
    baselines open their connections with the same settings."""
    return " ".join(f"-c {name}={value}" for name, value in SESSION_SETTINGS.items())


def session_settings(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver (``grids.apps``): the session settings of a Django
    connection (``SESSION_SETTINGS``). Set per connection of Django's, not in the connection
    options: procrastinate's worker builds its own pool from those, and its queries keep
    PostgreSQL's defaults.

    - ``plan_cache_mode = force_generic_plan``: the statements ``prepared_cursor`` prepares
      run on one generic plan from their first execution. Measured at city scale: the point
      lookup's generic plan 0.67 ms against 1.38 ms planned for its values each time
      (PostgreSQL's own rule kept those custom plans), the routing statement's 1.8 ms against
      5.2 ms. What else on the connection has parameters is unaffected in practice: Django's
      ORM writes its values into the statement (client-side binding), and our triggers'
      PL/pgSQL looks rows up by key.
    - ``max_parallel_workers_per_gather = 0``: no parallel plans for a request's statements.
      A parallel worker starts as a new process that loads every library its leader has
      loaded (PostGIS with GEOS and PROJ among them): 20 ms on a fresh connection, 50 ms on
      one that has served a few pages, measured at city scale. The planner weighs that start
      at ``parallel_setup_cost`` (1000, about 1-4 ms), and on a ``LIMIT`` over a filtered
      index scan it overestimates the serial plan by orders of magnitude: the API's bbox page
      of 50 cases ran 2.7 ms serial against 23-57 ms parallel. A web request wants the
      serial plan. What aggregates a district or a city asks for workers again:
      ``parallel_plans`` (the coverage checks), ``reports.kpis.kpi_planner`` (the KPIs).
    - ``jit = off``: no JIT compilation of a request's statements. PostgreSQL compiles a
      statement whose estimated cost passes ``jit_above_cost`` (100,000), and the estimate of
      a spatial filter over a million cases passes it easily: the API's page of a 0.02-degree
      box (6,400 cases in it) spent 4 ms of its 59 ms compiling, its count 3 ms of 15, for
      expressions that then ran once per row of a few thousand. Nor does it pay off on our
      long scans: checks 1-6 of a district's coverage took 0.8-0.95 s without it against
      1.75-2.1 s with it, and the year's KPIs within 7 % either way (a district 146 ms
      without, 153 ms with; the city 351 ms without, 328 ms with). Nothing asks for it
      again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("; ".join(f"SET {k} = {v}" for k, v in SESSION_SETTINGS.items()))


@contextmanager
def parallel_plans() -> Iterator[None]:
    """Statements run inside may have parallel plans again (the server's own
    ``max_parallel_workers_per_gather``), for work that aggregates a whole district or city:
    the coverage checks of a district took 2.8-3.7 s with workers against 4.2-4.3 s without.
    Set for the session and put back after, so it needs no transaction."""
    name = "max_parallel_workers_per_gather"
    with connection.cursor() as cursor:
        cursor.execute(f"SET {name} TO DEFAULT")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SET {name} = {SESSION_SETTINGS[name]}")


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """A Django cursor (logged and counted like any other: ``assertNumQueries``, DEBUG)
    whose statements are prepared server-side. Parameters are bound by PostgreSQL, so the SQL
    casts what it needs (``%(x)s::float8``) and uses ``%s``/``%(name)s`` placeholders."""
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = compiled_timestamps(_PreparingCursor(connection.connection), connection)
    cursor = (
        connection.make_debug_cursor(raw)
        if connection.queries_logged
        else (connection.make_cursor(raw))
    )
    try:
        yield cursor
    finally:
        cursor.close()


@contextmanager
def bulk_loaded(model: type[Model], fields: list[str]) -> Iterator[None]:
    """Load a large batch of rows into ``model``'s table as PostgreSQL's "Populating a
    Database" advises, inside the current transaction: the plain (non-unique) indexes on
    ``fields`` and the table's own foreign keys are dropped, the caller inserts, then the
    indexes are built again (one sort each) and the keys added back (one validating join
    each), with the same names and definitions. Several times cheaper than maintaining them
    row by row when the batch is a good part of the table; the price is the table's exclusive
    lock until the transaction ends (readers of the table wait for it). Unique indexes and
    the primary key stay (they are the table's invariants)."""
    if not connection.in_atomic_block:
        raise RuntimeError("bulk_loaded needs a transaction (the indexes must come back)")
    name = model._meta.db_table
    columns = [model._meta.get_field(f).column for f in fields]
    with connection.cursor() as cur:
        cur.execute(
            """SELECT i.relname, pg_get_indexdef(x.indexrelid)
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary
                  AND x.indnatts = 1 AND NOT EXISTS (
                        SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid)
                  AND (SELECT a.attname FROM pg_attribute a
                        WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[0]) = ANY(%s)
                ORDER BY 1""",
            [name, columns],
        )
        indexes = cur.fetchall()
        cur.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY 1""",
            [name],
        )
        keys = cur.fetchall()
        quoted = connection.ops.quote_name
        for index, _ in indexes:
            cur.execute(f"DROP INDEX {quoted(index)}")
        for key, _ in keys:
            cur.execute(f"ALTER TABLE {quoted(name)} DROP CONSTRAINT {quoted(key)}")
    try:
        yield
    except BaseException:
        # Never commit the table without its indexes and keys.
        transaction.set_rollback(True)
        raise
    with connection.cursor() as cur:
        for _, definition in indexes:
            cur.execute(definition)
        for key, definition in keys:
            cur.execute(f"ALTER TABLE {quoted(name)} ADD CONSTRAINT {quoted(key)} {definition}")


def local_settings(**values: Any) -> tuple[list[str], list[str]]:
    """The statements that set PostgreSQL settings for the current transaction (``SET
    LOCAL``) and those that put them back to their defaults: around one statement whose plan
    they are for (``local_settings(parallel_setup_cost=0)``)."""
    on = [f"SET LOCAL {name} = {value}" for name, value in values.items()]
    off = [f"SET LOCAL {name} = DEFAULT" for name in values]
    return on, off
