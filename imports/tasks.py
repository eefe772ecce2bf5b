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


@app.periodic(cron="*/5 * * * *", periodic_id="imports-sweep-dead")
# On the default queue: the clock's worker notices when the imports worker has stopped.
@app.task(name="imports.sweep_dead", queueing_lock="imports.sweep_dead")
def sweep_dead(timestamp: int) -> list[int]:
    """Every five minutes: jobs whose worker stopped mid-run are marked failed (see
    ``imports.services.import_jobs_sweep_dead``)."""
    from .services import import_jobs_sweep_dead

    return import_jobs_sweep_dead()
