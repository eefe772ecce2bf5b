"""The incidents API: report (with routing), list as GeoJSON, detail, duplicates, categories.

Each incident shows its case state too: ``status``, ``owner_level`` and ``owner_code``, the
deadlines and the ``traffic_light`` (``cases.deadlines``); the case itself, its history
and its actions are in ``incidents.case_api``.

Views parse and render; ``incidents.services`` writes and ``incidents.selectors`` reads.
Every 4xx body is ``{"detail": <the first message>, "errors": {field: [messages]}}``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import DateTimeField
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from cases.deadlines import traffic_light
from gridmap.geojson import feature_collection
from grids.api import MSG_BAD_BBOX, MSG_LON_LAT_RANGE, MSG_UNKNOWN_SRID, _bbox_param

from . import selectors, services
from .models import Category, Incident, Severity, Status
from .routing import render_explanation

# --- messages (tests reuse them) -----------------------------------------------------------
MSG_INVALID = gettext_noop("The report has invalid fields; nothing was saved.")
MSG_NOT_FEATURE = gettext_noop("Send a GeoJSON Feature with a Point geometry.")
MSG_BAD_FEATURE_FIELD = gettext_noop("The feature field must hold a GeoJSON Feature as JSON.")
MSG_GEOMETRY_REQUIRED = gettext_noop("Place the incident on the map: a Point is required.")
MSG_NOT_POINT = gettext_noop("The place must be a Point, not a %(type)s.")
MSG_BAD_COORDINATES = gettext_noop("A Point needs two numbers: longitude and latitude.")
MSG_CATEGORY_REQUIRED = gettext_noop("Choose a category.")
MSG_UNKNOWN_CATEGORY = gettext_noop("Unknown category %(category)s; choose one of: %(categories)s.")
MSG_BAD_UUID = gettext_noop("client_uuid must be a UUID.")
MSG_BAD_ATTACH_TO = gettext_noop("attach_to must be the number of an incident.")
MSG_UNKNOWN_INCIDENT = gettext_noop("There is no incident %(id)s in your jurisdiction.")
MSG_BAD_REPORTED_AT = gettext_noop("reported_at must be a date and time (ISO 8601).")
MSG_BAD_FILTER = gettext_noop("Unknown %(field)s %(value)s; choose one of: %(choices)s.")
MSG_BAD_PAGE = gettext_noop("%(field)s must be a whole number from 1 to %(max)s.")
MSG_LON_LAT_REQUIRED = gettext_noop("lon and lat are required numbers.")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_PAGE = 100_000


def _invalid(errors: dict[str, list[str]]) -> ValidationError:
    """A 400 whose detail is the first message: the one a grid worker reads first."""
    first = next((m for msgs in errors.values() for m in msgs), _(MSG_INVALID))
    return ValidationError({"detail": first, "errors": errors})


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def category_name_field() -> str:
    return "name_zh" if (get_language() or "zh-hans").startswith("zh") else "name_en"


# --- the representation ---------------------------------------------------------------------
_DATETIME = DateTimeField()


def _place(place: Any, **extra: Any) -> dict[str, Any] | None:
    return None if place is None else {"code": place.code, "name": place.name, **extra}


def incident_result(incident: Incident, *, attached: bool = False) -> dict[str, Any]:
    """The POST result and detail properties. Expects ``selectors.incident_details`` (or the
    service's return, which carries the same)."""
    category = incident.category
    return {
        "id": incident.pk,
        "status": incident.status,
        "attached": attached,
        "category": {"code": category.code, "name": category.name},
        "severity": incident.severity,
        "description": incident.description,
        "reported_at": _DATETIME.to_representation(incident.reported_at),
        "reporter_count": incident.reporter_count,
        "grid": _place(incident.grid, generation=incident.generation_id),
        "village": _place(incident.village),
        "town": _place(incident.town),
        "place_code": incident.place_code,
        "responsible_level": incident.responsible_level,
        "owner_level": incident.owner_level,
        "owner_code": incident.owner_code,
        "acknowledge_due_at": _when(incident.acknowledge_due_at),
        "resolve_due_at": _when(incident.resolve_due_at),
        "traffic_light": traffic_light(incident, timezone.now()),
        "recipients": [
            {
                "kind": r.kind,
                "responder": r.responder,
                "role": r.role,
                "name": r.name,
                "phone": r.phone,
            }
            for r in incident.recipients.all()
        ],
        "explanation": render_explanation(incident.explanation),
        "photos": [p.image.url for report in incident.reports.all() for p in report.photos.all()],
    }


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def _light_of(properties: dict[str, Any], now: dt.datetime) -> str | None:
    """The traffic light of a list row from its own properties (no query)."""
    fields = {
        name: parse_datetime(properties[name]) if properties.get(name) else None
        for name in ("reported_at", "acknowledge_due_at", "resolve_due_at", "resolved_at")
    }
    return traffic_light(SimpleNamespace(status=properties.get("status"), **fields), now)


def _feature(incident: Incident, **kwargs: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": incident.pk,
        "geometry": {"type": "Point", "coordinates": list(incident.location.coords)},
        "properties": incident_result(incident, **kwargs),
    }


# --- parsing a report -----------------------------------------------------------------------
def _feature_of(request: Request) -> dict[str, Any]:
    data = request.data
    if hasattr(data, "getlist"):  # multipart or form: the Feature is JSON in ``feature``
        try:
            data = json.loads(data.get("feature"))
        except (TypeError, ValueError):
            raise _invalid({"feature": [_(MSG_BAD_FEATURE_FIELD)]}) from None
    if not isinstance(data, dict) or data.get("type") != "Feature":
        raise _invalid({"feature": [_(MSG_NOT_FEATURE)]})
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _srid_exists(srid: int) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
        return cur.fetchone() is not None


def _point(geometry: Any, srid_raw: Any, errors: dict[str, list[str]]) -> Point | None:
    if not geometry:
        errors["geometry"] = [_(MSG_GEOMETRY_REQUIRED)]
        return None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        errors["geometry"] = [_(MSG_NOT_POINT) % {"type": kind}]
        return None
    coords = geometry.get("coordinates")
    xy = [_number(c) for c in coords] if isinstance(coords, list) else []
    if len(xy) not in (2, 3) or None in xy:
        errors["geometry"] = [_(MSG_BAD_COORDINATES)]
        return None
    srid = settings.GRIDMAP_SRID if srid_raw in (None, "") else srid_raw
    if isinstance(srid, bool) or not isinstance(srid, int) or not _srid_ok(srid):
        errors["srid"] = [_(MSG_UNKNOWN_SRID) % {"srid": srid}]
        return None
    point = Point(xy[0], xy[1], srid=srid)
    if srid != settings.GRIDMAP_SRID:
        try:
            point.transform(settings.GRIDMAP_SRID)
        except GDALException:
            errors["srid"] = [_(MSG_UNKNOWN_SRID) % {"srid": srid}]
            return None
    if not (-180 <= point.x <= 180 and -90 <= point.y <= 90):
        errors["geometry"] = [_(MSG_LON_LAT_RANGE)]
        return None
    return point


def _srid_ok(srid: int) -> bool:
    return srid == settings.GRIDMAP_SRID or _srid_exists(srid)


def _category(code: Any, errors: dict[str, list[str]]) -> Category | None:
    if not code or not isinstance(code, str):
        errors["category"] = [_(MSG_CATEGORY_REQUIRED)]
        return None
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        codes = Category.objects.filter(is_active=True).values_list("code", flat=True)
        errors["category"] = [
            _(MSG_UNKNOWN_CATEGORY) % {"category": code, "categories": ", ".join(codes)}
        ]
    return category


def _report_input(request: Request) -> dict[str, Any]:
    """The service's arguments from the request body; raises a 400 with every field error."""
    feature = _feature_of(request)
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise _invalid({"properties": [_(MSG_NOT_FEATURE)]})
    errors: dict[str, list[str]] = {}
    point = _point(feature.get("geometry"), props.get("srid"), errors)
    category = _category(props.get("category"), errors)
    severity = props.get("severity") or None
    if severity is not None and severity not in Severity.values:
        errors["severity"] = [_(services.MSG_BAD_SEVERITY)]
    description = props.get("description")
    if not isinstance(description, str) or not description.strip():
        errors["description"] = [_(services.MSG_DESCRIPTION_REQUIRED)]
    client_uuid = None
    if props.get("client_uuid") not in (None, ""):
        try:
            client_uuid = uuid.UUID(str(props["client_uuid"]))
        except ValueError:
            errors["client_uuid"] = [_(MSG_BAD_UUID)]
    reported_at = None
    if props.get("reported_at") not in (None, ""):
        try:
            reported_at = parse_datetime(str(props["reported_at"]))
        except ValueError:
            reported_at = None
        if reported_at is None:
            errors["reported_at"] = [_(MSG_BAD_REPORTED_AT)]
        elif timezone.is_naive(reported_at):
            reported_at = timezone.make_aware(reported_at)
    attach_to = None
    if props.get("attach_to") not in (None, ""):
        raw = props["attach_to"]
        try:
            pk = int(raw) if not isinstance(raw, bool | float) else None
        except (TypeError, ValueError):
            pk = None
        if pk is None:
            errors["attach_to"] = [_(MSG_BAD_ATTACH_TO)]
        else:
            attach_to = selectors.incidents_visible_to(request.user).filter(pk=pk).first()
            if attach_to is None:
                errors["attach_to"] = [_(MSG_UNKNOWN_INCIDENT) % {"id": pk}]
    if errors:
        raise _invalid(errors)
    return {
        "point": point,
        "category": category,
        "severity": severity,
        "description": description,
        "reported_at": reported_at,
        "client_uuid": client_uuid,
        "attach_to": attach_to,
        "photos": request.FILES.getlist("photos") if request.FILES else [],
    }


# --- list as GeoJSON, built in the database --------------------------------------------------
def _choice(request: Request, name: str, choices: list[str]) -> str | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise _invalid(
            {
                name: [
                    _(MSG_BAD_FILTER)
                    % {"field": name, "value": value, "choices": ", ".join(choices)}
                ]
            }
        )
    return value


def _positive(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise _invalid({name: [_(MSG_BAD_PAGE) % {"field": name, "max": maximum}]})
    return value


def _feature_collection(qs: QuerySet[Incident]) -> list[dict[str, Any]]:
    """The features of ``qs`` (newest first), built in PostgreSQL."""
    properties = {
        "id": F("id"),
        "category": F("category__code"),
        "category_name": F(f"category__{category_name_field()}"),
        "severity": F("severity"),
        "status": F("status"),
        "description": F("description"),
        "reported_at": F("reported_at"),
        "grid_code": F("grid__code"),
        "reporter_count": selectors.reporter_count(),
        "responsible_level": F("responsible_level"),
        "owner_level": F("owner_level"),
        "owner_code": F("owner_code"),
        "acknowledge_due_at": F("acknowledge_due_at"),
        "resolve_due_at": F("resolve_due_at"),
        "resolved_at": F("resolved_at"),
    }
    features = feature_collection(
        qs,
        geom="location",
        properties=properties,
        fid=F("id"),
        order_by=("-reported_at", "-id"),
        precision=7,
    )["features"]
    now = timezone.now()
    for feature in features:
        props = feature["properties"]
        props["traffic_light"] = _light_of(props, now)
        del props["resolved_at"]
    return features


class IncidentListApi(APIView):
    """``GET``: incidents in the user's jurisdiction as a paginated GeoJSON FeatureCollection.
    ``POST``: report an incident (a GeoJSON Feature, or multipart with ``feature`` and up to
    three ``photos``); 201 with the routing result, 200 when ``client_uuid`` was received
    before."""

    @extend_schema(
        parameters=[
            OpenApiParameter("bbox", OpenApiTypes.STR, description="minlon,minlat,maxlon,maxlat"),
            OpenApiParameter("status", OpenApiTypes.STR, enum=Status.values),
            OpenApiParameter("severity", OpenApiTypes.STR, enum=Severity.values),
            OpenApiParameter("category", OpenApiTypes.STR, description="category code"),
            OpenApiParameter("grid", OpenApiTypes.STR, description="grid code"),
            OpenApiParameter("mine", OpenApiTypes.BOOL, description="routed, copied or watching"),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        operation_id="incidents_list",
    )
    def get(self, request: Request) -> Response:
        try:
            bbox = _bbox_param(request)
        except ValidationError:
            raise _invalid({"bbox": [_(MSG_BAD_BBOX)]}) from None
        state = _choice(request, "status", Status.values)
        severity = _choice(request, "severity", Severity.values)
        page = _positive(request, "page", 1, MAX_PAGE)
        size = _positive(request, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        qs = selectors.incidents_visible_to(request.user)
        if bbox is not None:
            qs = qs.filter(location__intersects=bbox)
        if state:
            qs = qs.filter(status=state)
        if severity:
            qs = qs.filter(severity=severity)
        if request.query_params.get("category"):
            qs = qs.filter(category__code=request.query_params["category"])
        if request.query_params.get("grid"):
            qs = qs.filter(grid__code=request.query_params["grid"])
        if request.query_params.get("mine") in ("1", "true", "yes"):
            qs = qs.filter(selectors.my_work_q(request.user))
        count = qs.count()
        start = (page - 1) * size
        page_ids = qs.order_by("-reported_at", "-id").values("pk")[start : start + size]
        features = (
            _feature_collection(Incident.objects.filter(pk__in=page_ids)) if start < count else []
        )
        url = request.build_absolute_uri()
        return Response(
            {
                "type": "FeatureCollection",
                "count": count,
                "next": replace_query_param(url, "page", page + 1)
                if start + size < count
                else None,
                "previous": (
                    (
                        replace_query_param(url, "page", page - 1)
                        if page > 2
                        else remove_query_param(url, "page")
                    )
                    if page > 1
                    else None
                ),
                "features": features,
            }
        )

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        operation_id="incidents_create",
    )
    def post(self, request: Request) -> Response:
        args = _report_input(request)
        try:
            incident, created = services.incident_create(actor=request.user, **args)
        except DjangoValidationError as exc:
            raise _invalid(_django_errors(exc)) from None
        if created:
            attached = args["attach_to"] is not None
        else:
            first = incident.reports.all()[0] if incident.reports.all() else None
            attached = first is not None and first.client_uuid != args["client_uuid"]
        return Response(
            incident_result(incident, attached=attached),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class IncidentDetailApi(APIView):
    """One incident of the user's jurisdiction as a GeoJSON Feature with its routing."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        incident = (
            selectors.incident_details(selectors.incidents_visible_to(request.user))
            .filter(pk=pk)
            .first()
        )
        if incident is None:
            raise NotFound(_(MSG_UNKNOWN_INCIDENT) % {"id": pk})
        return Response(_feature(incident))


class IncidentDuplicatesApi(APIView):
    """Open incidents of a category within 100 m reported in the last 7 days, nearest first:
    shown before a report is saved, so it can be attached to one of them instead."""

    @extend_schema(
        parameters=[
            OpenApiParameter("lon", OpenApiTypes.NUMBER, required=True),
            OpenApiParameter("lat", OpenApiTypes.NUMBER, required=True),
            OpenApiParameter("category", OpenApiTypes.STR, required=True),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        errors: dict[str, list[str]] = {}
        try:
            lon = float(request.query_params["lon"])
            lat = float(request.query_params["lat"])
        except (KeyError, ValueError):
            errors["geometry"] = [_(MSG_LON_LAT_REQUIRED)]
        else:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                errors["geometry"] = [_(MSG_LON_LAT_RANGE)]
        category = _category(request.query_params.get("category"), errors)
        if errors:
            raise _invalid(errors)
        found = selectors.duplicates_nearby(
            point=Point(lon, lat, srid=settings.GRIDMAP_SRID),
            category=category,
            at=timezone.now(),
            queryset=selectors.incidents_visible_to(request.user),
        )
        return Response(
            {
                "results": [
                    {
                        "id": i.pk,
                        "description": i.description,
                        "reported_at": _DATETIME.to_representation(i.reported_at),
                        "distance_m": round(i.distance.m, 1),
                        "reporter_count": i.reporter_count,
                        "severity": i.severity,
                    }
                    for i in found.defer("location")[:20]
                ]
            }
        )


class CategoryListApi(APIView):
    """Active incident categories, named in the user's language."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"code": c.code, "name": c.name, "default_severity": c.default_severity}
                for c in Category.objects.filter(is_active=True).order_by("ordering", "code")
            ]
        )
