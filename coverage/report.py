"""The whole coverage report of an area: every check's figures, with the time each took.

Check 7 (the 15-minute service circle) lives in ``coverage.service_circle`` (the road work);
it is imported lazily and reported as not available while that module does not exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from typing import Any

from django.conf import settings

from gridmap.sql import parallel_plans
from grids.models import BOUNDARY_MODELS

from . import checks, tasks

# Check 7 before coverage.service_circle exists: a status the page turns into words.
NOT_AVAILABLE = {"available": False, "status": "not_available_yet"}


def area_of(code: str) -> dict[str, str] | None:
    """Level, code, name and prefix of the current area with ``code``, or None if unknown.

    Raises ValueError for a code that is not 6, 9 or 12 digits.
    """
    prefix = checks.area_prefix(code)
    level = checks.area_level(code)
    model = BOUNDARY_MODELS[level]
    row = model.objects.current().filter(code=code).only("code", "name").first()
    if row is None:
        return None
    return {"code": row.code, "name": row.name, "level": level, "prefix": prefix}


def service_circle_available() -> bool:
    return importlib.util.find_spec("coverage.service_circle") is not None


# Check 7 while the cache is being recomputed in the background (coverage.tasks).
COMPUTING = {"available": False, "status": "computing"}


def _service_circle(area_code: str, max_households: int | None) -> dict[str, Any]:
    if not service_circle_available():
        return dict(NOT_AVAILABLE)
    module = importlib.import_module("coverage.service_circle")
    try:
        result = module.service_circle(
            area_code, with_ids=False, max_households=max_households
        ).as_dict()
    except module.ServiceCircleComputing:
        tasks.defer_refresh(area_code)
        return dict(COMPUTING)
    except module.ServiceCircleError:
        # A known area (coverage_report found it) without any current village, such as a new
        # district not yet divided: nothing to reach, every figure empty.
        result = module.empty_result(area_code).as_dict()
    result.setdefault("available", True)
    return result


def refresh_or_defer(area_code: str, max_households: int | None) -> bool:
    """Bring the area's cached service circle up to date within the request when at most
    ``max_households`` households wait for it, else queue it (``coverage.tasks``); whether
    the cache is fresh now."""
    module = importlib.import_module("coverage.service_circle")
    try:
        state = module.refresh(area_code, max_households=max_households)
    except module.ServiceCircleError:
        return True
    if not state.fresh:
        tasks.defer_refresh(area_code)
    return state.fresh


def coverage_report(area_code: str, *, max_households: int | None = None) -> dict[str, Any]:
    """Every figure of checks 1-7 for the area (see ``checks``), keyed by check name, each
    with ``seconds``; ``timings`` repeats the seconds per check and the total.

    The service circle comes from its cache, brought up to date first. ``max_households``
    (the pages and the API: ``settings.GRIDMAP_COVERAGE_INLINE_HOUSEHOLDS``): when more
    households than that wait for a recomputation, the recomputation is handed to the
    background worker and check 7 says ``computing`` instead of outliving the request.

    Raises ValueError for a malformed code and LookupError for an unknown area.
    """
    area = area_of(area_code)
    if area is None:
        raise LookupError(area_code)
    out: dict[str, Any] = {
        "area": area,
        "settings": {
            "max_roles_per_worker": settings.GRIDMAP_MAX_ROLES_PER_WORKER,
            "grid_households_norm": list(settings.GRIDMAP_GRID_HOUSEHOLDS_NORM),
            "households_per_worker": settings.GRIDMAP_HOUSEHOLDS_PER_WORKER,
            "station_villages": list(settings.GRIDMAP_STATION_VILLAGES),
            "station_contiguity_tolerance_m": settings.GRIDMAP_STATION_CONTIGUITY_TOLERANCE_M,
        },
        "checks": {},
        "timings": {},
    }
    started = time.perf_counter()

    def timed(name: str, run: Any) -> None:
        t0 = time.perf_counter()
        figures = run()
        seconds = round(time.perf_counter() - t0, 3)
        out["checks"][name] = {**figures, "seconds": seconds}
        out["timings"][name] = seconds

    # Checks 1-6 aggregate the area's households: parallel workers pay for their start there.
    # The service circle keeps its own plan (its recomputation splits the work itself).
    with parallel_plans():
        for name, fn in checks.CHECKS.items():
            timed(name, lambda fn=fn: fn(area["prefix"]))
    timed("service_circle", lambda: _service_circle(area_code, max_households))
    out["timings"]["total"] = round(time.perf_counter() - started, 3)
    return out
