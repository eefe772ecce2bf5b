from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _

from gridmap.sql import generic_plans


class GridsConfig(AppConfig):
    name = "grids"
    verbose_name = _("Places and grids")

    def ready(self) -> None:
        # The hot path's prepared statements (the point lookup among them) run on generic
        # plans on every Django connection (gridmap.sql.generic_plans).
        connection_created.connect(generic_plans, dispatch_uid="gridmap.sql.generic_plans")
