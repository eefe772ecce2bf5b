"""The dashboard page (``/dashboard/``): the KPIs of ``reports.kpis`` as cards and charts.

It calls the same request parser and selector as ``GET /api/kpis/``, so the page and the
API show the same numbers.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from accounts.selectors import acting_places, jurisdiction_prefixes
from gridmap.codes import code_at, covers
from grids.models import City, District
from servicedesk.figures import ServiceFigures, ServiceRow, service_breakdown, service_figures

from . import kpis
from .kpi_api import kpi_request
from .kpis import Figures, KpiError, KpiResult

# Levels a user may pick in the form (a person is reached from a link with a worker id).
FORM_LEVELS = ["city", "district", "town", "station", "village", "grid", "person"]


def default_unit(user: Any) -> tuple[str, str]:
    """The unit a user's dashboard opens on: their own jurisdiction."""
    places = acting_places(user)
    if places:
        return places[0]
    city = City.objects.current().order_by("code").values_list("code", flat=True).first()
    if city:
        return "city", city
    district = District.objects.current().order_by("code").values_list("code", flat=True).first()
    return ("district", district) if district else ("city", "")


# The unit one up from a unit of each level (a station's is its town; a person has none).
PARENT_LEVEL = {
    "grid": "village",
    "village": "town",
    "station": "town",
    "town": "district",
    "district": "city",
}


def parent_unit(level: str, code: str) -> tuple[str, str] | None:
    up = PARENT_LEVEL.get(level)
    return (up, code_at(up, code)) if up else None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _int(value: int) -> str:
    return f"{value:,}"


def figure_cells(f: Figures) -> dict[str, str]:
    """The figures as the page shows them (counts with thousands separators, rates in per
    cent, hours with one decimal)."""
    return {
        "received": _int(f.received),
        "closure_rate": _pct(f.closure_rate),
        "on_time_closure_rate": _pct(f.on_time_closure_rate),
        "rework_rate": _pct(f.rework_rate),
        "extension_rate": _pct(f.extension_rate),
        "mean_hours_to_acknowledge": _num(f.mean_hours_to_acknowledge),
        "mean_hours_to_resolve": _num(f.mean_hours_to_resolve),
        "mean_satisfaction": _num(f.mean_satisfaction, 2),
        "satisfied_share": _pct(f.satisfied_share),
    }


def cards(f: Figures) -> list[dict[str, str]]:
    cells = figure_cells(f)
    return [
        {"key": "received", "label": _("Cases received"), "value": cells["received"],
         "detail": _("reported in the period")},
        {"key": "closure_rate", "label": _("Closure rate"), "value": cells["closure_rate"],
         "detail": _("%(closed)s closed out") % {"closed": _int(f.closed)}},
        {"key": "on_time_closure_rate", "label": _("On-time closure rate"),
         "value": cells["on_time_closure_rate"],
         "detail": _("%(n)s of the closed on time") % {"n": _int(f.closed_on_time)}},
        {"key": "rework_rate", "label": _("Rework rate"), "value": cells["rework_rate"],
         "detail": _("%(n)s reopened") % {"n": _int(f.reworked)}},
        {"key": "extension_rate", "label": _("Extension rate"),
         "value": cells["extension_rate"],
         "detail": _("%(n)s with an extension") % {"n": _int(f.extended)}},
        {"key": "mean_hours_to_acknowledge", "label": _("Mean time to acknowledge"),
         "value": cells["mean_hours_to_acknowledge"],
         "detail": _("hours, over %(n)s acknowledged") % {"n": _int(f.acknowledged)}},
        {"key": "mean_hours_to_resolve", "label": _("Mean time to resolve"),
         "value": cells["mean_hours_to_resolve"],
         "detail": _("hours, over %(n)s resolved") % {"n": _int(f.resolved)}},
        {"key": "mean_satisfaction", "label": _("Satisfaction"),
         "value": cells["mean_satisfaction"],
         "detail": _("of 5; %(share)s satisfied (4–5) of %(n)s rated")
         % {"share": cells["satisfied_share"], "n": _int(f.rated)}},
    ]  # fmt: skip


# The service section's breakdown by the unit's children where the figures have them (a
# district's towns, a town's villages or stations, a station's villages), by the first
# receiver below; and always by item.
SERVICE_BY = {
    "district": "town",
    "town": "village",
    "station": "village",
    "village": "assistant",
    "grid": "assistant",
}
SERVICE_BY_LABELS = {
    "item": gettext_lazy("service item"),
    "village": kpis.LEVEL_LABELS["village"],
    "station": kpis.LEVEL_LABELS["station"],
    "town": kpis.LEVEL_LABELS["town"],
    "assistant": gettext_lazy("first receiver"),
}


def service_cells(f: ServiceFigures) -> dict[str, str]:
    """The service figures as the page shows them."""
    return {
        "received": _int(f.received),
        "completed": _int(f.completed),
        "completion_rate": _pct(f.completion_rate),
        "on_time_rate": _pct(f.on_time_rate),
        "mean_days": _num(f.mean_days),
        "mean_rating": _num(f.mean_rating, 2),
        "withdrawn": _int(f.withdrawn),
        "declined": _int(f.declined),
    }


def service_cards(f: ServiceFigures) -> list[dict[str, str]]:
    cells = service_cells(f)
    return [
        {"key": "received", "label": _("Requests received"), "value": cells["received"],
         "detail": _("%(w)s withdrawn, %(d)s returned as not eligible")
         % {"w": cells["withdrawn"], "d": cells["declined"]}},
        {"key": "completion_rate", "label": _("Completion rate"),
         "value": cells["completion_rate"],
         "detail": _("%(n)s done or delivered, of those not withdrawn")
         % {"n": cells["completed"]}},
        {"key": "on_time_rate", "label": _("On-time rate"), "value": cells["on_time_rate"],
         "detail": _("%(n)s of the completed by the promised date") % {"n": _int(f.on_time)}},
        {"key": "mean_days", "label": _("Mean days to complete"), "value": cells["mean_days"],
         "detail": _("calendar days from receipt to done")},
        {"key": "mean_rating", "label": _("Residents' rating"), "value": cells["mean_rating"],
         "detail": _("of 5, over %(n)s rated") % {"n": _int(f.rated)}},
    ]  # fmt: skip


def service_rows(rows: list[ServiceRow]) -> dict[str, list[dict[str, Any]]]:
    """A breakdown's rankable rows (with their rank by completion rate) and the others."""
    out: dict[str, list[dict[str, Any]]] = {"ranked": [], "too_few": []}
    for row in rows:
        entry = {"key": row.key, "name": row.name or "–", "cells": service_cells(row),
                 "received": row.received,
                 "rank": (row.ranks or {}).get("completion_rate")}  # fmt: skip
        out["ranked" if row.rankable else "too_few"].append(entry)
    return out


def service_section(result: KpiResult, user: Any) -> dict[str, Any]:
    """The dashboard's "proxy service" section: the unit's service figures over the same
    period (``servicedesk.figures``, limited to the user's jurisdiction) and two breakdowns,
    each one statement."""
    unit = result.unit
    figures = service_figures(
        level=unit.level, code=unit.code, start=result.start, end=result.end, user=user
    )
    breakdowns = []
    for by in filter(None, (SERVICE_BY.get(unit.level), "item")):
        if by in ("village", "station") and result.child_level in ("village", "station"):
            by = result.child_level
        rows = service_breakdown(
            by=by, level=unit.level, code=unit.code, start=result.start, end=result.end,
            user=user,
        )  # fmt: skip
        breakdowns.append({"by": by, "label": SERVICE_BY_LABELS[by], **service_rows(rows)})
    return {
        "figures": figures,
        "cards": service_cards(figures),
        "breakdowns": breakdowns,
        "min_cases": figures.min_cases,
    }


def dashboard_strings() -> dict[str, str]:
    """The chart script's text in the active language (rendered with ``json_script``)."""
    return {
        "closureRate": _("Closure rate"),
        "onTimeClosureRate": _("On-time closure rate"),
        "received": _("Received"),
        "closed": _("Closed out (of the week's cases)"),
        "weekOf": _("Week of %(date)s"),
        "percent": _("%"),
        "cases": _("Cases"),
    }


class DashboardView(LoginRequiredMixin, TemplateView):
    """KPI cards, closure per child unit (ranked, too-small units apart), cases per week."""

    template_name = "reports/dashboard.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params = request.GET.copy()
        if not params.get("level") and not params.get("code"):
            params["level"], params["code"] = default_unit(request.user)
        if "breakdown" not in params:
            # Closure per child unit, where the unit has children (a grid has none).
            params["breakdown"] = "1" if kpis.CHILD_LEVELS.get(params.get("level") or "") else ""
        params["weeks"] = "1"
        context = self.get_context_data(params=params)
        try:
            result = kpi_request(params, request.user)
        except KpiError as error:
            context["error"] = error.message
            return self.render_to_response(context, status=404 if error.not_found else 400)
        context.update(self.result_context(result, params))
        return self.render_to_response(context)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = kwargs["params"]
        context["form"] = {
            "level": params.get("level", ""),
            "code": params.get("code", ""),
            "from": params.get("from", ""),
            "to": params.get("to", ""),
            "breakdown": params.get("breakdown", "1"),
        }
        context["levels"] = [(lv, kpis.LEVEL_LABELS[lv]) for lv in FORM_LEVELS]
        context["dashboard_strings"] = dashboard_strings()
        return context

    def result_context(self, result: KpiResult, params: Any) -> dict[str, Any]:
        period = {"from": result.start.isoformat(), "to": result.end.isoformat()}
        url = reverse("dashboard")

        def link(level: str, code: str, **extra: str) -> str:
            return f"{url}?{urlencode({'level': level, 'code': code, **period, **extra})}"

        ranked = [c for c in result.children if c.rankable]
        ranked.sort(key=lambda c: (-(c.figures.closure_rate or 0), c.unit.code))
        rows = [
            {
                "code": c.unit.code,
                "name": c.unit.name,
                "url": link(c.unit.level, c.unit.code),
                "cells": figure_cells(c.figures),
                "ranks": c.ranks or {},
            }
            for c in ranked
        ]
        too_few = [
            {
                "code": c.unit.code,
                "name": c.unit.name,
                "url": link(c.unit.level, c.unit.code),
                "received": c.figures.received,
            }
            for c in result.children
            if not c.rankable
        ]
        up = parent_unit(result.unit.level, result.unit.code)
        allowed = jurisdiction_prefixes(self.request.user)
        if up and not covers(allowed, up[1]):
            up = None
        chart = {
            "children": [
                {
                    "name": c.unit.name,
                    "closure_rate": c.figures.closure_rate,
                    "on_time_closure_rate": c.figures.on_time_closure_rate,
                }
                for c in ranked
            ],
            "weeks": [
                {"week": w.monday.isoformat(), "received": w.received, "closed": w.closed}
                for w in result.weeks or []
            ],
        }
        options = kpis.CHILD_LEVELS[result.unit.level]
        return {
            "service": service_section(result, self.request.user),
            "result": result,
            "unit_label": kpis.LEVEL_LABELS[result.unit.level],
            "child_label": kpis.LEVEL_LABELS.get(result.child_level or "", ""),
            "cards": cards(result.figures),
            "rows": rows,
            "too_few": too_few,
            "breakdown_options": [
                {
                    "level": lv,
                    "label": kpis.LEVEL_LABELS[lv],
                    "url": link(result.unit.level, result.unit.code, breakdown=lv),
                    "active": lv == result.child_level,
                }
                for lv in options
            ]
            if len(options) > 1
            else [],
            "up_url": link(*up) if up else "",
            "up_label": kpis.LEVEL_LABELS[up[0]] if up else "",
            "chart_data": chart,
            "api_url": reverse("kpis")
            + "?"
            + urlencode(
                {
                    "level": result.unit.level,
                    "code": result.unit.code,
                    **period,
                    "breakdown": result.child_level or "0",
                }  # fmt: skip
            ),
        }
