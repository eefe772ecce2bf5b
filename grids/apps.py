from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _

from gridmap.sql import session_settings


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("Places and grids")

    def ready(self) -> None:
        # Every Django connection's session settings: the hot path's prepared statements (the
        # point lookup among them) on generic plans, no parallel plans for requests
        # (gridmap.sql.session_settings).
        connection_created.connect(session_settings, dispatch_uid="gridmap.sql.session_settings")
