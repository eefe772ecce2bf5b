"""A small per-process cache whose entries expire after the seconds a setting gives (0 or
unset: nothing is kept). For hot reads that may lag a change in another process by those
seconds: the active categories of a report (``incidents.selectors.active_category``), a
person's to-do badge (``incidents.context_processors``). The token and session cache
(``accounts.authentication``) adds versions to this and keeps its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

from django.conf import settings

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, setting: str, max_entries: int = 10_000) -> None:
        self.setting = setting
        # More entries than this within the seconds and the cache starts afresh.
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def seconds(self) -> float:
        return float(getattr(settings, self.setting, 0) or 0)

    def get(self, key: Hashable) -> V | None:
        """The value kept for ``key``, or None (none kept, expired, or the cache is off)."""
        found = self._entries.get(key)
        if found is None or self.seconds() <= 0:
            return None
        expires, value = found
        return value if expires > time.monotonic() else None

    def put(self, key: Hashable, value: V) -> None:
        seconds = self.seconds()
        if seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + seconds, value)

    def clear(self, **_: object) -> None:
        """Forget everything (also a signal receiver)."""
        with self._lock:
            self._entries.clear()
