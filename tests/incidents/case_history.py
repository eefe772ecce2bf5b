"""Test helper: remove committed incidents together with their append-only history.

The case history (``CaseEvent``, ``CaseAttachment``) cannot be deleted: a trigger refuses it
(migration 0004) and ``CaseEvent.incident`` protects the incident. Tests that commit
incidents (browser tests, the worker test) remove them with ``purge_incidents``, which
switches the triggers off for its one transaction: ALTER TABLE takes an exclusive lock, so
no other session ever sees the tables without them.
"""

from __future__ import annotations

from collections.abc import Iterable

from incidents.services import incidents_purge


def purge_incidents(ids: Iterable[int]) -> int:
    """Delete the incidents, their history and everything that cascades from them."""
    return incidents_purge(ids=ids)
