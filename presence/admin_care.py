"""Admin of the care area: care categories and key persons.

- ``CareCategory``: a district administrator sees the global categories (every district's
  defaults, presence migration 0002) and edits their own district's; a global category is
  edited by superusers only. A district's category with a global one's code takes its place
  for that district's households (``presence.care``).
- ``KeyPerson``: within the jurisdiction by the household's grid code; the person's name is
  masked (``王**``) for roles that do not visit households.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import JurisdictionAdminMixin, town_filter
from accounts.selectors import can_see_personal_data
from gridmap import personal_data

from .models import CareCategory, KeyPerson

MSG_GLOBAL_BY_SUPERUSERS = gettext_noop(
    "Only a superuser edits a category of every district: choose your district."
)


@admin.register(CareCategory)
class CareCategoryAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "district__code"
    list_display = ["name", "code", "visit_every_days", "visitor", "district", "active"]
    list_filter = ["visitor", "active"]
    search_fields = ["name", "code"]

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        """The user's districts' categories, and the global ones (to read and to choose)."""
        inside = super().jurisdiction_queryset(request, qs)
        if inside is qs:
            return qs
        return qs.filter(Q(pk__in=inside.values("pk")) | Q(district__isnull=True))

    def jurisdiction_errors(self, request: HttpRequest, obj: Any) -> list[str]:
        errors = super().jurisdiction_errors(request, obj)
        if obj.district_id is None and not request.user.is_superuser:
            errors.append(gettext(MSG_GLOBAL_BY_SUPERUSERS))
        return errors

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.district_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.district_id is None and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(KeyPerson)
class KeyPersonAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "household__grid__code"
    list_display = ["household", "category", "person", "since", "until"]
    # Only the categories of the key persons listed (a plain filter would name every
    # district's categories).
    list_filter = [
        ("category", admin.RelatedOnlyFieldListFilter),
        town_filter("household__grid__code"),
    ]
    search_fields = ["household__address", "household__code", "category__name"]
    raw_id_fields = ["household"]
    list_select_related = ["household", "category"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        """The person's name is personal data: left out of the form for roles that do not
        visit households (as households' ID numbers and phones are)."""
        if can_see_personal_data(request.user):
            return super().get_exclude(request, obj)
        return ("person_name",)

    @admin.display(description=_("person"))
    def person(self, obj: KeyPerson) -> str:
        if not obj.person_name:
            return ""
        personal_data.mark_answer()
        if personal_data.viewer_may_see():
            return obj.person_name
        return personal_data.mask_name(obj.person_name)
