"""Incidents' binding of the case engine (``cases.workflow``, where the rules live).

The engine takes any kind of case; these are its functions as the incident modules call them
(``incident_id=``, ``incident=``), the names they import from here, and what only incidents
have: re-assigning open incidents to another station when a catchment plan is published.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import connection, models
from django.utils import timezone

from cases import workflow as engine
from cases.models import CASE_FIELDS
from cases.workflow import (
    ACCOUNT_ROLE,
    ACTION_ORDER,
    ACTION_PHRASES,
    CLOSER,
    HANDLER,
    LEVEL_LABELS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_EXTENSION_WORKING_DAYS,
    MSG_ALREADY_RATED,
    MSG_ATTACHMENT_TOO_BIG,
    MSG_AUTO_ESCALATED,
    MSG_BAD_CODE,
    MSG_BAD_LEVEL,
    MSG_BAD_RATING,
    MSG_BAD_UNTIL,
    MSG_BAD_WORKING_DAYS,
    MSG_CODE_OUTSIDE,
    MSG_CONFLICT,
    MSG_DATA_NOT_OBJECT,
    MSG_EXTENSION_AFTER_DEADLINE,
    MSG_EXTENSION_HOW,
    MSG_EXTENSION_PENDING,
    MSG_LEVEL_TOO_HIGH,
    MSG_NO_EXTENSION_REQUESTED,
    MSG_NO_STATION,
    MSG_ONLY_HANDLERS,
    MSG_ONLY_REDISPATCHERS,
    MSG_ONLY_REPORTER,
    MSG_ONLY_STATION,
    MSG_ONLY_STATION_HEAD,
    MSG_REASON_REQUIRED,
    MSG_REOPENED_BY_CALLBACK,
    MSG_REPORT_IS_NOT_AN_ACTION,
    MSG_RESULT_REQUIRED,
    MSG_STATION_CHANGE_IS_NOT_AN_ACTION,
    MSG_SYSTEM,
    MSG_TOO_MANY_ATTACHMENTS,
    MSG_TOP_LEVEL,
    MSG_UNKNOWN_ACTION,
    MSG_UNKNOWN_PLACE,
    MSG_UNTIL_NOT_LATER,
    MSG_UNTIL_TOO_LATE,
    MSG_VERIFIER_CANNOT_CLOSE,
    MSG_WRONG_STATE,
    NOT_ACTIONS,
    NOTE_REQUIRED_MESSAGES,
    PLACE_MODELS,
    REASON_REQUIRED,
    REDISPATCHER,
    REPORTER,
    RULES,
    SUPERVISOR,
    TRANSITIONS,
    UNSATISFIED_AT_MOST,
    WORKER_ROLES,
    Action,
    ActionNotAllowed,
    CaseConflict,
    actor_name,
    append_event,
    handler_worker_ids,
    last_event,
    owner_above,
    place_code_at,
    role_prefixes,
    station_code_of,
    station_worker_ids,
    supervisor_worker_ids,
)
from grids.models import CatchmentAssignment, Station, Village

from . import notifications
from .models import OPEN_STATUSES, Incident

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

__all__ = [
    "ACCOUNT_ROLE",
    "ACTION_ORDER",
    "ACTION_PHRASES",
    "CLOSER",
    "HANDLER",
    "LEVEL_LABELS",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_EXTENSION_WORKING_DAYS",
    "MSG_ALREADY_RATED",
    "MSG_ATTACHMENT_TOO_BIG",
    "MSG_AUTO_ESCALATED",
    "MSG_BAD_CODE",
    "MSG_BAD_LEVEL",
    "MSG_BAD_RATING",
    "MSG_BAD_UNTIL",
    "MSG_BAD_WORKING_DAYS",
    "MSG_CODE_OUTSIDE",
    "MSG_CONFLICT",
    "MSG_DATA_NOT_OBJECT",
    "MSG_EXTENSION_AFTER_DEADLINE",
    "MSG_EXTENSION_HOW",
    "MSG_EXTENSION_PENDING",
    "MSG_LEVEL_TOO_HIGH",
    "MSG_NO_EXTENSION_REQUESTED",
    "MSG_NO_STATION",
    "MSG_ONLY_HANDLERS",
    "MSG_ONLY_REDISPATCHERS",
    "MSG_ONLY_REPORTER",
    "MSG_ONLY_STATION",
    "MSG_VERIFIER_CANNOT_CLOSE",
    "MSG_RESULT_REQUIRED",
    "MSG_ONLY_STATION_HEAD",
    "MSG_REASON_REQUIRED",
    "MSG_REOPENED_BY_CALLBACK",
    "MSG_REPORT_IS_NOT_AN_ACTION",
    "MSG_STATION_CHANGE_IS_NOT_AN_ACTION",
    "MSG_SYSTEM",
    "MSG_TOO_MANY_ATTACHMENTS",
    "MSG_TOP_LEVEL",
    "MSG_UNKNOWN_ACTION",
    "MSG_UNKNOWN_PLACE",
    "MSG_UNTIL_NOT_LATER",
    "MSG_UNTIL_TOO_LATE",
    "MSG_WRONG_STATE",
    "NOT_ACTIONS",
    "NOTE_REQUIRED_MESSAGES",
    "PLACE_MODELS",
    "REASON_REQUIRED",
    "REDISPATCHER",
    "REPORTER",
    "RULES",
    "SUPERVISOR",
    "TRANSITIONS",
    "UNSATISFIED_AT_MOST",
    "WORKER_ROLES",
    "CASE_FIELDS",
    "Action",
    "ActionNotAllowed",
    "CaseConflict",
    "actor_name",
    "allowed_actions",
    "case_act",
    "handler_worker_ids",
    "open_case",
    "owner_above",
    "place_code_at",
    "reassign_stations",
    "record_report",
    "role_prefixes",
    "station_code_of",
    "station_worker_ids",
    "supervisor_worker_ids",
]


def case_act(*, incident_id: int, **kwargs: Any) -> Incident:
    """``cases.workflow.case_act`` on an incident: the same keywords (``actor``, ``action``,
    ``version``, ``note``, ``data``, ``attachments``, ``at``), ``incident_id`` for the case.
    Raises ``Incident.DoesNotExist`` for an unknown id."""
    return engine.case_act(model=Incident, case_id=incident_id, **kwargs)


def allowed_actions(
    *, user: User | None, incident: Incident, at: dt.datetime | None = None
) -> list[Action]:
    """``cases.workflow.allowed_actions`` on an incident."""
    return engine.allowed_actions(user=user, case=incident, at=at)


def open_case(incident: Incident) -> None:
    """Set a new incident's owner (its responsible level's place) and deadlines (from its
    reported time). Before the incident is saved."""
    engine.open_case(incident, level=incident.responsible_level)


def record_report(incident: Incident, *, actor: User, facts: dict[str, Any] | None = None) -> None:
    """Append the ``report`` event of a saved new incident (``facts``: more of its data)."""
    engine.record_report(incident, actor=actor, facts=facts)


# --- catchment changes (called when a plan is published: planning.services) -----------------
_STATION_ON = f"""
SELECT i.id, i.station_id, i.status, i.owner_level,
       (SELECT ca.station_id FROM {CatchmentAssignment._meta.db_table} ca
          JOIN {Village._meta.db_table} cv ON cv.id = ca.village_id
         WHERE cv.code = v.code AND ca.period @> %(on)s::date
         ORDER BY ca.id LIMIT 1) AS new_station_id
  FROM {Incident._meta.db_table} i
  JOIN {Village._meta.db_table} v ON v.id = i.village_id
 WHERE i.status = ANY(%(open)s) AND v.code LIKE %(prefix)s
 ORDER BY i.id
"""


def reassign_stations(
    *, area_prefix: str, on: dt.date, actor: User | None, note: str, data: dict[str, Any]
) -> list[int]:
    """Give every open case of the area (village codes starting ``area_prefix``) the station
    whose catchment holds its village on ``on``; each case that changes gets a
    ``reassign_station`` event (from and to station in ``data``) and the new station's head
    and staff are told. Closed and cancelled cases keep the station they had. Idempotent.
    Returns the ids of the cases that changed."""
    with connection.cursor() as cur:
        cur.execute(
            _STATION_ON,
            {"on": on, "open": [str(s) for s in OPEN_STATUSES], "prefix": area_prefix + "%"},
        )
        rows = [r for r in cur.fetchall() if r[1] != r[4]]
    if not rows:
        return []
    codes = dict(
        Station.objects.filter(pk__in={r[1] for r in rows} | {r[4] for r in rows}).values_list(
            "pk", "code"
        )
    )
    now = timezone.now()
    name = actor_name(actor)
    changed = []
    for incident in Incident.objects.select_for_update().filter(pk__in=[r[0] for r in rows]):
        row = next(r for r in rows if r[0] == incident.pk)
        old, new = incident.station_id, row[4]
        seq, _last = last_event(incident)
        Incident.objects.filter(pk=incident.pk).update(
            station_id=new, version=models.F("version") + 1
        )
        incident.station_id = new
        event = append_event(
            incident,
            seq=seq + 1,
            action=Action.REASSIGN_STATION,
            actor=actor,
            name=name,
            at=now,
            from_status=incident.status,
            note=note,
            data={**data, "from_station": codes.get(old), "to_station": codes.get(new)},
        )
        if new is not None:
            notifications.notify_case(incident, event, station_worker_ids(codes[new], on))
        changed.append(incident.pk)
    return changed
