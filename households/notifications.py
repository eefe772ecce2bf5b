"""What a new ten-household unit tells its grid's leader and guide, through the inbox.

Every entry about a unit has the subject ``("ten_household_unit", id)`` and opens the unit on
the map (``unit_link``); deleting a unit deletes them (``households.apps``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_noop

from inbox import services as inbox_services
from inbox.models import Notification
from inbox.selectors import register_subject_scope
from inbox.services import Recipient

from .models import TenHouseholdUnit

SUBJECT_UNIT = "ten_household_unit"

MSG_NEW_UNIT = gettext_noop("New ten-household unit %(name)s in %(place)s: %(count)s households")
MSG_NEW_UNIT_WITH_WARNINGS = gettext_noop(
    "New ten-household unit %(name)s in %(place)s: %(count)s households, %(warnings)s warnings"
)


def unit_link(unit_id: int) -> str:
    """Where an entry about the unit opens: the unit on the map."""
    return f"/map/#ten-household-unit-{unit_id}"


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


def notify_unit(
    unit: TenHouseholdUnit, recipients: Iterable[Recipient], *, count: int | None = None
) -> list[Notification]:
    """Inbox entries about a new ten-household unit for its routing recipients (after commit
    handed to the channels). Expects ``unit.grid`` and ``unit.warnings`` to be final;
    ``count`` (the number of members) saves a query."""
    if count is None:
        count = unit.members.count()
    return inbox_services.notify(
        workers=recipients,
        message=unit_message(unit, count=count),
        link=unit_link(unit.pk),
        subject_type=SUBJECT_UNIT,
        subject_id=unit.pk,
    )


def delete_unit_notifications(*, unit_ids: Iterable[int]) -> int:
    """Delete the entries about these units (they are being deleted): how many."""
    return inbox_services.notifications_delete_about(
        subject_type=SUBJECT_UNIT, subject_ids=unit_ids
    )


def register_inbox_scope() -> None:
    """The inbox shows an entry about one of these only while the user may see it
    (``inbox.selectors.register_subject_scope``; called from ``AppConfig.ready``)."""
    from .selectors import units_visible_to

    register_subject_scope(SUBJECT_UNIT, lambda user: units_visible_to(user).values("pk"))
