"""Residents' personal data (ID numbers and phone numbers): the one place that shows it.

Every answer that carries a resident's ID number or phone (API, pages, admin, exports) shows it
through ``show``, the only masking rule:

- ``visible`` (decided by the caller with ``accounts.selectors.can_see_personal_data``: the
  roles that visit households, and superusers) gives the value, otherwise the masked form
  (``mask_id_number``: first 6 and last 4 of 18; ``mask_phone``: first 3 and last 4);
- the current answer is marked as carrying personal data: ``PersonalDataAnswers`` (middleware)
  then sends it with ``Cache-Control: no-store`` (masked or not: a masked answer still names
  residents and their addresses);
- an unmasked value is noted (which record, which field, the place code of the record), and
  after the view the middleware hands the notes of the whole request, once, to the registered
  sink: ``privacy`` registers ``privacy.services.access_log_write``, which writes the
  personal-data access log (PIPL Arts. 51 and 56). One write per request, not per row.

Whose phone is "a resident's": a household's, and a central household's (a party member's
household that serves its neighbours; its worker record carries the household's phone).
Phones of staff who hold a role (grid leader, village secretary, station head...) are work
numbers published to residents, and are not masked (docs/architecture.md, "Residents'
personal data").

Outside a request (a management command, the clock), ``show`` masks as asked and notes nothing.
So does a body streamed after the view returned (``StreamingHttpResponse``): render personal
data before returning, or it is neither logged nor marked no-store; a streamed export that
carries personal data calls ``note_streamed`` before returning (the service lists' CSV names
applicants: ``servicedesk.lists``).
The kernel knows no app: the log's writer is registered (``register_sink``), as the
jurisdiction policy is.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse

MASK = "***"
ID_NUMBER = "id_number"
PHONE = "phone"
FIELDS = (ID_NUMBER, PHONE)
# The head of household's name, where a list names residents to roles that do not visit them
# (coverage's households beyond the service circle): not one of ``FIELDS``, which the
# household API and admin mask; there the name stays visible inside the jurisdiction.
HEAD_NAME = "head_name"


def mask_id_number(value: str) -> str:
    """``450702********1234``: region and the last four, never the birth date."""
    return f"{value[:6]}********{value[-4:]}" if len(value) == 18 else (MASK if value else "")


def mask_phone(value: str) -> str:
    """``138****5678``."""
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 7 else (MASK if value else "")


def mask_name(value: str) -> str:
    """``王**``: the first character (most often the surname) and one star per other one."""
    return value[:1] + "*" * (len(value) - 1) if len(value) > 1 else (MASK if value else "")


MASKS: dict[str, Callable[[str], str]] = {
    ID_NUMBER: mask_id_number,
    PHONE: mask_phone,
    HEAD_NAME: mask_name,
}

# Numbers in free text (the public notice board, log messages): a run of 7+ digits (phones,
# 15- and 18-digit ID numbers with a final X, cards); a mobile number written in groups
# (138 1234 5678, +86-138-1234-5678); a landline with its area code (0777-1234567).
NUMBERS = re.compile(
    r"(?<![0-9A-Za-z])(?:\+?86[-\s]?)?1[3-9]\d[-\s]\d{4}[-\s]?\d{4}(?!\d)"
    r"|(?<!\d)0\d{2,3}[-\s]\d{7,8}(?!\d)"
    r"|\d{7,}[Xx]?"
)


def redact_numbers(text: str) -> str:
    """``text`` with every phone-like or ID-like number replaced by ``MASK``."""
    return NUMBERS.sub(MASK, text)


# In log lines, narrower: an 18-character ID number and a mobile number (also written in
# groups or after +86), but not the 15-digit grid codes and 12-digit village codes that paths
# and query strings carry all the time.
LOG_NUMBERS = re.compile(
    r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])(?:(?:\+|%2B)?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)"
)


def redact_log_text(text: str) -> str:
    return LOG_NUMBERS.sub(MASK, text)


@dataclass(frozen=True)
class Seen:
    """One unmasked value shown: the record (``household`` 12), its place code, the field."""

    record_type: str
    record_id: int
    code: str
    field: str


@dataclass
class Answer:
    """What the current answer showed: personal data at all, and which values unmasked."""

    carries: bool = False
    seen: set[Seen] = field(default_factory=set)
    viewer: Any = None


_answer: contextvars.ContextVar[Answer | None] = contextvars.ContextVar(
    "gridmap_personal_data_answer", default=None
)

Sink = Callable[[Any, HttpRequest, list[Seen]], None]
_sinks: list[Sink] = []
_viewer_rule: list[Callable[[Any], bool]] = []


def register_viewer_rule(rule: Callable[[Any], bool]) -> None:
    """accounts registers ``can_see_personal_data``, for the layers below it (grids' admin)."""
    _viewer_rule[:] = [rule]


def may_see(user: Any) -> bool:
    """Whether ``user`` sees residents' values unmasked (the registered rule; no rule: no)."""
    return bool(_viewer_rule) and _viewer_rule[0](user)


def register_sink(sink: Sink) -> None:
    """Called with (user, request, notes) once per request that showed unmasked values."""
    if sink not in _sinks:
        _sinks.append(sink)


def mark_answer() -> None:
    """The current answer carries residents' personal data (even if only masked)."""
    answer = _answer.get()
    if answer is not None:
        answer.carries = True


def show(
    value: str | None,
    *,
    kind: str,
    visible: bool,
    record_type: str,
    record_id: int,
    code: str | None = None,
) -> str:
    """``value`` as this viewer may see it (see the module docstring). ``kind`` is
    ``ID_NUMBER``, ``PHONE`` or ``HEAD_NAME``."""
    value = value or ""
    mark_answer()
    if not visible:
        return MASKS[kind](value)
    if value:
        answer = _answer.get()
        if answer is not None:
            answer.seen.add(Seen(record_type, record_id, code or "", kind))
    return value


def note_streamed(
    records: Iterable[tuple[int, str]], *, kind: str, visible: bool, record_type: str
) -> None:
    """For a body streamed after the view returns (whose ``show`` calls see no answer): mark
    the current answer as carrying personal data and, when ``visible``, note ``kind`` shown
    unmasked for each ``(record id, place code)`` of ``records``, as ``show`` would have."""
    mark_answer()
    answer = _answer.get()
    if not visible or answer is None:
        return
    answer.seen.update(Seen(record_type, pk, code or "", kind) for pk, code in records)


def viewer_may_see() -> bool:
    """Whether the viewer of the current answer sees values unmasked: for admin display
    methods, which get no request. Outside a request: no."""
    answer = _answer.get()
    return answer is not None and answer.viewer is not None and may_see(answer.viewer)


@contextmanager
def answering(viewer: Any = None) -> Iterator[Answer]:
    """Collect what one answer shows (the middleware's scope; tests may use it directly)."""
    answer = Answer(viewer=viewer)
    token = _answer.set(answer)
    try:
        yield answer
    finally:
        _answer.reset(token)


NO_STORE = "no-store"


class PersonalDataAnswers:
    """``Cache-Control: no-store`` on every answer that showed personal data, and one
    access-log write for the unmasked values it showed (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with answering(getattr(request, "user", None)) as answer:
            response = self.get_response(request)
        if answer.carries:
            response["Cache-Control"] = NO_STORE
            response["Pragma"] = "no-cache"
        if answer.seen:
            notes = sorted(answer.seen, key=lambda s: (s.record_type, s.record_id, s.field))
            for sink in _sinks:
                sink(getattr(request, "user", None), request, notes)
        return response
