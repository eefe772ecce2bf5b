"""The to do (待办) of incidents: the cases waiting on the signed-in person now.

The engine's rule (``cases.todo``: every action the workflow would let the person take now,
as one SQL expression) over the incidents they may see (``selectors.incidents_visible_to``),
plus one item only incidents have:

- **follow up** (``follow_up``): a case the routing sent to the person (an
  ``IncidentRecipient`` of kind *routed* whose worker is theirs) that nobody has acknowledged
  yet at the level it was routed to. The routed tier names more people than the one who
  acknowledges (a blue case reaches the grid leader, the party-building guide, the central
  household and the mediation director; only the leader acknowledges): each of them is asked
  to see that it is taken up. It leaves the to do once the case is acknowledged, escalated or
  sent elsewhere.

Order: severity (red, yellow, blue), then the deadline the item answers (the acknowledgement
deadline to acknowledge or follow up, the on-site deadline (到场, red cases) to start, else
the resolution deadline; the resolution deadline to resolve, redispatch or decide on more
time; verify, close out and rate have none and come last), then the reported time. One
query for a page of items, one for the counts.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import ngettext, pgettext_lazy

from cases.models import Status
from cases.todo import TODO_ACTIONS, TodoAction, todo_action_expression, todo_scope_q

from . import todo_extra
from .models import Incident, IncidentRecipient, RecipientKind
from .selectors import incidents_visible_to

SUMMARY_CHARS = 80

FOLLOW_UP = "follow_up"
FOLLOW_UP_LABEL = pgettext_lazy("to do", "routed to you: see that it is taken up")
# Every to-do action of incidents, in order, with its label.
ACTIONS: dict[str, Any] = {
    **{str(a): TodoAction(a).label for a in TODO_ACTIONS},
    FOLLOW_UP: FOLLOW_UP_LABEL,
}
SEVERITY_RANK = {"red": 0, "yellow": 1, "blue": 2}
_ACKNOWLEDGE_DUE = [str(TodoAction.ACKNOWLEDGE), FOLLOW_UP]
_RESOLVE_DUE = [
    str(TodoAction.RESOLVE),
    str(TodoAction.REDISPATCH),
    str(TodoAction.DECIDE_EXTENSION),
]


def follow_up_q(user: Any) -> Q:
    """Cases routed to the user's worker that wait, unacknowledged, at the level they were
    routed to."""
    routed = IncidentRecipient.objects.filter(
        incident=OuterRef("pk"), kind=RecipientKind.ROUTED, worker__user=user
    )
    return Q(
        Exists(routed),
        status=Status.REPORTED,
        escalation_count=0,
        owner_level=F("responsible_level"),
    )


def _action_expression(user: Any, now: dt.datetime | None) -> CaseWhen:
    return todo_action_expression(user, Incident, extra=[(FOLLOW_UP, follow_up_q(user))], now=now)


def _waiting(user: Any, now: dt.datetime | None) -> QuerySet[Incident]:
    """The visible incidents waiting on ``user``, annotated with ``todo_action``: only the
    live ones are looked at (``todo_scope_q``)."""
    return (
        incidents_visible_to(user)
        .filter(todo_scope_q(Incident, now, user))
        .annotate(todo_action=_action_expression(user, now))
        .filter(todo_action__isnull=False)
    )


def todo(user: Any, *, now: dt.datetime | None = None) -> QuerySet[Incident]:
    """The incidents waiting on ``user``, each with ``todo_action`` and ``due_at`` (the
    deadline the item answers, or None), in the to do's order."""
    if not user.is_authenticated:
        return Incident.objects.none()
    severity = CaseWhen(
        *(When(severity=s, then=Value(rank)) for s, rank in SEVERITY_RANK.items()),
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )
    due = CaseWhen(
        When(todo_action__in=_ACKNOWLEDGE_DUE, then=F("acknowledge_due_at")),
        # Start work (到场): the on-site deadline where the case has one.
        When(
            todo_action=str(TodoAction.START),
            then=Coalesce(F("onsite_due_at"), F("resolve_due_at")),
        ),
        When(todo_action__in=_RESOLVE_DUE, then=F("resolve_due_at")),
        default=None,
        output_field=DateTimeField(),
    )
    return (
        _waiting(user, now)
        .annotate(severity_rank=severity, due_at=due)
        .select_related("category", "grid", "village", "town")
        .defer("grid__geom", "village__geom", "town__geom")
        .order_by("severity_rank", F("due_at").asc(nulls_last=True), "reported_at", "id")
    )


def todo_counts(user: Any, *, now: dt.datetime | None = None) -> dict[str, int]:
    """How many items of each action wait on ``user`` (every action, zeros too), in one
    query."""
    counts = dict.fromkeys(ACTIONS, 0)
    if not user.is_authenticated:
        return counts
    rows = (
        _waiting(user, now)
        .order_by()
        .values("todo_action")
        .annotate(n=Count("id"))
        .values_list("todo_action", "n")
    )
    counts.update(dict(rows))
    return counts


def todo_count(user: Any, *, now: dt.datetime | None = None, limit: int | None = None) -> int:
    """The number of items waiting on ``user`` (the badge): the cases and every other
    source's items (``todo_extra``), in one query (``UNION ALL``, counted). With ``limit``,
    counting stops there (the badge shows "99+": it never needs more than 100)."""
    if not user.is_authenticated:
        return 0
    cases = _waiting(user, None).order_by().values("pk")
    extra = todo_extra.count_querysets(user, now or timezone.now())
    items = cases.union(*extra, all=True) if extra else cases
    return (items[:limit] if limit is not None else items).count()


def due_text(due_at: dt.datetime | None, at: dt.datetime) -> str:
    """ "还剩 2 小时" / "已超时 3 小时" (days from 48 hours on), or "" without a deadline.
    Wall-clock time, as a person counts it on their phone."""
    if due_at is None:
        return ""
    seconds = (due_at - at).total_seconds()
    hours = max(1, math.ceil(abs(seconds) / 3600))
    days = hours // 24
    if seconds >= 0 and hours < 48:
        text = ngettext("%(n)s hour left", "%(n)s hours left", hours)
    elif hours < 48:
        text = ngettext("%(n)s hour overdue", "%(n)s hours overdue", hours)
    elif seconds >= 0:
        text = ngettext("%(n)s day left", "%(n)s days left", days)
    else:
        text = ngettext("%(n)s day overdue", "%(n)s days overdue", days)
    return text % {"n": hours if hours < 48 else days}


def place_of(incident: Incident) -> dict[str, str] | None:
    """The most precise place of the case: its grid (with its village's name), else its
    village, else its town."""
    place = incident.grid or incident.village or incident.town
    if place is None:
        return None
    # A grid's name ("第1网格") says little without its village's.
    village = incident.village.name if incident.grid and incident.village else ""
    return {"code": place.code, "name": place.name, "village": village}


def item(incident: Incident, *, at: dt.datetime) -> dict[str, Any]:
    """One to-do item as the API answers it and the page draws it (text only)."""
    due = getattr(incident, "due_at", None)
    return {
        "id": incident.pk,
        "action": incident.todo_action,
        "action_label": str(ACTIONS[incident.todo_action]),
        "severity": incident.severity,
        "severity_label": incident.get_severity_display(),
        "status": incident.status,
        "status_label": incident.get_status_display(),
        "category": incident.category.name,
        "summary": Truncator(incident.description).chars(SUMMARY_CHARS),
        "place": place_of(incident),
        "reported_at": incident.reported_at,
        "due_at": due,
        "overdue": due is not None and due < at,
        "due_text": due_text(due, at),
        "url": reverse("case", args=[incident.pk]),
    }
