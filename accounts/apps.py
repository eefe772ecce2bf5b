from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from gridmap.jurisdiction import register_policy
from gridmap.personal_data import register_viewer_rule

# Admins of data that belongs to no area: staff with the permission may read them.
GLOBAL_READABLE_ADMINS = {"grids.generation", "incidents.category"}

# What decides who a token or a session is and what it may see: a save or delete of any of
# them empties the login cache of the process (accounts.authentication); so does a deleted
# session (a logout), SESSION_CACHE_SOURCES.
TOKEN_CACHE_SOURCES = (
    "authtoken.token",
    "auth.user",
    "accounts.account",
    "accounts.passwordchangerequired",
    "grids.worker",
    "grids.roleassignment",
    "grids.catchmentassignment",
)
SESSION_CACHE_SOURCES = ("sessions.session",)


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
        # The token cache (accounts.authentication) forgets everything when anything that
        # decides who a token is or what it may see changes in this process.
        from .authentication import invalidate_token_cache

        for model in TOKEN_CACHE_SOURCES:
            for signal in (post_save, post_delete):
                signal.connect(
                    invalidate_token_cache, sender=model, dispatch_uid=f"token-cache-{model}"
                )
        for model in SESSION_CACHE_SOURCES:
            post_delete.connect(
                invalidate_token_cache, sender=model, dispatch_uid=f"token-cache-{model}"
            )
