"""Admin for incident categories (data: admins add categories and tiers) and incidents.

Incidents are reported through the API or the field page, which route them; the admin
shows them with their recorded routing and never changes it (routing is recorded, never
recomputed), so an incident cannot be added here and its routing fields are read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import JurisdictionAdminMixin, town_filter

from .models import (
    Category,
    CategoryResponder,
    Incident,
    IncidentPhoto,
    IncidentRecipient,
    IncidentReport,
    Notification,
)
from .routing import render_explanation


class CategoryResponderInline(admin.TabularInline):
    model = CategoryResponder
    extra = 1


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "default_severity", "is_active", "ordering"]
    list_editable = ["is_active", "ordering"]
    list_filter = ["is_active", "default_severity"]
    search_fields = ["code", "name_zh", "name_en"]
    inlines = [CategoryResponderInline]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IncidentRecipientInline(ReadOnlyInline):
    model = IncidentRecipient
    fields = ["kind", "responder", "role", "name", "phone", "worker"]


class IncidentReportInline(ReadOnlyInline):
    model = IncidentReport
    fields = ["reporter", "reported_at", "description", "client_uuid"]


ROUTING_FIELDS = [
    "generation",
    "grid",
    "village",
    "town",
    "place_code",
    "responsible_level",
    "routing_explanation",
]


@admin.register(Incident)
class IncidentAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "place_code"
    list_display = [
        "id",
        "category",
        "severity",
        "status",
        "place_code",
        "responsible_level",
        "reported_at",
    ]
    list_filter = [town_filter("place_code"), "status", "severity", "category", "responsible_level"]
    search_fields = ["=id", "place_code", "description"]
    date_hierarchy = "reported_at"
    list_select_related = ["category"]
    readonly_fields = [
        "location",
        "category",
        "severity",
        "reporter",
        "reported_at",
        *ROUTING_FIELDS,
    ]
    fields = ["status", "description", *readonly_fields]
    inlines = [IncidentRecipientInline, IncidentReportInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("routing explanation"))
    def routing_explanation(self, obj: Incident) -> str:
        return render_explanation(obj.explanation)


@admin.register(IncidentPhoto)
class IncidentPhotoAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "report__incident__place_code"
    list_display = ["id", "report", "content_type", "size"]
    raw_id_fields = ["report"]


@admin.register(Notification)
class NotificationAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "incident__place_code"
    list_display = ["id", "worker", "kind", "incident", "created_at", "read_at"]
    list_filter = ["kind"]
    raw_id_fields = ["worker", "incident", "ten_household_unit"]
    list_select_related = ["worker"]
