from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from gridmap.personal_data import register_sink


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        from .services import access_log_write

        # Every request that showed a resident's ID number or phone unmasked is logged
        # (gridmap.personal_data.PersonalDataAnswers hands its notes here, once per request).
        register_sink(access_log_write)
