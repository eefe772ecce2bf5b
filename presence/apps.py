from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PresenceConfig(AppConfig):
    name = "presence"
    verbose_name = _("field presence")
    default_auto_field = "django.db.models.BigAutoField"
