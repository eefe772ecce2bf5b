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
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import JurisdictionAdminMixin, town_filter
from accounts.selectors import can_see_personal_data
from gridmap import personal_data

from .admin_duty import DistrictDataAdmin
from .models import CareCategory, KeyPerson


@admin.register(CareCategory)
class CareCategoryAdmin(DistrictDataAdmin):
    """A district administrator reads the categories of every district and edits their own
    district's (``DistrictDataAdmin``, as presence rules and the weekly schedule)."""

    list_display = ["name", "code", "visit_every_days", "visitor", "district", "active"]
    list_filter = ["visitor", "active"]
    search_fields = ["name", "code"]


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
