"""The delivery records of the messages about a case, as a viewer may see them (the case page
and the case API): one group per message (the person told, by role; their name only for
viewers who see the case's people), with its delivery through each channel."""

from __future__ import annotations

from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext

from gridmap.messages import render_message
from gridmap.personal_data import MASK, mask_phone
from grids.models import Role
from households.routing import shown_phone
from inbox.deliveries import channels as outbound_channels
from inbox.models import DeliveryState
from inbox.selectors import deliveries_about

from .models import Incident, Responder
from .notifications import SUBJECT_INCIDENT


def _masked_address(address: str) -> str:
    return mask_phone(address) if address.isdigit() else (MASK if address else "")


def shown_address(
    address: str, responder: str, *, people: bool, personal: bool, worker_id: int, code: str
) -> str:
    """A delivery's address as the viewer may see it: masked for those who do not see the
    case's people; a phone number by the rule of the "Routed to" list (a role holder's work
    number as it is, a central household's through the personal-data rule, logged); an e-mail
    address or WeChat Work id only for viewers who may see personal data."""
    if not people:
        return _masked_address(address)
    if address.isdigit():
        return shown_phone(
            address,
            responder,
            visible=personal,
            record_type="worker",
            record_id=worker_id,
            code=code,
        )
    return address if personal else _masked_address(address)


def deliveries_shown(incident: Incident, *, people: bool, personal: bool) -> list[dict[str, Any]]:
    """Each message about the case (one per person told) with its delivery through each
    channel. The person by role (their name only for those who see the case's people), the
    address by ``shown_address``. The case page renders it as text; the case API answers it."""
    roles = {c.value: capfirst(c.label) for c in Role}
    roles.update({c.value: capfirst(c.label) for c in Responder})
    recipients = list(incident.recipients.all())
    role_of = {r.worker_id: roles.get(r.role, r.role) for r in recipients}
    responder_of = {r.worker_id: r.responder for r in recipients}
    labels = {c.name: capfirst(str(c.label)) for c in outbound_channels() if c.name}
    groups: dict[int, dict[str, Any]] = {}
    for d in deliveries_about(SUBJECT_INCIDENT, incident.pk):
        n = d.notification
        group = groups.get(n.pk)
        if group is None:
            group = groups[n.pk] = {
                "who": role_of.get(n.worker_id) or gettext("Staff"),
                "name": n.worker.name if people else "",
                "message": render_message(n.message),
                "at": n.created_at,
                "urgent": n.urgent,
                "rows": [],
                "skipped": [],
            }
        # Skipped ones (channel off, no address) in one short line; the others a row each.
        group["skipped" if d.state == DeliveryState.SKIPPED else "rows"].append(
            {
                "channel": d.channel,
                "channel_label": labels.get(d.channel, d.channel),
                "address": shown_address(
                    d.address,
                    responder_of.get(n.worker_id, ""),
                    people=people,
                    personal=personal,
                    worker_id=n.worker_id,
                    code=incident.place_code,
                ),
                "state": d.state,
                "state_label": d.get_state_display(),
                "reason": d.get_reason_display() if d.reason else "",
                "attempts": d.attempts,
                "last_error": d.last_error,
                "at": d.sent_at or d.updated_at,
                "not_before": d.not_before,
            }
        )
    return list(groups.values())
