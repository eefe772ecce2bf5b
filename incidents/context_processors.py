"""The to-do badge in the header of every page (``base.html``): the number of items waiting
on the signed-in person (``incidents.todo.todo_count``, plus the items of the other sources
registered in ``incidents.todo_extra``, counted in the same query), counted once, only when
a page draws it.

At city scale the count costs 60-230 ms of SQL (every live case the person may see is
looked at), more than the rest of most pages. So each server process keeps a person's count
for ``GRIDMAP_TODO_BADGE_SECONDS`` (15; 0 turns it off, as the tests do): the next pages
within those seconds show it without counting, and the to-do page, which counts exactly,
puts its count there. A badge may therefore lag an action by those seconds on another page;
the to-do page itself is always exact."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from gridmap.ttl import TTLCache

from .todo import todo_count

BADGE_MAX = 99
# A person's count, by login id, for GRIDMAP_TODO_BADGE_SECONDS.
kept_counts: TTLCache[int] = TTLCache("GRIDMAP_TODO_BADGE_SECONDS")


class TodoBadge:
    """The badge of ``user``; ``count`` given when the page already counted (the to do)."""

    def __init__(self, user: Any, count: int | None = None) -> None:
        self.user = user
        if count is not None:
            self.__dict__["count"] = count
            kept_counts.put(user.pk, count)

    @cached_property
    def count(self) -> int:
        kept = kept_counts.get(self.user.pk)
        if kept is not None:
            return kept
        count = todo_count(self.user, limit=BADGE_MAX + 1)
        kept_counts.put(self.user.pk, count)
        return count

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
