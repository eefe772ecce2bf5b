"""Planning in the admin, limited to the user's jurisdiction.

Plans, their stations, assignments and changes are written only by ``planning.services``
(through the editor and the API, where the rules are checked and every change is logged), so
here they are shown, never edited. ``AllowedLink`` is the one thing planners configure here:
a bridge or a ferry that makes two villages count as adjacent for contiguity.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import JurisdictionAdminMixin, ViewOnlyAdminMixin, town_filter
from accounts.selectors import jurisdiction_prefixes
from gridmap.admin import ReadOnlyInline
from gridmap.codes import covers
from grids.models import Village

from .models import AllowedLink, Plan, PlanChange, PlanStation, TravelTime


class PlanStationInline(ReadOnlyInline):
    model = PlanStation
    fields = ["code", "name", "town_code", "station", "locked", "retired"]
    ordering = ["code"]


class PlanChangeInline(ReadOnlyInline):
    model = PlanChange
    fields = [
        "seq",
        "batch",
        "kind",
        "action",
        "village_code",
        "from_station",
        "to_station",
        "station",
        "override_reason",
        "undone",
        "discarded",
        "at",
        "by",
    ]
    ordering = ["-seq"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return (
            super()
            .get_queryset(request)
            .select_related("from_station", "to_station", "station", "by")
        )


@admin.register(Plan)
class PlanAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "area_code"
    list_display = [
        "name",
        "area_code",
        "status",
        "base_date",
        "effective_from",
        "author",
        "created_at",
        "editor_link",
    ]
    list_filter = ["status", town_filter("area_code")]
    list_select_related = ["author"]
    search_fields = ["name", "area_code"]
    date_hierarchy = "created_at"
    inlines = [PlanStationInline, PlanChangeInline]

    @admin.display(description=_("editor"))
    def editor_link(self, plan: Plan) -> str:
        return format_html('<a href="{}">{}</a>', reverse("plan-editor", args=[plan.pk]), _("open"))


@admin.register(PlanChange)
class PlanChangeAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "plan__area_code"
    list_display = [
        "plan",
        "seq",
        "batch",
        "kind",
        "action",
        "village_code",
        "from_station",
        "to_station",
        "override_reason",
        "undone",
        "at",
        "by",
    ]
    list_filter = ["kind", "undone", town_filter("plan__area_code")]
    list_select_related = ["plan", "from_station", "to_station", "by"]
    search_fields = ["village_code", "override_reason", "plan__name"]
    date_hierarchy = "at"


class AllowedLinkForm(forms.ModelForm):
    """Two current villages of the user's jurisdiction, in either order; stored with the
    smaller code first (the database requires it)."""

    prefixes: list[str] | None = None  # set per request by AllowedLinkAdmin.get_form

    class Meta:
        model = AllowedLink
        fields = ["village_a", "village_b", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        a, b = (data.get("village_a") or "").strip(), (data.get("village_b") or "").strip()
        if not (a and b):
            return data
        if a == b:
            raise ValidationError(_("A village is always adjacent to itself: pick two."))
        known = set(
            Village.objects.current().filter(code__in=[a, b]).values_list("code", flat=True)
        )
        for field, code in (("village_a", a), ("village_b", b)):
            inside = covers(self.prefixes, code)
            if code not in known or not inside:
                self.add_error(
                    field, _("There is no village %(code)s in your jurisdiction.") % {"code": code}
                )
        data["village_a"], data["village_b"] = sorted((a, b))
        return data


@admin.register(AllowedLink)
class AllowedLinkAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    """Bridges and ferries: village pairs that count as adjacent in every plan."""

    jurisdiction_code_path = "village_a"
    form = AllowedLinkForm
    list_display = ["village_a", "village_b", "note"]
    list_filter = [town_filter("village_a")]
    search_fields = ["village_a", "village_b", "note"]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        form.prefixes = jurisdiction_prefixes(request.user)
        return form


@admin.register(TravelTime)
class TravelTimeAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "village_code"
    list_display = ["village_code", "location_key", "minutes", "metres", "method", "computed_at"]
    list_filter = ["method", town_filter("village_code")]
    search_fields = ["village_code", "location_key"]

    @admin.display(description=_("minutes"), ordering="seconds")
    def minutes(self, row: TravelTime) -> str:
        return f"{row.seconds / 60:.1f}"
