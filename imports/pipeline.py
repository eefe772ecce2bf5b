"""The import pipeline: a county's file, cleaned row by row, checked and written set-based.

``run_import(kind, path, ...)`` is what ``manage.py import_records`` and the administrators'
page call. The steps, all inside ONE transaction (rolled back for a dry run, or when the import
is cancelled):

1. **Stream and clean.** The file is read once (``imports.sources``), each cell cleaned by the
   kind's handler with the per-cell cleaners of ``imports.normalise`` (full-width digits,
   ``+86``, Excel damage...). ID numbers and phones are encrypted and hashed here, in Python,
   so the database never holds them in clear, not even in the staging table. A CSV whose
   handler can (households, WGS84) is instead COPY'd raw and its clean rows cleaned,
   encrypted and hashed in SQL (``_load_sql``, pgcrypto; ``GRIDMAP_IMPORT_CLEAN_IN_DB``):
   its numbers are then in clear in this connection's temporary table until the end of the
   transaction.
2. **COPY into a staging table.** Rows go into a temporary table (``import_stage``, dropped at
   the end of the transaction) through PostgreSQL ``COPY``, in chunks; coordinates in GCJ-02 or
   BD-09 are converted a chunk at a time (``grids.coords``, vectorised). Memory stays flat: at
   most one chunk of rows is held.
3. **Check and derive in SQL.** The handler's statements run on the whole staging table: the
   same key twice in the file, unknown codes, points outside every district, outside the
   importing administrator's jurisdiction, overlapping holders of a single-holder role; each
   refused row gets its reasons (``{"column", "msgid", "params"}``) in ``errors``. Grids are
   derived with the SQL the application uses (``households.services.GRID_OF_POINT_SQL``).
4. **Classify.** Each good row is ``new``, ``updated`` or ``unchanged`` against the stored
   record with the same stable key (households by ``code``, workers by phone, ...).
5. **Write** (``commit=True`` only): inserts and updates as ``INSERT ... SELECT`` and
   ``UPDATE ... FROM`` over the staging table; dated assignments (roles, catchments) end the
   previous one the day before the new one starts.

The result (``ImportResult``) counts rows new, updated, unchanged, refused and normalised,
lists the refused rows (sheet, row, column, reason in the reader's language) and samples where
the new and updated rows land. ``report=PATH`` writes the error workbook: the refused input rows
as the file had them, with the reasons in an added column, so a clerk can fix and re-import.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext_noop

from gridmap.crypto import sql_keys
from gridmap.messages import render_message
from gridmap.sql import prepared_cursor
from grids.coords import bd09_to_wgs84, gcj02_to_wgs84
from imports.kinds import get_kind
from imports.normalise import TO_WGS84, WGS84, RowError
from imports.report import ErrorWorkbook, Refusal
from imports.sources import GEOMETRY, Record, SourceError, open_source

logger = logging.getLogger(__name__)

STAGE = "import_stage"
# The keys to encrypt with (``gridmap.crypto.sql_keys``), as a one-row subquery for
# ``Handler.clean_sql`` to cross join: read from settings of this transaction only
# (``_set_sql_keys``), which PostgreSQL hands to its parallel workers with the statement and
# keeps in memory (never in a table, never in a statement's text).
KEY_SETTINGS = {name: f"gridmap.import_{name}" for name in ("ts", "sign", "enc", "hash")}
KEYS = "(SELECT {})".format(
    ", ".join(f"decode(current_setting('{g}'), 'hex') AS {n}" for n, g in KEY_SETTINGS.items())
)
CHUNK = 5000
# A file of more rows than this is cleaned by worker processes too (``GRIDMAP_IMPORT_WORKERS``).
SERIAL_ROWS = 20_000
# Memory for the hashes of the set-based statements (per sort or hash, this connection only).
IMPORT_WORK_MEM = "256MB"
IMPORT_GIN_PENDING = "64MB"
MAX_REFUSALS = 5000
MAX_POINTS = 2000

MSG_KIND_NOT_YET = gettext_noop("Importing %(kind)s is not available yet.")
MSG_BAD_CRS = gettext_noop(
    "Unknown coordinate system %(crs)s: use wgs84, gcj02, bd09 or EPSG:NNNN (for example "
    "EPSG:4490)."
)


# A geo file's shapes converted from the coordinate system given with --crs.
GEOMETRY_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


class ImportCancelled(Exception):
    """The import was cancelled: its transaction is rolled back, nothing is written."""


@dataclass(frozen=True)
class Refused:
    """One reason a row was refused (a row refused for two reasons appears twice)."""

    sheet: str
    row: int
    column: str  # the column as the file names it ("" for the whole row)
    message: str  # in the reader's language
    reason: dict[str, Any]  # {"msgid", "params"}: to render again in another language


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    normalised: int = 0
    committed: bool = False
    refusals: list[Refused] = field(default_factory=list)
    refusals_truncated: bool = False
    points: list[tuple[float, float, str]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    normalised_columns: dict[str, int] = field(default_factory=dict)
    sheet: str = ""
    header_row: int = 0
    # Seconds per step (read and clean and COPY, check, write, summarise), for the bench.
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the page keeps it on its job)."""
        data = {k: v for k, v in self.__dict__.items() if k not in ("refusals", "points")}
        data["refusals"] = [r.__dict__ for r in self.refusals]
        data["points"] = [list(p) for p in self.points]
        return data


@dataclass
class Context:
    """What a handler knows while cleaning: the coordinate system and the jurisdiction."""

    crs: str  # "wgs84", "gcj02", "bd09" or "epsg" (then ``srid``)
    srid: int  # the SRID of lon/lat columns and of a geo file's geometry (4326 after conversion)
    geo_srid: int | None  # the geo file's own SRID (None for XLSX/CSV)
    prefixes: list[str] | None
    # The column keys the file has: a column it lacks leaves the stored values as they are.
    present: frozenset[str] = frozenset()


def parse_crs(crs: str | None) -> tuple[str, int]:
    """``--crs`` as (kind, srid): wgs84/gcj02/bd09 (SRID 4326 after conversion) or EPSG:NNNN."""
    if not crs:
        return WGS84, 4326
    text = crs.strip().lower().replace("-", "")
    if text in ("wgs84", "epsg:4326", "4326"):
        return WGS84, 4326
    if text in TO_WGS84:
        return text, 4326
    if text.startswith("epsg:") and text[5:].isdigit():
        return "epsg", int(text[5:])
    raise SourceError(MSG_BAD_CRS, crs=crs)


class Stage:
    """The staging table of one import and the set-based steps on it."""

    COMMON = (
        ("n", "integer"),
        ("sheet", "text"),
        ("row_no", "integer"),
        ("errors", "jsonb"),
        ("normalised", "text[]"),
        ("target_id", "bigint"),
        ("action", "text"),
    )

    def __init__(self, columns: list[tuple[str, str]], ctx: Context) -> None:
        self.columns = columns
        self.ctx = ctx
        self.names = [name for name, _ in columns]
        # Scratch tables of this import (``scratch``): unlogged, not temporary, so that
        # PostgreSQL's parallel workers can read them; named per import (created and dropped
        # inside its transaction, no other session ever sees them).
        self._suffix = uuid.uuid4().hex[:12]
        # A CSV's cells as text, before cleaning (``Handler.clean_sql``).
        self.raw = self.scratch("raw")
        definition = ", ".join(f"{n} {t}" for n, t in (*self.COMMON, *columns))
        self.execute(f"DROP TABLE IF EXISTS {STAGE}")
        self.execute(f"CREATE TEMPORARY TABLE {STAGE} ({definition}) ON COMMIT DROP")

    def scratch(self, name: str) -> str:
        """The name of this import's scratch table ``name``."""
        return f"import_{name}_{self._suffix}"

    # --- SQL helpers ------------------------------------------------------------------------
    def execute(self, sql: str, params: Any = None) -> int:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.rowcount

    def fetch(self, sql: str, params: Any = None) -> list[tuple]:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def refuse(
        self, where: str, column: str, msgid: str, params_sql: str = "'{}'::jsonb", args: Any = None
    ) -> int:
        """Add a reason to every row matching ``where`` (SQL over the staging table's
        columns); ``params_sql`` builds the message's parameters from the row."""
        return self.execute(
            f"""UPDATE {STAGE} SET errors = coalesce(errors, '[]'::jsonb) || jsonb_build_array(
                  jsonb_build_object('column', %s::text, 'msgid', %s::text, 'params', {params_sql}))
                WHERE {where}""",
            [column, msgid, *(args or [])],
        )

    def refuse_duplicates(self, key: str, column: str, msgid: str) -> int:
        """Refuse every row whose ``key`` another row of the file also has (which one is right
        is the clerk's call), naming the rows in order. The keys held twice are found first by
        one hash aggregate, so only their rows are sorted."""
        return self.execute(
            f"""WITH twice AS (
                  SELECT {key} AS k FROM {STAGE} WHERE {key} IS NOT NULL AND {key} <> ''
                   GROUP BY {key} HAVING count(*) > 1),
                d AS (
                  SELECT n, {key} AS k, string_agg(row_no::text, ', ') OVER (
                           PARTITION BY {key} ORDER BY row_no
                           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS rows_
                    FROM {STAGE} WHERE {key} IN (SELECT k FROM twice))
                UPDATE {STAGE} s SET errors = coalesce(s.errors, '[]'::jsonb) || jsonb_build_array(
                  jsonb_build_object('column', %s::text, 'msgid', %s::text,
                    'params', jsonb_build_object('value', d.k, 'rows', d.rows_)))
                  FROM d WHERE d.n = s.n""",
            [column, msgid],
        )

    def refuse_out_of_scope(self, code_sql: str, column: str, msgid: str) -> int:
        """Refuse rows whose place code (``code_sql``, SQL over the staging table) lies outside
        the importing administrator's jurisdiction (``Context.prefixes``)."""
        if self.ctx.prefixes is None:
            return 0
        patterns = [p + "%" for p in self.ctx.prefixes]
        return self.refuse(
            f"({code_sql}) IS NOT NULL AND NOT (({code_sql}) LIKE ANY(%s))",
            column,
            msgid,
            f"jsonb_build_object('code', {code_sql})",
            [patterns],
        )

    def good(self, alias: str = "") -> str:
        """SQL: the row is not refused."""
        return f"{alias + '.' if alias else ''}errors IS NULL"

    # --- Writing rows -----------------------------------------------------------------------
    def copy(self, rows: list[tuple]) -> None:
        names = ", ".join(["n", "sheet", "row_no", "errors", "normalised", *self.names])
        with (
            connection.cursor() as cur,
            cur.cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    # --- Reading the outcome ----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        rows = self.fetch(
            f"""SELECT count(*),
                       count(*) FILTER (WHERE errors IS NOT NULL),
                       count(*) FILTER (WHERE errors IS NULL AND action = 'new'),
                       count(*) FILTER (WHERE errors IS NULL AND action = 'updated'),
                       count(*) FILTER (WHERE errors IS NULL AND action = 'unchanged'),
                       count(*) FILTER (WHERE errors IS NULL AND cardinality(normalised) > 0)
                  FROM {STAGE}"""
        )[0]
        keys = ("rows", "refused", "new", "updated", "unchanged", "normalised")
        return dict(zip(keys, rows, strict=True))

    def normalised_columns(self) -> dict[str, int]:
        return dict(
            self.fetch(
                f"""SELECT c, count(*) FROM {STAGE}, unnest(normalised) c
                     WHERE errors IS NULL GROUP BY c ORDER BY c"""
            )
        )

    def refused_rows(self, limit: int | None = None) -> Iterator[tuple[str, int, list[dict]]]:
        sql = f"SELECT sheet, row_no, errors FROM {STAGE} WHERE errors IS NOT NULL ORDER BY n"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with connection.cursor() as cur:
            cur.execute(sql)
            while batch := cur.fetchmany(2000):
                yield from batch


class Handler:
    """What one kind of record does in the pipeline (subclasses in ``imports.handlers``)."""

    kind: str
    # Staging columns beyond the common ones: (name, SQL type).
    columns: list[tuple[str, str]] = []
    # SQL over the staging table giving a good row's point (WGS84), for the page's map.
    point_sql: str | None = None

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        """The staging values of one row, the refusals of its cells and the columns
        normalised."""
        raise NotImplementedError

    def cleans_in_sql(self, ctx: Context) -> bool:
        """Whether a CSV's rows are cleaned by ``clean_sql`` (those it can) with this context."""
        return False

    def clean_sql(self, stage: Stage, keys: list[str]) -> list[tuple[str, list[Any]]]:
        """Statements (SQL, parameters) ending in an ``INSERT INTO`` the staging table
        ``SELECT``ing from ``stage.raw`` (the file's cells as text, columns ``n``, ``sheet``,
        ``row_no`` and ``keys``; ``KEYS`` gives ``gridmap.crypto.sql_keys``) the rows whose
        every cell is already in its clean form, cleaned in the database exactly as ``clean``
        would clean them; the other rows are cleaned by ``clean``. Only called when
        ``cleans_in_sql``."""
        raise NotImplementedError

    def convert(self, values: list[dict[str, Any]], ctx: Context) -> None:
        """Convert a chunk's positions from GCJ-02/BD-09 to WGS84 in place, in one pass:
        ``lon``/``lat`` as an array, and ``ewkt`` (a geo file's geometry) shape by shape."""
        convert = TO_WGS84.get(ctx.crs)
        if convert is None:
            return
        rows = [v for v in values if v.get("lon") is not None and v.get("lat") is not None]
        if rows:
            wgs = convert(np.array([[v["lon"], v["lat"]] for v in rows], dtype=float))
            for v, (x, y) in zip(rows, wgs.tolist(), strict=True):
                v["lon"], v["lat"] = x, y
        shapes = GEOMETRY_TO_WGS84[ctx.crs]
        for v in values:
            if v.get("ewkt"):
                _srid, wkt = v["ewkt"].split(";", 1)
                v["ewkt"] = f"SRID=4326;{shapes(shapely.from_wkt(wkt)).wkt}"

    def prepare(self, stage: Stage) -> None:
        """Check, derive and classify in SQL (sets ``errors``, ``target_id``, ``action``)."""
        raise NotImplementedError

    def apply(self, stage: Stage) -> None:
        """Write the good new and updated rows."""
        raise NotImplementedError


HANDLERS: dict[str, Callable[[], Handler]] = {}


def register(cls: type[Handler]) -> type[Handler]:
    HANDLERS[cls.kind] = cls
    return cls


def clean_cells(
    record: Record, cleaners: dict[str, Callable[..., Any]]
) -> tuple[dict[str, Any], list[RowError], list[str]]:
    """Run ``cleaners`` (column -> ``clean_*``) on a record's values: values, errors and the
    columns normalised (a column the file lacks is cleaned as empty)."""
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    normalised: list[str] = []
    raw = record.values
    for column, cleaner in cleaners.items():
        try:
            cleaned = cleaner(raw.get(column), column=column)
        except RowError as error:
            errors.append(error)
            values[column] = None
            continue
        values[column] = cleaned.value
        if cleaned.normalised:
            normalised.append(column)
    return values, errors, normalised


def run_import(
    kind: str,
    path: str | Path,
    *,
    sheet: str | None = None,
    crs: str | None = None,
    commit: bool = False,
    prefixes: list[str] | None = None,
    report: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportResult:
    """Import ``path`` as records of ``kind``: see the module docstring. Raises
    ``SourceError`` for a file refused as a whole and ``ImportCancelled``."""
    kind_obj = get_kind(kind)
    if kind_obj is None or kind not in HANDLERS:
        raise SourceError(MSG_KIND_NOT_YET, kind=kind)
    handler = HANDLERS[kind]()
    crs_kind, srid = parse_crs(crs)
    result = ImportResult(kind=kind)
    with open_source(path, kind_obj, sheet=sheet) as source:
        header = source.header
        present = frozenset(header.keys.values()) | (
            {GEOMETRY} if source.format == "geo" else set()
        )
        ctx = Context(
            crs=crs_kind, srid=srid, geo_srid=source.srid, prefixes=prefixes, present=present
        )
        result.unknown_columns = list(header.unknown)
        result.sheet, result.header_row = header.sheet, header.number
        clock = time.perf_counter()

        def tick(step: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            result.timings[step] = round(now - clock, 3)
            clock = now

        with transaction.atomic():
            # The set-based statements join the whole staging table to whole tables: memory
            # for their hashes (not spilled to disk at a million rows). (No JIT compilation:
            # Django's connections have it off, gridmap.sql.SESSION_SETTINGS; it cost a fixed
            # half second per statement that these plans did not win back.)
            stage = Stage(handler.columns, ctx)
            stage.execute(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
            # A GIN index (households' address trigrams) takes a large insert into its pending
            # list and merges it in big sorted batches rather than every 4 MB.
            stage.execute(f"SET LOCAL gin_pending_list_limit = '{IMPORT_GIN_PENDING}'")
            if source.format == "csv" and handler.cleans_in_sql(ctx) and _clean_in_db():
                _load_sql(stage, handler, source, ctx, progress, cancelled)
            else:
                _load(stage, handler, source, ctx, progress, cancelled)
            # Statistics for the planner: a temporary table is never analysed by autovacuum.
            stage.execute(f"ANALYZE {STAGE}")
            tick("load")
            handler.prepare(stage)
            tick("check")
            counts = stage.counts()
            for key, value in counts.items():
                setattr(result, key, value)
            result.normalised_columns = stage.normalised_columns()
            if cancelled is not None and cancelled():
                raise ImportCancelled
            if commit:
                handler.apply(stage)
                result.committed = True
            tick("write")
            refused = _refusals(stage, header, result)
            if handler.point_sql:
                result.points = [
                    (float(x), float(y), action)
                    for x, y, action in stage.fetch(
                        f"""SELECT ST_X(p), ST_Y(p), action FROM (
                              SELECT {handler.point_sql} AS p, action FROM {STAGE}
                               WHERE errors IS NULL AND action IN ('new', 'updated')
                               ORDER BY n LIMIT {MAX_POINTS}) s WHERE p IS NOT NULL"""
                    )
                ]
            if not commit:
                transaction.set_rollback(True)
        tick("summarise")
    if report is not None:
        _write_report(report, path, kind_obj, sheet, header, refused)
        tick("report")
    return result


def stage_rows(
    handler: Handler, ctx: Context, names: list[str], items: list[tuple[int, str, int, dict]]
) -> list[tuple]:
    """The staging rows of a chunk of records (``(n, sheet, row number, values)``): each
    cleaned, the chunk's coordinates converted in one pass. Pure Python, no database: it runs
    in the importing process or in a worker process (``clean_chunk``)."""
    cleaned = []
    for number, sheet, row_no, raw in items:
        values, errors, normalised = handler.clean(Record(sheet, row_no, (), raw), ctx)
        cleaned.append((number, sheet, row_no, values, errors, normalised))
    handler.convert([values for _, _, _, values, _, _ in cleaned], ctx)
    rows = []
    for number, sheet, row_no, values, errors, normalised in cleaned:
        reasons = (
            json.dumps([{"column": e.column, **e.as_message()} for e in errors], default=str)
            if errors
            else None
        )
        rows.append(
            (number, sheet, row_no, reasons, normalised) + tuple(values.get(name) for name in names)
        )
    return rows


def clean_chunk(kind: str, ctx: Context, names: list[str], items: list) -> list[tuple]:
    """``stage_rows`` in a worker process (the kind's handler made there)."""
    return stage_rows(HANDLERS[kind](), ctx, names, items)


def _worker_setup() -> None:
    """A worker process (started by the forkserver, not forked from a process that may hold
    database connections and threads) sets Django up once."""
    import django

    django.setup()


def _clean_in_db() -> bool:
    """Whether a CSV is cleaned in the database where its handler can (``_load_sql``):
    ``GRIDMAP_IMPORT_CLEAN_IN_DB``, on by default. Off, every row is cleaned in Python and no
    personal number reaches the database in clear, not even in a temporary table."""
    return bool(settings.GRIDMAP_IMPORT_CLEAN_IN_DB)


def _workers() -> int:
    """How many processes clean a large file besides the importing one (0: none)."""
    configured = getattr(settings, "GRIDMAP_IMPORT_WORKERS", None)
    if configured is not None:
        return int(configured)
    # Two cores stay with the importing process (reading, COPY) and PostgreSQL: on a 2-core
    # machine worker processes only compete with them (measured: no gain).
    return min(4, max(0, (os.cpu_count() or 1) - 2))


def _load(
    stage: Stage,
    handler: Handler,
    source: Any,
    ctx: Context,
    progress: Callable[[int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    """Clean every record and COPY it into the staging table, a chunk at a time. The first
    ``SERIAL_ROWS`` rows are cleaned here; a larger file's further chunks are cleaned by a
    pool of worker processes while this one reads and COPYs (at most ``2 x workers`` chunks
    in flight, so memory stays flat), in order."""
    names = stage.names
    n = 0
    pool: ProcessPoolExecutor | None = None
    pending: deque[Future[list[tuple]]] = deque()
    workers = _workers()

    def done(rows: list[tuple]) -> None:
        stage.copy(rows)
        if progress is not None:
            progress(rows[-1][0] if rows else n)
        if cancelled is not None and cancelled():
            raise ImportCancelled

    def chunks() -> Iterator[list[tuple[int, str, int, dict]]]:
        nonlocal n
        chunk: list[tuple[int, str, int, dict]] = []
        for record in source:
            n += 1
            chunk.append((n, record.sheet, record.number, record.values))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    try:
        for chunk in chunks():
            if pool is None and workers > 0 and n > SERIAL_ROWS:
                pool = ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_worker_setup,
                )
            if pool is None:
                done(stage_rows(handler, ctx, names, chunk))
                continue
            pending.append(pool.submit(clean_chunk, handler.kind, ctx, names, chunk))
            while len(pending) >= 2 * workers:
                done(pending.popleft().result())
        while pending:
            done(pending.popleft().result())
    finally:
        if pool is not None:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
    if n == 0 and progress is not None:
        progress(0)


def _load_sql(
    stage: Stage,
    handler: Handler,
    source: Any,
    ctx: Context,
    progress: Callable[[int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> None:
    """A CSV's cells COPY'd as text into ``RAW`` (no cleaning in Python), then the rows whose
    every cell is already clean (nearly all of a large file) cleaned, encrypted and hashed in
    one set-based statement (``Handler.clean_sql``), and the other rows read back and cleaned
    in Python as ``_load`` cleans them, a chunk at a time: the same values, the same reasons,
    the same count of rows normalised."""
    keys = list(source.header.keys.values())
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(k)} text" for k in keys)
    raw = stage.raw
    stage.execute(f"CREATE UNLOGGED TABLE {raw} (n integer, sheet text, row_no integer, {columns})")
    n = 0
    with connection.cursor() as cur, cur.cursor.copy(f"COPY {raw} FROM STDIN") as copy:
        write = copy.write_row
        for row, cells in source.picked():
            n += 1
            write((n, row.sheet, row.number, *cells))
            if n % CHUNK == 0:
                if progress is not None:
                    progress(n)
                if cancelled is not None and cancelled():
                    raise ImportCancelled
    stage.execute(f"ANALYZE {raw}")
    _set_sql_keys(sql_keys())
    try:
        for sql, params in handler.clean_sql(stage, keys):
            stage.execute(sql, params)
    finally:
        _set_sql_keys(None)
    names = stage.names
    rest = ", ".join(quote(k) for k in keys)
    with transaction.atomic(), connection.chunked_cursor() as cur:
        cur.execute(
            f"""SELECT n, sheet, row_no, {rest} FROM {raw} r
                 WHERE NOT EXISTS (SELECT FROM {STAGE} s WHERE s.n = r.n) ORDER BY n"""
        )
        while batch := cur.fetchmany(CHUNK):
            items = [
                (row[0], row[1], row[2], dict(zip(keys, row[3:], strict=True))) for row in batch
            ]
            stage.copy(stage_rows(handler, ctx, names, items))
    stage.execute(f"DROP TABLE {raw}")
    if progress is not None:
        progress(n)


def _set_sql_keys(material: dict[str, bytes] | None) -> None:
    """Put the key material in this transaction's settings (``KEYS`` reads them), or clear
    it. The values are bound by the server (``$1``), never written into the statement."""
    values = [material[n].hex() if material else "" for n in KEY_SETTINGS]
    calls = ", ".join(f"set_config('{g}', %s, true)" for g in KEY_SETTINGS.values())
    with prepared_cursor() as cur:
        cur.execute(f"SELECT {calls}", values)


def _refusals(
    stage: Stage, header: Any, result: ImportResult
) -> dict[tuple[str, int], list[Refusal]]:
    """The refused rows by (sheet, row) for the report, and the first ``MAX_REFUSALS``
    reasons, rendered, in the result."""
    refused: dict[tuple[str, int], list[Refusal]] = {}
    for sheet, row_no, errors in stage.refused_rows():
        if isinstance(errors, str):  # Django's psycopg loads jsonb as text
            errors = json.loads(errors)
        reasons = [
            Refusal(e.get("column") or None, {"msgid": e["msgid"], "params": e.get("params") or {}})
            for e in errors
        ]
        refused[(sheet, row_no)] = reasons
        for reason in reasons:
            if len(result.refusals) >= MAX_REFUSALS:
                result.refusals_truncated = True
                break
            result.refusals.append(
                Refused(
                    sheet=sheet,
                    row=row_no,
                    column=header.label(reason.column) if reason.column else "",
                    message=render_message(reason.message),
                    reason=reason.message,
                )
            )
    return refused


def _write_report(
    report: str | Path,
    path: str | Path,
    kind: Any,
    sheet: str | None,
    header: Any,
    refused: dict[tuple[str, int], list[Refusal]],
) -> None:
    """The error workbook: the file read again, its refused rows written with their reasons
    (the rows are not kept in memory or in the database while the import runs)."""
    with ErrorWorkbook(report, header) as book:
        if not refused:
            return
        with open_source(path, kind, sheet=sheet) as source:
            for record in source:
                reasons = refused.get((record.sheet, record.number))
                if reasons:
                    book.add(record, reasons)


def geometry_of(record: Record) -> Any:
    """The record's geometry cell (WKB from a geo file), or None."""
    return record.values.get(GEOMETRY)
