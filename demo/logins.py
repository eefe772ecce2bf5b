"""Logins for the demo's workers: every worker with an active role on a demo place has one.

Username = the worker's mobile number, as for real workers (``accounts.services
.worker_login_create``). ``make users`` (``create_demo_users``) creates them all at once
WITHOUT a usable password: nobody can sign in with them yet and no password is printed or
stored. Passwords are handed out on request, a few at a time, by ``manage.py demo_logins
--village CODE | --role ROLE | --worker NAME``: a random one-time password per login, printed
once, that must be changed at first sign-in (``accounts.models.PasswordChangeRequired``).
So no demo login has a known password except the handful of showcase logins of
``create_demo_users`` (``gridmap-demo``, documented as demo-only in the README), and nothing
here depends on the settings: the same rule holds on a server.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet

from accounts.services import MOBILE_RE, normalise_mobile, one_time_password_issue
from grids.models import RoleAssignment, Worker

from .loader import CITY_PREFIX


def demo_assignments() -> QuerySet[RoleAssignment]:
    """Active role assignments on the demo's places (Qinzhou codes)."""
    return RoleAssignment.objects.active().filter(
        Q(grid__code__startswith=CITY_PREFIX)
        | Q(village__code__startswith=CITY_PREFIX)
        | Q(station__code__startswith=CITY_PREFIX)
        | Q(town__code__startswith=CITY_PREFIX)
    )


def demo_role_workers(assignments: QuerySet[RoleAssignment] | None = None) -> QuerySet[Worker]:
    """Workers holding one of ``assignments`` (default: every active demo assignment)."""
    held = demo_assignments() if assignments is None else assignments
    return Worker.objects.filter(pk__in=held.values("worker"))


@dataclass(frozen=True)
class LoginsResult:
    created: int
    skipped: list[str]  # "name: why" for workers who could not get a login


@transaction.atomic
def demo_logins_ensure() -> LoginsResult:
    """A login (username = mobile, no usable password) for every demo worker with an active
    role who has none; bulk inserts, no password hashing. Idempotent."""
    users = get_user_model()
    workers = list(demo_role_workers().filter(user__isnull=True).order_by("pk"))
    existing = users.objects.filter(username__in=[normalise_mobile(w.phone) for w in workers])
    taken = set(existing.values_list("username", flat=True))
    # A login left by a previous demo (load_demo --replace deletes the workers, not their
    # logins; the same seed makes the same mobiles): the new worker takes it over, without
    # the old password. Never a login of a worker, of staff or of a superuser.
    orphans = {
        u.get_username(): u
        for u in existing.filter(worker__isnull=True, is_staff=False, is_superuser=False)
    }
    skipped: list[str] = []
    new: list[tuple[Worker, object]] = []
    reused: list[tuple[Worker, object]] = []
    for worker in workers:
        username = normalise_mobile(worker.phone)
        if not MOBILE_RE.match(username):
            skipped.append(f"{worker.name}: no mobile number")
        elif username in orphans:
            user = orphans.pop(username)
            user.first_name = worker.name
            user.set_unusable_password()
            reused.append((worker, user))
        elif username in taken:
            skipped.append(f"{worker.name}: username {username} is taken")
        else:
            taken.add(username)
            user = users(username=username, first_name=worker.name)
            user.set_unusable_password()
            new.append((worker, user))
    users.objects.bulk_create([u for _, u in new], batch_size=1000)
    users.objects.bulk_update([u for _, u in reused], ["first_name", "password"], batch_size=1000)
    for worker, user in new + reused:
        worker.user = user
    Worker.objects.bulk_update([w for w, _ in new + reused], ["user"], batch_size=1000)
    return LoginsResult(created=len(new) + len(reused), skipped=skipped)


@dataclass(frozen=True)
class IssuedLogin:
    name: str
    roles: str  # "role place, ..."
    username: str
    password: str | None  # None: not issued (the login already has a password)


def demo_logins_issue(
    *, assignments: QuerySet[RoleAssignment], reset: bool = False
) -> list[IssuedLogin]:
    """One-time passwords for the workers holding ``assignments``: for each login that has no
    usable password yet (or every one, with ``reset``). Logins are made first if missing."""
    demo_logins_ensure()
    rows = assignments.select_related(
        "worker__user", "grid", "village", "station", "town"
    ).order_by("worker__name", "worker__pk", "role")
    roles: dict[int, list[str]] = {}
    workers: dict[int, Worker] = {}
    for a in rows:
        place = a.grid or a.village or a.station or a.town
        roles.setdefault(a.worker_id, []).append(f"{a.get_role_display()} {place.code}")
        workers.setdefault(a.worker_id, a.worker)
    out = []
    for pk, worker in workers.items():
        user = worker.user
        if user is None:  # no mobile, or the username is taken: see demo_logins_ensure
            continue
        password = None
        if reset or not user.has_usable_password():
            password = one_time_password_issue(user=user)
        out.append(IssuedLogin(worker.name, ", ".join(roles[pk]), user.get_username(), password))
    return out
