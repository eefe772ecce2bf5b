"""``manage.py link_logins``: existing place-level logins are linked to the worker they stand
for (same mobile number or name, holding a matching role today), and from then on their
access follows that worker's role assignments, not the account's codes."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from psycopg.types.range import Range

from accounts.models import AccountRole
from accounts.selectors import jurisdiction_prefixes
from accounts.services import normalise_mobile
from grids.models import Role, Worker
from tests.factories import (
    AccountFactory,
    GridFactory,
    RoleAssignmentFactory,
    UserFactory,
    WorkerFactory,
    since,
)

pytestmark = pytest.mark.django_db


def test_normalise_mobile():
    assert normalise_mobile("+86 139-1111-2222") == "13911112222"
    assert normalise_mobile("0086 13911112222") == "13911112222"
    assert normalise_mobile("13911112222") == "13911112222"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("link_logins", *args, stdout=out)
    return out.getvalue()


def test_links_by_mobile_or_name_and_access_then_follows_the_assignments():
    grid, other = GridFactory(), GridFactory()
    by_phone = WorkerFactory(name="甲", phone="139 1111 2222")
    RoleAssignmentFactory(worker=by_phone, role=Role.GRID_LEADER, grid=grid, period=since())
    phone_login = AccountFactory(
        user=UserFactory(username="13911112222"), role=AccountRole.GRID_WORKER, codes=[grid.code]
    )
    by_name = WorkerFactory(name="乙")
    RoleAssignmentFactory(worker=by_name, role=Role.VILLAGE_SECRETARY, village=grid.village,
                          period=since())  # fmt: skip
    name_login = AccountFactory(
        user=UserFactory(username="yi", first_name="乙"), role=AccountRole.VILLAGE_STAFF,
        codes=[grid.village.code],
    )  # fmt: skip
    # A login whose person held the role only in the past: not linked, reported.
    past = WorkerFactory(name="丙")
    RoleAssignmentFactory(worker=past, role=Role.GRID_LEADER, grid=other,
                          period=Range(since(90).lower, since(10).lower, "[)"))  # fmt: skip
    AccountFactory(user=UserFactory(username="bing", first_name="丙"),
                   role=AccountRole.GRID_WORKER, codes=[other.code])  # fmt: skip

    dry = run("--dry-run")
    assert "13911112222: linked -> 甲" in dry and "yi: linked -> 乙" in dry
    assert "bing: none" in dry
    ours = [by_phone.pk, by_name.pk, past.pk]
    assert not Worker.objects.filter(pk__in=ours, user__isnull=False).exists()

    out = run()
    assert "13911112222: linked -> 甲" in out and "yi: linked -> 乙" in out
    assert Worker.objects.get(pk=by_phone.pk).user == phone_login.user
    assert Worker.objects.get(pk=by_name.pk).user == name_login.user
    # Linked: the codes of the account no longer decide, the assignments do.
    assert jurisdiction_prefixes(phone_login.user) == [grid.code]
    by_phone.assignments.update(period=Range(since(90).lower, since(1).lower, "[)"))
    assert jurisdiction_prefixes(get_user_model().objects.get(pk=phone_login.user_id)) == []
    again = run()  # idempotent: the linked logins are not listed again
    assert "13911112222" not in again and "yi:" not in again and "bing: none" in again


def test_two_matching_workers_are_reported_not_guessed():
    grid = GridFactory()
    twins = [WorkerFactory(name="同名") for _ in range(2)]
    for twin in twins:
        RoleAssignmentFactory(worker=twin, role=Role.GRID_MEMBER, grid=grid, period=since())
    AccountFactory(user=UserFactory(username="tong", first_name="同名"),
                   role=AccountRole.GRID_WORKER, codes=[grid.code])  # fmt: skip
    assert "tong: ambiguous" in run()
    assert not Worker.objects.filter(pk__in=[t.pk for t in twins], user__isnull=False).exists()
