"""gridmap.jurisdiction: prefix matching, and the policy accounts registers in the kernel."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from accounts import selectors as account_selectors
from gridmap import jurisdiction
from gridmap.jurisdiction import (
    NOTHING,
    boundary_scope_q,
    prefixes_of,
    register_policy,
    scope_q,
    user_boundary_scope_q,
    user_scope_q,
)


def test_scope_q_of_prefixes():
    assert scope_q(None) is None
    assert scope_q([]) == NOTHING
    assert scope_q(["450702100"], "grid__code") == Q(grid__code__startswith="450702100")
    assert scope_q(["4507", "450802"]) == Q(code__startswith="4507") | Q(code__startswith="450802")


def test_boundary_scope_q_adds_the_ancestors():
    village = "450702100001"
    assert boundary_scope_q(None, 9) is None
    assert boundary_scope_q([], 9) == NOTHING
    assert boundary_scope_q([village], 9) == Q(code__startswith=village) | Q(code__in=["450702100"])
    # Districts: the first six digits of a town or longer, never a city's four.
    assert boundary_scope_q(["4507", village], 6) == (
        Q(code__startswith="4507") | Q(code__startswith=village)
    ) | Q(code__in=["450702"])
    assert boundary_scope_q(["4507"], 6) == Q(code__startswith="4507")


def test_accounts_registers_the_one_policy():
    assert jurisdiction._policy is account_selectors.jurisdiction_prefixes
    anonymous = AnonymousUser()
    assert prefixes_of(anonymous) == []
    assert user_scope_q(anonymous) == NOTHING
    assert user_boundary_scope_q(anonymous, 9) == NOTHING


def test_no_policy_is_a_configuration_error(monkeypatch):
    monkeypatch.setattr(jurisdiction, "_policy", None)
    with pytest.raises(ImproperlyConfigured):
        prefixes_of(AnonymousUser())


def test_a_registered_policy_answers(monkeypatch):
    monkeypatch.setattr(jurisdiction, "_policy", None)
    register_policy(lambda user: ["450702"])
    assert user_scope_q(AnonymousUser(), "town__code") == Q(town__code__startswith="450702")
