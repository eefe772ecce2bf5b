"""Pages of the weekly two-down-two-up: the town's week, a village's report, a station's
summary. Views parse and render; ``weekly.services`` checks roles and writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views import View

from accounts.selectors import acting_places, jurisdiction_prefixes
from gridmap.codes import Level, code_at
from grids.models import Station, Town, Village

from . import selectors, services
from .forms import ReportForm, TaskListForm

MSG_BAD_WEEK = gettext_noop("%(value)s is not a date; write it as YYYY-MM-DD.")
MSG_NOT_FOUND = gettext_noop("There is no %(place)s %(code)s in your jurisdiction.")
DONE_MESSAGES = {
    "published": gettext_noop("The task list is published to the town's stations and villages."),
    "submitted": gettext_noop("The report is submitted to the station."),
    "sent": gettext_noop("The summary is sent to the town."),
}


def _week(request: HttpRequest) -> dt.date:
    raw = request.GET.get("week") or request.POST.get("week")
    if not raw:
        return selectors.current_week()
    try:
        return selectors.week_of(dt.date.fromisoformat(raw))
    except ValueError:
        raise ValidationError(_(MSG_BAD_WEEK) % {"value": raw[:40]}) from None


def _week_context(request: HttpRequest, week: dt.date) -> dict[str, Any]:
    def url(w: dt.date) -> str:
        return f"{request.path}?{urlencode({'week': w.isoformat()})}"

    done = request.GET.get("done", "")
    return {
        "week": week,
        "week_end": week + dt.timedelta(days=6),
        "prev_url": url(week - dt.timedelta(weeks=1)),
        "next_url": url(week + dt.timedelta(weeks=1)),
        "this_week_url": url(selectors.current_week()),
        "is_this_week": week == selectors.current_week(),
        "done": _(DONE_MESSAGES[done]) if done in DONE_MESSAGES else "",
    }


def _errors(error: ValidationError) -> list[str]:
    return [str(m) for m in error.messages]


def _redirect(request: HttpRequest, week: dt.date, done: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        f"{request.path}?{urlencode({'week': week.isoformat(), 'done': done})}"
    )


class WeeklyHomeView(LoginRequiredMixin, View):
    """``/weekly/``: the user's own weekly page (village, station or town)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        places = acting_places(request.user)
        level, code = places[0] if places else ("", "")
        if level == "village":
            return HttpResponseRedirect(reverse("weekly-village", args=[code]))
        if level == "station":
            return HttpResponseRedirect(reverse("weekly-station", args=[code]))
        if level == "grid":
            village = code_at(Level.VILLAGE, code)
            return HttpResponseRedirect(reverse("weekly-village", args=[village]))
        if level == "town":
            return HttpResponseRedirect(reverse("weekly-town", args=[code]))
        town = Town.objects.current().order_by("code")
        if code:
            town = town.filter(code__startswith=code[:4] if level == "city" else code)
        first = town.values_list("code", flat=True).first()
        if first is None:
            raise Http404(_("There are no towns in your jurisdiction."))
        return HttpResponseRedirect(reverse("weekly-town", args=[first]))


class _WeekPage(LoginRequiredMixin, View):
    template_name = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            self.week = _week(request)
        except ValidationError as error:
            return render(request, "weekly/error.html", {"errors": _errors(error)}, status=400)
        return super().dispatch(request, *args, **kwargs)

    def page(
        self, request: HttpRequest, context: dict[str, Any], status: int = 200
    ) -> HttpResponse:
        return render(
            request, self.template_name, {**_week_context(request, self.week), **context},
            status=status,
        )  # fmt: skip


class TownWeekView(_WeekPage):
    """The town's week: the task list (published here by the town's staff) and every station
    and village with the status of its report; late and missing ones flagged."""

    template_name = "weekly/town.html"

    def _town(self, request: HttpRequest, code: str) -> Town:
        town = Town.objects.current().filter(code=code).defer("geom").first()
        if town is None or not selectors.can_view(request.user, code):
            raise Http404(_(MSG_NOT_FOUND) % {"place": _("town"), "code": code})
        return town

    def context(self, request: HttpRequest, town: Town, form: TaskListForm | None = None):
        task_list = selectors.task_list(town.code, self.week)
        may_publish = services.may_publish(request.user, town.code)
        if form is None and may_publish:
            form = TaskListForm(
                initial={
                    "items": "\n".join(task_list.items) if task_list else "",
                    "note": task_list.note if task_list else "",
                }
            )
        return {
            "town": town,
            "town_week": selectors.town_week(
                town, self.week, prefixes=jurisdiction_prefixes(request.user)
            ),
            "task_list": task_list,
            "may_publish": may_publish,
            "form": form,
            "LATE": selectors.LATE,
            "MISSING": selectors.MISSING,
        }

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        town = self._town(request, code)
        return self.page(request, self.context(request, town))

    def post(self, request: HttpRequest, code: str) -> HttpResponse:
        town = self._town(request, code)
        form = TaskListForm(request.POST)
        errors: list[str] = []
        if form.is_valid():
            try:
                services.task_list_publish(
                    actor=request.user,
                    town_code=town.code,
                    week=self.week,
                    items=form.item_list(),
                    note=form.cleaned_data["note"],
                )
                return _redirect(request, self.week, "published")
            except PermissionDenied as error:
                return self.page(
                    request, {**self.context(request, town, form), "errors": [str(error)]}, 403
                )
            except ValidationError as error:
                errors = _errors(error)
        return self.page(request, {**self.context(request, town, form), "errors": errors}, 400)


class VillageWeekView(_WeekPage):
    """A village's week: the town's task list, the pre-filled figures and the report form."""

    template_name = "weekly/village.html"

    def _village(self, request: HttpRequest, code: str) -> Village:
        village = Village.objects.current().filter(code=code).defer("geom").first()
        if village is None or not selectors.can_view(request.user, code):
            raise Http404(_(MSG_NOT_FOUND) % {"place": _("village"), "code": code})
        return village

    def context(self, request: HttpRequest, village: Village, form: ReportForm | None = None):
        from .models import VillageWeeklyReport

        now = timezone.now()
        report = VillageWeeklyReport.objects.filter(
            village_code=village.code, week=self.week
        ).first()
        station = selectors.station_of_village(village.code, self.week)
        may_submit = services.may_submit_village_report(request.user, village.code)
        if form is None and may_submit:
            form = ReportForm(initial={"text": report.text if report else ""})
        due = selectors.village_report_due(self.week)
        return {
            "village": village,
            "station": station,
            "task_list": selectors.task_list(code_at(Level.TOWN, village.code), self.week),
            "counts": selectors.village_week_counts(village.code, self.week, now),
            "report": report,
            "flag": selectors.report_flag(report and report.submitted_at, due, now),
            "due": due,
            "may_submit": may_submit,
            "form": form,
        }

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        return self.page(request, self.context(request, self._village(request, code)))

    def post(self, request: HttpRequest, code: str) -> HttpResponse:
        village = self._village(request, code)
        form = ReportForm(request.POST)
        errors: list[str] = []
        if form.is_valid():
            try:
                services.village_report_submit(
                    actor=request.user,
                    village_code=village.code,
                    week=self.week,
                    text=form.cleaned_data["text"],
                )
                return _redirect(request, self.week, "submitted")
            except PermissionDenied as error:
                return self.page(
                    request, {**self.context(request, village, form), "errors": [str(error)]}, 403
                )
            except ValidationError as error:
                errors = _errors(error)
        return self.page(request, {**self.context(request, village, form), "errors": errors}, 400)


class StationWeekView(_WeekPage):
    """A station's week: its villages' reports and the summary sent up to the town."""

    template_name = "weekly/station.html"

    def _station(self, request: HttpRequest, code: str) -> tuple[Station, list[Village]]:
        station = Station.objects.select_related("town").filter(code=code).first()
        villages = selectors.station_villages(code, self.week) if station else []
        if station is None or not selectors.can_view_station(
            request.user, station, [v.code for v in villages]
        ):
            raise Http404(_(MSG_NOT_FOUND) % {"place": _("station"), "code": code})
        return station, villages

    def context(
        self,
        request: HttpRequest,
        station: Station,
        villages: list[Village],
        form: ReportForm | None = None,
    ) -> dict[str, Any]:
        from .models import StationWeeklySummary, VillageWeeklyReport

        now = timezone.now()
        v_due = selectors.village_report_due(self.week)
        s_due = selectors.station_summary_due(self.week)
        reports = {
            r.village_code: r
            for r in VillageWeeklyReport.objects.filter(
                week=self.week, village_code__in=[v.code for v in villages]
            )
        }
        rows = [
            {
                "village": v,
                "report": reports.get(v.code),
                "flag": selectors.report_flag(
                    reports[v.code].submitted_at if v.code in reports else None, v_due, now
                ),
            }
            for v in villages
        ]
        summary = StationWeeklySummary.objects.filter(
            station_code=station.code, week=self.week
        ).first()
        may_submit = services.may_submit_station_summary(request.user, station.code)
        if form is None and may_submit:
            form = ReportForm(initial={"text": summary.text if summary else ""})
        submitted = [r for r in reports.values() if r.submitted_at]
        return {
            "station": station,
            "task_list": selectors.task_list(station.town.code, self.week),
            "rows": rows,
            "totals": selectors.sum_counts(submitted),
            "reported": len(submitted),
            "summary": summary,
            "flag": selectors.report_flag(summary and summary.submitted_at, s_due, now),
            "village_due": v_due,
            "due": s_due,
            "may_submit": may_submit,
            "form": form,
        }

    def get(self, request: HttpRequest, code: str) -> HttpResponse:
        station, villages = self._station(request, code)
        return self.page(request, self.context(request, station, villages))

    def post(self, request: HttpRequest, code: str) -> HttpResponse:
        station, villages = self._station(request, code)
        form = ReportForm(request.POST)
        errors: list[str] = []
        if form.is_valid():
            try:
                services.station_summary_submit(
                    actor=request.user,
                    station_code=station.code,
                    week=self.week,
                    text=form.cleaned_data["text"],
                )
                return _redirect(request, self.week, "sent")
            except PermissionDenied as error:
                ctx = self.context(request, station, villages, form)
                return self.page(request, {**ctx, "errors": [str(error)]}, 403)
            except ValidationError as error:
                errors = _errors(error)
        ctx = self.context(request, station, villages, form)
        return self.page(request, {**ctx, "errors": errors}, 400)
