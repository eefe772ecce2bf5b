"""Background work of coverage: the cached 15-minute service circle brought up to date.

A page or API call that finds more stale households than
``settings.GRIDMAP_COVERAGE_INLINE_HOUSEHOLDS`` hands the area to ``refresh_area`` (one job per
area at a time: a queueing lock) and shows "computing"; every night ``nightly_refresh``
refreshes every current city, so the morning's first visit finds the cache fresh.
"""

from __future__ import annotations

import logging

from django.db import transaction
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.contrib.django import app

from grids.models import City

from .service_circle import ServiceCircleError, refresh

logger = logging.getLogger(__name__)


@app.task(name="coverage.refresh_area")
def refresh_area(area_code: str) -> dict[str, int]:
    """Recompute the stale villages of one area (however many)."""
    try:
        state = refresh(area_code)
    except ServiceCircleError:
        return {"villages": 0, "recomputed": 0}
    recomputed = len(state.stale_villages)
    logger.info("Service circle of %s: %s villages recomputed", area_code, recomputed)
    return {"villages": state.villages, "recomputed": recomputed}


def defer_refresh(area_code: str) -> bool:
    """Queue ``refresh_area`` for the area unless one is queued already; whether queued."""
    try:
        with transaction.atomic():  # a savepoint: the lock's refusal leaves the caller's intact
            refresh_area.configure(queueing_lock=f"coverage.refresh:{area_code}").defer(
                area_code=area_code
            )
    except procrastinate_exceptions.AlreadyEnqueued:
        return False
    return True


@app.periodic(cron="30 2 * * *", periodic_id="coverage-nightly")
@app.task(name="coverage.nightly_refresh", queueing_lock="coverage.nightly_refresh")
def nightly_refresh(timestamp: int) -> dict[str, int]:
    """Every night at 02:30: every current city's circle brought up to date."""
    recomputed = 0
    for code in City.objects.current().values_list("code", flat=True):
        recomputed += refresh_area(code)["recomputed"]
    return {"recomputed": recomputed}
