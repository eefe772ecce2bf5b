"""The clock's part in planning: a plan published to take effect on a later day re-assigns
the open incidents of its area on that day.

Publishing writes the new catchment version at once (dated, so routing switches on the day
by itself); only the re-assignment of open cases waits. A procrastinate periodic task runs
every hour and reconciles the plans that took effect in the last week (catch-up after the
worker was down); ``incidents.workflow.reassign_stations`` is idempotent, so a plan already
applied changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from procrastinate.contrib.django import app

from .models import Plan
from .services import reassign_incidents

logger = logging.getLogger(__name__)
CATCH_UP_DAYS = 7


def apply_due_plans(today: dt.date | None = None) -> dict[int, list[int]]:
    """Re-assign the open incidents of every plan in force since the last week; the
    incidents that changed, per plan."""
    today = today or timezone.localdate()
    plans = Plan.objects.filter(
        status=Plan.Status.PUBLISHED,
        effective_from__lte=today,
        effective_from__gt=today - dt.timedelta(days=CATCH_UP_DAYS),
    ).order_by("effective_from", "published_at")
    out = {}
    for plan in plans:
        with transaction.atomic():
            out[plan.pk] = reassign_incidents(plan, actor=None, today=today)
    return out


@app.periodic(cron="5 * * * *", periodic_id="catchment-plans")
@app.task(name="planning.apply_due_plans", queueing_lock="planning.apply_due_plans")
def catchment_clock(timestamp: int) -> dict[str, int]:
    """Every hour: the open incidents of plans that took effect follow their new station."""
    changed = apply_due_plans()
    total = sum(len(ids) for ids in changed.values())
    if total:
        logger.info("Catchment plans: %s open incidents re-assigned", total)
    return {"plans": len(changed), "incidents": total}
