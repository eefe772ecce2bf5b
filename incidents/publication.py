"""The publication review of a case (issue 12, item 7): what the public notice board may say.

The board (``reports.public_views``) prints no free text written by people unless a reviewer
approved it: descriptions, notes, feedback and results may name residents, workers or anyone
else, and no masking can recognise a name nobody told the system about. A reviewer writes or
edits the public text of a case and approves it; the board shows that text, and for a case
without one only the structured outcome (category, severity, status, dates, the place, the
role that handled it).

Who may approve: staff of the town (street or town committee), the station, the district or
the city, for a case inside their jurisdiction (``incidents_visible_to``): the levels that
answer for what the village's notice board says. Grid workers and village staff wrote the
notes and are not their own reviewers; a planner has no part in cases.

Each approval is stored on the case (text, by whom, when) and appended to the case history
(action ``publish_notice``, the approved text as its note), so earlier versions stay on
record. Withdrawing (an empty text) is an approval of "nothing" and is recorded the same way.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import AccountRole
from accounts.selectors import account_of
from cases.workflow import actor_name, append_event, last_event

from .models import Incident, Status
from .selectors import incidents_visible_to

__all__ = [
    "MAX_PUBLIC_TEXT",
    "MSG_NOT_A_REVIEWER",
    "MSG_PUBLIC_TEXT_CANCELLED",
    "MSG_PUBLIC_TEXT_TOO_LONG",
    "PUBLISH_ACTION",
    "REVIEWER_ROLES",
    "PublicationNotAllowed",
    "approve_public_text",
    "may_approve_public_text",
]

PUBLISH_ACTION = "publish_notice"
MAX_PUBLIC_TEXT = 500
REVIEWER_ROLES = frozenset(
    {
        AccountRole.STATION_STAFF,
        AccountRole.TOWN_STAFF,
        AccountRole.DISTRICT_ADMIN,
        AccountRole.CITY_ADMIN,
    }
)

MSG_NOT_A_REVIEWER = gettext_noop(
    "Only town, station or district staff approve what the public notice board says."
)
MSG_PUBLIC_TEXT_TOO_LONG = gettext_noop(
    "The public text may have at most %(max)d characters (it has %(length)d)."
)
MSG_PUBLIC_TEXT_CANCELLED = gettext_noop("A cancelled case is never on the notice board.")


class PublicationNotAllowed(PermissionDenied):
    """The user may see the case but not approve its public text (a 403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


User = AbstractBaseUser | AnonymousUser


def may_approve_public_text(user: User) -> bool:
    """Whether the user's role reviews public texts (the case's jurisdiction is checked by
    the caller, through ``incidents_visible_to``)."""
    if not user.is_authenticated:
        return False
    account = account_of(user)  # type: ignore[arg-type]
    return account is not None and account.role in REVIEWER_ROLES


def approve_public_text(*, actor: User, incident_id: int, text: str) -> Incident:
    """Store ``text`` as the approved public text of the case and append a ``publish_notice``
    event. Raises ``Incident.DoesNotExist`` for a case the actor cannot see (a 404),
    ``PublicationNotAllowed`` for a role that does not review (a 403), ``ValidationError``
    for a text that cannot be published (a 400)."""
    text = (text or "").strip()
    with transaction.atomic():
        if not incidents_visible_to(actor).filter(pk=incident_id).exists():
            raise Incident.DoesNotExist(incident_id)
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if not may_approve_public_text(actor):
            raise PublicationNotAllowed(gettext(MSG_NOT_A_REVIEWER))
        if incident.status == Status.CANCELLED:
            raise ValidationError({"text": [gettext(MSG_PUBLIC_TEXT_CANCELLED)]})
        if len(text) > MAX_PUBLIC_TEXT:
            raise ValidationError(
                {
                    "text": [
                        gettext(MSG_PUBLIC_TEXT_TOO_LONG)
                        % {"max": MAX_PUBLIC_TEXT, "length": len(text)}
                    ]
                }
            )
        now = timezone.now()
        Incident.objects.filter(pk=incident.pk).update(
            public_text=text, public_text_by=actor, public_text_at=now
        )
        incident.public_text, incident.public_text_by, incident.public_text_at = text, actor, now
        seq, _last = last_event(incident)
        append_event(
            incident,
            seq=seq + 1,
            action=PUBLISH_ACTION,
            actor=actor,  # type: ignore[arg-type]
            name=actor_name(actor),  # type: ignore[arg-type]
            at=now,
            from_status=incident.status,
            note=text,
            data={},
        )
    return incident
