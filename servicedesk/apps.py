from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from cases.kinds import register


class ServicedeskConfig(AppConfig):
    name = "servicedesk"
    verbose_name = _("service to residents")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The engine serves service requests as a second kind of case (servicedesk.kind).
        from .kind import ServiceRequestKind
        from .notifications import register_inbox_scope

        register(ServiceRequestKind())
        register_inbox_scope()
        # The desk's places on presence's and incidents' pages (servicedesk.hooks).
        from . import hooks

        hooks.register()
