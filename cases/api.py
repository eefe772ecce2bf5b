"""The parts of a case API every kind shares: reading an action from a request and the case's
state, allowed actions and history as JSON. Each kind's API (``incidents.case_api``,
``servicedesk.api``) finds the case in the user's jurisdiction, adds its own fields and calls
``cases.workflow.case_act``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from rest_framework import status
from rest_framework.fields import DateTimeField
from rest_framework.request import Request
from rest_framework.response import Response

from gridmap import parsers
from gridmap.api import Invalid, object_body

from .deadlines import traffic_light
from .models import Case, CaseEventBase
from .workflow import ActionNotAllowed, CaseConflict, allowed_actions

MSG_ACTION_REQUIRED = gettext_noop("Choose an action.")
MSG_VERSION_REQUIRED = gettext_noop(
    "version must be the case's version number as you saw it (reload the case)."
)
MSG_BAD_DATA = gettext_noop("data must be a JSON object.")

_DATETIME = DateTimeField()
# The answers of an action (``act_answer``), for the API schema.
ACT_RESPONSES = {code: OpenApiTypes.OBJECT for code in (200, 400, 403, 404, 409)}


def when(value: dt.datetime | None) -> str | None:
    """A time as the API writes it (ISO 8601 in the site's time zone), or None."""
    return None if value is None else _DATETIME.to_representation(value)


def action_input(request: Request) -> dict[str, Any]:
    """``action``, ``version``, ``note``, ``data`` (an object, or its JSON text in a form)
    and ``attachments`` (files) of a request to act on a case; 400 with every bad field."""
    body = object_body(request)
    errors: dict[str, list[str]] = {}
    action = body.get("action")
    if not action or not isinstance(action, str):
        errors["action"] = [_(MSG_ACTION_REQUIRED)]
    version = body.get("version")
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int):
        errors["version"] = [_(MSG_VERSION_REQUIRED)]
    note = body.get("note") or ""
    data = body.get("data")
    if isinstance(data, str):
        try:
            data = parsers.loads(data) if data.strip() else {}
        except ValueError:
            data = None
    if data is None and body.get("data") in (None, ""):
        data = {}
    if not isinstance(data, dict):
        errors["data"] = [_(MSG_BAD_DATA)]
    if errors:
        raise Invalid(errors)
    return {
        "action": action,
        "version": version,
        "note": note if isinstance(note, str) else str(note),
        "data": data,
        "attachments": request.FILES.getlist("attachments") if request.FILES else [],
    }


def case_state(case: Case, user: Any, now: dt.datetime) -> dict[str, Any]:
    """The case's state, owner, deadlines, traffic light and the actions ``user`` may take
    now."""
    return {
        "id": case.pk,
        "status": case.status,
        "owner_level": case.owner_level,
        "owner_code": case.owner_code,
        "version": case.version,
        "acknowledge_due_at": when(case.acknowledge_due_at),
        "resolve_due_at": when(case.resolve_due_at),
        "onsite_due_at": when(case.onsite_due_at),
        "traffic_light": traffic_light(case, now),
        "allowed_actions": [a.value for a in allowed_actions(user=user, case=case, at=now)],
    }


def event_body(event: CaseEventBase) -> dict[str, Any]:
    """One event of the history."""
    return {
        "seq": event.seq,
        "action": event.action,
        "actor_name": event.actor_name,
        "at": when(event.at),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "from_level": event.from_level,
        "to_level": event.to_level,
        "note": event.note,
        "data": event.data,
    }


def act_answer(
    request: Request,
    act: Callable[..., Case],
    render: Callable[[Case], dict[str, Any]],
    *,
    conflict_key: str = "case",
    attachments: bool = True,
) -> Response:
    """Take the action the request names (``act(**action_input)``, the kind's service over
    ``cases.workflow.case_act``) and answer: 200 with the case as ``render`` shows it, 403
    ``{"detail"}`` when the user may not take it now, 409 ``{"detail", conflict_key: the
    case as it now is}`` for a stale version; bad input raises (400)."""
    args = action_input(request)
    if not attachments:
        args.pop("attachments")
    try:
        case = act(**args)
    except ActionNotAllowed as exc:
        return Response({"detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    except CaseConflict as exc:
        return Response(
            {"detail": exc.message, conflict_key: render(exc.case)},
            status=status.HTTP_409_CONFLICT,
        )
    return Response(render(case))
