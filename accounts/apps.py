from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from gridmap.jurisdiction import register_policy
from gridmap.personal_data import register_viewer_rule

# Admins of data that belongs to no area: staff with the permission may read them.
GLOBAL_READABLE_ADMINS = {"grids.generation", "incidents.category"}


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from .selectors import can_see_personal_data, jurisdiction_prefixes

        # The one jurisdiction policy, for the layers below accounts (see gridmap.jurisdiction).
        register_policy(jurisdiction_prefixes)
        # Who sees residents' ID numbers and phones unmasked (gridmap.personal_data).
        register_viewer_rule(can_see_personal_data)
        # Every admin without a jurisdiction rule is for superusers (gridmap.admin); the
        # global data of every area stays readable to permitted staff.
        from django.contrib import admin

        from .admin_mixins import superuser_only_unless_scoped

        superuser_only_unless_scoped(admin.site, GLOBAL_READABLE_ADMINS)
