"""What every kind's notifications say of a case event: the parameters of its message.

Each kind words its own messages (``incidents.notifications``, ``servicedesk.notifications``)
and tells people through the inbox; the note, the requested deadline and the current
deadline of an event are read the same way for all of them.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Case, CaseEventBase


def local_time(value: Any) -> str:
    """A time (or its ISO 8601 text, as the history's data keeps it) as "YYYY-MM-DD HH:MM"
    in the site's time zone; "" for none."""
    if not value:
        return ""
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is None:
            return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def event_params(case: Case, event: CaseEventBase) -> dict[str, Any]:
    """The parameters every case event's message may use: its ``note``, the deadline asked
    for (``until``) and the case's resolve deadline now (``due``)."""
    return {
        "note": event.note,
        "until": local_time(event.data.get("until")),
        "due": local_time(case.resolve_due_at),
    }
