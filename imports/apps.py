from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = _("Import and export of records")

    def ready(self) -> None:
        # The kinds' handlers register themselves with the pipeline.
        from imports import handlers  # noqa: F401
