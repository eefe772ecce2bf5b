"""Jurisdiction prefix matching: the kernel half of "what may this user see".

The rule is split in two, so that every layer can filter by jurisdiction while only one app
decides it:

- **the matching** lives here: a jurisdiction is a list of code *prefixes* (None: everything;
  an empty list: nothing), and because codes nest (see ``gridmap.codes``) a row is inside it
  when its code starts with one of them. ``scope_q`` and ``boundary_scope_q`` turn prefixes
  into a ``Q``; they know nothing about users;
- **the policy**, which prefixes a user may see, is ``accounts.selectors.jurisdiction_prefixes``
  and nothing else. ``accounts/apps.py`` registers it here in ``ready()``; the kernel and
  ``grids`` (which lie below ``accounts`` and must not import it) reach it through
  ``prefixes_of(user)``, ``user_scope_q`` and ``user_boundary_scope_q``. Apps above
  ``accounts`` import ``accounts.selectors`` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from .codes import CODE_LENGTH, Level

# A Q that matches nothing, for users with no jurisdiction.
NOTHING = Q(pk__in=[])

Prefixes = list[str] | None
Policy = Callable[[Any], Prefixes]

NO_POLICY = (
    "No jurisdiction policy is registered: accounts must be in INSTALLED_APPS "
    "(accounts/apps.py registers accounts.selectors.jurisdiction_prefixes)."
)


def scope_q(prefixes: Prefixes, code_path: str = "code") -> Q | None:
    """Q restricting rows whose ``code_path`` lies inside ``prefixes``.

    None means no restriction (``prefixes`` is None); an empty list gives ``NOTHING``.
    """
    if prefixes is None:
        return None
    if not prefixes:
        return NOTHING
    return reduce(or_, (Q(**{f"{code_path}__startswith": p}) for p in prefixes))


def boundary_scope_q(prefixes: Prefixes, code_length: int, code_path: str = "code") -> Q | None:
    """Boundaries of one level (codes of ``code_length`` digits) visible with ``prefixes``:
    those inside, and the ancestors that contain them (a grid worker sees the outline of
    their village and town)."""
    if prefixes is None:
        return None
    if not prefixes:
        return NOTHING
    inside = reduce(or_, (Q(**{f"{code_path}__startswith": p}) for p in prefixes))
    ancestors = {p[:code_length] for p in prefixes if len(p) > code_length}
    if code_length == CODE_LENGTH[Level.COUNTY]:
        # District codes are 6 digits, city prefixes 4: a city's prefix is no district.
        ancestors = {p[:code_length] for p in prefixes if len(p) >= CODE_LENGTH[Level.TOWN]}
    return inside | Q(**{f"{code_path}__in": sorted(ancestors)}) if ancestors else inside


# --- the policy, registered by accounts -----------------------------------------------------
_policy: Policy | None = None


def register_policy(policy: Policy) -> None:
    """Make ``policy(user) -> prefixes`` the one answer of ``prefixes_of`` (accounts, once)."""
    global _policy
    _policy = policy


def prefixes_of(user: Any) -> Prefixes:
    """The code prefixes ``user`` may see (None: everything), by the registered policy."""
    if _policy is None:
        raise ImproperlyConfigured(NO_POLICY)
    return _policy(user)


def user_scope_q(user: Any, code_path: str = "code") -> Q | None:
    """``scope_q`` of the user's jurisdiction."""
    return scope_q(prefixes_of(user), code_path)


def user_boundary_scope_q(user: Any, code_length: int, code_path: str = "code") -> Q | None:
    """``boundary_scope_q`` of the user's jurisdiction."""
    return boundary_scope_q(prefixes_of(user), code_length, code_path)
