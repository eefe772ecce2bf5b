from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.admin_mixins import JurisdictionAdminMixin
from accounts.selectors import jurisdiction_prefixes

from .deliveries import channels
from .models import Delivery, Notification

# The entries a jurisdiction-limited admin user may see are those whose subject lies in their
# jurisdiction. The inbox cannot know where a subject lies; the app that owns a kind of subject
# registers, per ``subject_type``, a function from the user to a queryset of the ids of the
# subjects in their jurisdiction (``incidents/admin.py`` registers ``"incident"``). Entries
# about an unregistered kind of subject are shown to unlimited users only.
SubjectScope = Callable[[Any], QuerySet]
SUBJECT_SCOPES: dict[str, SubjectScope] = {}


def register_subject_scope(subject_type: str, ids_in_scope: SubjectScope) -> None:
    SUBJECT_SCOPES[subject_type] = ids_in_scope


def subjects_in_scope(request: HttpRequest) -> Q | None:
    """The entries a user may see in the admin (None: all of them)."""
    if jurisdiction_prefixes(request.user) is None:
        return None
    visible = Q(pk__in=[])
    for subject_type, ids_in_scope in SUBJECT_SCOPES.items():
        visible |= Q(subject_type=subject_type, subject_id__in=ids_in_scope(request.user))
    return visible


@admin.register(Notification)
class NotificationAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_form_paths = ()
    list_display = ["id", "worker", "kind", "subject_type", "subject_id", "created_at", "read_at"]
    list_filter = ["kind", "subject_type"]
    raw_id_fields = ["worker"]
    list_select_related = ["worker"]

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        visible = subjects_in_scope(request)
        return qs if visible is None else qs.filter(visible)


@admin.register(Delivery)
class DeliveryAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    """Delivery records, read-only (written by inbox.services and the background task), by
    the same rule as their entries; above the list, each outbound channel on or off and why."""

    jurisdiction_form_paths = ()
    change_list_template = "admin/inbox/delivery/change_list.html"
    list_display = ["id", "notification", "channel", "state", "reason", "attempts", "updated_at"]
    list_filter = ["channel", "state", "reason"]
    list_select_related = ["notification__worker"]
    # The address stays out of the admin: it is personal data, shown on the case page masked.
    fields = [
        "notification",
        "channel",
        "state",
        "reason",
        "attempts",
        "last_error",
        "provider_id",
        "not_before",
        "created_at",
        "updated_at",
        "sent_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        visible = subjects_in_scope(request)
        if visible is None:
            return qs
        return qs.filter(notification__in=Notification.objects.filter(visible).values("pk"))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        status = [
            {"name": c.name, "label": c.label, "off": c.off_because(), "quiet": c.quiet_hours}
            for c in channels()
            if c.name
        ]
        return super().changelist_view(request, {**(extra_context or {}), "channels": status})
