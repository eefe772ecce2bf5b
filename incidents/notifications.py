"""What incidents and their cases tell people, through the inbox (``inbox.services.notify``).

Messages are stored as ``{"msgid": ..., "params": {...}}`` and rendered in the reader's
language when read (``gridmap.messages.render_message``). ``notify_incident(incident)`` is
called by ``incidents.services`` once an incident and its recipients are saved, inside the same
transaction; the inbox writes the entries at once and hands them to the outbound channels only
after the transaction commits, so a rolled-back incident sends nothing.

The case workflow tells people too: ``notify_case`` (called by ``incidents.workflow`` with
the workers concerned: new owners of an escalated, returned or redispatched case, the
supervisors of a resolved case or of a request for more time, the handlers of a reopened
case or of the answer to their request), ``notify_overdue_at_top`` and
``notify_supervision`` (called by the clock, ``cases.clock``). Their entries are
``routed`` ones.

Every entry about an incident has the subject ``("incident", id)`` and opens the incident on
the field page (``incident_link``); deleting an incident deletes them (``incidents.apps``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_noop

from cases.notifications import event_params, local_time
from households.routing import Severity
from inbox import services as inbox_services
from inbox.models import Notification
from inbox.selectors import register_subject_detail, register_subject_scope
from inbox.services import Recipient

if TYPE_CHECKING:
    from .models import CaseEvent, Incident

# The subject of every entry about an incident.
SUBJECT_INCIDENT = "incident"

MSG_NEW_INCIDENT = gettext_noop("New %(severity)s %(category)s incident in %(place)s")

# The case workflow (cases.workflow, cases.clock): what the people concerned are told.
MSG_CASE_ESCALATED = gettext_noop("Case #%(id)s (%(category)s) was escalated to you: %(note)s")
MSG_CASE_RETURNED = gettext_noop(
    "Case #%(id)s (%(category)s) was returned to you as not theirs; send it to the right "
    "place: %(note)s"
)
MSG_CASE_REDISPATCHED = gettext_noop("Case #%(id)s (%(category)s) was sent to you.")
MSG_CASE_ASSESSED = gettext_noop(
    "Case #%(id)s was assessed as %(severity)s %(category)s and sent to you: %(note)s"
)
MSG_CASE_RESOLVED = gettext_noop("Case #%(id)s (%(category)s) is reported resolved: verify it.")
MSG_CASE_EXTENSION_REQUESTED = gettext_noop(
    "More time is asked for on case #%(id)s (%(category)s), until %(until)s."
)
MSG_CASE_EXTENSION_GRANTED = gettext_noop(
    "More time was granted on case #%(id)s (%(category)s): it is now due %(due)s."
)
MSG_CASE_EXTENSION_REFUSED = gettext_noop(
    "More time was refused on case #%(id)s (%(category)s): it is still due %(due)s."
)
MSG_CASE_REOPENED = gettext_noop("Case #%(id)s (%(category)s) was reopened: %(note)s")
MSG_CASE_OVERDUE_AT_TOP = gettext_noop(
    "Case #%(id)s (%(category)s) is overdue at the city level: %(kind)s was due %(due)s."
)
# The deadline named in MSG_CASE_OVERDUE_AT_TOP, by due kind (``cases.models.DueKind``): the
# msgid is the kind itself, except for "onsite".
DUE_KIND_MSGIDS = {"onsite": gettext_noop("on site")}
MSG_CASE_SUPERVISION = gettext_noop(
    "Supervision no. %(number)s: case #%(id)s (%(category)s) has been open since %(since)s."
)
MSG_CASE_STATION_CHANGED = gettext_noop(
    "Case #%(id)s (%(category)s) is now in your station's catchment: %(note)s"
)
CASE_MESSAGES = {
    "reassign_station": MSG_CASE_STATION_CHANGED,
    "escalate": MSG_CASE_ESCALATED,
    "return_case": MSG_CASE_RETURNED,
    "redispatch": MSG_CASE_REDISPATCHED,
    "assess": MSG_CASE_ASSESSED,
    "resolve": MSG_CASE_RESOLVED,
    "request_extension": MSG_CASE_EXTENSION_REQUESTED,
    "grant_extension": MSG_CASE_EXTENSION_GRANTED,
    "refuse_extension": MSG_CASE_EXTENSION_REFUSED,
    "reopen": MSG_CASE_REOPENED,
}


def _place(incident: Incident) -> str:
    for place in (incident.grid, incident.village, incident.town):
        if place is not None:
            return place.name
    return incident.place_code


def incident_message(incident: Incident) -> dict[str, Any]:
    category = incident.category
    return {
        "msgid": MSG_NEW_INCIDENT,
        "params": {
            # Severity values are the English msgids of their labels (households.routing.Severity).
            "severity": {"msgid": incident.severity},
            "category": {"zh-hans": category.name_zh, "en": category.name_en},
            "place": _place(incident),
        },
    }


def incident_link(incident_id: int) -> str:
    """Where an entry about the incident opens: the incident on the field page."""
    return f"/field/#incident-{incident_id}"


def _notify(
    workers: Iterable[int | Recipient], message: dict[str, Any], incident: Incident
) -> list[Notification]:
    return inbox_services.notify(
        workers=workers,
        message=message,
        link=incident_link(incident.pk),
        subject_type=SUBJECT_INCIDENT,
        subject_id=incident.pk,
        # The outbound channels (email) add the description under the message.
        detail=incident.description,
        # A red case reaches phones at once, quiet hours or not.
        urgent=incident.severity == Severity.RED,
    )


def notify_incident(incident: Incident) -> list[Notification]:
    """Create an inbox entry per recipient and hand them to the outbound channels (after
    commit). Expects the incident's recipients to be saved."""
    return _notify(list(incident.recipients.all()), incident_message(incident), incident)


def _case_params(incident: Incident) -> dict[str, Any]:
    category = incident.category
    return {
        "id": incident.pk,
        "category": {"zh-hans": category.name_zh, "en": category.name_en},
    }


def _to_workers(
    worker_ids: Iterable[int], message: dict[str, Any], incident: Incident
) -> list[Notification]:
    return _notify(sorted(set(worker_ids)), message, incident)


def notify_case(
    incident: Incident, event: CaseEvent, worker_ids: Iterable[int]
) -> list[Notification]:
    """Tell the workers concerned about a case event (``incidents.workflow``): the new owners
    of an escalated, returned or redispatched case, the supervisors of a resolved case or of
    a request for more time, the handlers of a reopened case or of the answer to their
    request. Inbox entries now, the channels after commit."""
    msgid = CASE_MESSAGES.get(event.action)
    if msgid is None:
        return []
    params = {
        **_case_params(incident),
        **event_params(incident, event),
        "severity": {"msgid": incident.severity},
    }
    return _to_workers(worker_ids, {"msgid": msgid, "params": params}, incident)


def notify_overdue_at_top(
    incident: Incident, worker_ids: Iterable[int], *, kind: str, due_at: Any
) -> list[Notification]:
    """A city-level case past a deadline: nobody is above to escalate to; its owners hear."""
    params = {
        **_case_params(incident),
        "kind": {"msgid": DUE_KIND_MSGIDS.get(kind, kind)},
        "due": local_time(due_at),
    }
    return _to_workers(worker_ids, {"msgid": MSG_CASE_OVERDUE_AT_TOP, "params": params}, incident)


def notify_supervision(
    incident: Incident, worker_ids: Iterable[int], *, number: int
) -> list[Notification]:
    """督办: a case open for another 15 days; its owners hear."""
    params = {
        **_case_params(incident),
        "number": number,
        "since": local_time(incident.reported_at),
    }
    return _to_workers(worker_ids, {"msgid": MSG_CASE_SUPERVISION, "params": params}, incident)


def delete_incident_notifications(*, incident_ids: Iterable[int]) -> int:
    """Delete the entries about these incidents (they are being deleted): how many."""
    return inbox_services.notifications_delete_about(
        subject_type=SUBJECT_INCIDENT, subject_ids=incident_ids
    )


def register_inbox_scope() -> None:
    """The inbox shows an entry about one of these only while the user may see it
    (``inbox.selectors.register_subject_scope``; called from ``AppConfig.ready``)."""
    from .models import Incident
    from .selectors import incidents_visible_to

    register_subject_scope(SUBJECT_INCIDENT, lambda user: incidents_visible_to(user).values("pk"))
    # A background send adds the description under the message, as ``notify`` was told.
    register_subject_detail(
        SUBJECT_INCIDENT,
        lambda pk: (
            Incident.objects.filter(pk=pk).values_list("description", flat=True).first() or ""
        ),
    )
