"""The background run of an import job (the procrastinate task ``imports.tasks.run_job``).

``run_job(job_id, commit=...)`` takes the job (``imports.services.import_job_start``), runs
``imports.pipeline.run_import`` on its file, in the uploader's language and limited to their
jurisdiction (``accounts.selectors.jurisdiction_prefixes``), and records the end
(``import_job_finish``): the result of a dry run, the commit, a refused file, a cancel.

**Progress while the import's transaction is open.** ``run_import`` does all its work inside
ONE transaction on Django's connection, rolled back for a dry run or a cancel. Progress
written through that connection would be invisible to the page until the end, and rolled back
with the rest. So the job's progress goes through a **second connection** of its own
(``SideChannel``, autocommit): each ``progress(rows)`` is an UPDATE of the job's row committed
at once, which the page's polling sees while the import goes on; each ``cancelled()`` reads
``cancel_requested`` (set by the page's cancel button through the web server's connection) the
same way. The import's transaction never touches the job's row, so the two connections never
wait on each other. The reads are throttled (``CANCEL_POLL_SECONDS``).
"""

from __future__ import annotations

import logging
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyogrio
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import translation
from django.utils.translation import gettext_noop
from openpyxl import load_workbook

from accounts.selectors import jurisdiction_prefixes

from . import files
from .models import ImportJob, JobState
from .pipeline import ImportCancelled, run_import
from .selectors import can_import
from .services import RUN_LOCK_NAMESPACE, import_job_finish, import_job_start
from .sources import SourceError

logger = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.5

MSG_UNEXPECTED = gettext_noop(
    "The import stopped on an unexpected error; nothing was written. Try again, and if it "
    "happens again give the file to the system's administrators."
)
MSG_NO_LONGER_ALLOWED = gettext_noop(
    "You no longer hold a district or city administrator's account: the import was not run."
)

Importer = Callable[..., Any]


class SideChannel:
    """The job's own database connection (autocommit), for progress and the cancel flag. It
    holds the run's advisory lock (``services.RUN_LOCK_NAMESPACE``, job id) while it lives, so
    ``import_jobs_sweep_dead`` can tell a run whose worker stopped from one still going."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        main = connections[DEFAULT_DB_ALIAS]
        self.connection = main.__class__(dict(main.settings_dict), DEFAULT_DB_ALIAS)
        table = self.connection.ops.quote_name(ImportJob._meta.db_table)
        q = self.connection.ops.quote_name
        self._progress_sql = (
            f"UPDATE {table} SET {q('rows_read')} = %s, {q('updated_at')} = now() "
            f"WHERE {q('id')} = %s"
        )
        self._cancel_sql = f"SELECT {q('cancel_requested')} FROM {table} WHERE {q('id')} = %s"
        self._checked_at = 0.0
        self._cancelled = False
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_NAMESPACE, job_id])

    def progress(self, rows: int) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(self._progress_sql, [rows, self.job_id])

    def cancelled(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._checked_at >= CANCEL_POLL_SECONDS:
            self._checked_at = now
            with self.connection.cursor() as cursor:
                cursor.execute(self._cancel_sql, [self.job_id])
                row = cursor.fetchone()
            self._cancelled = bool(row and row[0])
        return self._cancelled

    def close(self) -> None:
        self.connection.close()


def count_rows(path: Path, sheet: str | None) -> int | None:
    """The number of rows in the file, cheaply, for the progress bar (None: not known). Title
    and header rows are counted too: it is a bar, not a figure."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with open(path, "rb") as f:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        if suffix == ".xlsx":
            book = load_workbook(path, read_only=True)
            try:
                ws = book[sheet] if sheet and sheet in book.sheetnames else book.worksheets[0]
                return ws.max_row
            finally:
                book.close()
        if suffix in (".gpkg", ".geojson", ".json", ".zip"):
            target = f"/vsizip/{path}" if suffix == ".zip" and zipfile.is_zipfile(path) else path
            info = pyogrio.read_info(target, layer=sheet or None)
            count = info.get("features")
            return int(count) if count is not None and count >= 0 else None
    except Exception:  # noqa: BLE001 - the bar is optional; the import says what is wrong
        return None
    return None


def run_job(job_id: int, *, commit: bool, importer: Importer = run_import) -> str:
    """Run the job's dry run (``commit=False``) or its commit; the job's state afterwards."""
    job = import_job_start(job_id=job_id, commit=commit)
    if job is None:
        current = ImportJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        return current or ""
    if not can_import(job.user):
        return import_job_finish(
            job_id=job_id, state=JobState.FAILED, error={"msgid": MSG_NO_LONGER_ALLOWED}
        ).state
    path = job.path
    assert path is not None
    total = job.rows_total if commit else count_rows(path, job.sheet or None)
    report_name = job.report_name or files.new_report_name()
    if not job.report_name:
        ImportJob.objects.filter(pk=job_id).update(report_name=report_name)
    side = SideChannel(job_id)
    try:
        if total is not None and not commit:
            ImportJob.objects.filter(pk=job_id).update(rows_total=total)
        with translation.override(job.language):
            result = importer(
                job.kind,
                path,
                sheet=job.sheet or None,
                crs=job.crs or None,
                commit=commit,
                prefixes=jurisdiction_prefixes(job.user),
                report=files.import_root() / report_name,
                progress=side.progress,
                cancelled=side.cancelled,
            )
    except ImportCancelled:
        state = JobState.CANCELLED
        import_job_finish(job_id=job_id, state=state)
    except SourceError as exc:
        state = JobState.FAILED
        import_job_finish(job_id=job_id, state=state, error=exc.message)
    except Exception:
        logger.exception("Import job %s failed", job_id)
        state = JobState.FAILED
        import_job_finish(job_id=job_id, state=state, error={"msgid": MSG_UNEXPECTED})
    else:
        state = JobState.DONE if commit else JobState.CHECKED
        import_job_finish(job_id=job_id, state=state, result=result_json(result))
    finally:
        side.close()
    return state


def result_json(result: Any) -> dict[str, Any]:
    """``ImportResult`` as the job keeps it."""
    if hasattr(result, "as_dict"):
        return result.as_dict()
    return dict(result)
