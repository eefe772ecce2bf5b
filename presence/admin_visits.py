"""Admin of field presence: visits, with their households, photos and requests inline, within
the user's jurisdiction (a visit's ``place_code``).

Visits are logged by ``presence.visits.log_visit`` (the phone, the API): the admin does not
add them, and changes only what a worker may correct afterwards (notes, follow-up); where
it was, whom it visited, its photos and the cases its requests became stay as logged.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import JurisdictionAdminMixin, ViewOnlyAdminMixin, town_filter

from .models import Visit, VisitHousehold, VisitPhoto, VisitRequest


class _ReadOnlyInline(ViewOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class VisitHouseholdInline(_ReadOnlyInline):
    model = VisitHousehold
    fields = ["household"]
    readonly_fields = ["household"]


class VisitPhotoInline(_ReadOnlyInline):
    model = VisitPhoto
    fields = ["shown", "content_type", "size"]
    readonly_fields = ["shown", "content_type", "size"]

    @admin.display(description=_("photo"))
    def shown(self, obj: VisitPhoto) -> str:
        # Through the jurisdiction check, never the media directory.
        url = reverse("visit-photo", kwargs={"pk": obj.visit_id, "photo": obj.pk})
        return format_html('<a href="{}">{}</a>', url, _("open"))


class VisitRequestInline(_ReadOnlyInline):
    model = VisitRequest
    fields = ["text", "household", "incident"]
    readonly_fields = ["text", "household", "incident"]


@admin.register(Visit)
class VisitAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "place_code"
    list_display = ["at", "worker", "kind", "place_code", "follow_up_due", "follow_up_done_at"]
    list_filter = ["kind", town_filter("place_code")]
    list_select_related = ["worker"]
    search_fields = ["place_code", "notes"]
    date_hierarchy = "at"
    ordering = ["-at"]
    fields = [
        "worker", "kind", "at", "received_at", "grid", "place_code", "attendees", "notes",
        "follow_up", "follow_up_due", "follow_up_done_at", "client_uuid",
    ]  # fmt: skip
    readonly_fields = [
        "worker", "kind", "at", "received_at", "grid", "place_code", "client_uuid",
    ]  # fmt: skip
    inlines = [VisitHouseholdInline, VisitRequestInline, VisitPhotoInline]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
