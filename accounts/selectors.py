"""Jurisdiction: what a user may see. Every page, API call, export and admin filters through
here.

``jurisdiction_prefixes`` is the one policy (which code prefixes a user may see). The prefix
matching is the kernel's (``gridmap.jurisdiction``); ``scope_q`` and ``boundary_scope_q`` are
the names the apps above accounts use for it. ``accounts/apps.py`` registers the policy in the
kernel so that grids (below accounts) filters by the same rule without importing accounts.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from gridmap import jurisdiction
from grids.models import CatchmentAssignment

from .models import PERSONAL_DATA_ROLES, Account

User = AbstractBaseUser | AnonymousUser


def account_of(user: User) -> Account | None:
    if not user.is_authenticated:
        return None
    try:
        return user.account  # type: ignore[union-attr]
    except Account.DoesNotExist:
        return None


def jurisdiction_prefixes(user: User) -> list[str] | None:
    """Code prefixes the user may see; None means everything (superusers).

    Codes nest, so a place is inside the jurisdiction when its code starts with a prefix.
    A city code (``450700``) stands for its districts (``4507``); a station for the
    villages of its current catchment.
    """
    if user.is_authenticated and user.is_superuser:
        return None
    account = account_of(user)
    if account is None:
        return []
    if account.level == "city":
        return [c[:4] for c in account.codes]
    if account.level == "station":
        return list(
            CatchmentAssignment.objects.active()
            .filter(station__code__in=account.codes)
            .values_list("village__code", flat=True)
        )
    return list(account.codes)


def scope_q(user: User, code_path: str = "code") -> Q | None:
    """Q restricting rows whose ``code_path`` lies inside the user's jurisdiction (None: no
    restriction). The matching is the kernel's (``gridmap.jurisdiction.scope_q``)."""
    return jurisdiction.scope_q(jurisdiction_prefixes(user), code_path)


def boundary_scope_q(user: User, code_length: int, code_path: str = "code") -> Q | None:
    """Boundaries of one level the user may see: those inside the jurisdiction, and the
    ancestors that contain it (``gridmap.jurisdiction.boundary_scope_q``)."""
    return jurisdiction.boundary_scope_q(jurisdiction_prefixes(user), code_length, code_path)


def can_see_personal_data(user: User) -> bool:
    """ID numbers and phone numbers of households: only the roles that visit them."""
    if user.is_authenticated and user.is_superuser:
        return True
    account = account_of(user)
    return account is not None and account.role in PERSONAL_DATA_ROLES
