"""Admin helpers shared by every app: jurisdiction-limited querysets and a town filter."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .selectors import scope_q


class JurisdictionAdminMixin:
    """Limit an admin changelist to the user's jurisdiction.

    ``jurisdiction_code_path`` is the path from the model to a place code (``code`` for a
    grid, ``grid__code`` for a household, ``town__code`` for a station).
    """

    jurisdiction_code_path = "code"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)  # type: ignore[misc]
        scope = scope_q(request.user, self.jurisdiction_code_path)
        return qs if scope is None else qs.filter(scope)


def town_filter(code_path: str) -> type[admin.SimpleListFilter]:
    """A list filter by current town, matching on the code prefix (cheap on big tables)."""

    class TownFilter(admin.SimpleListFilter):
        title = _("town")
        parameter_name = "town"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            from grids.models import Town

            towns = Town.objects.current().order_by("code")
            scope = scope_q(request.user, "code")
            if scope is not None:
                towns = towns.filter(scope)
            return [(t.code, f"{t.code} {t.name}") for t in towns]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if self.value():
                return queryset.filter(**{f"{code_path}__startswith": self.value()})
            return queryset

    return TownFilter


class ViewOnlyAdminMixin:
    """An admin that lists and shows but never adds, changes or deletes: for records written
    only by services (the case history, the weekly reports)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
