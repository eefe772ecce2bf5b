"""The time limits of an incident: those of its category and severity (``CategoryTimeLimit``),
else the seeded defaults. The clock they run on is ``cases.deadlines``."""

from __future__ import annotations

from cases.deadlines import TimeLimit

from .models import CategoryTimeLimit, Severity, TimeUnit

# The seeded limits (migration 0004), used for a category and severity without a row.
DEFAULT_TIME_LIMITS: dict[str, TimeLimit] = {
    Severity.RED: TimeLimit(1, TimeUnit.WORKING_HOURS, 1, TimeUnit.WORKING_DAYS),
    Severity.YELLOW: TimeLimit(4, TimeUnit.WORKING_HOURS, 3, TimeUnit.WORKING_DAYS),
    Severity.BLUE: TimeLimit(1, TimeUnit.WORKING_DAYS, 7, TimeUnit.WORKING_DAYS),
}


def time_limit(category_id: int, severity: str) -> TimeLimit:
    """The limits of a category and severity (one query), else the seeded defaults."""
    row = (
        CategoryTimeLimit.objects.filter(category_id=category_id, severity=severity)
        .values_list("acknowledge_amount", "acknowledge_unit", "resolve_amount", "resolve_unit")
        .first()
    )
    if row is None:
        return DEFAULT_TIME_LIMITS.get(severity, DEFAULT_TIME_LIMITS[Severity.BLUE])
    return TimeLimit(*row)
