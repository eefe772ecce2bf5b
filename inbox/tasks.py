"""The background send of the outbound channels: one procrastinate job per delivery record
(``inbox.deliveries.delivery_attempt``), retried with exponential backoff after a transient
failure. Run by the same worker as the clock (``make run``; docs/deployment.md)."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from .deliveries import MAX_RETRIES, RetryLater, deliveries_sweep_stuck, delivery_attempt

# Retried only for RetryLater (a provider busy, throttling, a timeout, an HTTP 5xx); waits of
# 4 ** (attempt + 1) seconds between tries.
RETRY = RetryStrategy(max_attempts=MAX_RETRIES, exponential_wait=4, retry_exceptions={RetryLater})


@app.task(name="inbox.deliver", retry=RETRY)
def deliver(delivery_id: int) -> str:
    """Send one delivery record's entry through its channel; its state afterwards."""
    return delivery_attempt(delivery_id)


@app.periodic(cron="*/5 * * * *", periodic_id="deliveries-sweep")
@app.task(name="inbox.sweep_stuck", queueing_lock="inbox.sweep_stuck")
def sweep_stuck(timestamp: int) -> dict[str, int]:
    """Every five minutes: deliveries abandoned in ``sending`` by a worker that stopped are
    tried again (a new job each) or, with no retries left, marked failed."""
    again, failed = deliveries_sweep_stuck()
    for delivery_id in again:
        deliver.defer(delivery_id=delivery_id)
    return {"queued_again": len(again), "failed": len(failed)}
