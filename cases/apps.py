from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """The case engine. Kinds of case (incidents first) register themselves with
    ``cases.kinds.register`` from their own ``AppConfig.ready``."""

    name = "cases"
    verbose_name = _("cases")
