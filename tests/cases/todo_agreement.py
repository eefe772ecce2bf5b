"""The check that a kind's to do is its workflow's rule (``cases.todo``): for every login, the
to-do item of each case it may see is the first action of ``TODO_ACTIONS`` that
``allowed_actions`` allows (rating only once the case is closed out), and a case with none is
not in the to do. Used for every kind (incidents: ``test_todo``; service requests:
``tests/servicedesk/test_kind``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from cases.models import Status
from cases.todo import TODO_ACTIONS, todo_queryset
from cases.workflow import Action, allowed_actions


def expected_item(user: Any, case: Any) -> str | None:
    """What the to do must say of the case: the first to-do action the workflow allows."""
    allowed = set(allowed_actions(user=user, case=case))
    for item, action in TODO_ACTIONS.items():
        if action in allowed and (action != Action.CALLBACK or case.status == Status.CLOSED):
            return str(item)
    return None


def assert_todo_agrees(
    users: dict[str, Any], visible_to: Callable[[Any], QuerySet[Any]]
) -> set[str]:
    """Compare the to do with ``allowed_actions`` for every login but superusers (nothing
    waits on them as such); returns the to-do items seen."""
    seen: set[str] = set()
    for name, user in users.items():
        if user.is_superuser:
            continue
        expected = {c.pk: expected_item(user, c) for c in visible_to(user)}
        expected = {pk: a for pk, a in expected.items() if a is not None}
        got = dict(todo_queryset(user, visible_to(user)).values_list("id", "todo_action"))
        assert got == expected, name
        seen |= set(got.values())
    return seen
