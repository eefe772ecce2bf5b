"""``/privacy/access-log/``: the personal-data access log of the reader's district, on screen
or as CSV / XLSX (cells through ``gridmap.exports.safe_row``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from openpyxl import Workbook

from gridmap.exports import safe_row

from .forms import AccessLogFilter
from .models import AccessLogEntry, record_label
from .selectors import access_log_filtered, access_log_visible_to, can_read_access_log

PAGE_SIZE = 100
XLSX_MAX_ROWS = 200_000
FIELD_LABELS = {
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("phone"),
    "head_name": gettext_lazy("head of household"),
}


def _columns() -> list[str]:
    return [_("when"), _("login"), _("request method"), _("page or endpoint"), _("district"),
            _("fields"), _("records")]  # fmt: skip


def _join(items: Iterable[str]) -> str:
    """A list as the reader's language writes one (Chinese: 、)."""
    return ("、" if (get_language() or "").startswith("zh") else ", ").join(items)


def _query_without_page(request: HttpRequest) -> str:
    """The filters of this page, for the export and page links."""
    query = request.GET.copy()
    for key in ("page", "format"):
        query.pop(key, None)
    return query.urlencode()


def _row(entry: AccessLogEntry) -> list[Any]:
    return [
        timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
        entry.username,
        entry.method,
        entry.path,
        entry.district_code,
        _join(str(FIELD_LABELS.get(f, f)) for f in entry.fields),
        _join(record_label(r) for r in entry.records),
    ]


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    if not can_read_access_log(request.user):
        raise PermissionDenied
    form = AccessLogFilter(request.GET or None)
    qs = access_log_visible_to(request.user)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "page": None, "columns": _columns(), "rows": []}
        return render(request, "privacy/access_log.html", context, status=400)
    if form.is_bound:
        qs = access_log_filtered(qs, **form.cleaned_data)
    fmt = request.GET.get("format") or ""
    filename = f"access-log-{timezone.localdate():%Y%m%d}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(safe_row(_columns()))
        for entry in qs.iterator():
            writer.writerow(safe_row(_row(entry)))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if fmt == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(_("Personal-data access log")[:31])
        sheet.append(safe_row(_columns()))
        for entry in qs[:XLSX_MAX_ROWS].iterator():
            sheet.append(safe_row(_row(entry)))
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/access_log.html",
        {
            "form": form if form.is_bound else AccessLogFilter(),
            "page": page,
            "query": _query_without_page(request),
            "columns": _columns(),
            "rows": [_row(e) for e in page.object_list],
        },
    )
