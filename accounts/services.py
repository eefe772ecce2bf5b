"""Writes to accounts."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from grids.models import (
    GRID_ROLES,
    STATION_ROLES,
    TOWN_ROLES,
    VILLAGE_ROLES,
    RoleAssignment,
    Worker,
)

from .backends import ADMIN_ROLES
from .models import (
    LEVEL_CODE_REGEX,
    OFFICE_ROLES,
    ROLE_LEVELS,
    Account,
    AccountRole,
    PasswordChangeRequired,
)

MSG_CODE_LEVEL = "Code %(code)s is not a %(level)s code, which the role %(role)s needs."
# Back-office roles get staff access to the admin, limited to their jurisdiction.


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
        # The role's apps come from accounts.backends; stored grants would outlive the role.
        user.user_permissions.clear()
    account, _ = Account.objects.update_or_create(
        user=user, defaults={"role": role, "codes": codes}
    )
    if worker is not None and worker.user_id != user.id:
        Worker.objects.filter(user=user).exclude(pk=worker.pk).update(user=None)
        worker.user = user
        worker.save(update_fields=["user"])
    return account


# --- linking existing logins to their workers (the switch to one identity) -----------------
# A place-level account's role -> the worker roles that stand for it, and the place field.
PLACE_ROLES: dict[str, tuple[list[str], str]] = {
    AccountRole.GRID_WORKER: (list(GRID_ROLES), "grid"),
    AccountRole.VILLAGE_STAFF: (list(VILLAGE_ROLES), "village"),
    AccountRole.STATION_STAFF: (list(STATION_ROLES), "station"),
    AccountRole.TOWN_STAFF: (list(TOWN_ROLES), "town"),
}
_NOT_DIGITS = re.compile(r"\D")


def normalise_mobile(value: str) -> str:
    """A mobile number as a username: digits only, without the country code (+86/0086/86)."""
    digits = _NOT_DIGITS.sub("", value or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix) :]
    return digits


@dataclass(frozen=True)
class LinkResult:
    username: str
    outcome: str  # "linked", "none", "ambiguous"
    worker: str = ""


def _candidates(account: Account) -> list[Worker]:
    """Workers without a login who hold, today, a role that stands for the account on one
    of its places, and who are the account's person: the same mobile number (the username)
    or the same name."""
    roles, field = PLACE_ROLES[AccountRole(account.role)]
    holders = (
        RoleAssignment.objects.active()
        .filter(role__in=roles, **{f"{field}__code__in": account.codes}, worker__user__isnull=True)
        .select_related("worker")
    )
    user = account.user
    names = {n for n in (user.get_full_name(), user.first_name) if n}
    mobile = normalise_mobile(user.get_username())
    found = {
        a.worker.pk: a.worker
        for a in holders
        if (mobile and normalise_mobile(a.worker.phone) == mobile) or a.worker.name in names
    }
    return list(found.values())


@transaction.atomic
def link_logins(*, dry_run: bool = False) -> list[LinkResult]:
    """Link each place-level account's login that is nobody's worker yet to the worker it
    stands for (``_candidates``: exactly one, else it is reported and left alone). Once
    linked, the login's access follows that worker's role assignments and the account's
    codes count for nothing (``accounts.selectors.granted_account``)."""
    results = []
    accounts = (
        Account.objects.exclude(role__in=[r.value for r in OFFICE_ROLES])
        .filter(user__worker__isnull=True)
        .select_related("user")
        .order_by("user__username")
    )
    for account in accounts:
        found = _candidates(account)
        username = account.user.get_username()
        if len(found) != 1:
            results.append(LinkResult(username, "ambiguous" if found else "none"))
            continue
        worker = found[0]
        if not dry_run:
            worker.user = account.user
            worker.save(update_fields=["user"])
        results.append(LinkResult(username, "linked", worker.name))
    return results


# --- logins for workers ----------------------------------------------------------------------
MSG_NO_MOBILE = gettext_noop("%(worker)s has no mobile number to sign in with.")
MSG_HAS_LOGIN = gettext_noop("%(worker)s already has a login.")
MSG_USERNAME_TAKEN = gettext_noop("The username %(username)s is taken by another login.")
MOBILE_RE = re.compile(r"^1\d{10}$")
# No look-alikes (0/O, 1/l/I): the password is read off paper or a screen once.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 12


def one_time_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


@transaction.atomic
def worker_login_create(*, worker: Worker) -> tuple[str, str]:
    """Give a worker a login: username = their normalised mobile number, a random one-time
    password (returned once, stored only hashed) that must be changed at first sign-in.
    Returns ``(username, password)``; ValidationError when the worker cannot have one."""
    username = normalise_mobile(worker.phone)
    if not MOBILE_RE.match(username):
        raise ValidationError(gettext(MSG_NO_MOBILE) % {"worker": worker.name})
    if worker.user_id is not None:
        raise ValidationError(gettext(MSG_HAS_LOGIN) % {"worker": worker.name})
    users = get_user_model().objects
    if users.filter(username=username).exists():
        raise ValidationError(gettext(MSG_USERNAME_TAKEN) % {"username": username})
    password = one_time_password()
    user = users.create_user(username=username, password=password, first_name=worker.name)
    PasswordChangeRequired.objects.create(user=user)
    worker.user = user
    worker.save(update_fields=["user"])
    return username, password


@transaction.atomic
def one_time_password_issue(*, user: Any) -> str:
    """A new random one-time password for an existing login (returned once, stored only
    hashed), to be changed at first sign-in; the login's old password stops working."""
    password = one_time_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    PasswordChangeRequired.objects.get_or_create(user=user)
    return password


def password_change_done(*, user: object) -> None:
    """The login has chosen its own password: lift the forced change."""
    PasswordChangeRequired.objects.filter(user_id=getattr(user, "pk", None)).delete()
