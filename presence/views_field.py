"""Pages of the field area of presence: the phone page of the day (``/field/today/``) and the
tracks map (``/patrols/``).

``/field/today/`` is a shell like the field page: the day's work suggested by the weekly
schedule (``ScheduleDay``), the sign-in card and the patrol card talk to the API
(``presence.api_field``); sign-ins and tracks made offline wait in the phone's IndexedDB
(``incidents/field-queue.js``: ``storeOf("sign_ins")``, ``storeOf("patrols")``) and the
service worker of ``/field/`` keeps the page for offline use.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.selectors import jurisdiction_prefixes, worker_of
from grids.models import RoleAssignment, Worker
from grids.selectors import workers_within

from .models import Half, ScheduleDay, SignIn
from .patrols import PATROL_REACH_M
from .signins import half_day

# The phone keeps a position only every SAMPLE_SECONDS and SAMPLE_METRES moved, or after
# SAMPLE_MAX_SECONDS whatever the move (battery: the GPS runs, the page stores little).
SAMPLE_SECONDS = 10
SAMPLE_METRES = 5
SAMPLE_MAX_SECONDS = 60
# Queued sign-ins and tracks are retried this often (and on "online", and on load).
RETRY_SECONDS = 30


def _api(path: str) -> str:
    root = reverse("schema").removesuffix("schema/")
    return root + path


def today_strings() -> dict[str, str]:
    """The phone page's UI text in the active language (``json_script``)."""
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "locating": _("Finding your position…"),
        "locateDenied": _("Location is blocked for this site. Allow it in the browser settings."),
        "locateFailed": _("Your position could not be found. Go outdoors and try again."),
        "signedIn": _("Signed in at %(time)s"),
        "signedInPlace": _("%(verdict)s · %(place)s"),
        "distance": _("about %(metres)s m away"),
        "queuedSignIn": _(
            "No network: the sign-in is saved on this phone with its time and sent once online."
        ),
        "queuedCount": _("Waiting to be sent: %(count)s"),
        "sentQueued": _("Sent: %(count)s"),
        "refused": _("Not signed in"),
        "needReason": _("Give the reason, then sign in anyway."),
        "networkError": _("The server did not answer. Check the connection and try again."),
        "loginExpired": _("Your login has expired. Log in again; what is on this phone is kept."),
        "recording": _("Recording: %(count)s positions, %(metres)s m, %(minutes)s min"),
        "recordingStarted": _("Recording. Keep this page open while you walk."),
        "patrolQueued": _("The track is saved on this phone and sent once online."),
        "patrolSent": _("Patrol saved: %(metres)s m in %(minutes)s min"),
        "patrolTooShort": _("Too few positions were recorded: walk a little farther."),
        "patrolFailed": _("The track was not accepted: %(detail)s"),
        "noGeolocation": _("This browser cannot share your position."),
    }


def suggested_work(worker: Worker | None, on: Any) -> list[dict[str, str]]:
    """The day's work from the weekly schedule of the worker's roles: one row per role with a
    schedule for this weekday (a district's own row before the default one)."""
    if worker is None:
        return []
    assignments = RoleAssignment.objects.active(on).filter(worker=worker)
    rows = []
    for assignment in assignments.select_related(
        "grid__village__town", "village__town", "station__town", "town"
    ):
        place = assignment.grid or assignment.village or assignment.station or assignment.town
        district_code = getattr(place, "code", "")[:6]
        day = (
            ScheduleDay.objects.filter(role=assignment.role, weekday=on.weekday())
            .filter(Q(district__isnull=True) | Q(district__code=district_code))
            .order_by("district")  # a district's own first (NULLs last)
            .first()
        )
        if day is not None:
            rows.append(
                {
                    "role": assignment.get_role_display(),
                    "activity": day.activity,
                    "label": day.get_activity_display(),
                    "place": getattr(place, "name", ""),
                }
            )
    return rows


class FieldTodayView(LoginRequiredMixin, TemplateView):
    """``/field/today/``: the day on the phone (suggested work, sign-in, patrol, links)."""

    template_name = "presence/field_today.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        worker = worker_of(user)
        now = timezone.now()
        day, half = half_day(now)
        current = (
            SignIn.objects.filter(worker=worker, day=day, half=half).first() if worker else None
        )
        context.update(
            worker=worker,
            today=day,
            half_label=Half(half).label,
            suggested=suggested_work(worker, day),
            current_sign_in=current,
            today_strings=today_strings(),
            today_config={
                "user": user.get_username(),
                "signInsUrl": _api("presence/sign-ins/"),
                "patrolsUrl": _api("patrols/"),
                "patrolsPage": reverse("patrols"),
                "loginUrl": reverse("login") + "?next=" + reverse("field-today"),
                "serviceWorkerUrl": reverse("field-sw"),
                "scope": reverse("field"),
                "retrySeconds": RETRY_SECONDS,
                "timeZone": settings.TIME_ZONE,
                "maxAccuracy": settings.GRIDMAP_SIGN_IN_MAX_ACCURACY_M,
            },
            sample={
                "seconds": SAMPLE_SECONDS,
                "metres": SAMPLE_METRES,
                "max_seconds": SAMPLE_MAX_SECONDS,
            },
            visit_url="/field/visit/",
        )
        return context


class PatrolsView(LoginRequiredMixin, TemplateView):
    """``/patrols/``: each worker's tracks of a day on a map, the grid areas they covered,
    and a list with distance and time. Workers of the jurisdiction only."""

    template_name = "presence/tracks.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        workers = workers_within(jurisdiction_prefixes(user)).filter(patrols__isnull=False)
        own = worker_of(user)
        choices = list(workers.distinct().order_by("name").values_list("pk", "name")[:500])
        if own is not None and own.pk not in {pk for pk, _name in choices}:
            choices.insert(0, (own.pk, own.name))
        day = self.request.GET.get("day") or timezone.localdate().isoformat()
        context.update(
            workers=choices,
            day=day,
            worker_id=self.request.GET.get("worker", ""),
            tracks_strings={
                "noPatrols": _("No patrols on this day."),
                "distance": _("%(km)s km"),
                "duration": _("%(minutes)s min"),
                "covered": _("Covered: %(grids)s"),
                "share": _("%(name)s: %(percent)s"),
                "loadFailed": _("Could not load: %(detail)s"),
                "networkError": _("The server did not answer. Check the connection and try again."),
            },
            tracks_config={
                "patrolsUrl": _api("patrols/"),
                "coverageUrl": _api("patrols/coverage/"),
                "gridsUrl": reverse("layer", kwargs={"level": "grid"}),
                "reachM": PATROL_REACH_M,
                "hasBasemap": bool(settings.LEAFLET_CONFIG.get("TILES")),
                "timeZone": settings.TIME_ZONE,
            },
        )
        return context
