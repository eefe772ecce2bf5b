"""Pages of the care area: the household file (``/households/<key>/``) and the household
search (``/households/?q=``). Phone first, drawn by the server (data as text, no script)."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from . import household_file

SEARCH_PAGE_SIZE = 20


class HouseholdFileView(LoginRequiredMixin, View):
    """The household file (民情档案); 404 for a household outside the jurisdiction."""

    template_name = "presence/household_file.html"

    def get(self, request: HttpRequest, key: str) -> HttpResponse:
        household = household_file.household_for(request.user, key)
        if household is None:
            raise Http404(_("There is no such household in your jurisdiction."))
        context = {"file": household_file.household_file(request.user, household)}
        return render(request, self.template_name, context)


class HouseholdSearchView(LoginRequiredMixin, View):
    """Find a household by its number or a part of its address (three characters or more)."""

    template_name = "presence/household_search.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        q = request.GET.get("q", "").strip()
        page = None
        if q:
            qs = household_file.household_search(request.user, q)
            page = Paginator(qs, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            "q": q,
            "page": page,
            "rows": [household_file.search_row(h) for h in page.object_list] if page else [],
            "min_chars": household_file.SEARCH_MIN_CHARS,
        }
        return render(request, self.template_name, context)
