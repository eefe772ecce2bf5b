from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from grids.signals import grid_replaced, register_household_figures


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("Households")

    def ready(self) -> None:
        from .selectors import with_household_figures

        # Households follow a grid that changes (in its transaction), and grids' lists show
        # the household figures, without grids importing households (see grids.signals).
        grid_replaced.connect(_follow_grid, dispatch_uid="households-follow-grid")
        register_household_figures(with_household_figures)


def _follow_grid(sender: Any, *, old: Any, new: Any, **kwargs: Any) -> None:
    from .services import households_follow_grid

    households_follow_grid(old=old, new=new)
