"""The background send of the outbound channels: one procrastinate job per delivery record
(``inbox.deliveries.delivery_attempt``), retried with exponential backoff after a transient
failure. Run by the same worker as the clock (``make run``; docs/deployment.md)."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from .deliveries import MAX_RETRIES, RetryLater, delivery_attempt

# Retried only for RetryLater (a provider busy, throttling, a timeout, an HTTP 5xx); waits of
# 4 ** (attempt + 1) seconds between tries.
RETRY = RetryStrategy(max_attempts=MAX_RETRIES, exponential_wait=4, retry_exceptions={RetryLater})


@app.task(name="inbox.deliver", retry=RETRY)
def deliver(delivery_id: int) -> str:
    """Send one delivery record's entry through its channel; its state afterwards."""
    return delivery_attempt(delivery_id)
