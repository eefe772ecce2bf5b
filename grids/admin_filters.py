"""Admin list filters on places, for every app's admin (through ``accounts.admin_mixins``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gridmap.jurisdiction import user_scope_q

from .models import Town


def town_filter(code_path: str) -> type[admin.SimpleListFilter]:
    """A list filter by current town, matching on the code prefix (cheap on big tables)."""

    class TownFilter(admin.SimpleListFilter):
        title = _("town")
        parameter_name = "town"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            towns = Town.objects.current().order_by("code")
            scope = user_scope_q(request.user, "code")
            if scope is not None:
                towns = towns.filter(scope)
            return [(t.code, f"{t.code} {t.name}") for t in towns]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if self.value():
                return queryset.filter(**{f"{code_path}__startswith": self.value()})
            return queryset

    return TownFilter
