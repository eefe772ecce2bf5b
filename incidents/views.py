"""Pages of incidents: the field page for grid workers, and its service worker.

The field page is a shell like the map page: categories, routing results, the inbox and
households come from the API (incidents.api, incidents.inbox_api, households.api). Reports
made without a network wait in the phone's IndexedDB and are sent when it returns; the
service worker (``/field/sw.js``) keeps the page and its static files on the phone so that
the page opens offline.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.template import Context, Template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from grids.models import Role

from .field_pages import FIELD_LINKS, FIELD_PAGES
from .models import Level, RecipientKind, Responder, Severity, Status
from .services import MAX_DESCRIPTION, MAX_PHOTO_BYTES, MAX_PHOTOS, PHOTO_FORMATS

# Households are listed by bbox only, from this zoom level on.
HOUSEHOLD_MIN_ZOOM = 16
# Ten-household unit size the API accepts without a warning.
UNIT_MIN_HOUSEHOLDS = 8
UNIT_MAX_HOUSEHOLDS = 15
# The page retries queued reports this often while some wait (and on "online", and on load).
RETRY_SECONDS = 20

# The service worker's own script (a static file) and the static files of the page shell.
SERVICE_WORKER_SOURCE = "incidents/field-sw.js"
FIELD_STATIC = [
    "gridmap/base.css",
    "gridmap/favicon.svg",
    "gridmap/menu.js",  # base.html's site menu
    "incidents/field.css",
    "incidents/field-queue.js",
    "incidents/field.js",
    # The ES modules field.js imports (no build step: the browser fetches each one).
    "gridmap/common.js",
    "incidents/field/page.js",
    "incidents/field/map.js",
    "incidents/field/modes.js",
    "incidents/field/results.js",
    "incidents/field/my-work.js",
    "incidents/field/queue.js",
    "incidents/field/report.js",
    "households/unit-editor.js",
]


def field_static() -> list[str]:
    """The static files of the field page and of every registered field page."""
    return FIELD_STATIC + [path for page in FIELD_PAGES for path in page.static]


# Leaflet's images are referenced from its CSS, not from the page.
LEAFLET_IMAGES = [
    "leaflet/images/layers.png",
    "leaflet/images/layers-2x.png",
    "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png",
]


def field_strings() -> dict[str, str]:
    """The field script's UI text in the active language (rendered with ``json_script``).

    Placeholders use Django's ``%(name)s`` form; field.js interpolates them.
    """
    return {
        # tabs and status
        "tabWork": _("My work"),
        "online": _("Online"),
        "offline": _("Offline"),
        "pendingCount": _("Unsent: %(count)s"),
        "loading": _("Loading…"),
        # placing the point
        "tapToPlace": _("Tap the map where it happened"),
        "tapToMove": _("Tap the map or drag the pin to move it"),
        "locating": _("Finding your position…"),
        "locateDenied": _(
            "Location is blocked for this site. Allow it in the browser settings, "
            "or tap the map where it happened."
        ),
        "locateUnavailable": _(
            "Your position could not be found. Go outdoors or tap the map where it happened."
        ),
        "locateTimeout": _("Finding your position took too long. Try again or tap the map."),
        "locateUnsupported": _("This browser cannot share your position. Tap the map instead."),
        "accuracy": _("Accurate to about %(metres)s m"),
        "inGrid": _("In %(name)s (%(code)s)"),
        "noGridHere": _("No grid covers this point; it goes to the village or town."),
        "gridUnknownOffline": _("The grid is found when the report is sent."),
        # the form
        "photoHint": _("Up to %(count)s photos, JPEG, PNG or WebP, %(size)s MB each"),
        "removePhoto": _("Remove this photo"),
        "tooManyPhotos": _("At most %(count)s photos; the extra ones were left out."),
        "photoType": _("%(name)s is not a JPEG, PNG or WebP photo."),
        "photoSize": _("%(name)s is larger than %(size)s MB."),
        "needPoint": _("Tap the map to mark where it happened."),
        "needCategory": _("Choose a category."),
        "needDescription": _("Describe what happened."),
        "submit": _("Submit report"),
        "submitNew": _("Submit as a new incident"),
        "sending": _("Sending…"),
        "categoriesError": _("Could not load the categories: %(detail)s"),
        "categoriesOffline": _("Categories are not on this phone yet. Open this page online once."),
        "sevBlueHint": _("Routine: grid leader, central household, mediation director"),
        "sevYellowHint": _("Adds the village mediation team"),
        "sevRedHint": _("Urgent: the town platform sends a special team"),
        # duplicates
        "attach": _("Attach my report to this one"),
        "distance": _("%(metres)s m away"),
        "reporters": _("Reporters: %(count)s"),
        # the result
        "reported": _("Report received"),
        "attached": _("Added to incident #%(id)s"),
        "reporterCount": _("Number of reporters: %(count)s"),
        "incidentNumber": _("Incident #%(id)s"),
        "noGrid": _("Not in any grid"),
        "responsibleLevel": _("Responsible level"),
        "call": _("Call %(name)s"),
        "noPhone": _("no phone number"),
        "inPlaceOf": _("standing in for the %(role)s"),
        "nobody": _("Nobody could be found for this place."),
        "reportAnother": _("Report another"),
        # the queue
        "queuedTitle": _("Saved on this phone"),
        "queued": _("Queued: will be sent when the network returns."),
        "queuedCount": _("Reports waiting: %(count)s"),
        "sentQueued": _("Queued reports sent: %(count)s"),
        "sendFailed": _("Could not send: %(detail)s"),
        "discard": _("Discard"),
        "discardConfirm": _("Discard this report? It has not been sent."),
        "loginExpired": _(
            "Your login has expired. Log in again; the reports on this phone are kept."
        ),
        "logInAgain": _("Log in again"),
        "serverError": _("The server had a problem (%(status)s). It will be tried again."),
        "networkError": _("The server did not answer. Check the connection and try again."),
        "invalidFields": _("Please correct the form."),
        "view": _("View"),
        # my work
        "all": _("All"),
        "markRead": _("Mark as read"),
        "unread": _("Unread"),
        "noIncidents": _("Nothing is routed to you at the moment."),
        "noMessages": _("No messages."),
        "loadMore": _("Show more"),
        "workOffline": _("You are offline: this list is shown when the network returns."),
        "workError": _("Could not load: %(detail)s"),
        # ten-household units
        "zoomForHouseholds": _("Zoom in to see households"),
        "drawBoxHint": _("Drag a box over the households to add them"),
        "selectedCount": _("Households selected: %(count)s"),
        "householdCount": _("Households: %(count)s"),
        "unitSizeHint": _("A unit has %(min)s to %(max)s households."),
        "head": _("Head household"),
        "centralHousehold": _("Party-member central household"),
        "chooseCentral": _("Choose the central household"),
        "noCentralNearby": _("No central household in view: move the map to one"),
        "member": _("member"),
        "removeHousehold": _("Remove this household"),
        "inUnitAlready": _("This household is already in a ten-household unit."),
        "skippedInUnit": _("Left out, already in a unit: %(count)s"),
        "needHouseholds": _("Select the member households on the map."),
        "needHead": _("Choose the head household."),
        "needCentral": _("Choose the central household."),
        "needName": _("Give the unit a name."),
        "saveUnit": _("Save the unit"),
        "unitSaved": _("Ten-household unit saved"),
        "unitWarnings": _("Saved with warnings"),
        "notified": _("Notified"),
        "newUnit": _("New unit"),
        "unitOffline": _("Ten-household units need the network. Try again when you are online."),
        "householdsError": _("Could not load the households: %(detail)s"),
        "householdsTruncated": _("Showing the first %(count)s households; zoom in."),
    }


def field_labels() -> dict[str, dict[str, str]]:
    """Labels of the codes the API returns (roles, recipient kinds, severities, levels)."""
    roles = {choice.value: capfirst(choice.label) for choice in Role}
    roles.update({choice.value: capfirst(choice.label) for choice in Responder})
    return {
        "role": roles,
        "kind": {choice.value: capfirst(choice.label) for choice in RecipientKind},
        "severity": {choice.value: capfirst(choice.label) for choice in Severity},
        "level": {choice.value: capfirst(choice.label) for choice in Level},
        "status": {choice.value: capfirst(choice.label) for choice in Status},
    }


def _api(path: str) -> str:
    """A URL under the API root (``/api/``), found from a route that always exists."""
    root = reverse("schema").removesuffix("schema/")
    return root + path


def field_config(request: HttpRequest) -> dict[str, Any]:
    """Where field.js finds its data, the limits it checks, and who is using it."""
    user = request.user
    return {
        "user": user.get_username(),
        "layerUrl": reverse("layer", kwargs={"level": "LEVEL"}),
        "gridAtUrl": reverse("grid-at"),
        "categoriesUrl": _api("incident-categories/"),
        "incidentsUrl": _api("incidents/"),
        "duplicatesUrl": _api("incidents/duplicates/"),
        "inboxUrl": _api("inbox/"),
        "householdsUrl": reverse("household-list"),
        "unitsUrl": _api("ten-household-units/"),
        "loginUrl": reverse("login") + "?next=" + reverse("field"),
        "serviceWorkerUrl": reverse("field-sw"),
        "scope": reverse("field"),
        "householdMinZoom": HOUSEHOLD_MIN_ZOOM,
        "maxPhotos": MAX_PHOTOS,
        "maxPhotoBytes": MAX_PHOTO_BYTES,
        # The service's limits, checked on the phone first to spare a doomed upload.
        "photoTypes": sorted(PHOTO_FORMATS.values()),
        "maxDescription": MAX_DESCRIPTION,
        "unitMin": UNIT_MIN_HOUSEHOLDS,
        "unitMax": UNIT_MAX_HOUSEHOLDS,
        "retrySeconds": RETRY_SECONDS,
        "hasBasemap": bool(settings.LEAFLET_CONFIG.get("TILES")),
    }


class FieldView(LoginRequiredMixin, TemplateView):
    """The field page: report an incident, form a ten-household unit, see my work."""

    template_name = "incidents/field.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["field_strings"] = field_strings()
        context["field_labels"] = field_labels()
        context["field_config"] = field_config(self.request)
        context["field_links"] = [
            {"url": reverse(link.url_name) + link.query, "label": link.label}
            for link in FIELD_LINKS
            if link.shown_to is None or link.shown_to(self.request.user)
        ]
        return context


# --- the service worker --------------------------------------------------------------------
_STATIC_REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def leaflet_static_urls() -> list[str]:
    """The files django-leaflet's template tags put on the page (with its settings)."""
    html = Template("{% load leaflet_tags %}{% leaflet_css %}{% leaflet_js %}").render(Context())
    prefix = static("")
    return [url for url in _STATIC_REF.findall(html) if url.startswith(prefix)]


def _static_source(path: str) -> bytes:
    found = finders.find(path)
    if not found:
        raise Http404(path)
    with open(found, "rb") as handle:
        return handle.read()


def service_worker_precache() -> list[str]:
    urls = leaflet_static_urls() + [static(path) for path in LEAFLET_IMAGES + field_static()]
    return list(dict.fromkeys(urls))


@require_GET
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """``/field/sw.js``: the service worker script, with the shell's files and a version.

    The version is a hash of the script and of the page's own static files, so a change to
    any of them installs a new worker that refreshes the cache. It needs no login: it holds
    no data, and the browser fetches it again on its own to look for updates.
    """
    source = _static_source(SERVICE_WORKER_SOURCE)
    precache = service_worker_precache()
    digest = hashlib.sha256(source)
    digest.update("\n".join(precache).encode())
    for path in field_static():
        digest.update(_static_source(path))
    config = {
        "version": digest.hexdigest()[:16],
        "shell": reverse("field"),
        "shells": [reverse("field")] + [reverse(page.url_name) for page in FIELD_PAGES],
        "precache": precache,
        # GET API answers kept for offline use (network first): what the form needs.
        "dataUrls": [
            _api("incident-categories/"),
            reverse("layer", kwargs={"level": "grid"}),
            reverse("layer", kwargs={"level": "village"}),
        ],
    }
    prefix = f"self.GRIDMAP_SW = {json.dumps(config)};\n".encode()
    response = HttpResponse(prefix + source, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("field")
    return response
