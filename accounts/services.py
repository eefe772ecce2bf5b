"""Writes to accounts."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction

from grids.models import Worker

from .models import LEVEL_CODE_REGEX, ROLE_LEVELS, Account, AccountRole

MSG_CODE_LEVEL = "Code %(code)s is not a %(level)s code, which the role %(role)s needs."
# Back-office roles get staff access to the admin, limited to their jurisdiction.
ADMIN_ROLES = frozenset({AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN})
ADMIN_APPS = ("grids", "households")


def validate_jurisdiction(*, role: AccountRole, codes: list[str]) -> None:
    level = ROLE_LEVELS[role]
    for code in codes:
        if not re.match(LEVEL_CODE_REGEX[level], code):
            raise ValidationError(MSG_CODE_LEVEL % {"code": code, "level": level, "role": role})


@transaction.atomic
def account_upsert(
    *,
    username: str,
    password: str,
    role: AccountRole,
    codes: list[str],
    worker: Worker | None = None,
    first_name: str = "",
) -> Account:
    """Create or update a login with its role and jurisdiction (idempotent)."""
    validate_jurisdiction(role=role, codes=codes)
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.first_name = first_name
    user.set_password(password)
    user.is_staff = role in ADMIN_ROLES
    user.save()
    if user.is_staff:
        user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
    account, _ = Account.objects.update_or_create(
        user=user, defaults={"role": role, "codes": codes}
    )
    if worker is not None and worker.user_id != user.id:
        Worker.objects.filter(user=user).exclude(pk=worker.pk).update(user=None)
        worker.user = user
        worker.save(update_fields=["user"])
    return account
