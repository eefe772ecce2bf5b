"""The kinds of case the engine serves, and what the engine needs of each.

A kind is a ``CaseKind`` subclass registered from its app's ``AppConfig.ready``::

    class ServiceRequestKind(CaseKind):
        name = "service_request"
        model = ServiceRequest                 # inherits cases.models.Case
        event_model = ServiceRequestEvent      # inherits cases.models.CaseEventBase
        due_event_model = ServiceRequestDue    # inherits cases.models.DueEventBase
        supervision_model = ServiceRequestSupervision
        case_field = "request"                 # their foreign key to the case

        def time_limit(self, case): ...

    register(ServiceRequestKind())

The engine never imports a kind: it finds the kind of a case through this registry (a lower
layer reacting to a higher one, as the conventions ask).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import models

if TYPE_CHECKING:
    from .deadlines import TimeLimit
    from .models import Case, CaseEventBase


@dataclass(frozen=True)
class Assessment:
    """What a kind's ``assess`` decided: the level that now owns the case (the engine gives it
    to that level's place with new deadlines), the facts for the history (old -> new) and the
    workers to tell besides the new owners."""

    level: str
    out: dict[str, Any] = field(default_factory=dict)
    notify: frozenset[int] = frozenset()


class CaseKind:
    """A kind of case: its models and the few things only the kind knows."""

    name: ClassVar[str]
    model: ClassVar[type[Case]]
    event_model: ClassVar[type[CaseEventBase]]
    due_event_model: ClassVar[type[models.Model]]
    supervision_model: ClassVar[type[models.Model]]
    # An attachment model with ``event`` (FK to event_model), ``file``, ``content_type``,
    # ``size``; None when the kind keeps no attachments on actions.
    attachment_model: ClassVar[type[models.Model] | None] = None
    # The name of the foreign key to the case on the event, due-event and supervision models.
    case_field: ClassVar[str] = "case"
    # Whether its cases can be re-graded (研判, ``assess``): the kind implements ``assess``.
    assessable: ClassVar[bool] = False
    # The kind's transition table (``cases.workflow.Transition`` by action): None for the
    # engine's (``cases.workflow.TRANSITIONS``). A kind builds its own from the engine's with
    # ``cases.workflow.kind_transitions`` (the actions it offers, overrides of party, sources
    # or target, and its own handlers where it differs).
    transitions: ClassVar[dict[str, Any] | None] = None
    # How the kind's pages name an action (``Action`` value -> lazy label), where they differ
    # from the engine's (a service request's close-out is "deliver").
    action_labels: ClassVar[dict[str, Any]] = {}
    # What an action does in the kind's words, for "Only ... can %(action)s." (msgids).
    action_phrases: ClassVar[dict[str, str]] = {}
    # Worker roles that also handle a case owned by a level, besides the engine's
    # (``cases.workflow.WORKER_ROLES``): level -> roles held on the place of that level.
    extra_handler_roles: ClassVar[dict[str, tuple[str, ...]]] = {}
    # "Only ... can %(action)s." by level where the kind's handlers differ (msgids with
    # ``%(code)s`` and ``%(action)s``), else ``cases.workflow.MSG_ONLY_HANDLERS``.
    handler_messages: ClassVar[dict[str, str]] = {}
    # Whether a callback rating of ``cases.workflow.UNSATISFIED_AT_MOST`` or less reopens the
    # case (an incident's does; a service request's does not: the matter is done).
    reopen_on_low_rating: ClassVar[bool] = True
    # Whether an escalation gives the new owner fresh deadlines (an incident's) or keeps them
    # (a service request's promise to the resident does not move).
    new_deadlines_on_escalation: ClassVar[bool] = True
    # The level whose place (the one holding the case's ``place_code``) keeps handling a case
    # once it is owned higher up (escalated): its handlers stay handlers beside the new
    # owner's, for every action whose party is the handler, in the to do and in the
    # notifications to the owner's handlers. None: an escalated case is the new owner's
    # alone (an incident's). A service request's village: escalation puts the town beside it
    # as supervisor, it does not take the resident's matter away from the village.
    handlers_stay_at: ClassVar[str | None] = None

    # --- what only the kind knows -------------------------------------------------------
    def time_limit(self, case: Case) -> TimeLimit:
        """The time limits of this case (at creation, escalation and redispatch)."""
        raise NotImplementedError

    def assess(self, case: Case, data: dict[str, Any], at: dt.datetime) -> Assessment:
        """Re-grade the case from ``data`` (validate it, raising ``ValidationError`` keyed by
        field; change and save the kind's own fields; re-route) inside the engine's
        transaction, at ``at``. Only for a kind with ``assessable``."""
        raise NotImplementedError

    def notify(self, case: Case, event: CaseEventBase, worker_ids: set[int]) -> None:
        """Tell the workers about an action on the case (escalated, returned, redispatched,
        resolved, more time asked for or answered, reopened, station changed)."""

    def notify_overdue_at_top(
        self, case: Case, worker_ids: set[int], *, kind: str, due_at: dt.datetime
    ) -> None:
        """Tell the city's handlers that a case at the city level is overdue."""

    def notify_supervision(self, case: Case, worker_ids: set[int], *, number: int) -> None:
        """Tell the owners that the case got supervision record ``number``."""

    def visible_q(self, user: Any) -> models.Q | None:
        """Who may open a case besides the rule of ``cases.workflow.cases_visible_to`` (an
        incident's other reporters), or None."""
        return None

    def clock_queryset(self) -> models.QuerySet[Any]:
        """The cases the clock loads to act on (related rows its notifications read)."""
        return self.model.objects.all()

    # --- derived ------------------------------------------------------------------------
    def events(self, case: Any) -> models.QuerySet[Any]:
        """The history of a case (a case, its id, or an ``OuterRef`` to one)."""
        value = case.pk if isinstance(case, models.Model) else case
        return self.event_model.objects.filter(**{self.case_field: value})

    def new_event(self, case: Case, **fields: Any) -> CaseEventBase:
        return self.event_model.objects.create(**{self.case_field: case}, **fields)


_KINDS: dict[type[models.Model], CaseKind] = {}


def register(kind: CaseKind) -> CaseKind:
    """Make ``kind`` known to the engine (idempotent)."""
    _KINDS[kind.model] = kind
    return kind


def kind_of(case: Case | type[Case]) -> CaseKind:
    """The kind of a case or case model. LookupError for a model no kind registered."""
    model = case if isinstance(case, type) else type(case)
    model = model._meta.concrete_model or model
    try:
        return _KINDS[model]
    except KeyError:
        raise LookupError(f"{model.__name__} is not a registered kind of case.") from None


def kinds() -> Iterable[CaseKind]:
    return list(_KINDS.values())
