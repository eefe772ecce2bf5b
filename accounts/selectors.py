"""Jurisdiction: what a user may see. Every page, API call, export and admin filters through
here.

``jurisdiction_prefixes`` is the one policy (which code prefixes a user may see). The prefix
matching is the kernel's (``gridmap.jurisdiction``); ``scope_q`` and ``boundary_scope_q`` are
the names the apps above accounts use for it. ``accounts/apps.py`` registers the policy in the
kernel so that grids (below accounts) filters by the same rule without importing accounts.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext, gettext_noop

from gridmap import jurisdiction
from grids.models import (
    GRID_ROLES,
    STATION_ROLES,
    TOWN_ROLES,
    VILLAGE_ROLES,
    CatchmentAssignment,
    Role,
    RoleAssignment,
    Worker,
)
from grids.selectors import workers_within

from .models import (
    ADMIN_ACCOUNT_ROLES,
    OFFICE_ROLES,
    PERSONAL_DATA_ROLES,
    ROLE_RANK,
    Account,
    AccountRole,
    PasswordChangeRequired,
)

MSG_ADMINS_BY_SUPERUSERS = gettext_noop("Only a superuser makes district or city administrators.")
MSG_CHANGE_PASSWORD_FIRST = gettext_noop(
    "Your password is a one-time password: change it at /accounts/password_change/ first."
)
MSG_RANK = gettext_noop("You may not give an account the role %(role)s: it is not below yours.")

User = AbstractBaseUser | AnonymousUser


def account_of(user: User) -> Account | None:
    if not user.is_authenticated:
        return None
    try:
        return user.account  # type: ignore[union-attr]
    except Account.DoesNotExist:
        return None


def worker_of(user: User) -> Worker | None:
    """The worker whose login ``user`` is (None: an office login, or anonymous). Django keeps
    the one-to-one on the user object, so asking again in the same request costs nothing."""
    if not user.is_authenticated:
        return None
    try:
        return user.worker  # type: ignore[union-attr]
    except ObjectDoesNotExist:
        return None


def has_worker(user: User) -> bool:
    """Whether the login is a person's (a ``grids.Worker`` links it)."""
    return worker_of(user) is not None


def granted_account(user: User) -> Account | None:
    """The account whose role and codes count for ``user``.

    Office roles without a place (planner, district and city administrators) are explicit
    grants, made by someone above (the admin enforces it): they always count. A place-level
    account (grid worker, village, station, town staff) is a grant typed by hand that routing
    knows nothing of: for a person's login (a ``Worker`` links it) it counts for nothing, their
    active role assignments decide instead; a login that is nobody's person keeps it until
    ``manage.py link_logins`` links it to its worker (docs/architecture.md, "One identity").
    """
    account = account_of(user)
    if account is None or account.role in OFFICE_ROLES:
        return account
    return None if has_worker(user) else account


def active_assignments(user: User, on: dt.date | None = None) -> QuerySet[RoleAssignment]:
    """The role assignments the user's worker holds on a day (today when omitted)."""
    if not user.is_authenticated:
        return RoleAssignment.objects.none()
    return RoleAssignment.objects.active(on or timezone.localdate()).filter(worker__user=user)


AssignmentRow = tuple[str, str | None, str | None, str | None, int | None]


def _assignment_rows(user: User, on: dt.date) -> list[AssignmentRow]:
    """(role, grid code, village code, town code, station id) of the active assignments."""
    return list(
        active_assignments(user, on).values_list(
            "role", "grid__code", "village__code", "town__code", "station_id"
        )
    )


def _prefixes_of_rows(rows: list[AssignmentRow], on: dt.date) -> list[str]:
    codes = {c for _, grid, village, town, _ in rows for c in (grid, village, town) if c}
    stations = {station for *_, station in rows if station is not None}
    if stations:
        codes |= set(
            CatchmentAssignment.objects.active(on)
            .filter(station_id__in=stations)
            .values_list("village__code", flat=True)
        )
    return sorted(codes)


def assignment_prefixes(user: User, on: dt.date | None = None) -> list[str]:
    """Codes of the places where the user's worker holds a role on a day: a grid role its
    grid, a village role its village, a town role its town, a station role the villages of
    the station's catchment on that day."""
    on = on or timezone.localdate()
    return _prefixes_of_rows(_assignment_rows(user, on), on)


def _today_rows(user: User) -> list[AssignmentRow]:
    return list(_cached(user, "rows", lambda: _assignment_rows(user, timezone.localdate())))


def today_assignments(user: User) -> list[AssignmentRow]:
    """(role, grid code, village code, town code, station id) of the role assignments the
    user's worker holds today, read once per user object (the jurisdiction reads the same)."""
    if not user.is_authenticated:
        return []
    return _today_rows(user)


def today_prefixes(user: User) -> list[str]:
    """``assignment_prefixes`` of today, computed once per user object."""
    if not user.is_authenticated:
        return []
    today = timezone.localdate()
    return list(_cached(user, "assignments", lambda: _prefixes_of_rows(_today_rows(user), today)))


def _account_prefixes(account: Account) -> list[str]:
    if account.level == "city":
        return [c[:4] for c in account.codes]
    if account.level == "station":
        return list(
            CatchmentAssignment.objects.active()
            .filter(station__code__in=account.codes)
            .values_list("village__code", flat=True)
        )
    return list(account.codes)


# Per user object and day: a request asks several times (the API, masking, the inbox's
# subjects). A user object lives for one request or task; a handover reaches it on its next.
_CACHE_ATTR = "_gridmap_identity"


def _login(user: Any) -> Any:
    """The login behind ``request.user`` of a page (a ``SimpleLazyObject``): what is noted
    goes on the login itself, which the session cache keeps."""
    if isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        return user._wrapped
    return user


def _cached(user: User, key: str, compute: Callable[[], Any]) -> Any:
    cache = _login(user).__dict__.setdefault(_CACHE_ATTR, {})
    slot = (key, timezone.localdate())
    if slot not in cache:
        cache[slot] = compute()
    return cache[slot]


# The login's compiled statements (``gridmap.statements``), noted with its identity.
_STATEMENTS = "statements"


def keep_statements(user: User) -> None:
    """Give a login that is about to be cached across requests (``accounts.authentication``)
    a memo of compiled statements, which every request's copy of it shares."""
    _cached(user, _STATEMENTS, dict)


def statement_memo(user: Any) -> dict[Any, Any] | None:
    """The memo of compiled statements of a cached login (``keep_statements``), for today;
    None for a login read afresh on this request (nothing to share it with)."""
    noted = _login(user).__dict__.get(_CACHE_ATTR)
    if noted is None:
        return None
    return noted.get((_STATEMENTS, timezone.localdate()))


def user_copy(user: User) -> User:
    """A copy of a login object with its own copy of what this module noted on it (the
    jurisdiction of the day, the assignments): a login cached across requests
    (``accounts.authentication``) hands each request its own."""
    clone = copy.copy(user)
    if _CACHE_ATTR in user.__dict__:
        clone.__dict__[_CACHE_ATTR] = dict(user.__dict__[_CACHE_ATTR])
    return clone


def jurisdiction_prefixes(user: User) -> list[str] | None:
    """Code prefixes the user may see; None means everything (superusers).

    The one policy: the places of the user's worker's **active** role assignments today
    (``assignment_prefixes``), united with the explicit grant of their account
    (``granted_account``: office roles; a place-level account only for a login that is no
    worker's). A handover (one assignment ends, another starts) moves access on its date.
    Codes nest, so a place is inside the jurisdiction when its code starts with a prefix.
    A city code (``450700``) stands for its districts (``4507``); a station for the
    villages of its current catchment.
    """
    if user.is_authenticated and user.is_superuser:
        return None
    if not user.is_authenticated:
        return []
    return list(_cached(user, "prefixes", lambda: _jurisdiction_prefixes(user)))


def _jurisdiction_prefixes(user: User) -> list[str]:
    prefixes = set(today_prefixes(user))
    account = granted_account(user)
    if account is not None:
        prefixes |= set(_account_prefixes(account))
    return sorted(prefixes)


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
    visiting = {*GRID_ROLES, *VILLAGE_ROLES}
    if user.is_authenticated and any(row[0] in visiting for row in _today_rows(user)):
        return True
    account = granted_account(user)
    return account is not None and account.role in PERSONAL_DATA_ROLES


# Where a person acts, by level: the place roles of each level (the station head's delegate
# signs close-outs only, so it does not make the holder act for the station elsewhere).
LEVEL_ROLES = {
    "grid": frozenset(GRID_ROLES),
    "village": frozenset(VILLAGE_ROLES),
    "station": frozenset(STATION_ROLES) - {Role.STATION_HEAD_DELEGATE},
    "town": frozenset(TOWN_ROLES),
}
# Most local first: a person who holds a grid role and a village role starts at the grid.
LEVEL_ORDER = ["grid", "village", "station", "town", "district", "city"]


def _today_places(user: User) -> list[tuple[str, str]]:
    rows = active_assignments(user).values_list(
        "role", "grid__code", "village__code", "station__code", "town__code"
    )
    places = []
    for role, grid, village, station, town in rows:
        for level, code in (
            ("grid", grid),
            ("village", village),
            ("station", station),
            ("town", town),
        ):
            if code and role in LEVEL_ROLES[level]:
                places.append((level, code))
    return places


def acting_places(user: User) -> list[tuple[str, str]]:
    """``(level, code)`` of the places where the user acts today, most local first: the
    places of their worker's active role assignments, then the codes their granted account
    (``granted_account``) holds at its level. What a person's own pages open on (weekly, the
    dashboard) and who may act for a place (``acts_at``)."""
    if not user.is_authenticated:
        return []

    def compute() -> list[tuple[str, str]]:
        places = set(_cached(user, "own-places", lambda: _today_places(user)))
        account = granted_account(user)
        if account is not None:
            places |= {(account.level, code) for code in account.codes}
        return sorted(places, key=lambda p: (LEVEL_ORDER.index(p[0]), p[1]))

    return list(_cached(user, "places", compute))


def acts_at(user: User, level: str, code: str) -> bool:
    """Whether the user acts for the place ``code`` of ``level`` today (superusers always):
    a place role held there, or a granted account of that level holding the code (a
    planner's grant is for planning, not for acting as the town)."""
    if user.is_authenticated and user.is_superuser:
        return True
    if not user.is_authenticated:
        return False
    if (level, code) in _cached(user, "own-places", lambda: _today_places(user)):
        return True
    account = granted_account(user)
    return (
        account is not None
        and account.role != AccountRole.PLANNER
        and account.level == level
        and code in account.codes
    )


def _codes_inside_sql(table: str) -> str:
    """SQL true when every code of ``table``'s account lies inside the prefixes given as
    ``LIKE`` patterns (one parameter, an array)."""
    return f'NOT EXISTS (SELECT 1 FROM unnest("{table}"."codes") c WHERE NOT c LIKE ANY(%s))'


def accounts_within(user: User, qs: QuerySet[Account] | None = None) -> QuerySet[Account]:
    """The accounts of ``qs`` (all) whose whole jurisdiction lies inside ``user``'s."""
    qs = Account.objects.all() if qs is None else qs
    prefixes = jurisdiction_prefixes(user)
    if prefixes is None:
        return qs
    if not prefixes:
        return qs.none()
    inside = RawSQL(
        _codes_inside_sql(Account._meta.db_table),
        [[f"{p}%" for p in prefixes]],
        output_field=BooleanField(),
    )
    return qs.alias(codes_inside=inside).filter(codes_inside=True)


def users_within(user: User, qs: QuerySet | None = None) -> QuerySet:
    """The logins of ``qs`` (all) that ``user`` may see and link: their own; those whose
    account lies inside ``user``'s jurisdiction, those of a worker inside it, and plain logins
    that are nobody's yet (no account, no worker, no staff or superuser flag, so a new login
    can be linked), unless they belong to a superuser or to an account of ``user``'s rank or
    above (a peer's or a superior's login, and so its password, is not theirs to change)."""
    qs = get_user_model().objects.all() if qs is None else qs
    prefixes = jurisdiction_prefixes(user)
    if prefixes is None:
        return qs
    if not prefixes:
        return qs.none()
    own = account_of(user)
    rank = ROLE_RANK[AccountRole(own.role)] if own is not None else -1
    at_or_above = [r.value for r in AccountRole if ROLE_RANK[r] >= rank]
    accounts = accounts_within(user).values("user_id")
    workers = workers_within(prefixes).filter(user__isnull=False).values("user_id")
    unlinked = Q(account__isnull=True, worker__isnull=True, is_staff=False, is_superuser=False)
    inside = Q(pk__in=accounts) | Q(pk__in=workers) | unlinked
    peer = Q(account__role__in=at_or_above) | Q(is_superuser=True)
    return qs.filter(Q(pk=user.pk) | (inside & ~peer))


def rank_errors(user: User, role: str) -> list[str]:
    """Why ``user`` may not give an account the role ``role`` (empty: they may)."""
    if user.is_authenticated and user.is_superuser:
        return []
    account = account_of(user)
    try:
        wanted = AccountRole(role)
    except ValueError:
        return []  # the form refuses an unknown role itself
    if wanted in ADMIN_ACCOUNT_ROLES:
        return [gettext(MSG_ADMINS_BY_SUPERUSERS)]
    if account is None or ROLE_RANK[wanted] >= ROLE_RANK[AccountRole(account.role)]:
        return [gettext(MSG_RANK) % {"role": wanted.label}]
    return []


def must_change_password(user: User) -> bool:
    """Whether the login still has its one-time password (``PasswordChangeRequired``)."""
    if not user.is_authenticated:
        return False
    return _cached(
        user,
        "one_time_password",
        lambda: PasswordChangeRequired.objects.filter(user_id=user.pk).exists(),
    )
