"""In-app notifications and outbound channels.

``notify_incident(incident)`` is called by ``incidents.services`` once an incident and its
recipients are saved (inside the same transaction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Incident


def notify_incident(incident: Incident) -> None:
    """Create an inbox entry per recipient and hand them to the outbound channels."""
