"""Running the queued delivery jobs in a test: the jobs ``inbox.services`` put into
procrastinate's table (real rows, in the test's transaction), each run by calling the task as
a worker would, one round at a time (a retried job stays to be run again)."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from inbox import tasks
from inbox.deliveries import RetryLater


def queued_delivery_jobs() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, args, scheduled_at FROM procrastinate_jobs "
            "WHERE task_name = 'inbox.deliver' AND status = 'todo' ORDER BY id"
        )
        # Django's connection reads jsonb as text.
        return [
            {"id": i, "args": json.loads(a) if isinstance(a, str) else a, "scheduled_at": s}
            for i, a, s in cursor.fetchall()
        ]


def run_delivery_jobs() -> dict[int, str]:
    """Run each queued job once; the delivery id -> its state or "retry". A job that ended
    (not retried) is marked succeeded, as the worker would."""
    outcome: dict[int, str] = {}
    for job in queued_delivery_jobs():
        delivery_id = job["args"]["delivery_id"]
        try:
            outcome[delivery_id] = tasks.deliver(**job["args"])
        except RetryLater:
            outcome[delivery_id] = "retry"
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s", [job["id"]]
            )
    return outcome
