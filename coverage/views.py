"""Pages of coverage: ``/coverage/?area=CODE`` and its CSV and PDF exports.

The page and the exports read one report, ``coverage.report.coverage_report(area_code)``, the
same one ``GET /api/coverage/?area=CODE`` returns as JSON; the map draws the API's layers.
The area picker offers the city, districts and towns inside the user's jurisdiction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from accounts.selectors import can_see_personal_data, jurisdiction_prefixes
from gridmap import jurisdiction
from gridmap.exports import safe_row
from grids.models import City, District, Town

from . import export, links, lists
from .checks import area_prefix

NO_AREA = gettext_lazy("There is no town, district or city in your jurisdiction.")
AREA_NOT_FOUND = gettext_lazy(
    "No town, district or city with the code %(code)s in your jurisdiction."
)
UNKNOWN_LIST = gettext_lazy("Unknown list %(list)s.")
VILLAGE_NOT_FOUND = gettext_lazy("No village with the code %(code)s in this area.")
CHOOSE_VILLAGE = gettext_lazy(
    "Choose a village: the households beyond the circle are listed per village."
)


@dataclass(frozen=True)
class Area:
    level: str  # city, district or town
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"


def area_choices(user: Any) -> list[Area]:
    """The city, districts and towns a user may report on: city first, then by code.

    A city-level account (prefix ``4507``) gets its city too; a district account its district
    and towns; a town account its town. Village and station accounts have no area here.
    """
    prefixes = jurisdiction_prefixes(user)
    cities, districts, towns = (
        City.objects.current(),
        District.objects.current(),
        Town.objects.current(),
    )
    whole = jurisdiction.scope_q(prefixes)
    if whole is not None:
        cities = cities.filter(code__in=[p + "00" for p in prefixes if len(p) == 4])
        districts, towns = districts.filter(whole), towns.filter(whole)
    areas: list[Area] = []
    for level, queryset in (("city", cities), ("district", districts), ("town", towns)):
        for code, name in queryset.order_by("code").values_list("code", "name"):
            areas.append(Area(level, code, name))
    return areas


def chosen_area(request: HttpRequest) -> tuple[Area, list[Area]]:
    """The ``area`` parameter checked against the user's choices (the first by default)."""
    choices = area_choices(request.user)
    if not choices:
        raise Http404(NO_AREA)
    code = (request.GET.get("area") or "").strip()
    if not code:
        # Open on the largest area: the city for a city account, a town for a town account.
        return choices[0], choices
    for area in choices:
        if area.code == code:
            return area, choices
    raise Http404(AREA_NOT_FOUND % {"code": code})


def page_strings() -> dict[str, str]:
    """The page script's text in the active language (rendered with ``json_script``)."""
    return {
        "villages": _("Villages and communities"),
        "grids": _("Grids"),
        "gaps": _("Gaps between grids"),
        "overlaps": _("Overlapping grids"),
        "householdsNoGrid": _("Households in no grid"),
        "householdsNoUnit": _("Households in no ten-household unit"),
        "gridsMissingRoles": _("Grids missing a role"),
        "stationsOff": _("Stations outside 3–7 villages or not contiguous"),
        "uncovered": _("Households beyond the 15-minute service circle"),
        "serviceAreas": _("Service area of each centre"),
        "centres": _("Service centres"),
        "legend": _("Legend"),
        "layerError": _("Could not load %(layer)s: %(detail)s"),
        "networkError": _("The server did not answer. Check the connection and try again."),
        "noItems": _("Nothing to show"),
        "computing": _(
            "The 15-minute service circle is being computed in the background; "
            "reload this page in a minute or two."
        ),
    }


class CoverageView(LoginRequiredMixin, TemplateView):
    """The coverage of an area: a map with a layer per check and a table of every figure."""

    template_name = "coverage/coverage.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        area, choices = chosen_area(self.request)
        report = export.load_report(area.code)
        query = urlencode({"area": area.code})
        sections = export.sections(report)
        links.link_sections(sections, area_code=area.code, user=self.request.user)
        context.update(
            area=area,
            choices=choices,
            report=report,
            sections=sections,
            csv_url=f"{reverse('coverage-export-csv')}?{query}",
            pdf_url=f"{reverse('coverage-export-pdf')}?{query}",
            page_strings=page_strings(),
            page_config=export.map_config(
                area.code,
                report["area"]["prefix"],
                has_basemap=bool(settings.LEAFLET_CONFIG.get("TILES")),
            ),
        )
        return context


class CoverageCsvView(LoginRequiredMixin, View):
    """Every figure and the items behind it, one CSV."""

    def get(self, request: HttpRequest) -> HttpResponse:
        area, _choices = chosen_area(request)
        report = export.load_report(area.code)
        response = HttpResponse(export.report_csv(report, area), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="coverage-{area.code}.csv"'
        return response


class CoveragePdfView(LoginRequiredMixin, View):
    """A printable report: the figures, a static map and the items."""

    def get(self, request: HttpRequest) -> HttpResponse:
        area, _choices = chosen_area(request)
        report = export.load_report(area.code)
        response = HttpResponse(export.report_pdf(report, area), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="coverage-{area.code}.pdf"'
        return response


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page") or 1))
    except ValueError:
        return 1


def _household_list(request: HttpRequest) -> tuple[Area, str, Any]:
    """The area, the list and the village asked for, each checked (404 when not there)."""
    area, _choices = chosen_area(request)
    kind = (request.GET.get("list") or "").strip()
    if kind not in lists.LISTS:
        raise Http404(UNKNOWN_LIST % {"list": kind})
    code = (request.GET.get("village") or "").strip()
    village = None
    if code:
        village = lists.village_in_area(area_prefix(area.code), code)
        if village is None:
            raise Http404(VILLAGE_NOT_FOUND % {"code": code})
    elif kind == lists.BEYOND:
        raise Http404(CHOOSE_VILLAGE)
    return area, kind, village


class CoverageHouseholdsView(LoginRequiredMixin, TemplateView):
    """The households behind a coverage figure, a page at a time (``coverage.lists``), with
    the head of household masked for roles that do not visit households; ``format=csv``
    gives every row."""

    template_name = "coverage/households.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.GET.get("format") == "csv":
            return self.csv(request)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = self.request
        area, kind, village = _household_list(request)
        number = _page_number(request)
        size = lists.PAGE_SIZE
        page = lists.household_page(
            kind,
            prefix=area_prefix(area.code),
            village=village.code if village else None,
            visible=can_see_personal_data(request.user),
            offset=(number - 1) * size,
            limit=size,
        )
        pages = max(1, -(-page.count // size))
        village_code = village.code if village else None

        def url(**extra: Any) -> str:
            return links.households_url(area.code, kind, village_code, **extra)

        context.update(
            area=area,
            kind=kind,
            title=lists.LISTS[kind],
            village=village,
            page=page,
            rows=[
                {
                    "row": row,
                    "distance": lists.distance_text(row, page.horizon_m)
                    if kind == lists.BEYOND
                    else "",
                    "grid_url": links.map_url(row.grid) if row.grid else None,
                }
                for row in page.rows
            ],
            number=number,
            pages=pages,
            first=(number - 1) * size + 1 if page.rows else 0,
            last=(number - 1) * size + len(page.rows),
            previous_url=url(page=number - 1) if number > 1 else None,
            next_url=url(page=number + 1) if number < pages else None,
            csv_url=url(format="csv"),
            coverage_url=f"{reverse('coverage')}?{urlencode({'area': area.code})}",
        )
        return context

    def csv(self, request: HttpRequest) -> HttpResponse:
        area, kind, village = _household_list(request)
        page = lists.household_page(
            kind,
            prefix=area_prefix(area.code),
            village=village.code if village else None,
            visible=can_see_personal_data(request.user),
            limit=None,
        )
        out = io.StringIO()
        out.write("\ufeff")  # Excel opens UTF-8 Chinese text correctly with a BOM
        writer = csv.writer(out)
        header = [_("Area"), _("Household"), _("Head of household"), _("Address"), _("Grid")]
        if kind == lists.BEYOND:
            header += [_("Distance (m)"), _("Method"), _("How far")]
        writer.writerow(safe_row(header))
        for row in page.rows:
            cells: list[Any] = [area.code, row.id, row.head_name, row.address, row.grid]
            if kind == lists.BEYOND:
                cells += [
                    "" if row.distance_m is None else round(row.distance_m),
                    export.display_field("method", row.method),
                    lists.distance_text(row, page.horizon_m),
                ]
            writer.writerow(safe_row(cells))
        name = f"coverage-{kind}-{village.code if village else area.code}.csv".replace("_", "-")
        response = HttpResponse(out.getvalue(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
