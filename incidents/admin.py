"""Admin for incident categories (data: admins add categories and tiers) and incidents.

Incidents are reported through the API or the field page, which route them; the admin
shows them with their recorded routing and never changes it (routing is recorded, never
recomputed), so an incident cannot be added here and its routing fields are read-only.

The case state is read-only too: it changes only through ``incidents.workflow.case_act``,
which the admin's actions call (acknowledge, start, report resolved, verify, close out), so
the rule of who may do what holds here as everywhere and every change is in the history.
The history (``CaseEvent``) is shown, never edited (the database refuses it anyway).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import ViewOnlyAdminMixin, town_filter
from cases.models import EVENT_FIELDS
from gridmap import personal_data
from gridmap.admin import JurisdictionAdminMixin, ReadOnlyInline
from households.routing import shown_phone
from inbox.admin import register_subject_scope

from .models import (
    CaseAttachment,
    CaseEvent,
    Category,
    CategoryResponder,
    CategoryTimeLimit,
    Incident,
    IncidentPhoto,
    IncidentRecipient,
    IncidentReport,
)
from .notifications import SUBJECT_INCIDENT
from .routing import render_explanation
from .selectors import incidents_visible_to
from .workflow import CASE_FIELDS, Action, ActionNotAllowed, CaseConflict, case_act

MSG_ADMIN_DONE = gettext_noop("%(action)s: %(count)s cases.")
MSG_ADMIN_REFUSED = gettext_noop("Case #%(id)s: %(reason)s")


class CategoryResponderInline(admin.TabularInline):
    model = CategoryResponder
    extra = 1


class CategoryTimeLimitInline(admin.TabularInline):
    model = CategoryTimeLimit
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "default_severity", "is_active", "ordering"]
    list_editable = ["is_active", "ordering"]
    list_filter = ["is_active", "default_severity"]
    search_fields = ["code", "name_zh", "name_en"]
    inlines = [CategoryResponderInline, CategoryTimeLimitInline]


class IncidentRecipientInline(ReadOnlyInline):
    model = IncidentRecipient
    fields = ["kind", "responder", "role", "name", "recipient_phone", "worker"]
    readonly_fields = ["recipient_phone"]

    @admin.display(description=_("phone"))
    def recipient_phone(self, obj: IncidentRecipient) -> str:
        """A central household's phone is a resident's: masked or logged
        (gridmap.personal_data)."""
        return shown_phone(
            obj.phone,
            obj.responder,
            visible=personal_data.viewer_may_see(),
            record_type="worker",
            record_id=obj.worker_id,
            code=obj.incident.place_code,
        )


class IncidentReportInline(ReadOnlyInline):
    model = IncidentReport
    fields = ["reporter", "reported_at", "description", "client_uuid"]


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = [f for f in EVENT_FIELDS if f != "actor"]
    ordering = ["seq"]


def _case_action(action: Action) -> Any:
    """An admin action that takes ``action`` on each selected case through the workflow,
    as the admin user (refusals and conflicts are reported per case, nothing is forced)."""

    def act(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for pk, version in queryset.order_by("pk").values_list("pk", "version"):
            try:
                case_act(actor=request.user, incident_id=pk, action=action, version=version)
            except (ActionNotAllowed, CaseConflict) as exc:
                reason = exc.message
            except ValidationError as exc:
                reason = " ".join(exc.messages)
            else:
                done += 1
                continue
            modeladmin.message_user(
                request,
                gettext(MSG_ADMIN_REFUSED) % {"id": pk, "reason": reason},
                messages.WARNING,
            )
        if done:
            modeladmin.message_user(
                request, gettext(MSG_ADMIN_DONE) % {"action": action.label, "count": done}
            )

    act.__name__ = f"case_{action.value}"
    return admin.action(description=action.label)(act)


ROUTING_FIELDS = [
    "generation",
    "grid",
    "village",
    "town",
    "place_code",
    "responsible_level",
    "routing_explanation",
]


class VisibleIncidentsAdminMixin(JurisdictionAdminMixin):
    """Limit a changelist, and the choices of its forms (``gridmap.admin``), to what hangs
    off the incidents the user may see: the one rule of
    ``incidents.selectors.incidents_visible_to``, as the API and the pages apply it.
    ``incident_path`` leads from the model to its incident ("" for the incident itself)."""

    incident_path = ""
    jurisdiction_form_paths = ()

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        if request.user.is_superuser:
            return qs
        visible = incidents_visible_to(request.user).values("pk")
        return qs.filter(
            **{f"{self.incident_path}__in" if self.incident_path else "pk__in": visible}
        )


@admin.register(Incident)
class IncidentAdmin(VisibleIncidentsAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "category",
        "severity",
        "status",
        "place_code",
        "owner_level",
        "owner_code",
        "reported_at",
    ]
    list_filter = [town_filter("place_code"), "status", "owner_level", "severity", "category"]
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
        # The case's state: exactly what incidents.workflow writes with each action.
        *CASE_FIELDS,
        # The publication review: approved on the case page or by the API (with history).
        "public_text",
        "public_text_by",
        "public_text_at",
    ]
    fields = ["description", *readonly_fields]
    inlines = [IncidentRecipientInline, IncidentReportInline, CaseEventInline]
    actions = [
        _case_action(a)
        for a in (
            Action.ACKNOWLEDGE,
            Action.START,
            Action.RESOLVE,
            Action.VERIFY,
            Action.CLOSE_OUT,
        )
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("routing explanation"))
    def routing_explanation(self, obj: Incident) -> str:
        return render_explanation(obj.explanation)


@admin.register(IncidentPhoto)
class IncidentPhotoAdmin(VisibleIncidentsAdminMixin, admin.ModelAdmin):
    incident_path = "report__incident"
    list_display = ["id", "report", "content_type", "size"]
    raw_id_fields = ["report"]


# A jurisdiction-limited admin user sees the inbox entries about the incidents they may see
# (inbox.admin), by the same one rule.
register_subject_scope(SUBJECT_INCIDENT, lambda user: incidents_visible_to(user).values("pk"))


@admin.register(CaseEvent)
class CaseEventAdmin(ViewOnlyAdminMixin, VisibleIncidentsAdminMixin, admin.ModelAdmin):
    """The case history, read-only: events are appended by the workflow only."""

    incident_path = "incident"
    list_display = ["incident", "seq", "action", "actor_name", "at", "from_status", "to_status"]
    list_filter = ["action", "to_status"]
    search_fields = ["=incident__id", "actor_name", "note"]
    raw_id_fields = ["incident", "actor"]
    list_select_related = ["incident"]


@admin.register(CaseAttachment)
class CaseAttachmentAdmin(ViewOnlyAdminMixin, VisibleIncidentsAdminMixin, admin.ModelAdmin):
    incident_path = "event__incident"
    list_display = ["id", "event", "content_type", "size"]
    raw_id_fields = ["event"]
