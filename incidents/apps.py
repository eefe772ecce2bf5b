from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
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
        # The report's cache of active categories (``selectors.active_category``).
        from .selectors import categories_changed

        post_save.connect(categories_changed, sender="incidents.Category", weak=False)
        post_delete.connect(categories_changed, sender="incidents.Category", weak=False)


def _incident_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .notifications import delete_incident_notifications

    delete_incident_notifications(incident_ids=[instance.pk])
