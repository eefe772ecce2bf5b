"""Running the queued import jobs in a test: the jobs ``imports.services`` put into
procrastinate's table, each run by calling the task as a worker would, then marked
succeeded (as ``tests/inbox/jobs.py`` does for deliveries)."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from imports import tasks


def queued_import_jobs() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, args FROM procrastinate_jobs "
            "WHERE task_name = 'imports.run_job' AND status = 'todo' ORDER BY id"
        )
        # Django's connection reads jsonb as text.
        return [
            {"id": i, "args": json.loads(a) if isinstance(a, str) else a}
            for i, a in cursor.fetchall()
        ]


def run_import_jobs() -> dict[int, str]:
    """Run each queued import job once; the import job id -> its state afterwards."""
    outcome: dict[int, str] = {}
    for job in queued_import_jobs():
        outcome[job["args"]["job_id"]] = tasks.run_job(**job["args"])
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s", [job["id"]]
            )
    return outcome
