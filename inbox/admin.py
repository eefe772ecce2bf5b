from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.admin_mixins import JurisdictionAdminMixin
from accounts.selectors import jurisdiction_prefixes

from .models import Notification

# The entries a jurisdiction-limited admin user may see are those whose subject lies in their
# jurisdiction. The inbox cannot know where a subject lies; the app that owns a kind of subject
# registers, per ``subject_type``, a function from the user to a queryset of the ids of the
# subjects in their jurisdiction (``incidents/admin.py`` registers ``"incident"``). Entries
# about an unregistered kind of subject are shown to unlimited users only.
SubjectScope = Callable[[Any], QuerySet]
SUBJECT_SCOPES: dict[str, SubjectScope] = {}


def register_subject_scope(subject_type: str, ids_in_scope: SubjectScope) -> None:
    SUBJECT_SCOPES[subject_type] = ids_in_scope


@admin.register(Notification)
class NotificationAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_form_paths = ()
    list_display = ["id", "worker", "kind", "subject_type", "subject_id", "created_at", "read_at"]
    list_filter = ["kind", "subject_type"]
    raw_id_fields = ["worker"]
    list_select_related = ["worker"]

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        if jurisdiction_prefixes(request.user) is None:
            return qs
        visible = Q(pk__in=[])
        for subject_type, ids_in_scope in SUBJECT_SCOPES.items():
            visible |= Q(subject_type=subject_type, subject_id__in=ids_in_scope(request.user))
        return qs.filter(visible)
