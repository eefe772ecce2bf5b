"""Admin helpers shared by every app: changelists limited to the user's jurisdiction, and
read-only admins for records written only by services.

They work through the jurisdiction policy registered in ``gridmap.jurisdiction`` (by
accounts), so ``grids`` can use them without importing ``accounts``. The town list filter is
``grids.admin_filters.town_filter`` (it lists towns, a grids model).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .jurisdiction import user_scope_q


class JurisdictionAdminMixin:
    """Limit an admin changelist to the user's jurisdiction.

    ``jurisdiction_code_path`` is the path from the model to a place code (``code`` for a
    grid, ``grid__code`` for a household, ``town__code`` for a station).
    """

    jurisdiction_code_path = "code"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)  # type: ignore[misc]
        scope = user_scope_q(request.user, self.jurisdiction_code_path)
        return qs if scope is None else qs.filter(scope)


class ViewOnlyAdminMixin:
    """An admin that lists and shows but never adds, changes or deletes: for records written
    only by services (the case history, the weekly reports)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ViewOnlyAdminMixin, admin.TabularInline):
    """An inline that shows related records and never adds, changes or deletes them."""

    extra = 0
    can_delete = False
