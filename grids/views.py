"""Pages. The map page is a shell: its layers come from the read API (grids.api)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from gridmap.jurisdiction import prefixes_of

from .selectors import grids_visible, home_extent

# Buildings are listed by bbox only, from this zoom level on (the API caps them at 5000).
BUILDING_MIN_ZOOM = 15


def map_strings() -> dict[str, str]:
    """The map script's UI text in the active language (rendered with ``json_script``).

    Placeholders use Django's ``%(name)s`` form; map.js interpolates them.
    """
    return {
        "districts": _("Districts"),
        "towns": _("Towns and streets"),
        "villages": _("Villages and communities"),
        "grids": _("Grids"),
        "stations": _("Party-building stations"),
        "buildings": _("Buildings"),
        "legend": _("Legend"),
        "loading": _("Loading…"),
        "zoomForBuildings": _("Zoom in to see buildings"),
        "buildingsTruncated": _("Showing the first %(count)s buildings; zoom in to see them all."),
        "layerError": _("Could not load %(layer)s: %(detail)s"),
        "gridError": _("Could not load this grid: %(detail)s"),
        "networkError": _("The server did not answer. Check the connection and try again."),
        "emptyJurisdiction": _("There are no places in your jurisdiction yet."),
        "code": _("Code"),
        "village": _("Village"),
        "town": _("Town"),
        "households": _("Households"),
        "population": _("Population"),
        "gridLeader": _("Grid leader"),
        "gridMember": _("Grid member"),
        "partyGuide": _("Party-building guide"),
        "noGridLeader": _("No grid leader assigned"),
        "noGridMember": _("No grid member assigned"),
        "noPartyGuide": _("No party-building guide assigned"),
        "call": _("Call %(name)s"),
        "stationVillages": _("Villages covered: %(count)s"),
        "building": _("Building"),
        "grid": _("Grid"),
        "selectedGrid": _("Selected grid"),
        "fitAll": _("Show my whole jurisdiction"),
        # A building's households (presence's household files).
        "buildingHouseholds": _("Households in this building: %(count)s"),
        "buildingTruncated": _("Only the first households are listed."),
        "buildingError": _("Could not load this building: %(detail)s"),
        "keyPerson": _("(key person)"),
        "openGrid": _("Show the grid"),
        # The incident layer (map-tiles.js).
        "incidents": _("Incidents"),
        "incident": _("Incident"),
        "incidentCount": _("%(count)s incidents here: zoom in"),
        "openCase": _("Open the case"),
        "category": _("Category"),
        "allCategories": _("All categories"),
        "period": _("Period"),
        "lastDays": _("Last %(days)s days"),
        "allTime": _("All time"),
        "state": _("State"),
        "stateOpen": _("Open"),
        "stateFinished": _("Resolved or closed"),
        "stateAll": _("All states"),
        "heat": _("Heat map, last %(days)s days"),
        "severityRed": _("Red: urgent"),
        "severityYellow": _("Yellow: serious"),
        "severityBlue": _("Blue: ordinary"),
    }


# The incident layer: its states and severities by the msgids of cases and households (grids
# lies below both and names them here; tests/tiles checks they are the models' values).
INCIDENT_STATUSES = {
    "reported": gettext_lazy("reported"),
    "acknowledged": gettext_lazy("acknowledged"),
    "in_progress": gettext_lazy("in progress"),
    "resolved": gettext_lazy("resolved"),
    "verified": gettext_lazy("verified"),
    "closed": gettext_lazy("closed out"),
    "returned": gettext_lazy("returned"),
    "cancelled": gettext_lazy("cancelled"),
    "declined": gettext_lazy("declined"),
}
OPEN_STATUSES = ["reported", "acknowledged", "in_progress", "returned"]
INCIDENT_SEVERITIES = {
    "red": gettext_lazy("red"),
    "yellow": gettext_lazy("yellow"),
    "blue": gettext_lazy("blue"),
}
# Grids come as vector tiles from this many grids in the jurisdiction on (or with ?tiles=1).
GRID_TILES_FROM = 1000
# The period filter's choices (days; 0: all time), the default, and the heat map's period.
INCIDENT_PERIODS = [7, 30, 90, 365, 0]
INCIDENT_DEFAULT_DAYS = 90
HEAT_DAYS = 30


def map_config(user: Any = None, *, grid_tiles: bool = False) -> dict[str, Any]:
    """Where map.js finds its data, the zoom from which buildings load, and where the map
    opens: on the user's own jurisdiction (a grid leader's grid), else on the districts.
    ``grid_tiles``: draw the grids from vector tiles (a large jurisdiction)."""
    return {
        "home": home_extent(prefixes_of(user)) if user is not None else None,
        # "LEVEL" and "CODE" are placeholders map.js replaces.
        "layerUrl": reverse("layer", kwargs={"level": "LEVEL"}),
        "gridUrl": reverse("grid-detail", kwargs={"code": "CODE"}),
        # The households of a building, with links to their files (presence, by its URL
        # name: grids imports nothing of it). "ID" is the placeholder map.js replaces.
        "buildingHouseholdsUrl": reverse("building-households", kwargs={"pk": 0}).replace(
            "/0/", "/ID/"
        ),
        "buildingMinZoom": BUILDING_MIN_ZOOM,
        "hasBasemap": bool(settings.LEAFLET_CONFIG.get("TILES")),
        # Vector tiles (the tiles app): "LAYER" is the placeholder map-tiles.js replaces.
        "tileUrl": reverse("tile", kwargs={"layer": "LAYER", "z": 0, "x": 0, "y": 0}).replace(
            "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
        ),
        "gridTiles": grid_tiles,
        "tileMinZoom": {"grids": 10},
        "caseUrl": reverse("case", kwargs={"pk": 0}),
        "categoriesUrl": reverse("incident-category-list"),
        "statuses": {k: str(v) for k, v in INCIDENT_STATUSES.items()},
        "openStatuses": OPEN_STATUSES,
        "severities": {k: str(v) for k, v in INCIDENT_SEVERITIES.items()},
        "periods": INCIDENT_PERIODS,
        "defaultDays": INCIDENT_DEFAULT_DAYS,
        "heatDays": HEAT_DAYS,
    }


class MapView(LoginRequiredMixin, TemplateView):
    """The grid map: districts, towns, villages, grids, stations and buildings."""

    template_name = "grids/map.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["map_strings"] = map_strings()
        user = self.request.user
        grid_tiles = (
            self.request.GET.get("tiles") == "1"
            or grids_visible(prefixes_of(user), GRID_TILES_FROM) >= GRID_TILES_FROM
        )
        context["map_config"] = map_config(user, grid_tiles=grid_tiles)
        return context
