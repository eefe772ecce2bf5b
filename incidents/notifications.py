"""In-app notifications (the inbox) and their outbound channels.

Messages are stored as ``{"msgid": ..., "params": {...}}`` and rendered in the reader's language
when read (``render_message``), so one entry reads in Chinese for one worker and in English for
another. A parameter is a plain value, a nested message (``{"msgid": "yellow"}``) or a value per
language (``{"zh-hans": "矛盾纠纷", "en": "dispute"}``).

``notify_incident(incident)`` is called by ``incidents.services`` once an incident and its
recipients are saved, inside the same transaction; ``notify_unit`` by
``households.services.ten_household_unit_create``. Both write the inbox entries at once (they
roll back with the transaction) and hand them to the outbound channels of
``settings.GRIDMAP_NOTIFICATION_CHANNELS`` only after the transaction commits, so a rolled-back
incident sends nothing. A failing channel is logged and never breaks the incident.

The case workflow tells people too: ``notify_case`` (called by ``incidents.workflow`` with
the workers concerned: new owners of an escalated, returned or redispatched case, the
supervisors of a resolved case or of a request for more time, the handlers of a reopened
case or of the answer to their request), ``notify_overdue_at_top`` and
``notify_supervision`` (called by the clock, ``cases.clock``). Their entries are
``routed`` ones.

One entry per worker and subject: a worker who is a recipient several times (routed as grid
leader and copied as party-building guide, say) gets one entry, of the strongest kind
(routed > copied > watching).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import get_language, gettext, gettext_noop

from .models import Notification, RecipientKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from households.models import TenHouseholdUnit

    from .channels import Channel
    from .models import CaseEvent, Incident

logger = logging.getLogger(__name__)

DEFAULT_CHANNELS = ["incidents.channels.EmailChannel"]

MSG_NEW_INCIDENT = gettext_noop("New %(severity)s %(category)s incident in %(place)s")
MSG_NEW_UNIT = gettext_noop("New ten-household unit %(name)s in %(place)s: %(count)s households")
MSG_NEW_UNIT_WITH_WARNINGS = gettext_noop(
    "New ten-household unit %(name)s in %(place)s: %(count)s households, %(warnings)s warnings"
)

# The case workflow (cases.workflow, cases.clock): what the people concerned are told.
MSG_CASE_ESCALATED = gettext_noop("Case #%(id)s (%(category)s) was escalated to you: %(note)s")
MSG_CASE_RETURNED = gettext_noop(
    "Case #%(id)s (%(category)s) was returned to you as not theirs; send it to the right "
    "place: %(note)s"
)
MSG_CASE_REDISPATCHED = gettext_noop("Case #%(id)s (%(category)s) was sent to you.")
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
    "resolve": MSG_CASE_RESOLVED,
    "request_extension": MSG_CASE_EXTENSION_REQUESTED,
    "grant_extension": MSG_CASE_EXTENSION_GRANTED,
    "refuse_extension": MSG_CASE_EXTENSION_REFUSED,
    "reopen": MSG_CASE_REOPENED,
}

# Strongest first: the kind a worker's single entry takes.
KIND_STRENGTH = [RecipientKind.ROUTED, RecipientKind.COPIED, RecipientKind.WATCHING]


class Recipient(Protocol):
    """What notify_* needs of a recipient (an ``IncidentRecipient`` or a routing result's)."""

    worker_id: int | None
    kind: str


# --- rendering ------------------------------------------------------------------------------
def _render_param(value: Any) -> Any:
    if isinstance(value, dict):
        if "msgid" in value:
            return render_message(value)
        lang = get_language() or settings.LANGUAGE_CODE
        if lang in value:
            return value[lang]
        short = lang.split("-")[0]
        for key, text in value.items():
            if key.split("-")[0] == short:
                return text
        return value.get("en", next(iter(value.values()), ""))
    return value


def render_message(message: dict[str, Any]) -> str:
    """A stored ``{"msgid", "params"}`` message in the active language."""
    msgid = message.get("msgid", "")
    if not msgid:
        return ""
    params = message.get("params") or {}
    text = gettext(msgid)
    if not params:
        return text
    try:
        return text % {k: _render_param(v) for k, v in params.items()}
    except (KeyError, TypeError, ValueError):
        # A translation that lost a placeholder must not break the inbox.
        logger.warning("Cannot render message %r", message)
        return msgid % {k: _render_param(v) for k, v in params.items()}


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
            # Severity values are the English msgids of their labels (incidents.models).
            "severity": {"msgid": incident.severity},
            "category": {"zh-hans": category.name_zh, "en": category.name_en},
            "place": _place(incident),
        },
    }


def unit_message(unit: TenHouseholdUnit, *, count: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": unit.name,
        "place": unit.grid.name if unit.grid is not None else "",
        "count": count,
    }
    if unit.warnings:
        params["warnings"] = len(unit.warnings)
        return {"msgid": MSG_NEW_UNIT_WITH_WARNINGS, "params": params}
    return {"msgid": MSG_NEW_UNIT, "params": params}


# --- writing the inbox ----------------------------------------------------------------------
def _kind_per_worker(recipients: Iterable[Recipient]) -> dict[int, str]:
    """One kind per worker: the strongest of the kinds they were given."""
    rank = {k.value: i for i, k in enumerate(KIND_STRENGTH)}
    kinds: dict[int, str] = {}
    for r in recipients:
        if r.worker_id is None:  # a vacancy nobody holds: nobody to tell
            continue
        current = kinds.get(r.worker_id)
        if current is None or rank.get(r.kind, 99) < rank.get(current, 99):
            kinds[r.worker_id] = r.kind
    return kinds


def _create(
    recipients: Iterable[Recipient], message: dict[str, Any], **subject: Any
) -> list[Notification]:
    notifications = Notification.objects.bulk_create(
        [
            Notification(worker_id=worker_id, kind=kind, message=message, **subject)
            for worker_id, kind in _kind_per_worker(recipients).items()
        ]
    )
    if notifications:
        transaction.on_commit(lambda: send_to_channels(notifications))
    return notifications


def notify_incident(incident: Incident) -> list[Notification]:
    """Create an inbox entry per recipient and hand them to the outbound channels (after
    commit). Expects the incident's recipients to be saved."""
    return _create(list(incident.recipients.all()), incident_message(incident), incident=incident)


def _local_time(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        value = parse_datetime(value)
        if value is None:
            return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _case_params(incident: Incident) -> dict[str, Any]:
    category = incident.category
    return {
        "id": incident.pk,
        "category": {"zh-hans": category.name_zh, "en": category.name_en},
    }


def _to_workers(
    worker_ids: Iterable[int], message: dict[str, Any], incident: Incident
) -> list[Notification]:
    recipients = [_Routed(worker_id) for worker_id in sorted(set(worker_ids))]
    return _create(recipients, message, incident=incident)


class _Routed:
    kind = RecipientKind.ROUTED

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


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
        "note": event.note,
        "until": _local_time(event.data.get("until")),
        "due": _local_time(incident.resolve_due_at),
    }
    return _to_workers(worker_ids, {"msgid": msgid, "params": params}, incident)


def notify_overdue_at_top(
    incident: Incident, worker_ids: Iterable[int], *, kind: str, due_at: Any
) -> list[Notification]:
    """A city-level case past a deadline: nobody is above to escalate to; its owners hear."""
    params = {
        **_case_params(incident),
        "kind": {"msgid": kind},
        "due": _local_time(due_at),
    }
    return _to_workers(worker_ids, {"msgid": MSG_CASE_OVERDUE_AT_TOP, "params": params}, incident)


def notify_supervision(
    incident: Incident, worker_ids: Iterable[int], *, number: int
) -> list[Notification]:
    """督办: a case open for another 15 days; its owners hear."""
    params = {
        **_case_params(incident),
        "number": number,
        "since": _local_time(incident.reported_at),
    }
    return _to_workers(worker_ids, {"msgid": MSG_CASE_SUPERVISION, "params": params}, incident)


def notify_unit(
    unit: TenHouseholdUnit, recipients: Iterable[Recipient], *, count: int | None = None
) -> list[Notification]:
    """Inbox entries about a new ten-household unit for its routing recipients (after commit
    handed to the channels). Expects ``unit.grid`` and ``unit.warnings`` to be final;
    ``count`` (the number of members) saves a query."""
    if count is None:
        count = unit.members.count()
    return _create(recipients, unit_message(unit, count=count), ten_household_unit=unit)


# --- outbound channels ----------------------------------------------------------------------
def channels() -> list[Channel]:
    """The configured channels; one that cannot be loaded is logged and left out."""
    loaded = []
    for path in getattr(settings, "GRIDMAP_NOTIFICATION_CHANNELS", DEFAULT_CHANNELS):
        try:
            loaded.append(import_string(path)())
        except Exception:
            logger.exception("Cannot load notification channel %s", path)
    return loaded


def send_to_channels(notifications: list[Notification]) -> None:
    """Hand the entries to every channel; a channel's failure is logged, never raised."""
    for channel in channels():
        try:
            channel.send(notifications)
        except Exception:
            logger.exception(
                "Notification channel %s failed for %d entries",
                type(channel).__name__,
                len(notifications),
            )


# --- the inbox: reads and read marks --------------------------------------------------------
def inbox(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Notification]:
    """The entries of the user's worker, newest first (none for a user without a worker)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(worker__user=user).order_by("-created_at", "-id")


def inbox_unread_counts(user: AbstractBaseUser | AnonymousUser) -> dict[str, int]:
    """Unread entries per kind and in total, in one query."""
    unread = Q(read_at__isnull=True)
    agg = inbox(user).aggregate(
        total=Count("id", filter=unread),
        **{k.value: Count("id", filter=unread & Q(kind=k.value)) for k in RecipientKind},
    )
    return {**{k.value: agg[k.value] for k in RecipientKind}, "total": agg["total"]}


def notification_mark_read(
    *, user: AbstractBaseUser | AnonymousUser, notification_id: int
) -> Notification:
    """Mark one of the user's own entries read (the first read time is kept).

    Raises ``Notification.DoesNotExist`` for an entry that is not the user's.
    """
    notification = inbox(user).get(pk=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(
    *, user: AbstractBaseUser | AnonymousUser, kind: str | None = None
) -> int:
    """Mark all the user's unread entries (of one kind, if given) read; returns how many."""
    qs = inbox(user).filter(read_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.update(read_at=timezone.now())
