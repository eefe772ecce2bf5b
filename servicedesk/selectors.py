"""Reads of service requests: who sees which, the resident's public status, the promise.

The jurisdiction is the case engine's one rule (``cases.workflow.cases_visible_to``): a
request belongs to its ``place_code`` (its household's grid, else its village) and is seen
by the accounts and role holders whose area holds it or its owner now, and by whoever took
it. The public status (``public_status``) carries no personal data: no applicant, phone,
household or matter; only the item, the village, the states and their dates, and the offices
it went through.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AccountRole
from accounts.selectors import granted_account, today_assignments
from cases import workflow
from cases.deadlines import time_zone
from cases.models import OPEN_STATUSES, Status
from gridmap import personal_data
from grids.models import STATION_ROLES, Role

from .models import ServiceRequest, ServiceStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

# The short code's alphabet: no 0/O, 1/I/L, nothing a resident misreads from a receipt.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHORT_CODE_LENGTH = 8
# States in which the resident may rate the request on the status page.
RATEABLE = [Status.RESOLVED, Status.CLOSED]


def requests_visible_to(user: User) -> QuerySet[ServiceRequest]:
    """The service requests ``user`` may open (the engine's rule)."""
    return workflow.cases_visible_to(user, ServiceRequest)


def normal_short_code(code: str) -> str:
    """A short code as typed (lower case, spaces, dashes) in its stored form."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def request_by_short_code(code: str) -> ServiceRequest | None:
    """The request with this short code (as typed by a resident), or None."""
    code = normal_short_code(code)
    if len(code) != SHORT_CODE_LENGTH:
        return None
    return (
        ServiceRequest.objects.select_related("item", "village", "town")
        .filter(short_code=code)
        .first()
    )


def local_date(value: dt.datetime | None) -> dt.date | None:
    """The local date (the working calendar's time zone) of a time, or None."""
    return None if value is None else value.astimezone(time_zone()).date()


def promised_date(request: ServiceRequest) -> dt.date:
    """The date promised to the resident: the local date of ``resolve_due_at`` (the end of
    that working day)."""
    promised = local_date(request.resolve_due_at)
    assert promised is not None, "A service request always has its promise."
    return promised


def allowed_actions(
    user: User | None, request: ServiceRequest, at: dt.datetime | None = None
) -> list[workflow.Action]:
    """The actions ``user`` may take on the request now (or at ``at``): the engine's rule,
    the kind's table."""
    return workflow.allowed_actions(user=user, case=request, at=at)


def public_status(request: ServiceRequest) -> dict[str, Any]:
    """What the resident's status page shows: no personal data (no applicant, phone,
    household, matter, worker names or notes), only the item, the village, the state and
    the dates, and each office it was handed to with that office's promised date."""
    events = list(
        request.events.filter(
            action__in=[workflow.Action.RESOLVE, workflow.Action.CLOSE_OUT]
        ).values_list("action", "at", "data")
    )
    done_at = next((at for action, at, _ in reversed(events) if action == "resolve"), None)
    delivered = next(((at, data) for action, at, data in events if action == "close_out"), None)
    rated = request.satisfaction is not None
    return {
        "short_code": request.short_code,
        "item": request.item.name,
        "item_code": request.item.code,
        "village": request.village.name,
        "status": request.status,
        "status_label": str(ServiceStatus(request.status).label),
        "received_on": local_date(request.reported_at),
        "promised_on": promised_date(request),
        "steps": [
            {
                "number": s.number,
                "office": public_office(s.office),
                "level": s.level,
                "level_label": str(s.get_level_display()),
                "handed_on": local_date(s.handed_at),
                "promised_on": s.promised_on,
                "back_on": local_date(s.back_at),
            }
            for s in request.steps.order_by("number")
        ],
        "done_on": local_date(done_at) if request.resolved_at else None,
        "delivered_on": local_date(delivered[0]) if delivered else None,
        "delivered_how": (delivered[1] or {}).get("how") if delivered else None,
        "on_time": request.closed_on_time,
        "rated": rated,
        "rating": request.satisfaction,
        "may_rate": request.status in RATEABLE and not rated,
        "final": request.status not in OPEN_STATUSES,
        "as_of": timezone.now(),
    }


def applicant_shown(request: ServiceRequest, field: str, kind: str, *, visible: bool) -> str:
    """An applicant's name or phone (``field``) as the viewer may see it: masked like a
    household head's name or phone for the roles that do not visit households, logged when
    shown (``gridmap.personal_data``). The pages and the API both answer through it."""
    return personal_data.show(
        getattr(request, field),
        kind=kind,
        visible=visible,
        record_type="service_request",
        record_id=request.pk,
        code=request.place_code,
    )


def public_office(text: str) -> str:
    """An office's name as staff typed it, for public pages: any phone- or ID-like number in
    it masked (a name typed with a contact's mobile must not go out)."""
    return personal_data.redact_numbers(text or "")


# Who takes residents' requests (works for a village): the village cadres, the stations'
# people, and the offices above them. Grid leaders and grid members hand residents to them.
TAKING_ROLES = {Role.VILLAGE_SECRETARY, Role.MEDIATION_DIRECTOR, Role.VILLAGE_ASSISTANT}
TAKING_ACCOUNTS = {
    AccountRole.VILLAGE_STAFF,
    AccountRole.STATION_STAFF,
    AccountRole.TOWN_STAFF,
    AccountRole.DISTRICT_ADMIN,
    AccountRole.CITY_ADMIN,
}


def takes_requests(user: User) -> bool:
    """Whether the user may take service requests somewhere (``service_request_create``
    decides for a given village): so pages of other apps offer the desk only to them."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    account = granted_account(user)
    if account is not None and account.role in TAKING_ACCOUNTS:
        return True
    return any(row[0] in TAKING_ROLES or row[0] in STATION_ROLES for row in today_assignments(user))
