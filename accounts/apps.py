from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from gridmap.jurisdiction import register_policy


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from .selectors import jurisdiction_prefixes

        # The one jurisdiction policy, for the layers below accounts (see gridmap.jurisdiction).
        register_policy(jurisdiction_prefixes)
