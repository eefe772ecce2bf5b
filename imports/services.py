"""Writes of import jobs: upload, confirm, cancel, and the worker's changes of state.

Every change of state goes through ``_set_state`` (the row locked, the change appended to
``history``). The background work itself (the import run, its progress) is
``imports.runner``; these services only queue it (``imports.tasks.run_job``), in the same
transaction as the job's row, so a job is queued exactly when its row exists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from . import files, tasks
from .models import CRS_CHOICES, FINAL_STATES, ImportJob, JobState
from .selectors import can_import, importable_kinds, jobs_of

# A running job whose progress has not moved for this long has lost its worker (see
# import_job_cancel). Progress is written every chunk (a few seconds); the longest silent step,
# writing a million households, takes a few minutes.
STALE_AFTER = dt.timedelta(minutes=15)

MSG_NOT_ALLOWED = gettext_noop("Only district and city administrators import records.")
MSG_UNKNOWN_KIND = gettext_noop("Choose the kind of record the file holds.")
MSG_UNKNOWN_CRS = gettext_noop("Choose the coordinate system of the file.")
MSG_NOT_CHECKED = gettext_noop(
    "This import is not waiting for your confirmation (it is %(state)s)."
)
MSG_ALREADY_OVER = gettext_noop("This import is already over (%(state)s).")


def _state_label(state: str) -> str:
    return str(JobState(state).label)


def _set_state(job: ImportJob, state: str, **fields: Any) -> None:
    """Change ``job``'s state (its row locked by the caller), with the other ``fields``."""
    job.state = state
    job.history = [*job.history, {"state": state, "at": timezone.now().isoformat()}]
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["state", "history", "updated_at", *fields])


def import_job_create(
    *,
    user: Any,
    kind: str,
    upload: UploadedFile | None,
    sheet: str = "",
    crs: str = "",
    language: str = "zh-hans",
) -> ImportJob:
    """Keep the uploaded file (checked by ``imports.files``) and queue its dry run. Raises
    PermissionDenied for a user who may not import, ValidationError for a bad upload (nothing
    is kept)."""
    if not can_import(user):
        raise PermissionDenied(gettext(MSG_NOT_ALLOWED))
    if kind not in {k.name for k in importable_kinds()}:
        raise ValidationError({"kind": [gettext(MSG_UNKNOWN_KIND)]})
    if crs not in {c for c, _label in CRS_CHOICES}:
        raise ValidationError({"crs": [gettext(MSG_UNKNOWN_CRS)]})
    suffix = files.upload_suffix(upload)
    assert upload is not None
    stored = files.store_upload(upload, suffix)
    try:
        with transaction.atomic():
            job = ImportJob(
                user=user,
                kind=kind,
                original_name=(upload.name or "")[-255:],
                stored_name=stored,
                size=upload.size or 0,
                sheet=sheet.strip()[:100],
                crs=crs,
                language=language[:10],
                history=[{"state": JobState.QUEUED, "at": timezone.now().isoformat()}],
            )
            job.full_clean()
            job.save()
            tasks.run_job.defer(job_id=job.pk, commit=False)
    except BaseException:
        files.remove(stored)
        raise
    return job


def import_job_confirm(*, user: Any, job_id: int) -> ImportJob:
    """Import for real what the dry run checked: the same file again, written this time."""
    with transaction.atomic():
        job = jobs_of(user).select_for_update(of=("self",)).get(pk=job_id)
        if job.state != JobState.CHECKED or job.cancel_requested:
            raise ValidationError(gettext(MSG_NOT_CHECKED) % {"state": _state_label(job.state)})
        _set_state(job, JobState.COMMITTING, rows_read=0)
        tasks.run_job.defer(job_id=job.pk, commit=True)
    return job


def import_job_cancel(*, user: Any, job_id: int) -> ImportJob:
    """Stop a job. One that waits (queued, or checked and not confirmed) ends at once; one the
    worker is running gets ``cancel_requested``, which the import sees at its next chunk and
    rolls everything back (``imports.runner``)."""
    with transaction.atomic():
        job = jobs_of(user).select_for_update(of=("self",)).get(pk=job_id)
        if job.state in FINAL_STATES:
            raise ValidationError(gettext(MSG_ALREADY_OVER) % {"state": _state_label(job.state)})
        if job.state in (JobState.QUEUED, JobState.CHECKED):
            stored = job.stored_name
            _set_state(job, JobState.CANCELLED, cancel_requested=True, stored_name="")
            transaction.on_commit(lambda: files.remove(stored))
        elif job.updated_at < timezone.now() - STALE_AFTER:
            # No progress for this long: the worker that ran it is gone (a restart, a crash)
            # and nobody would see the flag. It ends now; its file is kept, and should the run
            # come back after all, its own end (imports.runner) is what is recorded.
            _set_state(job, JobState.CANCELLED, cancel_requested=True)
        else:
            # Not updated_at: it measures the worker's progress (above).
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
    return job


# --- runs whose worker stopped ------------------------------------------------------------------
# A run holds this advisory lock (session level, on its own connection: imports.runner
# .SideChannel) for as long as it lives; PostgreSQL releases it when the worker's process or
# connection dies, and the import's transaction is then rolled back: nothing was written.
RUN_LOCK_NAMESPACE = 1_310_013
# A job is judged only when its row has not moved for this long (the run takes its lock just
# after it marks the job running).
DEAD_AFTER = dt.timedelta(minutes=2)
MSG_WORKER_STOPPED = gettext_noop(
    "The import stopped because the server's background worker stopped (a restart); nothing "
    "was written. Upload the file again."
)


def import_jobs_sweep_dead(now: dt.datetime | None = None) -> list[int]:
    """Jobs left ``running`` or ``committing`` by a worker that stopped (nobody holds their run
    lock): marked ``failed`` with ``MSG_WORKER_STOPPED`` and their upload removed. Their ids."""
    now = now or timezone.now()
    swept = []
    candidates = ImportJob.objects.filter(
        state__in=[JobState.RUNNING, JobState.COMMITTING], updated_at__lt=now - DEAD_AFTER
    ).values_list("pk", flat=True)
    for job_id in list(candidates):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
            if job is None or job.state not in (JobState.RUNNING, JobState.COMMITTING):
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)", [RUN_LOCK_NAMESPACE, job_id]
                )
                (free,) = cursor.fetchone()
            if not free:  # a worker is running it
                continue
            stored = job.stored_name
            _set_state(job, JobState.FAILED, error={"msgid": MSG_WORKER_STOPPED}, stored_name="")
            transaction.on_commit(lambda stored=stored: files.remove(stored))
            swept.append(job_id)
    return swept


# --- the worker's changes of state (imports.runner) -------------------------------------------
def import_job_start(*, job_id: int, commit: bool) -> ImportJob | None:
    """The worker takes the job: ``queued`` -> ``running`` for the dry run (``committing``
    stays for the commit). None when there is nothing to do: the job was cancelled, or is not
    in the state this run expects (a job run twice)."""
    expected = JobState.COMMITTING if commit else JobState.QUEUED
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state != expected:
            return None
        if job.cancel_requested:
            stored = job.stored_name
            _set_state(job, JobState.CANCELLED, stored_name="")
            transaction.on_commit(lambda: files.remove(stored))
            return None
        if not commit:
            _set_state(job, JobState.RUNNING, rows_read=0)
    return job


def import_job_finish(
    *,
    job_id: int,
    state: str,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    rows_total: int | None = None,
) -> ImportJob:
    """The worker's end of a run: ``checked`` (dry run), ``done`` (committed), ``failed`` or
    ``cancelled``. The upload is removed once the job can go no further."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        fields: dict[str, Any] = {}
        if result is not None:
            fields["result"] = result
            fields["rows_read"] = result.get("rows", job.rows_read)
        if error is not None:
            fields["error"] = error
        if rows_total is not None:
            fields["rows_total"] = rows_total
        if state == JobState.DONE:
            fields["committed_at"] = timezone.now()
        stored = job.stored_name
        if state in FINAL_STATES:
            fields["stored_name"] = ""
        _set_state(job, state, **fields)
        if state in FINAL_STATES:
            transaction.on_commit(lambda: files.remove(stored))
    return job
