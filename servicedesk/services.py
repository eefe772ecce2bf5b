"""Writes of service requests: taking one at the desk, acting on it, the resident's rating.

Every change of state goes through the case engine (``cases.workflow.case_act``) with the
kind's table (``servicedesk.kind``); this module only takes a request in
(``service_request_create``) and lets the resident rate it from the public status page
(``service_request_rate_public``).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from accounts.selectors import worker_of
from cases import workflow
from cases.history import purge_cases
from cases.kinds import kind_of
from cases.workflow import Action, ActionNotAllowed, CaseConflict, field_error
from gridmap.codes import Level
from grids.models import CatchmentAssignment, Village
from households.models import Household
from presence.models import Visit

from . import notifications
from .catalogue import district_items
from .kind import promise_for
from .models import Channel, ServiceItem, ServiceRequest, ServiceStatus
from .selectors import (
    SHORT_CODE_ALPHABET,
    SHORT_CODE_LENGTH,
    local_date,
    promised_date,
    request_by_short_code,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "promise_for",
    "promised_date",
    "service_request_act",
    "service_request_create",
    "service_request_rate_public",
]

MSG_ITEM_REQUIRED = gettext_noop("Choose the service item.")
MSG_UUID_TAKEN = gettext_noop(
    "This request was already sent by someone else: send it as a new one."
)
MSG_ITEM_NOT_IN_USE = gettext_noop("This service item is no longer offered.")
MSG_ITEM_OTHER_DISTRICT = gettext_noop("This service item is not offered in this district.")
MSG_PLACE_REQUIRED = gettext_noop("Choose the household or the village the request is for.")
MSG_HOUSEHOLD_OTHER_VILLAGE = gettext_noop(
    "This household lives in %(village)s, not in the village chosen."
)
MSG_APPLICANT_REQUIRED = gettext_noop("Write the name of the resident who asks.")
MSG_APPLICANT_TOO_LONG = gettext_noop("The resident's name is at most 50 characters.")
MSG_PHONE = gettext_noop("The phone number may hold only digits, spaces, + and -.")
MSG_CHANNEL = gettext_noop("Choose where the request was taken.")
MSG_VISIT_OTHER_HOUSEHOLD = gettext_noop("This visit was not to the household chosen.")
MSG_NOT_YOUR_VILLAGE = gettext_noop(
    "Only the village's staff and assistants, its station's staff, the town's staff and the "
    "district's administrators can take a request for village %(village)s."
)
MSG_NOT_RATEABLE = gettext_noop("The request can be rated once it is done.")
MSG_ALREADY_RATED = gettext_noop("This request has already been rated. Thank you.")
MSG_UNKNOWN_CODE = gettext_noop("There is no request with the code %(code)s.")
# How the history names a resident rating on the public page (no login, no actor).
MSG_RESIDENT = gettext_noop("resident")

MAX_APPLICANT = 50
MAX_PHONE = 20
MAX_COMMENT = 500


def _place(village: Village | None, household: Household | None) -> tuple[Village, Any]:
    """The village and grid of a new request (the household's grid decides where it lives)."""
    grid = household.grid if household is not None else None
    if grid is not None:
        home = grid.village
        if village is not None and village.pk != home.pk:
            raise field_error("household", MSG_HOUSEHOLD_OTHER_VILLAGE, village=home.name)
        village = home
    if village is None:
        raise field_error("village" if household is None else "household", MSG_PLACE_REQUIRED)
    return village, grid


def _check(
    *,
    item: ServiceItem | None,
    village: Village,
    household: Household | None,
    applicant_name: str,
    applicant_phone: str,
    channel: str,
    visit: Visit | None,
) -> None:
    errors: dict[str, list[str]] = {}

    def add(field: str, msgid: str, **params: Any) -> None:
        text = gettext(msgid)
        errors.setdefault(field, []).append(text % params if params else text)

    if item is None:
        add("item", MSG_ITEM_REQUIRED)
    elif not item.active:
        add("item", MSG_ITEM_NOT_IN_USE)
    elif not district_items(village.town.district_id).filter(pk=item.pk).exists():
        # Another district's item, or the global one where the district has its own.
        add("item", MSG_ITEM_OTHER_DISTRICT)
    if not applicant_name:
        add("applicant_name", MSG_APPLICANT_REQUIRED)
    elif len(applicant_name) > MAX_APPLICANT:
        add("applicant_name", MSG_APPLICANT_TOO_LONG)
    if applicant_phone and (
        len(applicant_phone) > MAX_PHONE
        or any(not (ch.isdigit() or ch in "+- ") for ch in applicant_phone)
    ):
        add("applicant_phone", MSG_PHONE)
    if channel not in Channel.values:
        add("channel", MSG_CHANNEL)
    if (
        visit is not None
        and household is not None
        and not visit.households.filter(pk=household.pk).exists()
    ):
        add("visit", MSG_VISIT_OTHER_HOUSEHOLD)
    if errors:
        raise ValidationError(errors)


def new_short_code() -> str:
    """A random short code (8 characters of an alphabet with nothing to misread)."""
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


def service_request_create(
    *,
    actor: AbstractBaseUser,
    item: ServiceItem | None,
    village: Village | None = None,
    household: Household | None = None,
    applicant_name: str,
    applicant_phone: str = "",
    matter: str = "",
    channel: str = Channel.DESK,
    visit: Visit | None = None,
    at: dt.datetime | None = None,
    client_uuid: uuid.UUID | str | None = None,
) -> ServiceRequest:
    """Take a resident's request at the desk, on a visit or in the field: the actor is its
    first receiver (首问负责人). It is received at once (owned by its village, promised
    within the item's working days to the end of that working day), its history starts with
    the report event (the promise among its facts) and the village's handlers hear.

    Raises ``ValidationError`` keyed by field for bad input and ``PermissionDenied`` unless
    the actor works for the village (its handlers and assistants, its station's staff, the
    town's staff, the district's administrators). A ``client_uuid`` already taken returns
    that request (a phone that sends twice)."""
    if client_uuid:
        existing = ServiceRequest.objects.filter(client_uuid=client_uuid).first()
        if existing is not None:
            if existing.reporter_id != actor.pk:  # someone else's: never answered with it
                raise field_error("client_uuid", MSG_UUID_TAKEN)
            return existing
    village, grid = _place(village, household)
    at = at or timezone.now()
    applicant_name = (applicant_name or "").strip()
    applicant_phone = (applicant_phone or "").strip()
    request = ServiceRequest(
        item=item,
        household=household,
        applicant_name=applicant_name,
        applicant_phone=applicant_phone,
        matter=(matter or "").strip(),
        channel=channel,
        visit=visit,
        reporter=actor,
        first_receiver=worker_of(actor),
        grid=grid,
        village=village,
        town=village.town,
        place_code=grid.code if grid is not None else village.code,
        reported_at=at,
        client_uuid=client_uuid or None,
        owner_level=Level.VILLAGE,
        owner_code=village.code,
    )
    if not workflow.works_on(actor, request, local_date(at)):
        raise PermissionDenied(gettext(MSG_NOT_YOUR_VILLAGE) % {"village": village.name})
    _check(
        item=item,
        village=village,
        household=household,
        applicant_name=applicant_name,
        applicant_phone=applicant_phone,
        channel=channel,
        visit=visit,
    )
    request.station_id = (
        CatchmentAssignment.objects.active(local_date(at))
        .filter(village=village)
        .values_list("station_id", flat=True)
        .first()
    )
    workflow.open_case(request, level=Level.VILLAGE)
    # Taken at the desk: received there and then.
    request.status = ServiceStatus.ACKNOWLEDGED
    request.acknowledged_at = at
    with transaction.atomic():
        for attempt in range(5):
            request.short_code = new_short_code()
            try:
                with transaction.atomic():
                    request.save()
                break
            except IntegrityError:
                if (
                    attempt == 4
                    or ServiceRequest.objects.filter(client_uuid=request.client_uuid).exists()
                ):
                    raise
        workflow.record_report(
            request,
            actor=actor,
            facts={
                "item": item.code,  # type: ignore[union-attr]
                "promised_on": promised_date(request).isoformat(),
                "channel": channel,
                "short_code": request.short_code,
            },
        )
        handlers = workflow.handler_worker_ids(
            Level.VILLAGE, village.code, local_date(at), kind_of(request)
        )
        handlers.discard(request.first_receiver_id)
        if handlers:
            notifications.notify_received(request, handlers)
    return request


def service_request_act(
    *,
    actor: AbstractBaseUser | None,
    request_id: int,
    action: Action | str,
    version: int,
    note: str = "",
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> ServiceRequest:
    """Take ``action`` on the request (the engine's ``case_act`` with the kind's table):
    raises ``ActionNotAllowed`` (403), ``CaseConflict`` (stale version), ``ValidationError``
    keyed by field, ``ServiceRequest.DoesNotExist``."""
    return workflow.case_act(
        actor=actor,
        model=ServiceRequest,
        case_id=request_id,
        action=action,
        version=version,
        note=note,
        data=data,
        at=at,
    )


def service_request_rate_public(
    *, short_code: str, rating: int | str, comment: str = "", at: dt.datetime | None = None
) -> ServiceRequest:
    """The resident's rating (1-5) from the public status page, once the request is done
    or delivered, once: the engine's callback with no actor, named "resident" (居民) in the
    history; the comment is its note. Raises ``ServiceRequest.DoesNotExist`` for an unknown
    code, ``ActionNotAllowed`` before it is done or once rated, ``ValidationError`` for a
    bad rating."""
    request = request_by_short_code(short_code)
    if request is None:
        raise ServiceRequest.DoesNotExist(gettext(MSG_UNKNOWN_CODE) % {"code": short_code})
    with translation.override(settings.LANGUAGE_CODE):
        resident = gettext(MSG_RESIDENT)
    for attempt in range(3):
        if request.satisfaction is not None:
            raise ActionNotAllowed(gettext(MSG_ALREADY_RATED))
        if request.status not in (ServiceStatus.RESOLVED, ServiceStatus.CLOSED):
            raise ActionNotAllowed(gettext(MSG_NOT_RATEABLE))
        try:
            return workflow.case_act(
                actor=None,
                model=ServiceRequest,
                case_id=request.pk,
                action=Action.CALLBACK,
                version=request.version,
                note=(comment or "").strip()[:MAX_COMMENT],
                data={"rating": rating},
                at=at,
                actor_label=resident,
            )
        except CaseConflict as exc:  # staff acted meanwhile: read it again
            if attempt == 2:
                raise
            request = exc.case
    raise AssertionError("unreachable")  # pragma: no cover


def service_requests_purge(*, ids: Iterable[int]) -> int:
    """Delete service requests with their history, steps and due events (maintenance only:
    tests, replacing demo data; ``cases.history.purge_cases``)."""
    return purge_cases(kind_of(ServiceRequest), ids)
