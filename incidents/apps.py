from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _

from cases.kinds import register
from cases.list_registry import register as register_lists


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from .kind import IncidentKind

        register(IncidentKind())
        # The three lists (/lists/) offer incidents first.
        from .lists import LISTS

        register_lists(LISTS)
        # The inbox shows an incident's entries only while the incident is the user's to see.
        from .notifications import register_inbox_scope

        register_inbox_scope()
        # A deleted incident takes its inbox entries with it (they named it by a foreign key
        # with CASCADE before the inbox became generic).
        post_delete.connect(
            _incident_deleted, sender="incidents.Incident", dispatch_uid="incident_inbox"
        )


def _incident_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .notifications import delete_incident_notifications

    delete_incident_notifications(incident_ids=[instance.pk])
