"""The time limits of an incident: those of its category and severity (``CategoryTimeLimit``),
else the seeded defaults. The clock they run on is ``cases.deadlines``."""

from __future__ import annotations

from cases.deadlines import TimeLimit

from .models import CategoryTimeLimit, Severity, TimeUnit

# The seeded limits (migrations 0004 and 0010), used for a category and severity without a row:
# red round the clock (acknowledge within 30 minutes, resolve within 24 hours, escalate again
# every 30 minutes while unacknowledged), yellow and blue on the working calendar.
DEFAULT_TIME_LIMITS: dict[str, TimeLimit] = {
    Severity.RED: TimeLimit(
        30, TimeUnit.CALENDAR_MINUTES, 24 * 60, TimeUnit.CALENDAR_MINUTES, repeat_minutes=30
    ),
    Severity.YELLOW: TimeLimit(4, TimeUnit.WORKING_HOURS, 3, TimeUnit.WORKING_DAYS),
    Severity.BLUE: TimeLimit(1, TimeUnit.WORKING_DAYS, 7, TimeUnit.WORKING_DAYS),
}


def time_limit(category_id: int, severity: str) -> TimeLimit:
    """The limits of a category and severity (one query), else the seeded defaults."""
    row = (
        CategoryTimeLimit.objects.filter(category_id=category_id, severity=severity)
        .values_list(
            "acknowledge_amount",
            "acknowledge_unit",
            "resolve_amount",
            "resolve_unit",
            "escalate_every_minutes",
        )
        .first()
    )
    if row is None:
        return DEFAULT_TIME_LIMITS.get(severity, DEFAULT_TIME_LIMITS[Severity.BLUE])
    return TimeLimit(*row)
