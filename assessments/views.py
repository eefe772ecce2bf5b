"""Pages of the assessments (考核评议), under /assessments/: the cycles, a cycle's ranked table,
the printable report of a unit or person, the XLSX export, and the forms (open, compute,
close a cycle; enter the party organisation's and cadres' scores; appeal; answer). Views
parse and render; ``assessments.services`` checks who may and writes; every object is
looked up through the jurisdiction rule (``assessments.selectors``): one outside it is "not
found"."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook

from accounts.selectors import granted_account
from gridmap.exports import safe_row
from gridmap.params import id_of
from grids.models import District

from . import selectors, services
from .models import (
    Appeal,
    Cycle,
    CycleKind,
    EvaluationEntry,
    EvaluationSource,
    Scheme,
    Score,
    SubjectLevel,
)

MSG_NOT_FOUND = gettext_noop("There is no such assessment in your jurisdiction.")
MSG_BAD_DATE = gettext_noop("Give the first day as YYYY-MM-DD.")
MSG_BAD_VALUE = gettext_noop("A score is a whole number from 0 to 100.")
MSG_UNKNOWN_ACTION = gettext_noop("Choose what to do with the buttons of the page.")
DONE = {
    "opened": gettext_noop("The cycle is open; compute its scores when the period's data is in."),
    "computed": gettext_noop("The scores are computed."),
    "closed": gettext_noop("The cycle is closed: its scores are frozen."),
    "evaluated": gettext_noop("Your evaluation is entered and the score recomputed."),
    "appealed": gettext_noop("The appeal is recorded."),
    "answered": gettext_noop("The answer is recorded."),
}


def _done(request: HttpRequest) -> str:
    key = request.GET.get("done", "")
    return _(DONE[key]) if key in DONE else ""


def _errors(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, PermissionDenied):
        return [str(error)]
    return [str(m) for m in error.messages]


def _cycle(request: HttpRequest, pk: int) -> Cycle:
    cycle = Cycle.objects.select_related("scheme", "district", "closed_by").filter(pk=pk).first()
    if cycle is None or not selectors.cycle_visible(request.user, cycle):
        raise Http404(_(MSG_NOT_FOUND))
    return cycle


def _score(request: HttpRequest, cycle: Cycle, pk: int) -> Score:
    score = Score.objects.select_related("worker").filter(cycle=cycle, pk=pk).first()
    if score is None:
        raise Http404(_(MSG_NOT_FOUND))
    score.cycle = cycle
    if not selectors.score_visible(request.user, score):
        raise Http404(_(MSG_NOT_FOUND))
    return score


def _period(kind: str, first: dt.date) -> tuple[dt.date, dt.date]:
    """The period of a cycle of ``kind`` starting in ``first``'s month (quarter, year)."""
    months = {CycleKind.MONTHLY: 1, CycleKind.QUARTERLY: 3, CycleKind.YEARLY: 12}[kind]
    start = first.replace(day=1)
    if kind == CycleKind.QUARTERLY:
        start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
    elif kind == CycleKind.YEARLY:
        start = start.replace(month=1)
    year, month = divmod(start.month - 1 + months, 12)
    return start, dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)


def _own_district(user: Any) -> District | None:
    account = granted_account(user)
    if account is None or account.role != "district_admin" or not account.codes:
        return None
    return District.objects.current().filter(code=account.codes[0]).defer("geom").first()


# --- the cycles -------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def cycle_list(request: HttpRequest) -> HttpResponse:
    """``/assessments/``: the cycles the user may see; a form to open one (administrators)."""
    district = _own_district(request.user)
    errors: list[str] = []
    if request.method == "POST":
        scheme = Scheme.objects.filter(
            pk=id_of(request.POST.get("scheme")) or 0, active=True
        ).first()
        try:
            first = dt.date.fromisoformat(request.POST.get("starts_on", ""))
        except ValueError:
            first = None
        if scheme is None or first is None:
            errors.append(_(MSG_BAD_DATE))
        else:
            # The cycle's kind is the scheme's (a monthly scheme: a month).
            starts_on, ends_on = _period(scheme.kind, first)
            try:
                cycle = services.cycle_open(
                    actor=request.user, scheme=scheme, starts_on=starts_on,
                    ends_on=ends_on, district=scheme.district or district,
                )  # fmt: skip
            except (ValidationError, PermissionDenied) as error:
                errors = _errors(error)
            else:
                url = reverse("assessment-cycle", args=[cycle.pk])
                return HttpResponseRedirect(f"{url}?done=opened")
    cycles = selectors.cycles_for(request.user)
    may_open = request.user.is_superuser or district is not None
    schemes = Scheme.objects.filter(active=True).order_by("name") if may_open else []
    if district is not None:
        schemes = [s for s in schemes if s.district_id in (None, district.pk)]
    return render(
        request,
        "assessments/cycles.html",
        {
            "cycles": cycles,
            "may_open": may_open,
            "schemes": schemes,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def cycle_page(request: HttpRequest, pk: int) -> HttpResponse:
    """``/assessments/<cycle>/``: the ranked table (``level`` filters); POST ``action``
    ``compute`` or ``close`` (the district's administrators)."""
    cycle = _cycle(request, pk)
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "close":
                services.close_cycle(actor=request.user, cycle=cycle)
            elif action == "compute":
                services.compute_cycle(actor=request.user, cycle=cycle)
            else:
                raise ValidationError(_(MSG_UNKNOWN_ACTION))
        except (ValidationError, PermissionDenied) as error:
            errors = _errors(error)
        else:
            done = "closed" if action == "close" else "computed"
            return HttpResponseRedirect(f"{request.path}?done={done}")
    level = request.GET.get("level", "")
    if level not in SubjectLevel.values:
        level = ""
    scores = selectors.cycle_scores(request.user, cycle, level)
    levels = sorted({s.level for s in selectors.cycle_scores(request.user, cycle)})
    indicators = selectors.cycle_indicators(cycle)
    return render(
        request,
        "assessments/cycle.html",
        {
            "cycle": cycle,
            "scores": scores,
            "indicators": indicators,
            "level": level,
            "levels": [(v, SubjectLevel(v).label) for v in levels],
            "may_manage": selectors.may_manage(request.user, cycle),
            "previous": selectors.previous_cycle(cycle),
            "export_url": reverse("assessment-export", args=[cycle.pk])
            + (f"?{urlencode({'level': level})}" if level else ""),
            "done": _done(request),
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET"])
def cycle_export(request: HttpRequest, pk: int) -> HttpResponse:
    """``/assessments/<cycle>/export.xlsx``: the table the user sees, as a spreadsheet."""
    cycle = _cycle(request, pk)
    level = request.GET.get("level", "")
    scores = selectors.cycle_scores(
        request.user, cycle, level if level in SubjectLevel.values else ""
    )
    book = Workbook(write_only=True)
    sheet = book.create_sheet(f"{cycle.starts_on:%Y-%m}")
    sheet.append(safe_row([str(cycle.scheme), f"{cycle.starts_on} – {cycle.ends_on}"]))
    sheet.append(safe_row(selectors.export_header(cycle)))
    for row in selectors.export_rows(cycle, scores):
        sheet.append(safe_row(row))
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"assessment-{cycle.pk}-{cycle.starts_on:%Y-%m}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- a subject's report ---------------------------------------------------------------------------
def _report_post(request: HttpRequest, score: Score) -> str:
    action = request.POST.get("action", "")
    if action == "evaluate":
        value = id_of(request.POST.get("value"))
        if value is None:
            raise ValidationError(_(MSG_BAD_VALUE))
        services.enter_evaluation(
            actor=request.user, score=score, source=request.POST.get("source", ""),
            value=value, note=request.POST.get("note", ""),
        )  # fmt: skip
        return "evaluated"
    if action == "answer":
        appeal = Appeal.objects.filter(
            score=score, pk=id_of(request.POST.get("appeal")) or 0
        ).first()
        if appeal is None:
            raise Http404(_(MSG_NOT_FOUND))
        services.appeal_answer(
            actor=request.user, appeal=appeal, answer=request.POST.get("answer", "")
        )
        return "answered"
    if action == "appeal":
        reason = request.POST.get("reason", "")
        services.appeal_create(actor=request.user, score=score, reason=reason)
        return "appealed"
    raise ValidationError(_(MSG_UNKNOWN_ACTION))


@login_required
@require_http_methods(["GET", "POST"])
def score_report(request: HttpRequest, pk: int, score: int) -> HttpResponse:
    """``/assessments/<cycle>/<score>/``: the printable report of one unit or person; POST
    ``action`` ``evaluate``, ``appeal`` or ``answer`` (each for those entitled)."""
    cycle = _cycle(request, pk)
    subject = _score(request, cycle, score)
    errors: list[str] = []
    if request.method == "POST":
        try:
            done = _report_post(request, subject)
        except (ValidationError, PermissionDenied) as error:
            errors = _errors(error)
        else:
            return HttpResponseRedirect(f"{request.path}?done={done}")
        subject = _score(request, cycle, score)
    user = request.user
    entries = list(
        EvaluationEntry.objects.filter(score=subject).select_related("by").order_by("source", "at")
    )
    sources = [
        (value, label)
        for value, label in EvaluationSource.choices
        if value != EvaluationSource.RESIDENTS and selectors.may_evaluate(user, subject, value)
    ]
    appeals = list(
        Appeal.objects.filter(score=subject).select_related("by", "answered_by").order_by("at")
    )
    open_appeal = next((a for a in appeals if a.answered_at is None), None)
    residents = subject.metrics.get("residents_rating")
    return render(
        request,
        "assessments/report.html",
        {
            "cycle": cycle,
            "score": subject,
            "lines": selectors.report_lines(subject),
            "entries": entries,
            "residents": residents,
            "evaluation_sources": sources,
            "appeals": appeals,
            "may_appeal": open_appeal is None and selectors.may_appeal(user, subject),
            "may_answer": open_appeal is not None and selectors.may_answer(user, cycle),
            "open_appeal": open_appeal,
            "done": _done(request),
            "errors": errors,
        },
        status=400 if errors else 200,
    )
