"""Admin of the service desk: the catalogue (edited), requests and their history (read).

- ``ServiceItem``: a district administrator reads the global items (every district's) and
  edits their own district's (``presence.admin_duty.DistrictDataAdmin``, as care categories);
  a global item is edited by superusers only. A district's item with a global item's code
  takes its place in that district (``servicedesk.catalogue.district_items``). Items also come
  from a spreadsheet (``manage.py import_records service_items``).
- ``ServiceRequest``, ``ServiceRequestEvent``, ``ServiceStep``: read-only (written by the
  engine's actions only), within the jurisdiction by the request's ``place_code``; the
  applicant's name and phone are left out.
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_mixins import JurisdictionAdminMixin, ViewOnlyAdminMixin, town_filter
from presence.admin_duty import DistrictDataAdmin

from .models import ServiceItem, ServiceRequest, ServiceRequestEvent, ServiceStep


@admin.register(ServiceItem)
class ServiceItemAdmin(DistrictDataAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "approving_level",
        "promised_days",
        "at_village",
        "district",
        "active",
    ]
    list_filter = ["kind", "approving_level", "at_village", "active"]
    search_fields = ["code", "name", "office"]
    raw_id_fields = ["district"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "approving_level", "office", "district"]}),
        (None, {"fields": ["conditions", "materials", "steps", "fees", "legal_basis"]}),
        (None, {"fields": ["promised_days", "at_village", "active", "sort_order"]}),
    ]


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    """Requests, read-only; their pages are the desk's (``/services/``)."""

    jurisdiction_code_path = "place_code"
    list_display = ["short_code", "item", "village", "status", "owner_level", "reported_at"]
    list_filter = [town_filter("place_code"), "status", "channel"]
    search_fields = ["=short_code", "place_code"]
    date_hierarchy = "reported_at"
    list_select_related = ["item", "village"]
    # Personal data (the applicant) stays on the desk's pages, masked there as households are.
    exclude = ["applicant_name", "applicant_phone", "client_uuid"]


@admin.register(ServiceRequestEvent)
class ServiceRequestEventAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    """The history of requests, read-only (append-only: ``cases.history``)."""

    jurisdiction_code_path = "request__place_code"
    list_display = ["request", "seq", "action", "actor_name", "at", "from_status", "to_status"]
    list_filter = ["action", "to_status"]
    search_fields = ["=request__short_code"]
    raw_id_fields = ["request", "actor"]
    list_select_related = ["request"]


@admin.register(ServiceStep)
class ServiceStepAdmin(ViewOnlyAdminMixin, JurisdictionAdminMixin, admin.ModelAdmin):
    """Hand-offs to town and county offices, read-only (written by ``hand_off``)."""

    jurisdiction_code_path = "request__place_code"
    list_display = ["request", "number", "office", "level", "handed_at", "promised_on", "back_at"]
    raw_id_fields = ["request"]
    list_select_related = ["request"]
