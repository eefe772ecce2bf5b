"""Admin of Open311 client systems' keys: an administrator issues a key for their district
(a city administrator for the city or a district in it); the key is shown once, on the page
after it is saved, and only its first characters afterwards. A key is switched off, never
edited into another: issue a new one."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop

from gridmap.admin import JurisdictionAdminMixin

from . import services
from .models import ApiKey
from .selectors import scope_is_place

MSG_KEY_ISSUED = gettext_noop(
    "The API key of %(name)s is %(key)s. Copy it now and give it to the system's operator: "
    "it is stored only as a hash and cannot be shown again."
)
MSG_SCOPE = gettext_noop("Give the code of a current district or city.")


@admin.register(ApiKey)
class ApiKeyAdmin(JurisdictionAdminMixin, admin.ModelAdmin):
    jurisdiction_code_path = "scope_code"
    list_display = ("name", "scope_code", "key_prefix", "is_active", "created_at", "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "scope_code")
    readonly_fields = ("key_prefix", "created_by", "created_at", "last_used_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The scope of an issued key stays what its operator was told.
        if obj is not None:
            return (*self.readonly_fields, "scope_code")
        return self.readonly_fields

    def jurisdiction_errors(self, request: HttpRequest, obj: Any) -> list[str]:
        errors = super().jurisdiction_errors(request, obj)
        if obj.scope_code and not scope_is_place(obj.scope_code):
            errors.append(gettext(MSG_SCOPE))
        return errors

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw = services.api_key_issue(api_key=obj, actor=request.user)
        self.message_user(
            request,
            gettext(MSG_KEY_ISSUED) % {"name": obj.name, "key": raw},
            messages.WARNING,
        )
