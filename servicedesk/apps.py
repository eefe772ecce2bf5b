from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicedeskConfig(AppConfig):
    name = "servicedesk"
    verbose_name = _("service to residents")
    default_auto_field = "django.db.models.BigAutoField"
