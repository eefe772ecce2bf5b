"""Pages of planning (issue 6): the planner's plans, the editor, the comparison.

- ``/plans/``: the plans of the user's jurisdiction, and a form that creates one (a town or
  district the user may plan, a base date).
- ``/plans/<id>/``: the editor. The page is a shell: planning.js reads the plan from
  ``GET /api/plans/<id>/`` and its villages from ``GET /api/plans/<id>/villages/``, and each
  edit is one call of the planning API, which answers with the plan as it now is. A published
  plan, or one the user may see but not plan, is shown read-only.
- ``/plans/<id>/compare/?with=published|<id>``: the villages whose station differs, on a map
  and in a table.

UI text reaches the script through ``editor_strings`` (rendered with ``json_script``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views import View
from django.views.generic import TemplateView
from rest_framework.exceptions import NotFound

from accounts.selectors import jurisdiction_prefixes
from gridmap import jurisdiction
from gridmap.codes import Level, code_at
from grids.models import District, Town

from . import api, selectors, services
from .models import Plan


# --- the list and the creation form ------------------------------------------------------------
def plannable_areas(user: Any) -> list[tuple[str, Any]]:
    """Choices of the districts and towns the user may plan, grouped by district: the whole
    district first (when the user may plan it), then its towns."""
    districts, towns = District.objects.current(), Town.objects.current()
    prefixes = jurisdiction_prefixes(user)
    inside = jurisdiction.scope_q(prefixes)
    if inside is not None:
        towns = towns.filter(inside)
        ancestors = {code_at(Level.COUNTY, p) for p in prefixes}
        districts = districts.filter(inside | Q(code__in=ancestors))
    names = dict(districts.order_by("code").values_list("code", "name"))
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name in towns.order_by("code").values_list("code", "name"):
        if services.may_plan(user, code):
            groups.setdefault(code_at(Level.COUNTY, code), []).append((code, f"{name} ({code})"))
    out: list[tuple[str, Any]] = []
    for district in sorted(set(groups) | set(names)):
        options = []
        if district in names and services.may_plan(user, district):
            whole = _("Whole district: %(name)s (%(code)s)") % {
                "name": names[district],
                "code": district,
            }
            options.append((district, whole))
        options.extend(groups.get(district, []))
        if options:
            out.append((names.get(district, district), options))
    return out


class PlanCreateForm(forms.Form):
    name = forms.CharField(
        label=pgettext_lazy("plan", "Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("For example: Catchments 2026"),
    )
    area_code = forms.ChoiceField(label=gettext_lazy("Town or district"))
    base_date = forms.DateField(
        label=gettext_lazy("Start from the assignment of"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("The published catchments of this day are the plan's start."),
    )

    def __init__(self, *args: Any, areas: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area_code"].choices = areas
        self.fields["base_date"].initial = timezone.localdate()


class PlanListView(LoginRequiredMixin, View):
    """``GET``: the plans and the creation form; ``POST``: create a plan and open it."""

    template_name = "planning/plans.html"

    def areas(self, request: HttpRequest) -> list[tuple[str, Any]]:
        return plannable_areas(request.user)

    def get(self, request: HttpRequest) -> HttpResponse:
        areas = self.areas(request)
        return self.render(request, PlanCreateForm(areas=areas), areas)

    def post(self, request: HttpRequest) -> HttpResponse:
        areas = self.areas(request)
        form = PlanCreateForm(request.POST, areas=areas)
        if form.is_valid():
            try:
                plan = services.plan_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    area_code=form.cleaned_data["area_code"],
                    base_date=form.cleaned_data["base_date"],
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                return HttpResponseRedirect(reverse("plan-editor", args=[plan.pk]))
        return self.render(request, form, areas, status=400)

    def render(
        self, request: HttpRequest, form: PlanCreateForm, areas: list, status: int = 200
    ) -> HttpResponse:
        plans = list(selectors.plan_rows(request.user))
        drafts = [p for p in plans if p.status == Plan.Status.DRAFT]
        published = [p for p in plans if p.status == Plan.Status.PUBLISHED]
        context = {
            "form": form,
            "may_create": bool(areas),
            "drafts": drafts,
            "published": published,
        }
        return render(request, self.template_name, context, status=status)


# --- the editor -------------------------------------------------------------------------------
def editor_strings() -> dict[str, str]:
    """The editor script's text in the active language. ``%(name)s`` placeholders are
    filled in by planning.js."""
    return {
        "loading": _("Loading the plan…"),
        "saving": _("Saving…"),
        "networkError": _("The server did not answer. Check the connection and try again."),
        "loadError": _("Could not load the plan: %(detail)s"),
        "refusedTitle": _("The change was refused"),
        "refusedFinal": _("This cannot be overridden: unlock or restore the station first."),
        "overrideLabel": _("Override with a reason"),
        "overrideHelp": _("The reason is kept with the change in the plan's history."),
        "overrideApply": _("Apply with this reason"),
        "overrideNeedReason": _("Write the reason first."),
        "dismiss": _("Dismiss"),
        "cancel": _("Cancel"),
        "confirm": _("Confirm"),
        "selectStationFirst": _("Select a station in the list (or its marker) first."),
        "selected": _("Selected: %(name)s. Click villages to move them to it."),
        "selectedBrush": _("Selected: %(name)s. Hold the button and paint over villages."),
        "noSelection": _("Select a station, then click a village to move it to that station."),
        "readOnly": _("Read-only"),
        "readOnlyHelp": _("You may view this plan, but not plan this area."),
        "moved": _("%(village)s moved to %(station)s."),
        "movedMany": _("%(count)s villages moved to %(station)s."),
        "nothingChanged": _("Nothing changed."),
        "undone": _("Undone."),
        "redone": _("Redone."),
        "station": _("Station"),
        "households": _("Households"),
        "unassigned": _("No station"),
        "villages": _("Villages"),
        "population": _("Population"),
        "partyMembers": _("Party members"),
        "longest": _("Longest"),
        "p95": _("P95"),
        "minutes": _("%(value)s min"),
        "estimatedTitle": _("≈: some villages have no road route; the time is estimated."),
        "contiguous": _("Contiguous"),
        "pieces": _("%(count)s pieces"),
        "locked": _("Locked"),
        "retired": _("Retired"),
        "newStation": _("New"),
        "lock": _("Lock"),
        "unlock": _("Unlock"),
        "lockTitle": _("A locked station's villages do not change."),
        "retire": _("Retire"),
        "retireTitle": _("Retire %(name)s"),
        "retireAsk": _("Retire station %(name)s in this plan?"),
        "retireHolds": _(
            "It holds %(count)s villages; they will be left without a station. Why retire it?"
        ),
        "moveAsk": _("Move station %(name)s to the marker's new place?"),
        "moveMode": _("Drag a station marker to its new place, then confirm."),
        "addMode": _("Click the map where the new station stands."),
        "addName": _("Name of the new station"),
        "addAsk": _("Add a station here"),
        "added": _("Station %(name)s added."),
        "solving": _("The solver is working… (up to %(seconds)s s)"),
        "proposeDone": _("Proposal applied: %(count)s villages changed."),
        "repairDone": _("Repair applied: %(count)s villages changed."),
        "solverNothing": _("The solver found no plan; nothing was changed."),
        "solverSame": _("The solver found nothing better: no village changed."),
        "meanTravel": _("Household-weighted mean travel time"),
        "villagesMoved": _("Villages moved"),
        "changedFromPublished": _("Different from the published assignment"),
        "constraintsMet": _("Rules kept"),
        "timeTaken": _("Time taken"),
        "seconds": _("%(value)s s"),
        "status": _("Status"),
        "statusOptimal": _("best possible"),
        "statusFeasible": _("good, not proved best (time limit)"),
        "statusInfeasible": _("no plan keeps every rule"),
        "statusUnknown": _("no plan found in time"),
        "allAssigned": _("Every village has a station"),
        "ownTown": _("Stations take villages of their own town"),
        "sizes": _("3 to 7 villages per station"),
        "contiguity": _("Catchments contiguous"),
        "lockedKept": _("Locked stations kept"),
        "yes": _("yes"),
        "noViolations": _("The plan keeps every rule."),
        "violationsCount": _("Problems: %(count)s"),
        "importDone": _("Imported: %(count)s villages changed."),
        "importChoose": _("Choose a CSV file first."),
        "published": _("Published. In force from %(date)s."),
        "publishNeedsReason": _("The plan breaks rules: write why it is published anyway."),
        "publishAsk": _("Publish this plan from %(date)s? It becomes the assignment in force."),
        "historyEmpty": _("No changes yet."),
        "undoneTag": _("undone"),
        "override": _("reason: %(reason)s"),
    }


def editor_config(plan: Plan) -> dict[str, Any]:
    pk = plan.pk

    def station_url(name: str) -> str:
        return reverse(name, kwargs={"pk": pk, "code": "CODE"})

    return {
        "plan": pk,
        "detailUrl": reverse("api-plan-detail", args=[pk]),
        "villagesUrl": reverse("api-plan-villages", args=[pk]),
        "assignUrl": reverse("api-plan-assign", args=[pk]),
        "undoUrl": reverse("api-plan-undo", args=[pk]),
        "redoUrl": reverse("api-plan-redo", args=[pk]),
        "stationAddUrl": reverse("api-plan-station-add", args=[pk]),
        # "CODE" is a placeholder planning.js replaces with a station code.
        "stationMoveUrl": station_url("api-plan-station-move"),
        "stationRetireUrl": station_url("api-plan-station-retire"),
        "stationLockUrl": station_url("api-plan-station-lock"),
        "solveUrl": reverse("api-plan-solve", args=[pk]),
        "publishUrl": reverse("api-plan-publish", args=[pk]),
        "importUrl": reverse("api-plan-import-csv", args=[pk]),
        "solverSeconds": 8,
        "today": timezone.localdate().isoformat(),
        "hasBasemap": bool(settings.LEAFLET_CONFIG.get("TILES")),
    }


def visible_plan(request: HttpRequest, pk: int) -> Plan:
    plan = selectors.visible_plan_of(request.user, pk)
    if plan is None:
        raise Http404(_(api.MSG_UNKNOWN_PLAN) % {"id": pk})
    return plan


class PlanEditorView(LoginRequiredMixin, TemplateView):
    """The editor of a plan (read-only when published or not the user's to plan)."""

    template_name = "planning/editor.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        plan = visible_plan(self.request, kwargs["pk"])
        editable = plan.status == Plan.Status.DRAFT and services.may_plan(
            self.request.user, plan.area_code
        )
        context.update(
            plan=plan,
            editable=editable,
            links=api.plan_links(plan),
            today=timezone.localdate(),
            page_strings=editor_strings(),
            page_config=editor_config(plan),
        )
        return context


# --- the comparison ---------------------------------------------------------------------------
def compare_strings() -> dict[str, str]:
    return {
        "networkError": _("The server did not answer. Check the connection and try again."),
        "loadError": _("Could not load the villages: %(detail)s"),
        "unchanged": _("Unchanged: %(station)s"),
        "change": _("%(from)s → %(to)s"),
        "unassigned": _("No station"),
    }


class PlanCompareView(LoginRequiredMixin, TemplateView):
    """The villages whose station differs between the plan and the published assignment or
    another plan of the same area."""

    template_name = "planning/compare.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        plan = visible_plan(self.request, kwargs["pk"])
        raw = (self.request.GET.get("with") or "published").strip()
        try:
            other = api.other_plan(self.request, plan, raw)
        except (api.Invalid, NotFound):
            raise Http404(_(api.MSG_UNKNOWN_PLAN) % {"id": raw}) from None
        diff = api.diff_body(plan, other)
        colours = api.station_colours(plan)
        for row in diff["villages"]:
            row["colour"] = colours.get(row["to_station"], "")
        others = (
            selectors.plans_visible_to(self.request.user)
            .filter(area_code=plan.area_code)
            .exclude(pk=plan.pk)
            .order_by("-created_at", "-id")
            .values("pk", "name", "status", "effective_from")
        )
        context.update(
            plan=plan,
            other=other,
            chosen="published" if other is None else str(other.pk),
            others=list(others),
            diff=diff,
            links=api.plan_links(plan),
            page_strings=compare_strings(),
            page_config={
                "villagesUrl": reverse("api-plan-villages", args=[plan.pk]),
                "colours": colours,
                "diff": {
                    row["village_code"]: {
                        "from": row["from_station"],
                        "from_name": row["from_station_name"],
                        "to": row["to_station"],
                        "to_name": row["to_station_name"],
                        "colour": row["colour"],
                    }
                    for row in diff["villages"]
                },
                "hasBasemap": bool(settings.LEAFLET_CONFIG.get("TILES")),
            },
        )
        return context
