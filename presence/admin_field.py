"""Admin of field presence, the field area: sign-ins and patrols, read-only (written only by
the phone through ``presence.signins`` and ``presence.patrols``), within the jurisdiction by
the record's ``place_code``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import JurisdictionAdminMixin, ViewOnlyAdminMixin, town_filter

from .models import Patrol, SignIn


class FieldRecordAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "place_code"
    list_select_related = ["worker"]
    search_fields = ["place_code", "worker__name"]


@admin.register(SignIn)
class SignInAdmin(FieldRecordAdmin):
    date_hierarchy = "day"
    list_display = ["worker", "day", "half", "at", "verdict", "place_code", "distance_m", "note"]
    list_filter = ["verdict", "half", "place_level", town_filter("place_code")]
    exclude = ["location"]
    readonly_fields = ["location_text"]

    @admin.display(description=_("position"))
    def location_text(self, obj: SignIn) -> str:
        return f"{obj.location.x:.6f}, {obj.location.y:.6f}"


@admin.register(Patrol)
class PatrolAdmin(FieldRecordAdmin):
    date_hierarchy = "day"
    list_display = [
        "worker", "day", "started_at", "ended_at", "length_m", "place_code",
        "points_received", "points_dropped",
    ]  # fmt: skip
    list_filter = [town_filter("place_code")]
    exclude = ["track", "offsets", "grid"]
