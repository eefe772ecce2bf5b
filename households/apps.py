from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("Households")

    def ready(self) -> None:
        # A deleted unit takes its inbox entries with it (they named it by a foreign key
        # with CASCADE before the inbox became generic).
        post_delete.connect(
            _unit_deleted, sender="households.TenHouseholdUnit", dispatch_uid="unit_inbox"
        )


def _unit_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .notifications import delete_unit_notifications

    delete_unit_notifications(unit_ids=[instance.pk])
