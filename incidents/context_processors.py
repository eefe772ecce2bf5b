"""The to-do badge in the header of every page (``base.html``): the number of items waiting
on the signed-in person (``incidents.todo.todo_count``, plus the items of the other sources
registered in ``incidents.todo_extra``, counted in the same query), counted once, only when
a page draws it."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from .todo import todo_count

BADGE_MAX = 99


class TodoBadge:
    """The badge of ``user``; ``count`` given when the page already counted (the to do)."""

    def __init__(self, user: Any, count: int | None = None) -> None:
        self.user = user
        if count is not None:
            self.__dict__["count"] = count

    @cached_property
    def count(self) -> int:
        return todo_count(self.user, limit=BADGE_MAX + 1)

    @property
    def text(self) -> str:
        """The count as the badge shows it: "99+" above 99, "" for none."""
        if not self.count:
            return ""
        return f"{BADGE_MAX}+" if self.count > BADGE_MAX else str(self.count)


def todo_badge(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"todo_badge": TodoBadge(user)}
