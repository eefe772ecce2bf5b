"""The visits API: log a visit (``POST /api/visits/``, JSON or multipart with a ``visit`` JSON
part and ``photos`` files), list and read the visits a user may see, mark a follow-up done,
and search the households a visit can be logged for.

Views parse and render; ``presence.visits`` writes and reads. Every 4xx body is
``{"detail": <the first message>, "errors": {field: [messages]}}`` (``gridmap.api``).

What a visit shows to whom: households' phones masked unless the viewer's role visits
households (``can_see_personal_data``, through ``gridmap.personal_data``); a household outside
the viewer's jurisdiction is left out (counted in ``households_hidden``) unless the visit is
the viewer's own; the visitor is named only to viewers whose jurisdiction holds them
(``grids.selectors.workers_within``) and to themselves. Photos are URLs of the protected
``visit-photo`` view, never of the media directory.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.fields import DateTimeField
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import can_see_personal_data, jurisdiction_prefixes, worker_of
from gridmap import parsers, personal_data
from gridmap.api import Invalid, page_links
from gridmap.codes import covers
from gridmap.params import MSG_LON_LAT_RANGE, id_of, lon_lat_in_range
from grids.models import Worker
from grids.selectors import workers_within
from households.models import Household
from incidents.models import Category, Severity

from . import visits
from .api_field import to_wgs84
from .models import Visit, VisitHousehold

MSG_BAD_VISIT_FIELD = gettext_noop("The visit field must hold the visit as JSON.")
MSG_BAD_UUID = gettext_noop("client_uuid must be a UUID.")
MSG_BAD_AT = gettext_noop("at must be a date and time (ISO 8601).")
MSG_BAD_CRS = gettext_noop("crs must be wgs84, gcj02 or bd09.")
MSG_BAD_POSITION = gettext_noop("lon and lat must be numbers.")
MSG_BAD_HOUSEHOLDS = gettext_noop("households must be a list of household numbers.")
MSG_BAD_REQUESTS = gettext_noop("requests must be a list of requests, each with its text.")
MSG_UNKNOWN_CATEGORY = gettext_noop("Unknown category %(category)s.")
MSG_BAD_SEVERITY = gettext_noop("Severity must be red, yellow or blue.")
MSG_BAD_DATE = gettext_noop("%(field)s must be a date (YYYY-MM-DD).")
MSG_BAD_NUMBER = gettext_noop("%(field)s must be a whole number.")
MSG_UNKNOWN_VISIT = gettext_noop("There is no visit %(id)s in your jurisdiction.")
MSG_BAD_PAGE = gettext_noop("%(field)s must be a whole number from 1 to %(max)s.")

CRS = ("wgs84", "gcj02", "bd09")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE = 100_000
_DATETIME = DateTimeField()


# --- positions ------------------------------------------------------------------------------
def position_wgs84(lon: Any, lat: Any, crs: Any) -> Point | None:
    """The phone's position (``crs``: ``wgs84`` default, ``gcj02``, ``bd09``) as a WGS84
    point; None when no position was sent. Raises ``Invalid``."""
    if lon in (None, "") and lat in (None, ""):
        return None
    crs = (crs or "wgs84") if isinstance(crs, str | type(None)) else crs
    if crs not in CRS:
        raise Invalid({"crs": [_(MSG_BAD_CRS)]})
    try:
        if isinstance(lon, bool) or isinstance(lat, bool):
            raise ValueError
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise Invalid({"lon": [_(MSG_BAD_POSITION)]}) from None
    if not (math.isfinite(x) and math.isfinite(y)) or not lon_lat_in_range(x, y):
        raise Invalid({"lon": [_(MSG_LON_LAT_RANGE)]})
    x, y = (float(v) for v in to_wgs84(np.array([[x, y]], dtype=float), crs)[0])
    return Point(x, y, srid=settings.GRIDMAP_SRID)


# --- parsing a visit ------------------------------------------------------------------------
def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if hasattr(data, "getlist"):  # multipart or form: the visit is JSON in ``visit``
        try:
            data = parsers.loads(data.get("visit"))
        except (TypeError, ValueError):
            raise Invalid({"visit": [_(MSG_BAD_VISIT_FIELD)]}) from None
    if not isinstance(data, dict):
        raise Invalid({"visit": [_(MSG_BAD_VISIT_FIELD)]})
    return data


def _uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid({"client_uuid": [_(MSG_BAD_UUID)]}) from None


def _at(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        at = parse_datetime(str(value))
    except ValueError:
        at = None
    if at is None:
        raise Invalid({"at": [_(MSG_BAD_AT)]})
    return timezone.make_aware(at) if timezone.is_naive(at) else at


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        day = parse_date(str(value))
    except ValueError:
        day = None
    # Years 1900-2199 (a date outside is a typo; 9999-12-31 would overflow the day after).
    if day is None or not 1900 <= day.year < 2200:
        raise Invalid({field: [_(MSG_BAD_DATE) % {"field": field}]})
    return day


def _int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Invalid({field: [_(MSG_BAD_NUMBER) % {"field": field}]})
    try:
        return int(value)
    except ValueError:
        raise Invalid({field: [_(MSG_BAD_NUMBER) % {"field": field}]}) from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def resolve_households(refs: Iterable[Any]) -> dict[Any, Household]:
    """Households by id (a number) or household number (a string), as sent. A reference to
    no household is answered like one outside the worker's area (nothing is confirmed)."""
    refs = list(refs)
    ids = [r for r in refs if isinstance(r, int) and not isinstance(r, bool)]
    codes = [r for r in refs if isinstance(r, str) and r.strip()]
    if len(ids) + len(codes) != len(refs):
        raise Invalid({"households": [_(MSG_BAD_HOUSEHOLDS)]})
    found = Household.objects.select_related("grid").filter(
        Q(pk__in=ids) | Q(code__in=[c.strip() for c in codes])
    )
    by_ref: dict[Any, Household] = {}
    for h in found:
        by_ref[h.pk] = h
        if h.code:
            by_ref[h.code] = h
    for ref in refs:
        key = ref.strip() if isinstance(ref, str) else ref
        if key not in by_ref:
            raise Invalid(
                {"households": [_(visits.MSG_HOUSEHOLD_OUTSIDE) % {"household": str(key)}]}
            )
    return {ref: by_ref[ref.strip() if isinstance(ref, str) else ref] for ref in refs}


def _requests(raw: Any, households: dict[Any, Household]) -> list[visits.RequestRaised]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise Invalid({"requests": [_(MSG_BAD_REQUESTS)]})
    if len(raw) > visits.MAX_REQUESTS:
        raise Invalid(
            {"requests": [_(visits.MSG_TOO_MANY_REQUESTS) % {"max": visits.MAX_REQUESTS}]}
        )
    extra = [r.get("household") for r in raw if r.get("household") not in (None, "")]
    # A household is named by its id or its number: nothing else (a list or an object would
    # not even be a dictionary key).
    if any(isinstance(h, bool) or not isinstance(h, int | str) for h in extra):
        raise Invalid({"requests": [_(MSG_BAD_REQUESTS)]})
    known = dict(households)
    missing = [r for r in extra if (r.strip() if isinstance(r, str) else r) not in known]
    if missing:
        known.update(resolve_households(missing))
    out = []
    for item in raw:
        ref = item.get("household")
        ref = ref.strip() if isinstance(ref, str) else ref
        category = None
        code = item.get("category")
        if code not in (None, ""):
            category = Category.objects.filter(code=str(code), is_active=True).first()
            if category is None:
                raise Invalid({"requests": [_(MSG_UNKNOWN_CATEGORY) % {"category": code}]})
        severity = item.get("severity") or None
        if severity is not None and severity not in Severity.values:
            raise Invalid({"requests": [_(MSG_BAD_SEVERITY)]})
        out.append(
            visits.RequestRaised(
                text=_text(item.get("text")),
                household=known.get(ref) if ref not in (None, "") else None,
                make_case=item.get("make_case") is True,
                category=category,
                severity=severity,
            )
        )
    return out


def visit_arguments(body: dict[str, Any], photos: list[Any]) -> dict[str, Any]:
    """``presence.visits.log_visit``'s arguments from a request's visit (all but the worker)."""
    refs = body.get("households")
    if refs in (None, ""):
        refs = []
    if not isinstance(refs, list):
        raise Invalid({"households": [_(MSG_BAD_HOUSEHOLDS)]})
    households = resolve_households(refs)
    return {
        "client_uuid": _uuid(body.get("client_uuid")),
        "at": _at(body.get("at")),
        "kind": _text(body.get("kind")) or Visit.Kind.HOUSEHOLD,
        "households": list(households.values()),
        "place_code": _text(body.get("place_code")) or None,
        "point": position_wgs84(body.get("lon"), body.get("lat"), body.get("crs")),
        "attendees": _int(body.get("attendees"), "attendees"),
        "notes": _text(body.get("notes")),
        "requests": _requests(body.get("requests"), households),
        "follow_up": _text(body.get("follow_up")),
        "follow_up_due": _date(body.get("follow_up_due"), "follow_up_due"),
        "photos": photos,
    }


# --- the representation ---------------------------------------------------------------------
class Viewer:
    """What one viewer may see of visits, read once per answer."""

    def __init__(self, user: Any, visits_shown: Iterable[Visit] = ()) -> None:
        self.user = user
        self.prefixes = jurisdiction_prefixes(user)
        self.personal = can_see_personal_data(user)
        worker_ids = {v.worker_id for v in visits_shown}
        self.named = set(
            workers_within(self.prefixes, Worker.objects.filter(pk__in=worker_ids)).values_list(
                "pk", flat=True
            )
        )
        own = worker_of(user)
        self.own_worker = own.pk if own is not None else None
        if own is not None:
            self.named.add(own.pk)

    def sees_household(self, visit: Visit, household: Household) -> bool:
        if visit.worker_id == self.own_worker:
            return True
        return household.grid is not None and covers(self.prefixes, household.grid.code)


def household_card(household: Household, viewer: Viewer) -> dict[str, Any]:
    """A visited household as ``viewer`` sees it (its phone masked per role)."""
    code = household.grid.code if household.grid is not None else None
    return {
        "id": household.pk,
        "code": household.code,
        "address": household.address,
        "head_name": household.head_name,
        "phone": personal_data.show(
            household.phone,
            kind=personal_data.PHONE,
            visible=viewer.personal,
            record_type="household",
            record_id=household.pk,
            code=code,
        ),
        "grid": code,
        "tags": list(household.tags or []),
    }


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def visit_result(visit: Visit, viewer: Viewer) -> dict[str, Any]:
    """A visit (loaded with ``visits.with_details``) as ``viewer`` may see it."""
    shown = [
        vh.household
        for vh in visit.visithousehold_set.all()
        if viewer.sees_household(visit, vh.household)
    ]
    hidden = len(visit.visithousehold_set.all()) - len(shown)
    shown_ids = {h.pk for h in shown}
    return {
        "id": visit.pk,
        "client_uuid": str(visit.client_uuid),
        "kind": visit.kind,
        "at": _when(visit.at),
        "received_at": _when(visit.received_at),
        "worker": {
            "id": visit.worker_id,
            "name": visit.worker.name if visit.worker_id in viewer.named else None,
        },
        "place_code": visit.place_code,
        "grid": {"code": visit.grid.code, "name": visit.grid.name} if visit.grid else None,
        "location": list(visit.location.coords) if visit.location is not None else None,
        "attendees": visit.attendees,
        "notes": visit.notes,
        "follow_up": visit.follow_up,
        "follow_up_due": visit.follow_up_due.isoformat() if visit.follow_up_due else None,
        "follow_up_done_at": _when(visit.follow_up_done_at),
        "households": [household_card(h, viewer) for h in shown],
        "households_hidden": hidden,
        "requests": [
            {
                "id": r.pk,
                "text": r.text,
                "household": r.household_id if r.household_id in shown_ids else None,
                "case": (
                    {"id": r.incident_id, "url": reverse("case", kwargs={"pk": r.incident_id})}
                    if r.incident_id
                    else None
                ),
            }
            for r in visit.requests.all()
        ],
        "photos": [
            reverse("visit-photo", kwargs={"pk": visit.pk, "photo": p.pk})
            for p in visit.photos.all()
        ],
    }


def _positive(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise Invalid({name: [_(MSG_BAD_PAGE) % {"field": name, "max": maximum}]})
    return value


# --- the views ------------------------------------------------------------------------------
class VisitListApi(APIView):
    """``GET``: the visits the user may see, newest first, filtered by ``worker`` (id),
    ``household`` (id or number), ``from`` and ``to`` (days, inclusive); paginated.
    ``POST``: log a visit of the signed-in worker; 201, or 200 when ``client_uuid`` was
    received before."""

    @extend_schema(
        parameters=[
            OpenApiParameter("worker", OpenApiTypes.INT),
            OpenApiParameter("household", OpenApiTypes.STR, description="id or number"),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        operation_id="visits_list",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        page = _positive(request, "page", 1, MAX_PAGE)
        size = _positive(request, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        start, end = _date(params.get("from"), "from"), _date(params.get("to"), "to")
        qs = visits.within_days(visits.visits_visible_to(request.user), start, end)
        worker = _int(params.get("worker"), "worker")
        if worker is not None:
            qs = qs.filter(worker_id=worker)
        household = (params.get("household") or "").strip()
        if household:
            match = Q(household__code=household)
            if (household_id := id_of(household)) is not None:
                match |= Q(household_id=household_id)
            qs = qs.filter(visithousehold__in=VisitHousehold.objects.filter(match))
        qs = qs.distinct()
        count = qs.count()
        begin = (page - 1) * size
        ids = list(qs.order_by("-at", "-id").values_list("pk", flat=True)[begin : begin + size])
        rows = list(visits.with_details(Visit.objects.filter(pk__in=ids)).order_by("-at", "-id"))
        viewer = Viewer(request.user, rows)
        return Response(
            {
                "count": count,
                **page_links(request, page, begin + size < count),
                "results": [visit_result(v, viewer) for v in rows],
            }
        )

    @extend_schema(
        request={
            "application/json": OpenApiTypes.OBJECT,
            "multipart/form-data": OpenApiTypes.OBJECT,
        },
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        operation_id="visits_create",
    )
    def post(self, request: Request) -> Response:
        worker = worker_of(request.user)
        if worker is None:
            raise Invalid({"worker": [_(visits.MSG_NO_WORKER)]})
        photos = request.FILES.getlist("photos") if request.FILES else []
        args = visit_arguments(_body(request), photos)
        visit, created = visits.log_visit(worker, **args)
        visit = visits.with_details(Visit.objects.filter(pk=visit.pk)).get()
        return Response(
            visit_result(visit, Viewer(request.user, [visit])),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _visible(request: Request, pk: int) -> Visit:
    visit = visits.with_details(visits.visits_visible_to(request.user).filter(pk=pk)).first()
    if visit is None:
        raise NotFound(_(MSG_UNKNOWN_VISIT) % {"id": pk})
    return visit


class VisitDetailApi(APIView):
    """One visit the user may see (404 otherwise)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        visit = _visible(request, pk)
        return Response(visit_result(visit, Viewer(request.user, [visit])))


class VisitFollowUpDoneApi(APIView):
    """Mark a visit's follow-up done (a visit the user may see; 404 otherwise)."""

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        visit = _visible(request, pk)
        visits.mark_follow_up_done(visit, request.user)
        return Response(visit_result(visit, Viewer(request.user, [visit])))


class VisitHouseholdSearchApi(APIView):
    """Households of the user's jurisdiction whose number starts with ``q`` or whose address
    contains it: what the visit form offers (phones masked per role)."""

    @extend_schema(
        parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="number or address")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        found = visits.households_for_visits(request.user, request.query_params.get("q", ""))
        viewer = Viewer(request.user)
        viewer.own_worker = None  # the search is limited by the jurisdiction alone
        return Response({"results": [household_card(h, viewer) for h in found]})
