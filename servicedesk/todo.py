"""Service requests in the to do (待办): the engine's rule (``cases.todo``) over the requests
the person may see, drawn as one section of ``/todo/`` and counted in the header's badge
(``incidents.todo_extra``, which incidents offers to the apps above it).

Each request waiting on the person is one item: start handling it, handle it and report it
done, deliver it, decide on more time, or record the resident's rating once delivered (the
first of these the kind's table lets them take, ``cases.todo.TODO_ACTIONS``), the earliest
promise first. A request escalated to the town is in both the village's and the town's to do,
marked "escalated to the town" (and overdue once its promise has passed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, QuerySet
from django.utils.translation import gettext, gettext_noop, pgettext_lazy

from cases.todo import TodoAction, todo_queryset
from gridmap.codes import Level

from .models import ServiceRequest
from .selectors import promised_date, requests_visible_to

TODO_KIND = "service_request"
TODO_LABEL = pgettext_lazy("to do", "service requests")
MSG_TODO = gettext_noop("%(action)s: %(item)s, %(code)s, promised by %(promised)s")
MSG_TODO_ESCALATED = gettext_noop("%(text)s (escalated to the town)")
# What each to-do item asks, in the service's words.
TODO_LABELS: dict[str, Any] = {
    TodoAction.START: pgettext_lazy("service to do", "start handling"),
    TodoAction.RESOLVE: pgettext_lazy("service to do", "handle and report done"),
    TodoAction.CLOSE_OUT: pgettext_lazy("service to do", "deliver to the resident"),
    TodoAction.DECIDE_EXTENSION: TodoAction.DECIDE_EXTENSION.label,
    TodoAction.CALLBACK: pgettext_lazy("service to do", "record the resident's rating"),
}


def waiting(user: Any, now: dt.datetime | None = None) -> QuerySet[ServiceRequest]:
    """The requests waiting on ``user``, each with ``todo_action``, earliest promise first."""
    return (
        todo_queryset(user, requests_visible_to(user), now=now)
        .select_related("item")
        .order_by(F("resolve_due_at").asc(nulls_last=True), "reported_at", "id")
    )


def todo_item(request: ServiceRequest, *, now: dt.datetime) -> dict[str, Any]:
    """One request as a to-do item (text only: no personal data)."""
    action = request.todo_action  # type: ignore[attr-defined]
    label = TODO_LABELS.get(action, action)
    promised = promised_date(request)
    text = gettext(MSG_TODO) % {
        "action": label,
        "item": request.item.name,
        "code": request.short_code,
        "promised": promised.isoformat(),
    }
    # Escalated (overdue, by the clock, or by a person): the village still handles it and the
    # town supervises it (servicedesk.kind); both see it so marked.
    escalated = request.owner_level != Level.VILLAGE
    if escalated:
        text = gettext(MSG_TODO_ESCALATED) % {"text": text}
    return {
        "kind": TODO_KIND,
        "id": request.pk,
        "action": action,
        "action_label": str(label),
        "item": request.item.name,
        "short_code": request.short_code,
        "promised_on": promised,
        "overdue": request.resolve_due_at is not None
        and request.resolve_due_at < now
        and action in (TodoAction.START, TodoAction.RESOLVE),
        "escalated": escalated,
        "text": text,
        "url": f"/services/{request.pk}/",
    }


def todo_items(user: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """The to-do source's items (``incidents.todo_extra``)."""
    return [todo_item(r, now=now) for r in waiting(user, now)]


def todo_count_queryset(user: Any, now: dt.datetime) -> QuerySet[Any]:
    """The to-do source's rows for the badge, one per request (``incidents.todo_extra``)."""
    return todo_queryset(user, requests_visible_to(user), now=now).order_by().values("pk")
