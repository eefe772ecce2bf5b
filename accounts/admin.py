"""Logins and accounts in the admin, limited like every admin to the user's jurisdiction
(``gridmap.admin.JurisdictionAdminMixin``), with the rank rule of ``models.ROLE_RANK``: a
user who is not a superuser sees and links only logins of their area
(``selectors.users_within``), and creates or changes only accounts whose codes lie inside
their jurisdiction and whose role is below their own (never an administrator)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from gridmap.admin import JurisdictionAdminMixin
from grids.admin import WORKER_ACTIONS

from .models import Account
from .selectors import accounts_within, rank_errors, users_within
from .services import worker_login_create

User = get_user_model()


@admin.register(Account)
class AccountAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "codes"
    list_display = ["user", "role", "codes"]
    list_filter = ["role"]
    search_fields = ["user__username", "codes"]
    autocomplete_fields = ["user"]

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        return accounts_within(request.user, qs)

    def jurisdiction_errors(self, request: HttpRequest, obj: Any) -> list[str]:
        errors = super().jurisdiction_errors(request, obj)
        if obj.role:
            errors += rank_errors(request.user, obj.role)
        return errors


# Django's login admin, limited: a user who is not a superuser sees only the logins of their
# area and never grants staff, superuser, group or permission flags.
if admin.site.is_registered(User):
    admin.site.unregister(User)

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(JurisdictionAdminMixin, DjangoUserAdmin):
    jurisdiction_form_paths = ()

    def jurisdiction_queryset(self, request: HttpRequest, qs: QuerySet) -> QuerySet:
        return users_within(request.user, qs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [f for f in PRIVILEGE_FIELDS if f not in fields]
        return fields


@admin.action(
    description=_("Create logins (one-time passwords, shown once)"), permissions=["change"]
)
def create_worker_logins(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
    """An action on workers (``grids.admin.WORKER_ACTIONS``): a login for each selected worker
    of the admin's jurisdiction (the changelist is limited to it) without one, username = the
    mobile number, a one-time password to change at first sign-in. The passwords are on this
    answer only (not stored, not cached)."""
    created, skipped = [], []
    for worker in queryset.order_by("name", "pk"):
        try:
            username, password = worker_login_create(worker=worker)
        except ValidationError as e:
            skipped.append((worker.name, "; ".join(e.messages)))
            continue
        created.append((worker.name, username, password))
    response = TemplateResponse(
        request,
        "accounts/worker_logins.html",
        {**modeladmin.admin_site.each_context(request), "created": created, "skipped": skipped,
         "title": _("New logins")},
    )  # fmt: skip
    response["Cache-Control"] = "no-store"
    return response


# "Create logins" on the workers' changelist (grids may not import accounts).
if create_worker_logins not in WORKER_ACTIONS:
    WORKER_ACTIONS.append(create_worker_logins)
