"""Reads of import jobs: who may import, and the jobs a user may see (their own)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import ADMIN_ACCOUNT_ROLES
from accounts.selectors import granted_account, scope_q
from grids.models import District, Town

from .kinds import KINDS, Kind
from .models import ImportJob
from .pipeline import HANDLERS

User = AbstractBaseUser | AnonymousUser


def can_import(user: User) -> bool:
    """District and city administrators (an explicit grant, made by a superuser) and
    superusers bring a county's records in; what they import is limited to their jurisdiction
    (``accounts.selectors.jurisdiction_prefixes``, applied row by row by the import)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    account = granted_account(user)
    return account is not None and account.role in ADMIN_ACCOUNT_ROLES


def jobs_of(user: User) -> QuerySet[ImportJob]:
    """The jobs ``user`` may see: their own (a superuser: every job), newest first. Another
    administrator's job is not theirs to see, even inside their jurisdiction: its file may
    hold another district's residents."""
    if not can_import(user):
        return ImportJob.objects.none()
    qs = ImportJob.objects.select_related("user")
    return qs if user.is_superuser else qs.filter(user=user)


def importable_kinds() -> list[Kind]:
    """The kinds the import writes so far (declared in ``imports.kinds`` with a handler in the
    pipeline), in the order a county loads them."""
    return [kind for kind in KINDS.values() if kind.name in HANDLERS]


def export_areas(user: User) -> list[tuple[str, str]]:
    """The areas an administrator may export, as (code, label): the current districts and
    towns inside their jurisdiction (a superuser: all), districts first."""
    areas: list[tuple[str, str]] = []
    for model in (District, Town):
        qs = model.objects.current().order_by("code")
        scope = scope_q(user, "code")
        if scope is not None:
            qs = qs.filter(scope)
        areas += [(code, f"{name} {code}") for code, name in qs.values_list("code", "name")]
    return areas
