"""The to do (待办): the cases waiting on a person's action now, in one query.

The rule is the workflow's (``cases.workflow``): for each action a to do offers, the
transition's sources, party and conditions are turned into one ``Q`` on the case fields, so
the to do and ``allowed_actions`` cannot disagree (``tests/cases/test_todo.py`` compares them
case by case). Nothing loops over cases in Python:

- **the party** comes from what ``_Parties`` reads, read once per request: the user's active
  role assignments today (``accounts.selectors.today_assignments``) and the explicit grant of
  their account (``granted_account``). A *handler* is the owner level's: a role on the owning
  place (grid leader of the grid, village secretary or mediation director of the village,
  dispatcher of the town) or an account of the owner level's role covering it; a kind may
  keep the handlers of one level beside a higher owner's (``CaseKind.handlers_stay_at``: a
  service request's village after escalation; ``PartyQ.handles_home`` on ``place_code``). A
  *supervisor* of a grid or village case staffs the station whose catchment holds the village
  today (a correlated ``EXISTS`` on the catchment); above that, the handler of the level
  above. A *closer* of a grid or village case signs for that station (its head or the head's
  delegate); above that, the owner level's handler. The *reporter* is the case's.
- **the kind's table**: a kind with its own transitions (``CaseKind.transitions``: a
  service request) gets the to-do items of the actions its table offers, each from its own
  rule (its party, sources and conditions).
- **the conditions** each have their SQL twin in ``CONDITION_SQL`` (extension pending or not,
  not rated since resolved, not the verifier). A condition added to the workflow without a
  twin makes ``todo_q`` raise, so the to do never silently drifts from the rule.

One case is one item: the first action of ``TODO_ACTIONS`` the user may take on it. Asking
for more time, returning, escalating, reopening and cancelling are things a person *may* do,
not work waiting on them, so they are not items; granting and refusing more time are one item
("decide on more time"). The reporter is asked to rate after close-out (the workflow also
accepts a rating of a resolved case; the to do asks once the case is closed out) for
``RATE_WITHIN_DAYS`` days; a rating of 1 or 2 reopens the case (``cases.workflow.callback``).

Superusers may take every action (``_Parties.everything``), but nothing waits on them as
such: their to do holds what their roles and account make them a party to, like anyone's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import reduce
from operator import and_, or_
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Case as CaseWhen
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Substr
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from accounts.models import AccountRole
from accounts.selectors import granted_account, today_assignments
from gridmap.codes import CODE_LENGTH, LEVEL_ORDER, Level, prefix_of
from gridmap.jurisdiction import NOTHING
from grids.models import STATION_ROLES, CatchmentAssignment, Role

from .kinds import CaseKind, kind_of
from .models import OPEN_STATUSES, Case, Status
from .workflow import (
    ACCOUNT_ROLE,
    CLOSER,
    HANDLER,
    REDISPATCHER,
    REPORTER,
    SUPERVISOR,
    Action,
    extension_pending,
    no_extension_pending,
    not_rated_since_resolved,
    not_the_verifier,
    transitions_of,
    worker_roles,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser


class TodoAction(models.TextChoices):
    """What a to-do item asks of the person, in the order a case is offered (the first that
    applies): each is one action of the workflow, except ``decide_extension`` (grant or
    refuse more time, one rule)."""

    ACKNOWLEDGE = "acknowledge", pgettext_lazy("to do", "acknowledge")
    REDISPATCH = "redispatch", pgettext_lazy("to do", "send to the right place")
    DECIDE_EXTENSION = "decide_extension", pgettext_lazy("to do", "decide on more time")
    START = "start", pgettext_lazy("to do", "start work")
    RESOLVE = "resolve", pgettext_lazy("to do", "handle and report resolved")
    VERIFY = "verify", pgettext_lazy("to do", "verify")
    CLOSE_OUT = "close_out", pgettext_lazy("to do", "close out")
    CALLBACK = "callback", pgettext_lazy("to do", "rate how it was handled")


# Each to-do action and the workflow action whose rule it is.
TODO_ACTIONS: dict[str, str] = {
    TodoAction.ACKNOWLEDGE: Action.ACKNOWLEDGE,
    TodoAction.REDISPATCH: Action.REDISPATCH,
    TodoAction.DECIDE_EXTENSION: Action.GRANT_EXTENSION,
    TodoAction.START: Action.START,
    TodoAction.RESOLVE: Action.RESOLVE,
    TodoAction.VERIFY: Action.VERIFY,
    TodoAction.CLOSE_OUT: Action.CLOSE_OUT,
    TodoAction.CALLBACK: Action.CALLBACK,
}
# The reporter is asked to rate once the case is closed out, for this many days.
RATE_WITHIN_DAYS = 30

# The place at a level whose code is the first ``n`` digits of a case's owner code plus a
# suffix: a city's code is its first four digits and "00".
_PLACE_OF_OWNER: dict[str, tuple[int, str]] = {
    Level.GRID: (CODE_LENGTH[Level.GRID], ""),
    Level.VILLAGE: (CODE_LENGTH[Level.VILLAGE], ""),
    Level.TOWN: (CODE_LENGTH[Level.TOWN], ""),
    Level.COUNTY: (CODE_LENGTH[Level.COUNTY], ""),
    Level.CITY: (4, "00"),
}
_STATION_LEVELS = [Level.GRID, Level.VILLAGE]
_ROLE_COLUMN = {"grid": 1, "village": 2, "town": 3}


def _any(qs: Sequence[Q]) -> Q:
    return reduce(or_, qs) if qs else NOTHING


class PartyQ:
    """``cases.workflow._Parties`` as SQL: for each party, a ``Q`` on the case fields that
    holds exactly for the cases the user is that party to today."""

    def __init__(self, user: User, on: dt.date, kind: CaseKind | None = None) -> None:
        self.user = user
        self.on = on
        self.kind = kind
        self.account = granted_account(user) if user.is_authenticated else None
        # Today's assignments, read once per request (the jurisdiction reads the same rows).
        self.rows = today_assignments(user)

    def _account_codes(self, role: str) -> list[str]:
        account = self.account
        return list(account.codes) if account is not None and account.role == role else []

    def handles_place(self, level: str, owner_level: str) -> Q:
        """The user handles the place at ``level`` that holds the case's owner (of level
        ``owner_level``): ``_Parties.handles(level, code_at(level, owner_code))``."""
        n, suffix = _PLACE_OF_OWNER[level]
        parts = [
            Q(owner_code__startswith=p[:n])
            for p in map(prefix_of, self._account_codes(ACCOUNT_ROLE[level]))
            if suffix.startswith(p[n:])
        ]
        held = worker_roles(self.kind, level)
        if held is not None and level == owner_level:
            roles, field = held
            codes = {r[_ROLE_COLUMN[field]] for r in self.rows if r[0] in roles}
            codes.discard(None)
            if codes:
                parts.append(Q(owner_code__in=sorted(codes)))
        return _any(parts)

    def _station_exists(self, station_ids: set[int], station_codes: set[str]) -> Q:
        """The case's village (its owner code's first 12 digits) lies in the catchment of one
        of these stations today."""
        if not station_ids and not station_codes:
            return NOTHING
        which = Q(station_id__in=sorted(station_ids)) | Q(station__code__in=sorted(station_codes))
        catchment = CatchmentAssignment.objects.active(self.on).filter(
            which,
            village__code=Substr(OuterRef("owner_code"), 1, CODE_LENGTH[Level.VILLAGE]),
        )
        return Q(owner_level__in=_STATION_LEVELS) & Q(Exists(catchment))

    def handles_home(self) -> Q:
        """The user handles the place the kind keeps handling its cases owned above it
        (``cases.workflow.home_place``): the place at ``CaseKind.handlers_stay_at`` holding
        the case's ``place_code``, while the owner is higher up."""
        level = self.kind.handlers_stay_at if self.kind is not None else None
        if level is None:
            return NOTHING
        n = CODE_LENGTH[level]
        parts = [
            Q(place_code__startswith=p)
            for p in map(prefix_of, self._account_codes(ACCOUNT_ROLE[level]))
            if len(p) <= n
        ]
        held = worker_roles(self.kind, level)
        if held is not None:
            roles, field = held
            codes = {r[_ROLE_COLUMN[field]] for r in self.rows if r[0] in roles}
            codes.discard(None)
            parts += [Q(place_code__startswith=code) for code in sorted(codes)]
        if not parts:
            return NOTHING
        above = LEVEL_ORDER[LEVEL_ORDER.index(level) + 1 :]
        return Q(owner_level__in=above) & Q(place_code__regex=f"^.{{{n},}}$") & _any(parts)

    def handler(self) -> Q:
        owners = [
            Q(owner_level=level) & self.handles_place(level, level) for level in _PLACE_OF_OWNER
        ]
        if self.kind is not None and self.kind.handlers_stay_at is not None:
            owners.append(self.handles_home())
        return _any(owners)

    def supervisor(self) -> Q:
        staffed = {r[4] for r in self.rows if r[0] in STATION_ROLES and r[4] is not None}
        station = self._station_exists(staffed, set(self._account_codes(AccountRole.STATION_STAFF)))
        town = Q(owner_level=Level.TOWN) & self.handles_place(Level.COUNTY, Level.TOWN)
        above = Q(owner_level__in=[Level.COUNTY, Level.CITY]) & self.handles_place(
            Level.CITY, Level.COUNTY
        )
        return station | town | above

    def closer(self) -> Q:
        signing = {Role.STATION_HEAD, Role.STATION_HEAD_DELEGATE}
        signs = {r[4] for r in self.rows if r[0] in signing and r[4] is not None}
        others = [
            Q(owner_level=level) & self.handles_place(level, level)
            for level in _PLACE_OF_OWNER
            if level not in _STATION_LEVELS
        ]
        return self._station_exists(signs, set()) | _any(others)

    def reporter(self) -> Q:
        return Q(reporter=self.user.pk) if self.user.is_authenticated else NOTHING

    def q(self, party: str) -> Q:
        if party == HANDLER:
            return self.handler()
        if party == SUPERVISOR:
            return self.supervisor()
        if party == CLOSER:
            return self.closer()
        if party == REDISPATCHER:
            return self.handler() | self.supervisor()
        if party == REPORTER:
            return self.reporter()
        raise ValueError(party)


# --- the conditions' SQL twins ---------------------------------------------------------------
ConditionSql = Callable[[CaseKind, PartyQ], Q]


def _not_rated_since_resolved(kind: CaseKind, parties: PartyQ) -> Q:
    later_resolve = kind.events(OuterRef(OuterRef("pk"))).filter(
        action=Action.RESOLVE, seq__gt=OuterRef("seq")
    )
    rated = (
        kind.events(OuterRef("pk")).filter(action=Action.CALLBACK).filter(~Exists(later_resolve))
    )
    return ~Q(Exists(rated))


def _not_the_verifier(kind: CaseKind, parties: PartyQ) -> Q:
    if not parties.user.is_authenticated:
        return Q()
    verifier = (
        kind.events(OuterRef("pk"))
        .filter(action=Action.VERIFY)
        .order_by("-seq")
        .values("actor_id")[:1]
    )
    latest = Coalesce(Subquery(verifier), Value(0), output_field=models.IntegerField())
    return ~Q(Exact(latest, parties.user.pk))


CONDITION_SQL: dict[Callable[..., Any], ConditionSql] = {
    no_extension_pending: lambda kind, parties: Q(extension_pending=False),
    extension_pending: lambda kind, parties: Q(extension_pending=True),
    not_rated_since_resolved: _not_rated_since_resolved,
    not_the_verifier: _not_the_verifier,
}


def register_condition_sql(condition: Callable[..., Any], sql: ConditionSql) -> None:
    """Give a kind's own workflow condition its SQL twin (from the kind's ``AppConfig.ready``:
    the engine never imports a kind)."""
    CONDITION_SQL[condition] = sql


def action_q(action: str, kind: CaseKind, parties: PartyQ, now: dt.datetime) -> Q:
    """The cases on which the user may take the workflow ``action`` now (its rule as SQL),
    narrowed as the to do asks (a rating once closed out, within ``RATE_WITHIN_DAYS``)."""
    rule = transitions_of(kind)[action]
    parts = [Q(status__in=sorted(rule.sources)), parties.q(rule.party)]
    for condition in rule.conditions:
        try:
            parts.append(CONDITION_SQL[condition](kind, parties))
        except KeyError:
            raise LookupError(
                f"The workflow condition {condition.__name__} of {action} has no SQL twin in "
                "cases.todo.CONDITION_SQL: add one, or the to do drifts from the rule."
            ) from None
    if action == Action.CALLBACK:
        parts += [
            Q(status=Status.CLOSED),
            Q(closed_at__gte=now - dt.timedelta(days=RATE_WITHIN_DAYS)),
        ]
    return reduce(and_, parts)


def todo_action_expression(
    user: User,
    model: type[Case],
    *,
    extra: Sequence[tuple[str, Q]] = (),
    now: dt.datetime | None = None,
) -> CaseWhen:
    """The to-do action of each case for ``user`` (NULL: nothing waits on them), the first
    of ``TODO_ACTIONS`` that applies, then the kind's ``extra`` items (name, Q)."""
    now = now or timezone.now()
    kind = kind_of(model)
    parties = PartyQ(user, timezone.localdate(), kind)
    table = transitions_of(kind)
    whens = [
        When(action_q(action, kind, parties, now), then=Value(str(item)))
        for item, action in TODO_ACTIONS.items()
        if action in table
    ]
    whens += [When(q, then=Value(name)) for name, q in extra]
    return CaseWhen(*whens, default=None, output_field=models.CharField())


def todo_scope_q(model: type[Case], now: dt.datetime | None = None, user: User | None = None) -> Q:
    """The cases some to-do action could apply to: the states an action of ``TODO_ACTIONS``
    starts from, and a rating only for a case closed out within ``RATE_WITHIN_DAYS`` (by
    ``user``'s party to the rating, when given: the reporter, for incidents). It decides
    nothing (``todo_action_expression`` does); it lets the database find the few live cases
    by the lists' partial indexes (open states, close-out) and the reporter's index instead
    of evaluating the action expression on every case the person may see, most of them long
    closed (at city scale, a month's close-outs are some 80,000 cases). A kind's ``extra``
    items must lie inside it (follow up: reported)."""
    now = now or timezone.now()
    kind = kind_of(model)
    table = transitions_of(kind)
    statuses: set[str] = set()
    parts: list[Q] = []
    for action in TODO_ACTIONS.values():
        if action not in table:
            continue
        if action == Action.CALLBACK:
            rated = Q(
                status=Status.CLOSED, closed_at__gte=now - dt.timedelta(days=RATE_WITHIN_DAYS)
            )
            if user is not None:
                rated &= PartyQ(user, timezone.localdate(), kind).q(table[action].party)
            parts.append(rated)
        else:
            statuses |= {str(s) for s in table[action].sources}
    # In the order of the open-state partial indexes' predicate (cases.models.list_indexes):
    # written in another order, PostgreSQL does not see the condition as the index's own and
    # ANDs in a second index to check it (190 ms at city scale).
    ordered = [str(s) for s in OPEN_STATUSES if str(s) in statuses]
    ordered += sorted(statuses - set(ordered))
    return reduce(or_, [Q(status__in=ordered), *parts])


def todo_queryset(
    user: User,
    qs: QuerySet[Any],
    *,
    extra: Sequence[tuple[str, Q]] = (),
    now: dt.datetime | None = None,
) -> QuerySet[Any]:
    """The cases of ``qs`` (the user's visible cases) waiting on ``user``, each annotated
    with ``todo_action``."""
    if not user.is_authenticated:
        return qs.none()
    expression = todo_action_expression(user, qs.model, extra=extra, now=now)
    return (
        qs.filter(todo_scope_q(qs.model, now, user))
        .annotate(todo_action=expression)
        .filter(todo_action__isnull=False)
    )
