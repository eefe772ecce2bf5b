"""Jurisdiction: what a user may see. Every page and API call filters through here."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

from grids.models import CatchmentAssignment

from .models import PERSONAL_DATA_ROLES, Account

User = AbstractBaseUser | AnonymousUser

# A Q that matches nothing, for users with no jurisdiction.
NOTHING = Q(pk__in=[])


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
    """Q restricting rows whose ``code_path`` lies inside the user's jurisdiction.

    None means no restriction. Use ``ancestors=True`` variants for boundaries that contain
    the jurisdiction (see ``boundary_scope_q``).
    """
    prefixes = jurisdiction_prefixes(user)
    if prefixes is None:
        return None
    if not prefixes:
        return NOTHING
    return reduce(or_, (Q(**{f"{code_path}__startswith": p}) for p in prefixes))


def boundary_scope_q(user: User, code_length: int, code_path: str = "code") -> Q | None:
    """Boundaries of one level the user may see: those inside the jurisdiction, and the
    ancestors that contain it (a grid worker sees the outline of their village and town)."""
    prefixes = jurisdiction_prefixes(user)
    if prefixes is None:
        return None
    if not prefixes:
        return NOTHING
    inside = reduce(or_, (Q(**{f"{code_path}__startswith": p}) for p in prefixes))
    ancestors = {p[:code_length] for p in prefixes if len(p) > code_length}
    if code_length == 6:
        # District codes are 6 digits, city prefixes 4.
        ancestors = {p[:6] for p in prefixes if len(p) >= 9}
    return inside | Q(**{f"{code_path}__in": sorted(ancestors)}) if ancestors else inside


def can_see_personal_data(user: User) -> bool:
    """ID numbers and phone numbers of households: only the roles that visit them."""
    if user.is_authenticated and user.is_superuser:
        return True
    account = account_of(user)
    return account is not None and account.role in PERSONAL_DATA_ROLES
