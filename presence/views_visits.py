"""Pages of visits: the phone's visit form (``/field/visit/``), the diary (``/diary/``, 民情日记)
and a visit's photos (served through the jurisdiction check, never from the media directory).

The visit form is a shell: households come from ``/api/visits/households/``, the visit goes to
``/api/visits/``; a visit made offline waits in the phone's IndexedDB (``storeOf("visits")``
of incidents/static/incidents/field-queue.js) with the time it was made.

The diary is drawn by the server (no script): the visits in order, grouped by month, each with
its time, households (phones masked per role), notes, requests and their cases, and its
follow-up. ``?worker=ID``: a worker inside the viewer's jurisdiction (404 otherwise);
``?area=CODE``: everyone's visits in a village, station or town of the viewer's jurisdiction
(404 outside); ``?month=YYYY-MM``: one month (default: the last three months).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views import View
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from accounts.selectors import jurisdiction_prefixes, worker_of
from gridmap import uploads
from gridmap.codes import covers
from gridmap.params import id_of
from grids.models import CatchmentAssignment, Grid, Station, Town, Village, Worker
from grids.selectors import workers_within
from incidents.models import Category, Severity

from . import visits
from .api_visits import Viewer, household_card, visit_result
from .models import Visit, VisitPhoto
from .report import parse_month

# The form retries queued visits this often while some wait (and on "online", and on load).
RETRY_SECONDS = 30
# The diary shows this many days back unless a month is chosen.
DEFAULT_DAYS = 92
MAX_DIARY_VISITS = 1000


@dataclass(frozen=True)
class VisitLink:
    """A link shown for each household once a visit is saved, to a page of an app above
    presence (servicedesk: take a service request for the household, 代办), by URL name; the
    form adds ``?household=KEY&visit=ID``."""

    url_name: str
    label: str
    # Whether the user is offered the link (None: everyone who saves a visit).
    shown_to: Callable[[Any], bool] | None = None


VISIT_LINKS: list[VisitLink] = []


def register_visit_link(link: VisitLink) -> None:
    if link not in VISIT_LINKS:
        VISIT_LINKS.append(link)


def visit_strings() -> dict[str, str]:
    """The visit form's UI text in the active language (``json_script``)."""
    return {
        "online": _("Online"),
        "offline": _("Offline"),
        "pendingCount": _("Unsent: %(count)s"),
        "searchHint": _("Type a household number or part of the address"),
        "searching": _("Searching…"),
        "noMatch": _("No household of your area matches."),
        "searchOffline": _("Searching households needs the network. Add them by number."),
        "addByNumber": _("Add household number %(code)s"),
        "remove": pgettext("visit form", "Remove"),
        "needHousehold": _("Choose the household you visited."),
        "needRequestText": _("Write down what the resident asked for."),
        "needCategory": _("Choose the category of the case."),
        "request": pgettext("visit form", "Request"),
        "makeCase": _("Make it a case"),
        "category": _("Category"),
        "household": _("Household"),
        "anyHousehold": _("(the first household)"),
        "removePhoto": _("Remove this photo"),
        "tooManyPhotos": _("At most %(count)s photos; the extra ones were left out."),
        "photoType": _("%(name)s is not a JPEG, PNG or WebP photo."),
        "sending": _("Sending…"),
        "saved": _("Visit saved"),
        "savedCases": _("Cases opened: %(count)s"),
        "queued": _("Saved on this phone: it is sent when the network returns."),
        "sentQueued": _("Queued visits sent: %(count)s"),
        "sendFailed": _("Could not send: %(detail)s"),
        "discard": _("Discard"),
        "discardConfirm": _("Discard this visit? It has not been sent."),
        "loginExpired": _(
            "Your login has expired. Log in again; the visits on this phone are kept."
        ),
        "serverError": _("The server had a problem (%(status)s). It will be tried again."),
        "networkError": _("The server did not answer. Check the connection and try again."),
        "locating": _("Finding your position…"),
        "located": _("Position found, accurate to about %(metres)s m"),
        "noPosition": _("No position: the visit is placed at the household."),
        "newVisit": _("Log another visit"),
        "openCase": _("Open case #%(id)s"),
    }


def visit_config(request: HttpRequest) -> dict[str, Any]:
    """Where the form's script finds its data and the limits it checks first."""
    return {
        "user": request.user.get_username(),
        "visitsUrl": reverse("visit-list"),
        "searchUrl": reverse("visit-household-search"),
        "diaryUrl": reverse("diary"),
        # The field page's service worker (scope /field/) keeps this page for offline use.
        "serviceWorkerUrl": reverse("field-sw"),
        "scope": reverse("field"),
        "loginUrl": reverse("login") + "?next=" + reverse("field-visit"),
        "maxPhotos": visits.MAX_PHOTOS,
        "maxPhotoBytes": visits.MAX_PHOTO_BYTES,
        "photoTypes": ["image/jpeg", "image/png", "image/webp"],
        "retrySeconds": RETRY_SECONDS,
        # Photos larger than this (pixels on the long side) are shrunk on the phone.
        "photoMaxSide": 1600,
        "links": [
            {"url": reverse(link.url_name), "label": str(link.label)}
            for link in VISIT_LINKS
            if link.shown_to is None or link.shown_to(request.user)
        ],
    }


class VisitFormView(LoginRequiredMixin, TemplateView):
    """``/field/visit/``: log a visit on the phone (``?household=NUMBER`` or ``~ID`` prefills
    one household of the user's jurisdiction)."""

    template_name = "presence/visit_form.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        prefill = []
        code = (self.request.GET.get("household") or "").strip()
        if code:
            # A household's number, or ``~<id>`` for one without (the household file's key).
            found = visits.households_visible_to(self.request.user)
            if code.startswith("~"):
                found = found.filter(pk=id_of(code[1:]) or 0)
            else:
                found = found.filter(code=code)
            viewer = Viewer(self.request.user)
            viewer.own_worker = None
            prefill = [household_card(h, viewer) for h in found[:1]]
        context["visit_strings"] = visit_strings()
        context["visit_config"] = {**visit_config(self.request), "prefill": prefill}
        context["categories"] = [
            {"code": c.code, "name": c.name}
            for c in Category.objects.filter(is_active=True).order_by("ordering", "code")
        ]
        context["severities"] = [{"value": s.value, "label": s.label} for s in Severity]
        context["kinds"] = Visit.Kind.choices
        context["is_worker"] = worker_of(self.request.user) is not None
        return context


# --- the diary -------------------------------------------------------------------------------
def _month(raw: str | None) -> tuple[dt.date, dt.date] | None:
    return parse_month(raw) if raw else None


def _area_codes(area: str) -> list[str]:
    """The place-code prefixes of a grid, village or town code, or of a station (the villages
    of its catchment today); [] for no such place."""
    if Station.objects.filter(code=area).exists():
        return list(
            CatchmentAssignment.objects.active(timezone.localdate())
            .filter(station__code=area)
            .values_list("village__code", flat=True)
        )
    if not (area.isascii() and area.isdigit()):
        return []
    for model in (Grid, Village, Town):
        if model.objects.current().filter(code=area).exists():
            return [area]
    return []


def _area_name(code: str) -> str | None:
    for model in (Grid, Village, Town):
        place = model.objects.current().filter(code=code).only("name").first()
        if place is not None:
            return place.name
    station = Station.objects.filter(code=code).only("name").first()
    return station.name if station is not None else None


class DiaryView(LoginRequiredMixin, View):
    """``/diary/``: the signed-in worker's diary, a worker's (``?worker=ID``), or a place's
    (``?area=CODE``); printable (A4)."""

    template_name = "presence/diary.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        prefixes = jurisdiction_prefixes(user)
        month = _month(request.GET.get("month"))
        today = timezone.localdate()
        start, end = month or (today - dt.timedelta(days=DEFAULT_DAYS), today)
        area = (request.GET.get("area") or "").strip()
        worker_raw = (request.GET.get("worker") or "").strip()
        worker: Worker | None = None
        title_name = None
        if area:
            codes = _area_codes(area)
            if not codes or not any(covers(prefixes, c) for c in codes):
                raise Http404
            title_name = _area_name(area)
            qs = visits.visits_in_area(codes, user, start=start, end=end)
        else:
            own = worker_of(user)
            if worker_raw:
                worker_id = id_of(worker_raw)
                if worker_id is None:
                    raise Http404
                visible = workers_within(prefixes, Worker.objects.filter(pk=worker_id))
                worker = visible.first()
                if worker is None and own is not None and own.pk == worker_id:
                    worker = own
                if worker is None:
                    raise Http404
            else:
                worker = own
            title_name = worker.name if worker is not None else None
            qs = (
                visits.diary(worker, user, start=start, end=end)
                if worker is not None
                else Visit.objects.none()
            )
        rows = list(qs[:MAX_DIARY_VISITS])
        viewer = Viewer(user, rows)
        shown = [visit_result(v, viewer) for v in rows]
        for item, visit in zip(shown, rows, strict=True):
            item["at_local"] = timezone.localtime(visit.at)
            item["kind_label"] = visit.get_kind_display()
            item["follow_up_done_url"] = (
                reverse("visit-follow-up-done", kwargs={"pk": visit.pk})
                if visit.follow_up
                and visit.follow_up_done_at is None
                and visit.worker_id == viewer.own_worker
                else None
            )
            item["follow_up_overdue"] = bool(
                visit.follow_up
                and visit.follow_up_done_at is None
                and visit.follow_up_due is not None
                and visit.follow_up_due < today
            )
        months = [
            {"month": key, "visits": list(group)}
            for key, group in groupby(shown, key=lambda v: v["at_local"].strftime("%Y-%m"))
        ]
        context = {
            "months": months,
            "count": len(shown),
            "truncated": len(rows) >= MAX_DIARY_VISITS,
            "title_name": title_name,
            "area": area,
            "worker": worker,
            "start": start,
            "end": end,
            "month": request.GET.get("month") or "",
            "is_own": worker is not None and worker.user_id == user.pk,
            "can_log": worker_of(user) is not None,
        }
        return render(request, self.template_name, context)


@login_required
@require_GET
def visit_photo(request: HttpRequest, pk: int, photo: int) -> FileResponse:
    """A photo of a visit, for whoever may see the visit (404 otherwise)."""
    found = (
        VisitPhoto.objects.filter(pk=photo, visit_id=pk)
        .filter(visit__in=visits.visits_visible_to(request.user))
        .first()
    )
    if found is None:
        raise Http404
    # Inline (the diary shows it), as the detected type only, unsniffed and sandboxed.
    return uploads.file_response(
        found.image.open("rb"),
        content_type=found.content_type,
        filename=found.image.name.rsplit("/", 1)[-1].split("-", 1)[-1],
        inline_images=True,
    )
