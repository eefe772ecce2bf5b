from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from gridmap.signals import roads_changed
from grids.signals import boundaries_changed


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = _("Catchment planning")

    def ready(self) -> None:
        # Cached travel times follow the roads and the village centres.
        roads_changed.connect(_forget_travel_times, dispatch_uid="planning-roads")
        boundaries_changed.connect(_forget_travel_times, dispatch_uid="planning-boundaries")


def _forget_travel_times(sender: Any, **kwargs: Any) -> None:
    from .travel import clear_travel_cache

    clear_travel_cache()
