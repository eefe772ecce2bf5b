"""What service requests tell people, through the inbox (``inbox.services.notify``).

Messages are stored as ``{"msgid", "params"}`` and rendered in the reader's language when
read (``gridmap.messages``), as incidents' are. Every entry about a request has the subject
``("service_request", id)`` and opens the request's page; the inbox shows it only while the
reader may see the request (``register_inbox_scope``).

- ``notify_received``: a new request, to its village's handlers (village assistants
  included) other than the first receiver who took it.
- ``notify_request``: an action on a request, to the workers the engine's step names (the
  town's handlers when it is escalated, the first receiver when it is done, the handlers when
  more time is answered, the station when more time is asked for).
- ``notify_overdue_at_top``, ``notify_supervision``: the clock's (``cases.clock``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_noop

from cases.notifications import event_params, local_time
from inbox import services as inbox_services
from inbox.models import Notification
from inbox.selectors import register_subject_detail, register_subject_scope

from .models import ServiceRequest
from .selectors import promised_date, requests_visible_to

if TYPE_CHECKING:
    from .models import ServiceRequestEvent

SUBJECT_SERVICE_REQUEST = "service_request"

MSG_REQUEST_RECEIVED = gettext_noop(
    "Service request %(code)s (%(item)s) was received in %(village)s, promised by %(promised)s."
)
MSG_REQUEST_ESCALATED = gettext_noop(
    "Service request %(code)s (%(item)s) is overdue (promised by %(promised)s) and was "
    "escalated to you: %(note)s"
)
MSG_REQUEST_DONE = gettext_noop(
    "Service request %(code)s (%(item)s) is done: hand it to the resident or deliver it."
)
MSG_REQUEST_EXTENSION_REQUESTED = gettext_noop(
    "More time is asked for on service request %(code)s (%(item)s), until %(until)s."
)
MSG_REQUEST_EXTENSION_GRANTED = gettext_noop(
    "More time was granted on service request %(code)s (%(item)s): it is now due %(due)s."
)
MSG_REQUEST_EXTENSION_REFUSED = gettext_noop(
    "More time was refused on service request %(code)s (%(item)s): it is still due %(due)s."
)
MSG_REQUEST_OVERDUE_AT_TOP = gettext_noop(
    "Service request %(code)s (%(item)s) is overdue at the city level: it was due %(due)s."
)
MSG_REQUEST_SUPERVISION = gettext_noop(
    "Supervision no. %(number)s: service request %(code)s (%(item)s) has been open since %(since)s."
)
REQUEST_MESSAGES = {
    "escalate": MSG_REQUEST_ESCALATED,
    "resolve": MSG_REQUEST_DONE,
    "request_extension": MSG_REQUEST_EXTENSION_REQUESTED,
    "grant_extension": MSG_REQUEST_EXTENSION_GRANTED,
    "refuse_extension": MSG_REQUEST_EXTENSION_REFUSED,
}


def request_link(request_id: int) -> str:
    """Where an entry about the request opens: the request's page."""
    return f"/services/{request_id}/"


def _params(request: ServiceRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "code": request.short_code,
        "item": request.item.name,
        "promised": promised_date(request).isoformat(),
    }


def _notify(
    worker_ids: Iterable[int], msgid: str, params: dict[str, Any], request: ServiceRequest
) -> list[Notification]:
    return inbox_services.notify(
        workers=sorted(set(worker_ids)),
        message={"msgid": msgid, "params": {**_params(request), **params}},
        link=request_link(request.pk),
        subject_type=SUBJECT_SERVICE_REQUEST,
        subject_id=request.pk,
        detail=request.matter,
    )


def notify_received(request: ServiceRequest, worker_ids: Iterable[int]) -> list[Notification]:
    """A new request: its village's handlers hear (after commit on the channels)."""
    return _notify(worker_ids, MSG_REQUEST_RECEIVED, {"village": request.village.name}, request)


def notify_request(
    request: ServiceRequest, event: ServiceRequestEvent, worker_ids: Iterable[int]
) -> list[Notification]:
    """An action on the request (``cases.workflow`` through ``ServiceRequestKind.notify``)."""
    msgid = REQUEST_MESSAGES.get(event.action)
    if msgid is None:
        return []
    return _notify(worker_ids, msgid, event_params(request, event), request)


def notify_overdue_at_top(
    request: ServiceRequest, worker_ids: Iterable[int], *, due_at: Any
) -> list[Notification]:
    return _notify(worker_ids, MSG_REQUEST_OVERDUE_AT_TOP, {"due": local_time(due_at)}, request)


def notify_supervision(
    request: ServiceRequest, worker_ids: Iterable[int], *, number: int
) -> list[Notification]:
    params = {"number": number, "since": local_time(request.reported_at)}
    return _notify(worker_ids, MSG_REQUEST_SUPERVISION, params, request)


def register_inbox_scope() -> None:
    """The inbox shows an entry about a request only while the reader may see it (called
    from ``AppConfig.ready``)."""
    register_subject_scope(
        SUBJECT_SERVICE_REQUEST, lambda user: requests_visible_to(user).values("pk")
    )
    register_subject_detail(
        SUBJECT_SERVICE_REQUEST,
        lambda pk: (
            ServiceRequest.objects.filter(pk=pk).values_list("matter", flat=True).first() or ""
        ),
    )
