from typing import Any

from django.contrib import admin
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from gridmap import personal_data
from gridmap.admin import MSG_NO_GRID_HERE, JurisdictionAdminMixin
from gridmap.codes import covers
from gridmap.jurisdiction import prefixes_of

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
from .selectors import (
    ASSIGNMENT_PLACE_PATHS,
    WORKER_PLACE_PATHS,
    grid_at_point,
    with_household_figures,
    workers_within,
)
from .services import buildings_assign_grids


class DerivedGridMixin:
    """For records whose grid is derived from where they are (buildings, households), never
    typed in: a user limited to a jurisdiction may place one only inside a grid of it (the
    form says so), and the grid is derived on save as the importers derive it."""

    located_field = "location"

    def jurisdiction_errors(self, request: HttpRequest, obj: Any) -> list[str]:
        errors = super().jurisdiction_errors(request, obj)  # type: ignore[misc]
        prefixes = prefixes_of(request.user)
        where: GEOSGeometry | None = getattr(obj, self.located_field, None)
        if prefixes is None or where is None:
            return errors
        grid = grid_at_point(where.point_on_surface, queryset=Grid.objects.only("code"))
        if grid is None or not covers(prefixes, grid.code):
            errors.append(gettext(MSG_NO_GRID_HERE))
        return errors

    def assign_grid(self, obj: Any) -> None:
        """Derive the grid of ``obj`` from where it is (after it is saved)."""
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        self.assign_grid(obj)


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    """Boundary generations belong to every area at once: only superusers write them
    (``gridmap.admin.superuser_only_unless_scoped``)."""

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
class BuildingAdmin(DerivedGridMixin, JurisdictionAdminMixin, LeafletGeoAdmin):
    jurisdiction_code_path = "grid__code"
    located_field = "footprint"
    list_display = ["name", "grid", "floors"]
    list_filter = [town_filter("grid__code")]
    search_fields = ["name", "grid__code"]
    readonly_fields = ["grid"]
    list_select_related = ["grid"]

    def assign_grid(self, obj: Any) -> None:
        buildings_assign_grids(ids=[obj.pk])


@admin.register(ServiceCentre)
class ServiceCentreAdmin(JurisdictionAdminMixin, LeafletGeoAdmin):
    jurisdiction_code_path = "village__code"
    list_display = ["name", "village"]
    search_fields = ["name", "village__code", "village__name"]
    list_filter = [town_filter("village__code")]
    autocomplete_fields = ["village"]


class CatchmentInline(JurisdictionAdminMixin, admin.TabularInline):
    jurisdiction_code_path = "village__code"
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


class RoleAssignmentInline(JurisdictionAdminMixin, admin.TabularInline):
    """A worker's roles inside the user's jurisdiction. A user limited to a jurisdiction
    creates a worker together with a first role inside it: a worker with no role is in no
    area (``grids.selectors.workers_within``) and could not be reached again."""

    model = RoleAssignment
    jurisdiction_code_path = ASSIGNMENT_PLACE_PATHS
    extra = 0
    autocomplete_fields = ["grid", "village", "station", "town"]

    def get_min_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if obj is None and prefixes_of(request.user) is not None else 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)


# Actions on workers that apps above grids add (accounts: "create logins"), in their
# AppConfig.ready, since grids may not import them.
WORKER_ACTIONS: list[Any] = []


@admin.register(Worker)
class WorkerAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    """Workers. A worker who is a party member of a household (a central household) is a
    resident: their phone is their household's and goes through ``gridmap.personal_data``
    (masked for roles that do not visit households, each unmasked view logged). A role
    holder's phone is a work number, shown as it is. Phones are not searched here: a search
    box that answers "this number is someone's" is a way to read them."""

    # In a jurisdiction by their roles (grids.selectors.workers_within); the form has no
    # place of its own to check, the roles inline does.
    jurisdiction_code_path = WORKER_PLACE_PATHS
    jurisdiction_form_paths = ()
    search_fields = ["name"]
    autocomplete_fields = ["user"]
    inlines = [RoleAssignmentInline]
    actions = WORKER_ACTIONS

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        return workers_within(prefixes_of(request.user), qs)

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
class RoleAssignmentAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = ASSIGNMENT_PLACE_PATHS
    list_display = ["worker", "role", "place", "period"]
    list_filter = ["role"]
    search_fields = ["worker__name", "grid__code", "village__code", "station__code"]
    autocomplete_fields = ["worker", "grid", "village", "station", "town"]
    list_select_related = ["worker", "grid", "village", "station", "town"]
