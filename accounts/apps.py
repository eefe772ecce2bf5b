from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from gridmap.jurisdiction import register_policy
from gridmap.personal_data import register_viewer_rule


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from .selectors import can_see_personal_data, jurisdiction_prefixes

        # The one jurisdiction policy, for the layers below accounts (see gridmap.jurisdiction).
        register_policy(jurisdiction_prefixes)
        # Who sees residents' ID numbers and phones unmasked (gridmap.personal_data).
        register_viewer_rule(can_see_personal_data)
