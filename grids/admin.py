from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

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
    list_display = ["name", "phone", "is_party_member", "user"]
    search_fields = ["name", "phone"]
    autocomplete_fields = ["user"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["worker", "role", "place", "period"]
    list_filter = ["role"]
    search_fields = ["worker__name", "grid__code", "village__code", "station__code"]
    autocomplete_fields = ["worker", "grid", "village", "station", "town"]
    list_select_related = ["worker", "grid", "village", "station", "town"]
