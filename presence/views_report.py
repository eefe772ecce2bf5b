"""Pages of the duty rosters and the presence report.

- ``/duty/?place=CODE&month=YYYY-MM`` (``duty``): a month calendar of a village's, station's or
  town's roster; those who may edit it (``presence.duty.may_edit_roster``) add a shift (a
  worker of the place, a day, a span) and remove one (POST, CSRF, then back to the calendar).
  A place outside the user's jurisdiction answers 404.
- ``/presence/?area=CODE&month=YYYY-MM`` (``presence-report``): the presence report of an
  area inside the jurisdiction, shortfalls highlighted, each worker's days in a fold;
  ``format=csv`` or ``format=xlsx`` downloads the same table.

Views parse, call ``presence.duty`` and ``presence.report``, and render.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook

from accounts.selectors import acting_places, jurisdiction_prefixes
from gridmap.codes import covers
from gridmap.exports import safe_row
from gridmap.jurisdiction import scope_q as prefix_scope_q
from grids.models import District, Grid, Station, Town, Village, Worker

from . import duty, report
from .models import DutyShift

MSG_NO_PLACE = gettext_noop("There is no roster of %(code)s you may see.")
MSG_NO_AREA = gettext_noop("There is no area %(code)s you may see.")
MONTH_FORMAT = "%Y-%m"


def _month(request: HttpRequest) -> tuple[str, dt.date, dt.date]:
    text = (request.GET.get("month") or "").strip()
    bounds = report.parse_month(text)
    if bounds is None:
        text = timezone.localdate().strftime(MONTH_FORMAT)
        bounds = report.parse_month(text)
    assert bounds is not None
    return text, bounds[0], bounds[1]


def _shift_month(first: dt.date, months: int) -> str:
    year, month = divmod(first.year * 12 + first.month - 1 + months, 12)
    return f"{year:04d}-{month + 1:02d}"


# --- duty rosters ------------------------------------------------------------------------------
def _default_place(request: HttpRequest) -> str:
    """The place a person's roster opens on: where they act (village, station, town)."""
    for level, code in acting_places(request.user):
        if level in ("village", "station", "town"):
            return code
    places = duty.roster_places(request.user)
    return places[0].code if places else ""


def _place_or_404(user: Any, code: str) -> duty.RosterPlace:
    place = duty.find_place(code)
    if place is None or not duty.may_see_roster(user, place):
        raise Http404(gettext(MSG_NO_PLACE) % {"code": code})
    return place


def _calendar(place: duty.RosterPlace, first: dt.date, last: dt.date) -> list[list[dict]]:
    """The month as weeks (Monday first) of days with their shifts (None outside it)."""
    shifts: dict[dt.date, list[DutyShift]] = {}
    for shift in duty.roster(place, first, last):
        shifts.setdefault(shift.date, []).append(shift)
    today = timezone.localdate()
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append(
            [
                {
                    "date": day,
                    "in_month": first <= day <= last,
                    "today": day == today,
                    "shifts": shifts.get(day, []),
                }
                for day in week
            ]
        )
    return weeks


@login_required
@require_http_methods(["GET", "POST"])
def duty_roster(request: HttpRequest) -> HttpResponse:
    """``/duty/``: a place's roster for a month; POST adds (``action=add``) or removes
    (``action=remove``) a shift."""
    source = request.POST if request.method == "POST" else request.GET
    code = (source.get("place") or "").strip() or _default_place(request)
    if not code:  # no roster to show (a grid's people): say so, not "not found"
        return render(request, "presence/duty_none.html")
    place = _place_or_404(request.user, code)
    month_text, first, last = _month(request)
    if request.method == "POST":
        month_text = (request.POST.get("month") or month_text).strip()
        _duty_post(request, place)
        query = urlencode({"place": place.code, "month": month_text})
        return redirect(f"{reverse('duty')}?{query}")
    may_edit = duty.may_edit_roster(request.user, place)
    candidates = list(duty.roster_candidates(place, first, last)) if may_edit else []
    context = {
        "place": place,
        "level": duty.level_of_place(place),
        "places": duty.roster_places(request.user),
        "month": month_text,
        "first": first,
        "previous_month": _shift_month(first, -1),
        "next_month": _shift_month(first, 1),
        "weeks": _calendar(place, first, last),
        "weekdays": [WEEKDAYS_ABBR[n] for n in range(7)],
        "may_edit": may_edit,
        "candidates": candidates,
        "spans": DutyShift.Span.choices,
        "default_day": max(first, min(last, timezone.localdate())),
    }
    return render(request, "presence/duty.html", context)


def _duty_post(request: HttpRequest, place: duty.RosterPlace) -> None:
    action = request.POST.get("action")
    try:
        if action == "add":
            worker = Worker.objects.filter(pk=_int(request.POST.get("worker"))).first()
            day = _date(request.POST.get("date"))
            span = request.POST.get("span") or DutyShift.Span.DAY
            if worker is None or day is None or span not in DutyShift.Span.values:
                messages.error(request, gettext("Choose a worker, a day and a shift."))
                return
            duty.add_shift(
                actor=request.user,
                place=place,
                worker=worker,
                date=day,
                span=span,
                note=(request.POST.get("note") or "").strip()[:200],
            )
            messages.success(request, gettext("The shift is on the roster."))
        elif action == "remove":
            shift = (
                DutyShift.objects.filter(duty.shift_place_q(place))
                .filter(pk=_int(request.POST.get("shift")))
                .first()
            )
            if shift is None:
                messages.error(request, gettext("That shift is no longer on the roster."))
                return
            duty.remove_shift(actor=request.user, shift=shift)
            messages.success(request, gettext("The shift is off the roster."))
        else:
            messages.error(request, gettext("Unknown action."))
    except duty.DutyRefused as refused:
        messages.error(request, refused.message)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


# --- the presence report ----------------------------------------------------------------------
def report_areas(user: Any) -> list[tuple[str, str]]:
    """The areas the report may be asked for, as (code, label): the districts, towns,
    stations and villages inside the user's jurisdiction (the villages only for a
    jurisdiction of a few towns at most)."""
    prefixes = jurisdiction_prefixes(user)
    if prefixes is not None and not prefixes:
        return []

    def inside(qs: Any) -> Any:
        q = prefix_scope_q(prefixes)
        return qs if q is None else qs.filter(q)

    out: list[tuple[str, str]] = []
    for model in (District, Town):
        qs = inside(model.objects.current()).order_by("code").values_list("code", "name")
        out += [(code, f"{name} {code}") for code, name in qs]
    stations = inside(Station.objects.filter(retired_on__isnull=True)).order_by("code")
    out += [(code, f"{name} {code}") for code, name in stations.values_list("code", "name")]
    villages = inside(Village.objects.current()).order_by("code").values_list("code", "name")
    out += [(code, f"{name} {code}") for code, name in villages[:300]]
    if len(out) < 50:
        grids = inside(Grid.objects.current()).order_by("code").values_list("code", "name")
        out += [(code, f"{name} {code}") for code, name in grids[:100]]
    return out


def chosen_area(request: HttpRequest) -> str:
    """The ``area`` asked for, inside the user's jurisdiction (404 otherwise); by default
    where they act, else their jurisdiction's first area."""
    code = (request.GET.get("area") or "").strip()
    if not code:
        places = acting_places(request.user)
        code = places[0][1] if places else ""
        if not code:
            areas = report_areas(request.user)
            code = areas[0][0] if areas else ""
    if not area_visible(request.user, code):
        raise Http404(gettext(MSG_NO_AREA) % {"code": code})
    return code


def area_visible(user: Any, code: str) -> bool:
    """Whether ``user`` may see the report of ``code``: an area code inside their
    jurisdiction (a station: inside it, or one where they act)."""
    prefix = report.area_prefix(code)
    if prefix is None:
        return False
    if covers(jurisdiction_prefixes(user), prefix):
        return True
    return ("station", code) in acting_places(user)


@login_required
@require_http_methods(["GET"])
def presence_report(request: HttpRequest) -> HttpResponse:
    """``/presence/``: the presence report of an area and month (``format=csv|xlsx``: the
    table as a file)."""
    area = chosen_area(request)
    month_text, first, _last = _month(request)
    rows = report.presence_figures(area, month_text)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return _export(rows, area, month_text, fmt)
    query = {"area": area, "month": month_text}
    areas = report_areas(request.user)
    context = {
        "area": area,
        "area_label": dict(areas).get(area, area),
        "areas": areas,
        "month": month_text,
        "previous_month": _shift_month(first, -1),
        "next_month": _shift_month(first, 1),
        "rows": rows,
        "flagged": sum(1 for r in rows if r.flagged),
        "csv_url": f"{reverse('presence-report')}?{urlencode({**query, 'format': 'csv'})}",
        "xlsx_url": f"{reverse('presence-report')}?{urlencode({**query, 'format': 'xlsx'})}",
        "api_url": f"{reverse('api-presence-report')}?{urlencode(query)}",
    }
    return render(request, "presence/report.html", context)


def _export(rows: list[report.WorkerFigures], area: str, month: str, fmt: str) -> HttpResponse:
    header = report.export_header()
    table = report.export_rows(rows)
    name = f"presence-{area}-{month}.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(safe_row(header))
        for line in table:
            writer.writerow(safe_row(line))
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(month)
        sheet.append(safe_row(header))
        for line in table:
            sheet.append(safe_row(line))
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
