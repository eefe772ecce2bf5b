"""The background run of an import job (imports.runner): progress seen by others while the
import's transaction is still open, cancel rolls everything back, the run is in the uploader's
jurisdiction and language, a refused file fails the job with why.

These tests commit (``committed``): the progress goes through a second connection, which sees
only committed rows, as the page's web server does. What they create is removed afterwards.
The importer is injected (``run_job(..., importer=...)``) where a test needs to act in the
middle of an import; it writes through Django's connection inside its own transaction, as
``imports.pipeline.run_import`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import translation

from accounts.models import AccountRole
from accounts.services import account_upsert
from grids.models import Generation
from imports import files, runner
from imports.models import ImportJob, JobState
from imports.pipeline import ImportCancelled
from imports.services import import_job_cancel, import_job_confirm
from imports.sources import MSG_NO_HEADER, SourceError

PREFIX = "import-job-test"
MARKER = "import-job-test: written inside the import's transaction"


@pytest.fixture
def committed(django_db_setup, django_db_blocker, settings, tmp_path) -> Iterator[None]:
    settings.GRIDMAP_IMPORT_ROOT = tmp_path / "imports"
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            ImportJob.objects.filter(user__username__startswith=PREFIX).delete()
            Generation.objects.filter(description=MARKER).delete()
            from django.contrib.auth import get_user_model

            get_user_model().objects.filter(username__startswith=PREFIX).delete()
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute(
                    "DELETE FROM procrastinate_jobs WHERE task_name = 'imports.run_job' "
                    "AND status = 'todo' AND NOT (args->>'job_id')::int IN "
                    "(SELECT id FROM imports_importjob)"
                )


def other_connection() -> Any:
    """A connection of its own, as the web server's while the worker imports."""
    main = connections[DEFAULT_DB_ALIAS]
    return main.__class__(dict(main.settings_dict), DEFAULT_DB_ALIAS)


def make_job(
    tmp: Path, *, role: AccountRole = AccountRole.DISTRICT_ADMIN, **fields: Any
) -> ImportJob:
    code = {AccountRole.DISTRICT_ADMIN: "990101", AccountRole.CITY_ADMIN: "990100"}[role]
    account = account_upsert(
        username=f"{PREFIX}-{role}", password="pass-word-1", role=role, codes=[code]
    )
    root = files.import_root()
    stored = "a" * 32 + ".csv"
    (root / stored).write_text("户编号,户主姓名,地址\n" + "H1,张三,某村\n" * 9, encoding="utf-8")
    defaults = {
        "kind": "households",
        "original_name": "h.csv",
        "stored_name": stored,
        "size": 10,
        "language": "zh-hans",
    }
    defaults.update(fields)
    return ImportJob.objects.create(user=account.user, **defaults)


class Recorder:
    """An importer that does what the test says in the middle, inside a transaction."""

    def __init__(self, middle: Any = None, result: dict[str, Any] | None = None) -> None:
        self.middle = middle
        self.calls: list[dict[str, Any]] = []
        self.result = result or {"kind": "households", "rows": 9, "new": 9, "refused": 0}

    def __call__(self, kind: str, path: Path, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(
            {"kind": kind, "path": path, "language": translation.get_language(), **kwargs}
        )
        with transaction.atomic():
            Generation.objects.create(description=MARKER)
            kwargs["progress"](9)
            if self.middle is not None:
                self.middle(kwargs)
            if kwargs["cancelled"]():
                raise ImportCancelled
            if not kwargs["commit"]:
                transaction.set_rollback(True)
        return {**self.result, "committed": kwargs["commit"]}


def test_progress_is_seen_while_the_imports_transaction_is_open(committed, tmp_path) -> None:
    job = make_job(tmp_path)
    seen: dict[str, Any] = {}

    def look(kwargs: dict[str, Any]) -> None:
        web = other_connection()
        try:
            with web.cursor() as cursor:
                cursor.execute(
                    "SELECT state, rows_read, rows_total FROM imports_importjob WHERE id = %s",
                    [job.pk],
                )
                seen["job"] = cursor.fetchone()
                cursor.execute(
                    "SELECT count(*) FROM grids_generation WHERE description = %s", [MARKER]
                )
                seen["marker"] = cursor.fetchone()[0]
        finally:
            web.close()

    recorder = Recorder(middle=look)
    assert runner.run_job(job.pk, commit=False, importer=recorder) == JobState.CHECKED
    # Running, 9 rows read (the file has 10 lines), while the import's own row is not visible.
    assert seen == {"job": ("running", 9, 10), "marker": 0}
    job.refresh_from_db()
    assert job.state == JobState.CHECKED
    assert job.result["new"] == 9 and job.result["committed"] is False
    assert [h["state"] for h in job.history] == ["running", "checked"]
    assert not Generation.objects.filter(description=MARKER).exists()  # a dry run
    assert job.path is not None and job.path.exists()  # kept for the commit


def test_cancel_during_the_import_writes_nothing(committed, tmp_path) -> None:
    job = make_job(tmp_path)

    def press_cancel(kwargs: dict[str, Any]) -> None:
        web = other_connection()
        try:
            with web.cursor() as cursor:
                cursor.execute(
                    "UPDATE imports_importjob SET cancel_requested = true WHERE id = %s", [job.pk]
                )
        finally:
            web.close()

    # The commit of a confirmed job, cancelled in the middle.
    job.state = JobState.CHECKED
    job.save()
    import_job_confirm(user=job.user, job_id=job.pk)
    stored = job.path
    assert runner.run_job(job.pk, commit=True, importer=Recorder(press_cancel)) == (
        JobState.CANCELLED
    )
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.committed_at is None
    assert not Generation.objects.filter(description=MARKER).exists()
    assert job.stored_name == "" and stored is not None and not stored.exists()


def test_a_job_cancelled_before_it_runs_is_not_run(committed, tmp_path) -> None:
    job = make_job(tmp_path)
    import_job_cancel(user=job.user, job_id=job.pk)
    recorder = Recorder()
    assert runner.run_job(job.pk, commit=False, importer=recorder) == JobState.CANCELLED
    assert recorder.calls == []


def test_a_confirmed_job_cancelled_before_its_commit_runs_is_not_run(committed, tmp_path) -> None:
    job = make_job(tmp_path, state=JobState.CHECKED)
    import_job_confirm(user=job.user, job_id=job.pk)
    import_job_cancel(user=job.user, job_id=job.pk)
    recorder = Recorder()
    assert runner.run_job(job.pk, commit=True, importer=recorder) == JobState.CANCELLED
    assert recorder.calls == []
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED


def test_the_commit_writes_and_ends_done(committed, tmp_path) -> None:
    job = make_job(tmp_path)
    assert runner.run_job(job.pk, commit=False, importer=Recorder()) == JobState.CHECKED
    import_job_confirm(user=job.user, job_id=job.pk)
    assert runner.run_job(job.pk, commit=True, importer=Recorder()) == JobState.DONE
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.committed_at is not None
    assert job.result["committed"] is True
    assert Generation.objects.filter(description=MARKER).count() == 1
    assert job.stored_name == ""  # the upload is removed once the job is over
    # Run again (a worker that retried): nothing happens.
    assert runner.run_job(job.pk, commit=True, importer=Recorder()) == JobState.DONE
    assert Generation.objects.filter(description=MARKER).count() == 1


@pytest.mark.parametrize(
    "role, prefixes", [(AccountRole.DISTRICT_ADMIN, ["990101"]), (AccountRole.CITY_ADMIN, ["9901"])]
)
def test_the_import_is_limited_to_the_uploaders_jurisdiction_and_language(
    committed, tmp_path, role, prefixes
) -> None:
    job = make_job(tmp_path, role=role, language="en", sheet="户籍", crs="gcj02")
    recorder = Recorder()
    runner.run_job(job.pk, commit=False, importer=recorder)
    (call,) = recorder.calls
    assert call["prefixes"] == prefixes
    assert call["language"] == "en"
    assert (call["kind"], call["sheet"], call["crs"], call["commit"]) == (
        "households",
        "户籍",
        "gcj02",
        False,
    )
    assert call["path"] == job.path
    assert call["report"] == files.import_root() / ImportJob.objects.get(pk=job.pk).report_name


def test_a_refused_file_fails_the_job_with_why(committed, tmp_path) -> None:
    job = make_job(tmp_path)

    def refuse(kind: str, path: Path, **kwargs: Any) -> None:
        raise SourceError(MSG_NO_HEADER, rows=10, sheet="h.csv", kind="住户")

    assert runner.run_job(job.pk, commit=False, importer=refuse) == JobState.FAILED
    job.refresh_from_db()
    assert job.error == {
        "msgid": MSG_NO_HEADER,
        "params": {"rows": 10, "sheet": "h.csv", "kind": "住户"},
    }
    assert job.stored_name == ""


def test_an_unexpected_error_fails_the_job_and_writes_nothing(committed, tmp_path) -> None:
    job = make_job(tmp_path)

    def explode(kwargs: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    assert runner.run_job(job.pk, commit=False, importer=Recorder(explode)) == JobState.FAILED
    job.refresh_from_db()
    assert job.error == {"msgid": runner.MSG_UNEXPECTED}
    assert not Generation.objects.filter(description=MARKER).exists()


def test_a_revoked_administrator_is_not_run(committed, tmp_path) -> None:
    job = make_job(tmp_path)
    job.user.account.role = AccountRole.TOWN_STAFF
    job.user.account.codes = ["990101001"]
    job.user.account.save()
    recorder = Recorder()
    assert runner.run_job(job.pk, commit=False, importer=recorder) == JobState.FAILED
    assert recorder.calls == []


# --- with the real pipeline, on the demo ------------------------------------------------------
DEMO_DISTRICT = "450702"
DEMO_CODES = "JOBT13"


@pytest.fixture
def demo_committed(demo, committed) -> Iterator[None]:
    from households.models import Household

    Household.objects.filter(code__startswith=DEMO_CODES).delete()
    yield
    Household.objects.filter(code__startswith=DEMO_CODES).delete()


def demo_households_csv(path: Path, rows: int) -> None:
    """``rows`` households inside demo grids of the district (grids' inner points in turn)."""
    from grids.models import Grid

    points = []
    for grid in Grid.objects.current().filter(code__startswith=DEMO_DISTRICT).order_by("code"):
        inner = grid.geom.buffer(-0.0005)
        if not inner.empty:
            p = inner.point_on_surface
            points.append((p.x, p.y))
    lines = ["户编号,户主姓名,地址,经度,纬度"]
    for i in range(rows):
        x, y = points[i % len(points)]
        lines.append(f"{DEMO_CODES}{i:06d},户主{i},某村{i}号,{x:.7f},{y:.7f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def demo_job(rows: int) -> ImportJob:
    account = account_upsert(
        username=f"{PREFIX}-demo-admin",
        password="pass-word-1",
        role=AccountRole.DISTRICT_ADMIN,
        codes=[DEMO_DISTRICT],
    )
    stored = "b" * 32 + ".csv"
    demo_households_csv(files.import_root() / stored, rows)
    return ImportJob.objects.create(
        user=account.user, kind="households", original_name="h.csv", stored_name=stored, size=1
    )


def test_the_real_import_reports_progress_and_a_cancelled_commit_writes_nothing(
    demo_committed,
) -> None:
    from households.models import Household
    from imports.pipeline import CHUNK, run_import

    rows = CHUNK * 2 + 10
    job = demo_job(rows)
    before = Household.objects.count()
    assert runner.run_job(job.pk, commit=False) == JobState.CHECKED
    job.refresh_from_db()
    assert (job.rows_read, job.result["new"], job.result["refused"]) == (rows, rows, 0)
    assert job.rows_total == rows + 1  # the bar's total counts the header line too
    assert Household.objects.count() == before  # a dry run

    import_job_confirm(user=job.user, job_id=job.pk)
    seen: list[tuple[int, int]] = []

    def importer(*args: Any, **kwargs: Any) -> Any:
        progress = kwargs["progress"]

        def progress_then_cancel(n: int) -> None:
            progress(n)
            web = other_connection()
            try:
                with web.cursor() as cursor:
                    cursor.execute(
                        "SELECT rows_read, (SELECT count(*) FROM households_household "
                        "WHERE code LIKE %s) FROM imports_importjob WHERE id = %s",
                        [f"{DEMO_CODES}%", job.pk],
                    )
                    seen.append(cursor.fetchone())
                    # The administrator presses Cancel on the page.
                    cursor.execute(
                        "UPDATE imports_importjob SET cancel_requested = true WHERE id = %s",
                        [job.pk],
                    )
            finally:
                web.close()

        return run_import(*args, **{**kwargs, "progress": progress_then_cancel})

    assert runner.run_job(job.pk, commit=True, importer=importer) == JobState.CANCELLED
    # The first chunk's progress was seen from outside while the import went on; it stopped
    # at the next poll, and nothing it had done is left.
    assert seen == [(CHUNK, 0)]
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.committed_at is None
    assert Household.objects.count() == before
    assert not Household.objects.filter(code__startswith=DEMO_CODES).exists()


def test_the_real_import_refuses_rows_outside_the_jurisdiction(demo_committed) -> None:
    from households.models import Household

    job = demo_job(3)
    # The administrator of another district of the city imports the same file.
    job.user.account.codes = ["450703"]
    job.user.account.save()
    assert runner.run_job(job.pk, commit=False) == JobState.CHECKED
    job.refresh_from_db()
    assert (job.result["new"], job.result["refused"]) == (0, 3)
    import_job_confirm(user=job.user, job_id=job.pk)
    assert runner.run_job(job.pk, commit=True) == JobState.DONE
    assert not Household.objects.filter(code__startswith=DEMO_CODES).exists()


def test_procrastinates_worker_runs_the_job(demo_committed) -> None:
    """The task as deployed: queued with ``defer``, run by ``manage.py procrastinate worker``
    (a process of its own, on the test database) listening to the ``imports`` queue."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    from imports import tasks
    from tests.browser.conftest import database_url

    job = demo_job(3)
    tasks.run_job.defer(job_id=job.pk, commit=False)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connections[DEFAULT_DB_ALIAS].settings_dict),
        "GRIDMAP_IMPORT_ROOT": str(files.import_root()),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "procrastinate", "worker", "--one-shot", "--queues=imports"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    job.refresh_from_db()
    assert job.state == JobState.CHECKED, done.stderr[-2000:]
    assert job.result["new"] == 3


def test_the_bars_total_is_counted_cheaply_for_each_format(tmp_path) -> None:
    from openpyxl import Workbook

    csv_path = tmp_path / "h.csv"
    csv_path.write_text("户编号,地址\nH1,甲\nH2,乙\n", encoding="gb18030")
    assert runner.count_rows(csv_path, None) == 3
    book = Workbook()
    book.active.title = "一组"
    for i in range(5):
        book.active.append([f"H{i}", "某村"])
    other = book.create_sheet("二组")
    other.append(["H9", "某村"])
    xlsx_path = tmp_path / "h.xlsx"
    book.save(xlsx_path)
    assert runner.count_rows(xlsx_path, None) == 5
    assert runner.count_rows(xlsx_path, "二组") == 1
    geojson = tmp_path / "h.geojson"
    geojson.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"code": "H1"}, '
        '"geometry": {"type": "Point", "coordinates": [108.6, 21.9]}}]}',
        encoding="utf-8",
    )
    assert runner.count_rows(geojson, None) == 1
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    assert runner.count_rows(broken, None) is None  # no bar total; the import says why


def test_a_run_whose_worker_stopped_is_failed_by_the_sweep(committed, tmp_path) -> None:
    """A running job whose run lock nobody holds (the worker's connection died) is failed with
    why, its upload removed; one whose run is alive (its side channel holds the lock) is left
    alone, however quiet; a job that only just started is not judged."""
    import datetime as dt

    from django.utils import timezone

    from imports.services import MSG_WORKER_STOPPED, import_jobs_sweep_dead

    dead = make_job(tmp_path, state=JobState.RUNNING)
    alive = make_job(tmp_path, state=JobState.COMMITTING, stored_name="b" * 32 + ".csv")
    fresh = make_job(tmp_path, state=JobState.RUNNING, stored_name="c" * 32 + ".csv")
    quiet = timezone.now() - dt.timedelta(minutes=5)
    ImportJob.objects.filter(pk__in=[dead.pk, alive.pk]).update(updated_at=quiet)
    side = runner.SideChannel(alive.pk)  # the live run's lock
    try:
        assert import_jobs_sweep_dead() == [dead.pk]
    finally:
        side.close()
    dead.refresh_from_db()
    assert dead.state == JobState.FAILED and dead.error == {"msgid": MSG_WORKER_STOPPED}
    assert dead.stored_name == "" and not (files.import_root() / ("a" * 32 + ".csv")).exists()
    assert ImportJob.objects.get(pk=alive.pk).state == JobState.COMMITTING
    assert ImportJob.objects.get(pk=fresh.pk).state == JobState.RUNNING
    # Once the live run's connection is gone, it is swept too.
    assert import_jobs_sweep_dead() == [alive.pk]
