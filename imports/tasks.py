"""The background run of an import job: one procrastinate job per run (the dry run after the
upload, the commit after the confirmation), on the ``imports`` queue so a deployment may give
imports a worker of their own (docs/deployment.md). Not retried: a failed run says why on its
page, and the administrator uploads again."""

from __future__ import annotations

from procrastinate.contrib.django import app

QUEUE = "imports"


@app.task(name="imports.run_job", queue=QUEUE)
def run_job(job_id: int, commit: bool) -> str:
    """Run the dry run or the commit of import job ``job_id``; its state afterwards."""
    # Imported here: the runner uses the services, which queue this task (an import cycle).
    from .runner import run_job as run

    return run(job_id, commit=commit)
