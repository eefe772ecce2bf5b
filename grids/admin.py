from typing import Any

from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from gridmap import personal_data
from gridmap.admin import JurisdictionAdminMixin

from .admin_filters import town_filter
from .models import (
    Building,
    CatchmentAssignment,
    City,
    District,
    Generation,
    Grid,
    RoleAssignment,
    ServiceCentre,
    Station,
    Town,
    Village,
    Worker,
)
from .selectors import with_household_figures


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "description", "created_at"]


class BoundaryAdmin(JurisdictionAdminMixin, LeafletGeoAdmin):
    list_display = ["code", "name", "generation_low", "generation_high"]
    search_fields = ["code", "name"]
    list_select_related = ["generation_low", "generation_high"]
    ordering = ["code", "generation_low"]


@admin.register(City)
class CityAdmin(BoundaryAdmin):
    pass


@admin.register(District)
class DistrictAdmin(BoundaryAdmin):
    pass


@admin.register(Town)
class TownAdmin(BoundaryAdmin):
    list_display = [*BoundaryAdmin.list_display, "kind", "district"]
    list_filter = ["kind"]
    autocomplete_fields = ["district"]


class HouseholdFiguresMixin:
    """Household and population figures, derived from the households (never typed in)."""

    household_link = "grid"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)  # type: ignore[misc]
        return with_household_figures(qs, self.household_link)

    @admin.display(description=_("households"), ordering="household_count")
    def household_count(self, obj: Any) -> int:
        return obj.household_count

    @admin.display(description=_("population"), ordering="population")
    def population(self, obj: Any) -> int:
        return obj.population


@admin.register(Village)
class VillageAdmin(HouseholdFiguresMixin, BoundaryAdmin):
    household_link = "grid__village"
    list_display = [*BoundaryAdmin.list_display, "kind", "town", "household_count", "population"]
    list_filter = [town_filter("code"), "kind"]
    autocomplete_fields = ["town"]


@admin.register(Grid)
class GridAdmin(HouseholdFiguresMixin, BoundaryAdmin):
    list_display = [*BoundaryAdmin.list_display, "village", "household_count", "population"]
    list_filter = [town_filter("code")]
    autocomplete_fields = ["village"]


@admin.register(Building)
class BuildingAdmin(JurisdictionAdminMixin, LeafletGeoAdmin):
    jurisdiction_code_path = "grid__code"
    list_display = ["name", "grid", "floors"]
    list_filter = [town_filter("grid__code")]
    search_fields = ["name", "grid__code"]
    readonly_fields = ["grid"]
    list_select_related = ["grid"]


@admin.register(ServiceCentre)
class ServiceCentreAdmin(JurisdictionAdminMixin, LeafletGeoAdmin):
    jurisdiction_code_path = "village__code"
    list_display = ["name", "village"]
    search_fields = ["name", "village__code", "village__name"]
    list_filter = [town_filter("village__code")]
    autocomplete_fields = ["village"]


class CatchmentInline(admin.TabularInline):
    model = CatchmentAssignment
    extra = 0
    autocomplete_fields = ["village"]


@admin.register(Station)
class StationAdmin(JurisdictionAdminMixin, LeafletGeoAdmin):
    jurisdiction_code_path = "town__code"
    list_display = ["code", "name", "town"]
    search_fields = ["code", "name"]
    list_filter = [town_filter("town__code")]
    autocomplete_fields = ["town"]
    inlines = [CatchmentInline]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """Workers. A worker who is a party member of a household (a central household) is a
    resident: their phone is their household's and goes through ``gridmap.personal_data``
    (masked for roles that do not visit households, each unmasked view logged). A role
    holder's phone is a work number, shown as it is. Phones are not searched here: a search
    box that answers "this number is someone's" is a way to read them."""

    search_fields = ["name"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The household of the worker's party member, by the reverse relation's name
        # (households lies above grids): not null means a resident.
        return (
            super()
            .get_queryset(request)
            .annotate(
                resident_household=F("party_member__household_id"),
                resident_code=F("party_member__household__grid__code"),
            )
        )

    def _phone(self, request: HttpRequest) -> Any:
        visible = personal_data.may_see(request.user)

        @admin.display(description=_("phone"))
        def phone(obj: Worker) -> str:
            if getattr(obj, "resident_household", None) is None:
                return obj.phone
            return personal_data.show(
                obj.phone,
                kind=personal_data.PHONE,
                visible=visible,
                record_type="worker",
                record_id=obj.pk,
                code=obj.resident_code,
            )

        return phone

    def get_list_display(self, request: HttpRequest) -> Any:
        return ["name", self._phone(request), "is_party_member", "user"]

    def _masked(self, request: HttpRequest, obj: Worker | None) -> bool:
        return (
            obj is not None
            and getattr(obj, "resident_household", None) is not None
            and not personal_data.may_see(request.user)
        )

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        if self._masked(request, obj):
            return ["phone"]
        return super().get_exclude(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if self._masked(request, obj):
            fields.append("masked_phone")
        return fields

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Worker) -> str:
        """The form's read-only phone, for the viewers ``_masked`` says may not see it."""
        return personal_data.show(
            obj.phone,
            kind=personal_data.PHONE,
            visible=False,
            record_type="worker",
            record_id=obj.pk,
            code=getattr(obj, "resident_code", None),
        )

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is not None and getattr(obj, "resident_household", None) is not None:
            # Shown in the form: masked (read-only) or, for a role that visits, logged.
            self._phone(request)(obj)
        return super().get_form(request, obj, **kwargs)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["worker", "role", "place", "period"]
    list_filter = ["role"]
    search_fields = ["worker__name", "grid__code", "village__code", "station__code"]
    autocomplete_fields = ["worker", "grid", "village", "station", "town"]
    list_select_related = ["worker", "grid", "village", "station", "town"]
