"""Other to-do items than cases: a registry the apps above incidents fill.

incidents owns the to do (``/todo/``, ``GET /api/todo/``, the header's badge) but lies below
the apps whose work also waits on a person (presence's key persons due for a visit). Such an
app registers a ``TodoSource`` in its ``AppConfig.ready()``:

- ``items(user, now)``: the items waiting on ``user`` now, each a dict drawn as text (at least
  ``text`` and ``url``; ``kind`` is the source's key);
- ``count_queryset(user, now)``: a queryset of one row per item (``values("pk")``), which the
  badge counts together with the cases in ONE query (``UNION ALL``), so that the badge stays a
  single count whatever is registered.

The page draws each source as its own section after the cases; the API answers them under
``extra`` and adds their counts to ``counts`` (and ``total``). Cases are unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class TodoSource:
    key: str
    label: Any  # a lazy translation: the section's title
    items: Callable[[Any, dt.datetime], list[dict[str, Any]]]
    count_queryset: Callable[[Any, dt.datetime], QuerySet]


_sources: dict[str, TodoSource] = {}


def register(source: TodoSource) -> None:
    """Add (or replace, by key) a source of to-do items."""
    _sources[source.key] = source


def sources() -> list[TodoSource]:
    return list(_sources.values())


def sections(user: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """Every source's items waiting on ``user``: ``[{"key", "label", "count", "items"}]``,
    the sources without items left out."""
    if not user.is_authenticated:
        return []
    out = []
    for source in sources():
        items = source.items(user, now)
        if items:
            out.append(
                {
                    "key": source.key,
                    "label": str(source.label),
                    "count": len(items),
                    "items": items,
                }  # fmt: skip
            )
    return out


def count_querysets(user: Any, now: dt.datetime) -> list[QuerySet]:
    if not user.is_authenticated:
        return []
    return [source.count_queryset(user, now) for source in sources()]
