from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from cases.kinds import register


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from .kind import IncidentKind

        register(IncidentKind())
