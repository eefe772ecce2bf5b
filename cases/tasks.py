"""The clock's procrastinate task: every minute, escalate overdue cases and supervise the
ledger (``cases.clock``)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import close_old_connections, connection
from django.utils import timezone
from procrastinate.contrib.django import app

from .clock import escalate_overdue, supervise_ledger

logger = logging.getLogger(__name__)


@app.periodic(cron="* * * * *", periodic_id="case-clock")
# The queueing lock keeps at most one run waiting (no pile-up while one is slow). No run lock:
# two runs at once are safe (each due event is inserted once, each case row is locked), and
# a job left "doing" by a killed worker must not block the clock for ever.
# The task keeps the name it had when the clock lived in incidents/, so jobs already queued
# under that name still run.
@app.task(name="incidents.clock", queueing_lock="incidents.clock")
def clock(timestamp: int) -> dict[str, Any]:
    """Every minute: escalate overdue cases and supervise the ledger (see the module)."""
    _close_old_connections()
    try:
        now = timezone.now()
        escalated = escalate_overdue(now)
        supervised = supervise_ledger(now)
        if escalated or supervised:
            logger.info(
                "Clock: %s due events acted on, %s supervision records",
                len(escalated),
                len(supervised),
            )
        return {"due_events": len(escalated), "supervision_records": len(supervised)}
    finally:
        _close_old_connections()


def _close_old_connections() -> None:
    """As Django does around a request: a long-running worker thread must not keep a broken
    or expired connection. Not inside a transaction (a test calling the task directly)."""
    if not connection.in_atomic_block:
        close_old_connections()
