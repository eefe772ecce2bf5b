"""Admin helpers for the apps above accounts, by their usual names: the jurisdiction mixin
and the read-only mixin are the kernel's (``gridmap.admin``), the town filter is grids'
(``grids.admin_filters``). Both filter through the one policy, ``selectors.jurisdiction_prefixes``.
"""

from gridmap.admin import (
    JurisdictionAdminMixin,
    ViewOnlyAdminMixin,
    superuser_only_unless_scoped,
)
from grids.admin_filters import town_filter

__all__ = [
    "JurisdictionAdminMixin",
    "ViewOnlyAdminMixin",
    "superuser_only_unless_scoped",
    "town_filter",
]
