"""The weekly schedule (五日工作制): what a role's day is for, by weekday, as data
(``ScheduleDay``). A district's rows come before the global ones (``district`` empty) for the
same role and weekday. The field page suggests the day's work from it (``activity_for``) and
the presence report compares a worker's visits against it (``schedule_table``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from grids.models import District, Role, RoleAssignment

from .models import Activity, ScheduleDay

# Long'an's five-day schedule of the village assistant (一村一站一助理): Monday study, Tuesday
# household visits, Wednesday receiving residents, Thursday training, Friday report to the
# town; Thursday and Friday are spent outside the village.
LONGAN_SCHEDULE: list[tuple[int, str, bool]] = [
    (0, Activity.STUDY, True),
    (1, Activity.VISITS, True),
    (2, Activity.RECEPTION, True),
    (3, Activity.TRAINING, False),
    (4, Activity.REPORT, False),
]
# Roles in their declared order (grid, village, station, town): who comes first when a worker
# holds several (the schedule, the public week, the report's verdicts).
ROLE_ORDER = [r.value for r in Role]

# (role, district code or None, weekday) -> the schedule day.
ScheduleTable = dict[tuple[str, str | None, int], ScheduleDay]


def place_code_of(assignment: RoleAssignment) -> str:
    place = assignment.place
    return place.code if place is not None else ""


def schedule_table(roles: Iterable[str], district_codes: Iterable[str]) -> ScheduleTable:
    """The schedule days of ``roles`` in ``district_codes`` and the global ones, in one
    query."""
    rows = ScheduleDay.objects.filter(role__in=set(roles)).filter(
        Q(district__isnull=True) | Q(district__code__in=set(district_codes))
    )
    return {
        (row.role, row.district.code if row.district_id else None, row.weekday): row
        for row in rows.select_related("district").defer("district__geom")
    }


def activity_from(
    table: ScheduleTable, roles: Iterable[str], district_code: str, weekday: int
) -> ScheduleDay | None:
    """The schedule day of the first of ``roles`` (in the roles' order) that has one: the
    district's row, else the global one."""
    for role in sorted(set(roles), key=ROLE_ORDER.index):
        row = table.get((role, district_code, weekday)) or table.get((role, None, weekday))
        if row is not None:
            return row
    return None


def activity_for(worker: object, day: dt.date) -> ScheduleDay | None:
    """What ``worker``'s schedule says ``day`` is for: from the roles they hold that day
    (the district of each role's place first, then the global schedule), None when no
    schedule covers the day. Two queries."""
    assignments = list(
        RoleAssignment.objects.active(day)
        .filter(worker=worker)
        .select_related("grid", "village", "station", "town")
        .defer("grid__geom", "village__geom", "town__geom")
    )
    if not assignments:
        return None
    table = schedule_table(
        [a.role for a in assignments], [place_code_of(a)[:6] for a in assignments]
    )
    for assignment in sorted(assignments, key=lambda a: ROLE_ORDER.index(a.role)):
        found = activity_from(
            table, [assignment.role], place_code_of(assignment)[:6], day.weekday()
        )
        if found is not None:
            return found
    return None


def load_longan_schedule(
    *, district: District | None = None, role: str = Role.VILLAGE_ASSISTANT
) -> int:
    """Write Long'an's five-day schedule for ``role`` (the village assistant) in ``district``
    (None: every district), replacing that role's rows there; the number of days written."""
    with transaction.atomic():
        ScheduleDay.objects.filter(role=role, district=district).delete()
        ScheduleDay.objects.bulk_create(
            ScheduleDay(
                role=role, weekday=weekday, activity=activity, in_place=in_place, district=district
            )
            for weekday, activity, in_place in LONGAN_SCHEDULE
        )
    return len(LONGAN_SCHEDULE)
