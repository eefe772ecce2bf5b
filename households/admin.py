from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from accounts.admin_mixins import JurisdictionAdminMixin, town_filter
from accounts.selectors import can_see_personal_data
from gridmap import personal_data
from gridmap.messages import render_messages
from grids.admin import DerivedGridMixin

from .models import CentralHousehold, Household, PartyBranch, PartyMember, TenHouseholdUnit
from .selectors import households_by_number_q
from .services import households_assign_grids

PERSONAL_FIELDS = ("id_number", "phone")


@admin.register(Household)
class HouseholdAdmin(DerivedGridMixin, JurisdictionAdminMixin, LeafletGeoAdmin):
    """Households. ID number and phone: excluded from the form for roles that do not visit
    households; shown (and logged, ``gridmap.personal_data``) for those that do. The search box
    finds an exact ID number or phone through the keyed hashes (the columns are encrypted), for
    the roles that see them (as before encryption: for others it would confirm a number)."""

    jurisdiction_code_path = "grid__code"
    list_display = ["address", "head_name", "size", "grid", "tags"]
    list_filter = [town_filter("grid__code")]
    search_fields = ["address", "head_name", "grid__code"]
    readonly_fields = ["grid"]
    raw_id_fields = ["building", "ten_household_unit"]
    list_select_related = ["grid"]

    def assign_grid(self, obj: Household) -> None:
        households_assign_grids(ids=[obj.pk])

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        if can_see_personal_data(request.user):
            return super().get_exclude(request, obj)
        return PERSONAL_FIELDS

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        qs, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip() and can_see_personal_data(request.user):
            qs |= queryset.filter(households_by_number_q(search_term))
        return qs, may_have_duplicates

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is not None and can_see_personal_data(request.user):
            code = obj.grid.code if obj.grid is not None else None
            for kind in personal_data.FIELDS:
                personal_data.show(
                    getattr(obj, kind),
                    kind=kind,
                    visible=True,
                    record_type="household",
                    record_id=obj.pk,
                    code=code,
                )
        return super().get_form(request, obj, **kwargs)


@admin.register(TenHouseholdUnit)
class TenHouseholdUnitAdmin(JurisdictionAdminMixin, LeafletGeoAdmin):
    jurisdiction_code_path = "grid__code"
    list_display = ["name", "grid", "head_household", "central_household", "warnings_text"]
    list_filter = [town_filter("grid__code")]
    search_fields = ["name", "grid__code"]
    raw_id_fields = ["head_household", "central_household"]
    readonly_fields = ["grid", "warnings_text"]
    exclude = ["warnings"]

    @admin.display(description=_("warnings"))
    def warnings_text(self, obj: TenHouseholdUnit) -> str:
        """The saved-with-warning conditions, in the admin user's language."""
        return " ".join(render_messages(obj.warnings)) or "-"


@admin.register(PartyBranch)
class PartyBranchAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "village__code"
    list_display = ["name", "village"]
    ordering = ["village__code", "name"]
    search_fields = ["name", "village__code"]
    autocomplete_fields = ["village"]


@admin.register(PartyMember)
class PartyMemberAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "household__grid__code"
    list_display = ["name", "branch", "household"]
    search_fields = ["name"]
    raw_id_fields = ["household"]
    autocomplete_fields = ["branch"]


@admin.register(CentralHousehold)
class CentralHouseholdAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "household__grid__code"
    list_display = ["party_member", "household", "designated_on"]
    raw_id_fields = ["household", "party_member"]
