"""The administrators' permissions in the admin, from their role.

District and city administrators (``ADMIN_ROLES``) are staff: they keep their district's data
in the admin (boundaries and places, households, the presence rules and care categories, the
service catalogue, assessment schemes, Open311 keys). Which records they see and may change is
the jurisdiction rule's business (``JurisdictionAdminMixin`` on every admin); this backend only
says which *models* the role may work on, so that a model added to one of these apps later is
reachable without a data migration, and an account whose role changes loses it at once.

Other roles get nothing from here: their admin permissions, if any, are Django's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import Permission

from .models import AccountRole

ADMIN_ROLES = frozenset({AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN})
# The apps whose admins are limited to the administrator's jurisdiction and hold district data.
ADMIN_APPS = ("grids", "households", "presence", "servicedesk", "assessments", "open311")
_CACHE = "_gridmap_role_perm_cache"


def is_role_admin(user: Any) -> bool:
    """An active staff login whose account is a district or city administrator."""
    if not (user.is_active and user.is_staff) or user.is_anonymous:
        return False
    account = getattr(user, "account", None)
    return account is not None and account.role in ADMIN_ROLES


class AdminRolePermissionBackend(BaseBackend):
    """Grants district and city administrators every permission of ``ADMIN_APPS``."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is not None or not is_role_admin(user_obj):
            return set()
        if not hasattr(user_obj, _CACHE):
            perms = Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
            setattr(
                user_obj,
                _CACHE,
                {
                    f"{app}.{codename}"
                    for app, codename in perms.values_list("content_type__app_label", "codename")
                },
            )
        return getattr(user_obj, _CACHE)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return any(p.startswith(app_label + ".") for p in self.get_all_permissions(user_obj))
