"""The administrators' import page (issue 13, point 6).

- ``/imports/``: my jobs, the upload form (kind, file, sheet, coordinate system) and each
  kind's template to download;
- ``/imports/<id>/``: one job: its progress while the worker runs it (``job.js`` polls
  ``/imports/<id>/status/``), then the dry run's summary, the refused rows, a map of where the
  new and updated rows land, the error workbook (``/imports/<id>/report/``), and the confirm
  and cancel buttons (POST, CSRF).

District and city administrators and superusers only (``imports.selectors.can_import``); a
job is its uploader's (another's answers 404). The import itself runs in the background
(``imports.tasks``); these views only parse, call the services and render.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gridmap.messages import render_message
from gridmap.uploads import XLSX, file_response

from .exports import ExportError, download_name, export
from .forms import ExportForm, UploadForm
from .kinds import get_kind
from .models import ImportJob, JobState
from .selectors import can_import, importable_kinds, jobs_of
from .services import import_job_cancel, import_job_confirm, import_job_create
from .templates import write_template

# Refused rows shown on the page (all of them are in the error workbook).
REFUSALS_SHOWN = 500
JOBS_SHOWN = 50


def _require_importer(request: HttpRequest) -> None:
    if not can_import(request.user):
        raise PermissionDenied


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(jobs_of(request.user), pk=pk)


def _kind_label(name: str) -> str:
    kind = get_kind(name)
    return gettext(kind.label) if kind else name


def _render_index(
    request: HttpRequest,
    form: UploadForm,
    export_form: ExportForm | None = None,
    *,
    status: int = 200,
    export_problem: str = "",
) -> HttpResponse:
    jobs = list(jobs_of(request.user)[:JOBS_SHOWN])
    context = {
        "form": form,
        "export_form": export_form or ExportForm(user=request.user),
        "export_problem": export_problem,
        "jobs": [
            {"job": job, "kind": _kind_label(job.kind), "state": job.get_state_display()}
            for job in jobs
        ],
        "kinds": [{"name": k.name, "label": gettext(k.label)} for k in importable_kinds()],
    }
    return render(request, "imports/index.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = import_job_create(
                    user=request.user,
                    kind=data["kind"],
                    upload=data["file"],
                    sheet=data["sheet"] or "",
                    crs=data["crs"] or "",
                    language=get_language() or "zh-hans",
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return redirect("import-job", pk=job.pk)
        status = 400
    else:
        form = UploadForm()
    return _render_index(request, form, status=status)


def _summary(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": key, "label": label, "value": result.get(key, 0)}
        for key, label in (
            ("rows", gettext("rows read")),
            ("new", gettext("new")),
            ("updated", gettext("updated")),
            ("unchanged", gettext("unchanged")),
            ("refused", gettext("refused")),
            ("normalised", gettext("normalised")),
        )
    ]


def _refusals(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The refused rows, each reason rendered in the reader's language."""
    rows = []
    for refusal in (result.get("refusals") or [])[:REFUSALS_SHOWN]:
        reason = refusal.get("reason")
        message = render_message(reason) if reason else refusal.get("message", "")
        rows.append(
            {
                "sheet": refusal.get("sheet", ""),
                "row": refusal.get("row", ""),
                "column": refusal.get("column", ""),
                "message": message,
            }
        )
    return rows


def _status(job: ImportJob) -> dict[str, Any]:
    return {
        "state": job.state,
        "stateLabel": str(job.get_state_display()),
        "active": job.active,
        "rowsRead": job.rows_read,
        "rowsTotal": job.rows_total,
        "percent": job.progress_percent,
        "cancelRequested": job.cancel_requested,
    }


@login_required
@require_GET
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    _require_importer(request)
    return _render_job(request, _job(request, pk))


def _render_job(
    request: HttpRequest, job: ImportJob, *, status: int = 200, problem: str = ""
) -> HttpResponse:
    result = job.result or {}
    refusals_total = len(result.get("refusals") or [])
    context = {
        "job": job,
        "kind": _kind_label(job.kind),
        "status": _status(job),
        "result": result,
        "summary": _summary(result) if result else [],
        "refusals": _refusals(result),
        "refusals_cut": refusals_total > REFUSALS_SHOWN or bool(result.get("refusals_truncated")),
        "unknown_columns": result.get("unknown_columns") or [],
        "error": render_message(job.error) if job.error else "",
        "problem": problem,
        "has_report": job.report_path is not None and bool(result.get("refused")),
        "can_confirm": job.state == JobState.CHECKED and not job.cancel_requested,
        "can_cancel": job.state not in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)
        and not job.cancel_requested,
        "page_config": {
            "statusUrl": reverse("import-job-status", args=[job.pk]),
            # The grids around the points, drawn beneath them for orientation.
            "gridLayerUrl": reverse("layer", kwargs={"level": "grid"}),
            "status": _status(job),
            "points": result.get("points") or [],
        },
        "page_strings": {
            "rowsRead": gettext("%(rows)s rows read"),
            "rowsOf": gettext("%(rows)s of about %(total)s rows read"),
            "new": gettext("new"),
            "updated": gettext("updated"),
            "networkError": gettext("The server cannot be reached; retrying."),
            "cancelling": gettext("Cancelling…"),
        },
    }
    return render(request, "imports/job.html", context, status=status)


@login_required
@require_GET
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    _require_importer(request)
    job = _job(request, pk)
    response = JsonResponse(_status(job))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def job_report(request: HttpRequest, pk: int) -> FileResponse:
    _require_importer(request)
    job = _job(request, pk)
    path = job.report_path
    if path is None:
        raise Http404
    stem = Path(job.original_name).stem or "import"
    return file_response(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        content_type=XLSX,
        filename=f"{stem}-{gettext('errors')}.xlsx",
    )


def _act(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    _require_importer(request)
    job = _job(request, pk)
    try:
        action(user=request.user, job_id=job.pk)
    except ValidationError as exc:
        # The job's page with why, and 409: the job moved on meanwhile (another tab).
        job.refresh_from_db()
        return _render_job(request, job, status=409, problem=" ".join(exc.messages))
    return redirect("import-job", pk=job.pk)


@login_required
@require_POST
def job_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, import_job_confirm)


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, import_job_cancel)


@login_required
@require_GET
def template(request: HttpRequest, kind: str) -> FileResponse:
    """The kind's template workbook (``imports.templates.write_template``)."""
    _require_importer(request)
    declared = get_kind(kind)
    if declared is None:
        raise Http404
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(declared, Path(tmp) / "template.xlsx")
        data = path.read_bytes()
    name = f"{gettext(declared.label)}-{gettext('template')}.xlsx"
    response = FileResponse(io.BytesIO(data), content_type=XLSX, as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


EXPORT_TYPES = {
    "xlsx": XLSX,
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
    "shp": "application/zip",
}


@login_required
@require_GET
def export_download(request: HttpRequest) -> HttpResponse:
    """One kind of record (or a boundary level) of an area of the administrator's
    jurisdiction, as a download (``imports.exports.export``: personal fields masked unless the
    administrator may see them). A Shapefile's files come zipped."""
    _require_importer(request)
    form = ExportForm(request.GET, user=request.user)
    if not form.is_valid():
        return _render_index(request, UploadForm(), form, status=400)
    kind, fmt, area = (
        form.cleaned_data["kind"],
        form.cleaned_data["format"],
        form.cleaned_data["area"],
    )
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-export-"))
    try:
        path = tmp / f"{kind}.{fmt}"
        try:
            export(kind, path, fmt=fmt, area=area or None, user=request.user)
        except ExportError as exc:
            return _render_index(request, UploadForm(), form, status=400, export_problem=str(exc))
        if fmt == "shp":
            zipped = tmp / f"{kind}.zip"
            with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(tmp.glob(f"{kind}.*")):
                    if part != zipped:
                        archive.write(part, part.name)
            path = zipped
        # Opened, then the directory removed: the open file is read to the end and closed by
        # the response.
        handle = open(path, "rb")  # noqa: SIM115
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    name = download_name(kind, fmt, area or None)
    response = FileResponse(
        handle, content_type=EXPORT_TYPES[fmt], as_attachment=True, filename=name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
