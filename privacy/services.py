"""Writes to the personal-data access log (the only writer)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import HttpRequest

from gridmap.codes import CODE_LENGTH, Level
from gridmap.personal_data import Seen

from .models import AccessLogEntry

DISTRICT_LENGTH = CODE_LENGTH[Level.COUNTY]


def access_log_write(user: Any, request: HttpRequest, notes: list[Seen]) -> list[AccessLogEntry]:
    """One row per district of the records ``notes`` lists (usually one), in one statement.

    The path is written without its query string: a search term may itself be an ID number.
    """
    by_district: dict[str, list[Seen]] = defaultdict(list)
    for note in notes:
        by_district[note.code[:DISTRICT_LENGTH]].append(note)
    authenticated = user is not None and user.is_authenticated
    rows = [
        AccessLogEntry(
            user_id=user.pk if authenticated else None,
            username=user.get_username() if authenticated else "",
            method=request.method or "",
            path=request.path[:500],
            district_code=district,
            fields=sorted({n.field for n in seen}),
            records=sorted({f"{n.record_type}:{n.record_id}" for n in seen}),
        )
        for district, seen in sorted(by_district.items())
    ]
    return AccessLogEntry.objects.bulk_create(rows)
