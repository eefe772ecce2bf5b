"""The time limits of an incident: those of its category and severity (``CategoryTimeLimit``),
else the seeded defaults. The clock they run on is ``cases.deadlines``."""

from __future__ import annotations

from typing import Any

from cases.deadlines import TimeLimit

from .models import CategoryTimeLimit, Severity, TimeUnit

# The seeded limits (migrations 0004, 0010 and 0011), used for a category and severity without a
# row: red round the clock (acknowledge within 30 minutes, on site within 2 hours, resolve
# within 24 hours, escalate again every 30 minutes while unacknowledged), yellow and blue on
# the working calendar without an on-site deadline.
DEFAULT_TIME_LIMITS: dict[str, TimeLimit] = {
    Severity.RED: TimeLimit(
        30,
        TimeUnit.CALENDAR_MINUTES,
        24 * 60,
        TimeUnit.CALENDAR_MINUTES,
        repeat_minutes=30,
        onsite_amount=120,
        onsite_unit=TimeUnit.CALENDAR_MINUTES,
    ),
    Severity.YELLOW: TimeLimit(4, TimeUnit.WORKING_HOURS, 3, TimeUnit.WORKING_DAYS),
    Severity.BLUE: TimeLimit(1, TimeUnit.WORKING_DAYS, 7, TimeUnit.WORKING_DAYS),
}


# The columns of a limit, in ``TimeLimit``'s order (the routing statement reads them too).
LIMIT_COLUMNS = (
    "acknowledge_amount",
    "acknowledge_unit",
    "resolve_amount",
    "resolve_unit",
    "escalate_every_minutes",
    "onsite_amount",
    "onsite_unit",
)


def time_limit_of_row(row: dict[str, Any] | None, severity: str) -> TimeLimit:
    """``time_limit`` of a row already read (``LIMIT_COLUMNS`` as a dict, or None)."""
    return _time_limit(None if row is None else tuple(row[c] for c in LIMIT_COLUMNS), severity)


def time_limit(category_id: int, severity: str) -> TimeLimit:
    """The limits of a category and severity (one query), else the seeded defaults."""
    row = (
        CategoryTimeLimit.objects.filter(category_id=category_id, severity=severity)
        .values_list(*LIMIT_COLUMNS)
        .first()
    )
    return _time_limit(row, severity)


def _time_limit(row: tuple | None, severity: str) -> TimeLimit:
    if row is None:
        return DEFAULT_TIME_LIMITS.get(severity, DEFAULT_TIME_LIMITS[Severity.BLUE])
    ack_amount, ack_unit, res_amount, res_unit, repeat, onsite_amount, onsite_unit = row
    return TimeLimit(
        ack_amount,
        ack_unit,
        res_amount,
        res_unit,
        repeat_minutes=repeat,
        onsite_amount=onsite_amount,
        onsite_unit=onsite_unit or None,
    )
