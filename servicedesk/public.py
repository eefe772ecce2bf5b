"""What the resident's public status page adds to ``selectors.public_status`` (no login, no
personal data): the town, a timeline of the request's state changes and hand-offs by date
(no actor: staff are not named, and no note: free text may name anyone), and for a request
still open or returned, the public phone of the village's service centres (the centre's, not
a person's) with, for a returned one, the advice to ask there why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, gettext_noop, pgettext_lazy

from cases.models import Status
from grids.models import ServiceCentre

from . import selectors
from .models import ServiceRequest, ServiceRequestEvent

# What each action of the history is called on the public timeline; the others are the
# staff's business (extensions asked for or refused, escalations) and are not shown.
PUBLIC_ACTIONS = {
    "report": pgettext_lazy("service timeline", "Received at the village service station"),
    "start": pgettext_lazy("service timeline", "Handling started"),
    "hand_off": pgettext_lazy("service timeline", "Handed to %(office)s"),
    "step_back": pgettext_lazy("service timeline", "Back from %(office)s"),
    "resolve": pgettext_lazy("service timeline", "Done"),
    "close_out": pgettext_lazy("service timeline", "Picked up or delivered"),
    "decline": pgettext_lazy("service timeline", "Returned (not eligible)"),
    "cancel": pgettext_lazy("service timeline", "Withdrawn"),
    "grant_extension": pgettext_lazy("service timeline", "Promised date moved"),
    "callback": pgettext_lazy("service timeline", "Rated"),
}
HOW = {
    "pickup": pgettext_lazy("service delivery", "picked up at the station"),
    "delivered": pgettext_lazy("service delivery", "delivered to the home"),
}
MSG_ASK_THE_STATION = gettext_noop(
    "Ask at the village service station why it was returned and what is needed."
)
PHONES_SHOWN_IN = (Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.DECLINED)


@dataclass(frozen=True)
class PublicEvent:
    on: dt.date | None
    label: str


def _label(action: str, data: dict[str, Any]) -> str:
    text = str(PUBLIC_ACTIONS[action])
    if action in ("hand_off", "step_back"):
        return text % {"office": selectors.public_office(str(data.get("office") or ""))}
    if action == "close_out" and data.get("how") in HOW:
        return f"{text} ({HOW[data['how']]})"
    return text


def timeline(request: ServiceRequest) -> list[PublicEvent]:
    """The request's public steps in order, each with its local date."""
    events = (
        ServiceRequestEvent.objects.filter(request=request, action__in=list(PUBLIC_ACTIONS))
        .order_by("seq")
        .only("action", "at", "data")
    )
    return [PublicEvent(selectors.local_date(e.at), _label(e.action, e.data or {})) for e in events]


def status_page(short_code: str) -> dict[str, Any] | None:
    """Everything the status page shows for the request with this code, or None."""
    request = selectors.request_by_short_code(short_code)
    if request is None:
        return None
    shown = selectors.public_status(request)
    phones: list[tuple[str, str]] = []
    if request.status in PHONES_SHOWN_IN:
        phones = list(
            ServiceCentre.objects.filter(village_id=request.village_id)
            .exclude(phone="")
            .order_by("name")
            .values_list("name", "phone")
        )
    return {
        **shown,
        "town": request.town.name,
        "kind_label": str(request.item.get_kind_display()),
        "delivered_label": str(HOW.get(shown.get("delivered_how") or "", "")),
        "timeline": timeline(request),
        "centre_phones": phones,
        "returned_note": (
            gettext(MSG_ASK_THE_STATION) if request.status == Status.DECLINED else ""
        ),
    }
