from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _

from grids.signals import (
    grid_replaced,
    register_household_figures,
    register_household_figures_sql,
)


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("Households")

    def ready(self) -> None:
        from .selectors import GRID_FIGURES_SQL, with_household_figures

        # Households follow a grid that changes (in its transaction), and grids' lists show
        # the household figures, without grids importing households (see grids.signals).
        grid_replaced.connect(_follow_grid, dispatch_uid="households-follow-grid")
        register_household_figures(with_household_figures)
        register_household_figures_sql(GRID_FIGURES_SQL)
        # The inbox shows a unit's entries only while the unit is inside the jurisdiction.
        from .notifications import register_inbox_scope

        register_inbox_scope()
        # A deleted unit takes its inbox entries with it (they named it by a foreign key
        # with CASCADE before the inbox became generic).
        post_delete.connect(
            _unit_deleted, sender="households.TenHouseholdUnit", dispatch_uid="unit_inbox"
        )


def _follow_grid(sender: Any, *, old: Any, new: Any, **kwargs: Any) -> None:
    from .services import households_follow_grid

    households_follow_grid(old=old, new=new)


def _unit_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .notifications import delete_unit_notifications

    delete_unit_notifications(unit_ids=[instance.pk])
