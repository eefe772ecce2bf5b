"""Admin of field presence, the duty area: duty shifts (within the jurisdiction), the presence
rules and the weekly schedule (district administrators edit their district's rows and read
the global ones; superusers edit the global ones).

Shifts are added on the roster page (``/duty/``) through ``presence.duty``, which also keeps a
town's on-duty officer in step: here they are listed, and removed through the same service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop

from gridmap.admin import JurisdictionAdminMixin
from gridmap.jurisdiction import prefixes_of

from . import duty
from .models import DutyShift, PresenceRule, ScheduleDay

MSG_DISTRICT_REQUIRED = gettext_noop(
    "Choose a district: only a superuser changes what holds in every district."
)


@admin.register(DutyShift)
class DutyShiftAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = ("village__code", "station__code", "town__code")
    list_display = ("date", "span", "worker", "village", "station", "town", "note")
    list_filter = ("span",)
    date_hierarchy = "date"
    search_fields = ("village__code", "station__code", "town__code", "note")
    list_select_related = ("worker", "village", "station", "town")
    raw_id_fields = ("worker", "village", "station", "town", "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return super().has_delete_permission(request, obj)
        return super().has_delete_permission(request, obj) and duty.may_edit_roster(
            request.user, obj.place
        )

    def delete_model(self, request: HttpRequest, obj: DutyShift) -> None:
        duty.remove_shift(actor=request.user, shift=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The bulk action: each shift through the service; one it refuses (a place the user
        may not edit) is named in a message, the others are removed."""
        for shift in queryset.select_related("worker", "village", "station", "town"):
            try:
                duty.remove_shift(actor=request.user, shift=shift)
            except duty.DutyRefused as refused:
                self.message_user(request, f"{shift}: {refused.message}", messages.ERROR)


class DistrictDataAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    """Data per district (``district`` empty: every district): a district administrator
    reads the global rows and edits their district's; a superuser edits all."""

    jurisdiction_code_path = "district__code"

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        q = self.jurisdiction_q(prefixes_of(request.user))
        if q is None:
            return qs
        return qs.filter(q | Q(district__isnull=True))

    def _global(self, request: HttpRequest, obj: Any) -> bool:
        return obj is not None and obj.district_id is None and not request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not self._global(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._global(request, obj)

    def jurisdiction_errors(self, request: HttpRequest, obj: Any) -> list[str]:
        errors = super().jurisdiction_errors(request, obj)
        if obj.district_id is None and prefixes_of(request.user) is not None:
            errors.append(gettext(MSG_DISTRICT_REQUIRED))
        return errors


@admin.register(PresenceRule)
class PresenceRuleAdmin(DistrictDataAdmin):
    list_display = ("role", "kind", "minimum", "district", "active")
    list_filter = ("kind", "role", "active")
    raw_id_fields = ("district",)


@admin.register(ScheduleDay)
class ScheduleDayAdmin(DistrictDataAdmin):
    list_display = ("role", "weekday", "activity", "in_place", "district")
    list_filter = ("role", "activity")
    raw_id_fields = ("district",)
