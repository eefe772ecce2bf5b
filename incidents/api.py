"""The incidents API: report (with routing), list as GeoJSON, detail, duplicates, categories.

Each incident shows its case state too: ``status``, ``owner_level`` and ``owner_code``, the
deadlines and the ``traffic_light`` (``cases.deadlines``); the case itself, its history
and its actions are in ``incidents.case_api``.

Views parse and render; ``incidents.services`` writes and ``incidents.selectors`` reads.
Every 4xx body is ``{"detail": <the first message>, "errors": {field: [messages]}}``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import Point
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import DateTimeField, empty
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.selectors import can_see_personal_data, statement_memo
from cases.deadlines import traffic_light
from cases.paging import MSG_BAD_CURSOR, BadCursor, Keyset, RowCount, count_rows
from gridmap import parsers, statements
from gridmap.api import Invalid, page_links
from gridmap.params import (
    MSG_LON_LAT_RANGE,
    MSG_UNKNOWN_SRID,
    BBoxField,
    InputSerializer,
    lon_lat_in_range,
    srid_known,
)
from households.routing import shown_phone

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
JSON_TYPE = "application/json"
# The list counts exactly where the planner expects fewer than this many cases; where it
# expects more, its estimate is the count (``count_is_estimate``), and a count that passes the
# cap after all is the estimate too. Lower than the pages' (``cases.paging.COUNT_CAP``, and
# their estimate only from five times it): a client pages by cursor and a map shows "about",
# and counting the 6,400 cases of a small box read them all again, as much as the page itself
# (issue 16 point 4). A first page that holds the whole list is its own exact count.
API_COUNT_CAP = 1_000


def _invalid(errors: dict[str, list[str]]) -> Invalid:
    """A 400 whose detail is the first message: the one a grid worker reads first."""
    return Invalid(errors, default=_(MSG_INVALID))


def category_name_field() -> str:
    return "name_zh" if (get_language() or "zh-hans").startswith("zh") else "name_en"


# --- the representation ---------------------------------------------------------------------
_DATETIME = DateTimeField()


def _place(place: Any, **extra: Any) -> dict[str, Any] | None:
    return None if place is None else {"code": place.code, "name": place.name, **extra}


def incident_result(
    incident: Incident, *, attached: bool = False, personal: bool = False, people: bool = True
) -> dict[str, Any]:
    """The POST result and detail properties. Expects ``selectors.incident_details`` (or the
    service's return, which carries the same). A central household's phone is a resident's:
    unmasked only when ``personal`` (``can_see_personal_data``). Without ``people`` (a case
    outside the viewer's area, ``selectors.sees_people_of``) the recipients are left out and
    the routing explanation names nobody."""
    category = incident.category
    explanation = incident.explanation
    if not people:
        explanation = selectors.explanation_without_people(explanation or [])
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
        "onsite_due_at": _when(incident.onsite_due_at),
        "traffic_light": traffic_light(incident, timezone.now()),
        "recipients": [
            {
                "kind": r.kind,
                "responder": r.responder,
                "role": r.role,
                "name": r.name,
                "phone": shown_phone(
                    r.phone,
                    r.responder,
                    visible=personal,
                    record_type="worker",
                    record_id=r.worker_id,
                    code=incident.place_code,
                ),
            }
            for r in (incident.recipients.all() if people else [])
        ],
        "explanation": render_explanation(explanation),
        # Each photo through the case page's jurisdiction check (the media directory is not
        # served): /cases/<id>/photos/<photo>/.
        "photos": [
            reverse("case-photo", kwargs={"pk": incident.pk, "photo": p.pk})
            for report in incident.reports.all()
            for p in report.photos.all()
        ],
    }


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


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
            data = parsers.loads(data.get("feature"))
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


def report_point(geometry: Any, srid_raw: Any) -> Point:
    """The place of a report: a GeoJSON Point in ``srid`` (the project's by default), in the
    project's SRID. A 400 under ``geometry`` or ``srid``."""
    if not geometry:
        raise ValidationError({"geometry": [_(MSG_GEOMETRY_REQUIRED)]})
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise ValidationError({"geometry": [_(MSG_NOT_POINT) % {"type": kind}]})
    coords = geometry.get("coordinates")
    xy = [_number(c) for c in coords] if isinstance(coords, list) else []
    if len(xy) not in (2, 3) or None in xy:
        raise ValidationError({"geometry": [_(MSG_BAD_COORDINATES)]})
    srid = settings.GRIDMAP_SRID if srid_raw in (None, "") else srid_raw
    if isinstance(srid, bool) or not isinstance(srid, int) or not srid_known(srid):
        raise ValidationError({"srid": [_(MSG_UNKNOWN_SRID) % {"srid": srid}]})
    point = Point(xy[0], xy[1], srid=srid)
    if srid != settings.GRIDMAP_SRID:
        try:
            point.transform(settings.GRIDMAP_SRID)
        except GDALException:
            raise ValidationError({"srid": [_(MSG_UNKNOWN_SRID) % {"srid": srid}]}) from None
    if not lon_lat_in_range(point.x, point.y):
        raise ValidationError({"geometry": [_(MSG_LON_LAT_RANGE)]})
    return point


class _Property(serializers.Field):
    """A value of the request, read as ``dict.get`` reads it: absent and null are the same
    (``None``), and every value reaches ``to_internal_value``, which gives the one message."""

    def get_value(self, dictionary: Any) -> Any:
        return dictionary.get(self.field_name)

    def run_validation(self, data: Any = empty) -> Any:
        value = self.to_internal_value(None if data is empty else data)
        self.run_validators(value)
        return value

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "type": "object",
        "description": "a GeoJSON Point",
        "properties": {
            "type": {"type": "string", "enum": ["Point"]},
            "coordinates": {"type": "array", "items": {"type": "number"}},
        },
    }
)
class _GeoJSONPoint(_Property):
    """Read as is: ``report_point`` checks it together with ``srid``."""

    def to_internal_value(self, data: Any) -> Any:
        return data


@extend_schema_field(OpenApiTypes.INT)
class _Srid(_Property):
    """Read as is: ``report_point`` checks it together with ``geometry``."""

    def to_internal_value(self, data: Any) -> Any:
        return data


@extend_schema_field(OpenApiTypes.STR)
class CategoryField(_Property):
    """An active category by its code."""

    def to_internal_value(self, data: Any) -> Category:
        if not data or not isinstance(data, str):
            raise ValidationError(_(MSG_CATEGORY_REQUIRED))
        category = selectors.active_category(data)
        if category is None:
            codes = Category.objects.filter(is_active=True).values_list("code", flat=True)
            raise ValidationError(
                _(MSG_UNKNOWN_CATEGORY) % {"category": data, "categories": ", ".join(codes)}
            )
        return category


@extend_schema_field({"type": "string", "enum": Severity.values, "nullable": True})
class _SeverityField(_Property):
    """Empty is the category's default."""

    def to_internal_value(self, data: Any) -> str | None:
        severity = data or None
        if severity is not None and severity not in Severity.values:
            raise ValidationError(_(services.MSG_BAD_SEVERITY))
        return severity


@extend_schema_field(OpenApiTypes.STR)
class _DescriptionField(_Property):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not data.strip():
            raise ValidationError(_(services.MSG_DESCRIPTION_REQUIRED))
        return data


@extend_schema_field(OpenApiTypes.UUID)
class _ClientUuidField(_Property):
    def to_internal_value(self, data: Any) -> uuid.UUID | None:
        if data in (None, ""):
            return None
        try:
            return uuid.UUID(str(data))
        except ValueError:
            raise ValidationError(_(MSG_BAD_UUID)) from None


@extend_schema_field(OpenApiTypes.DATETIME)
class _ReportedAtField(_Property):
    """ISO 8601; without an offset it is the site's time."""

    def to_internal_value(self, data: Any) -> dt.datetime | None:
        if data in (None, ""):
            return None
        try:
            reported_at = parse_datetime(str(data))
        except ValueError:
            reported_at = None
        if reported_at is None:
            raise ValidationError(_(MSG_BAD_REPORTED_AT))
        return timezone.make_aware(reported_at) if timezone.is_naive(reported_at) else reported_at


@extend_schema_field(OpenApiTypes.INT)
class _AttachToField(_Property):
    """An incident of the user's jurisdiction, by its number."""

    def to_internal_value(self, data: Any) -> Incident | None:
        if data in (None, ""):
            return None
        try:
            pk = int(data) if not isinstance(data, bool | float) else None
        except (TypeError, ValueError):
            pk = None
        if pk is None:
            raise ValidationError(_(MSG_BAD_ATTACH_TO))
        user = self.context["request"].user
        incident = selectors.incidents_visible_to(user).filter(pk=pk).first()
        if incident is None:
            raise ValidationError(_(MSG_UNKNOWN_INCIDENT) % {"id": pk})
        return incident


class IncidentReportInputSerializer(InputSerializer):
    """A report: the Feature's ``geometry`` and its ``properties`` (``srid``, ``category``,
    ``severity``, ``description``, ``client_uuid``, ``reported_at``, ``attach_to``), and the
    ``photos`` of a multipart request. Every field's error at once, the place's first; the
    validated data are ``incidents.services.incident_create``'s arguments."""

    geometry = _GeoJSONPoint(help_text="a GeoJSON Point (longitude, latitude in `srid`)")
    srid = _Srid(required=False, help_text="the SRID of the coordinates (4326 by default)")
    category = CategoryField(help_text="category code")
    severity = _SeverityField(required=False)
    description = _DescriptionField()
    client_uuid = _ClientUuidField(required=False, help_text="resent reports are received once")
    reported_at = _ReportedAtField(required=False)
    attach_to = _AttachToField(required=False, help_text="the incident this report duplicates")
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        point = None
        try:
            point = report_point(data.get("geometry"), data.get("srid"))
        except ValidationError as exc:
            errors.update(exc.detail)
        try:
            values = super().to_internal_value(data)
        except ValidationError as exc:
            errors.update(exc.detail)
        if errors:
            raise ValidationError(errors)
        del values["geometry"], values["srid"]
        return {"point": point, **values}


def _report_request_schema() -> dict[str, Any]:
    """The report as it is sent: a Feature whose properties are the serializer's fields, or
    multipart with that Feature as JSON in ``feature`` and the ``photos``."""
    fields = copy.deepcopy(IncidentReportInputSerializer._declared_fields)
    geometry, photos = fields.pop("geometry"), fields.pop("photos")
    feature = {
        "type": serializers.ChoiceField(["Feature"]),
        "geometry": geometry,
        "properties": inline_serializer("IncidentReportProperties", fields),
    }
    return {
        "application/json": inline_serializer("IncidentReportFeature", feature),
        "multipart/form-data": inline_serializer(
            "IncidentReportMultipart",
            {"feature": serializers.CharField(help_text="the Feature as JSON"), "photos": photos},
        ),
    }


# --- list as GeoJSON, built in the database --------------------------------------------------
class _FilterChoiceField(serializers.ChoiceField):
    """One of the choices; empty (``?status=``) is no filter, and the schema says so."""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        super().__init__(choices, allow_blank=True, **kwargs)

    def to_internal_value(self, data: Any) -> str | None:
        if data == "":
            return None
        if data not in self.choices:
            choices = ", ".join(self.choices)
            raise ValidationError(
                _(MSG_BAD_FILTER) % {"field": self.field_name, "value": data, "choices": choices}
            )
        return data


@extend_schema_field(OpenApiTypes.INT)
class _PositiveField(serializers.Field):
    def __init__(self, maximum: int, **kwargs: Any) -> None:
        self.maximum = maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            value = int(data)
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= self.maximum:
            raise ValidationError(_(MSG_BAD_PAGE) % {"field": self.field_name, "max": self.maximum})
        return value

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.BOOL)
class _MineField(serializers.Field):
    def to_internal_value(self, data: Any) -> bool:
        return data in ("1", "true", "yes")

    def to_representation(self, value: Any) -> Any:
        return value


class IncidentListFilterSerializer(InputSerializer):
    """The list's query parameters, checked one at a time in this order."""

    first_error_only = True

    bbox = BBoxField(required=False, default=None, help_text="minlon,minlat,maxlon,maxlat")
    status = _FilterChoiceField(Status.values, required=False, default=None)
    severity = _FilterChoiceField(Severity.values, required=False, default=None)
    # Empty is no filter (as DRF reads an empty query parameter), so the schema allows it.
    category = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="category code"
    )
    grid = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="grid code"
    )
    mine = _MineField(required=False, default=False, help_text="routed, copied or watching")
    page = _PositiveField(MAX_PAGE, required=False, default=1)
    page_size = _PositiveField(MAX_PAGE_SIZE, required=False, default=DEFAULT_PAGE_SIZE)
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="the page after (or before) a row, from the next and previous links",
    )

    def validate_cursor(self, value: str) -> str:
        """A cursor made by the list (``LIST_KEYSET``), else a message."""
        if value:
            try:
                LIST_KEYSET.parse(value)
            except BadCursor:
                raise ValidationError(_(MSG_BAD_CURSOR)) from None
        return value


# The API list's order, the newest first, paged by cursor (index incident_reported_id).
LIST_KEYSET = Keyset("reported_at")
# The list's filters by value (None: not set), with their lookups.
_LIST_VALUES = {
    "bbox": "location__intersects",
    "status": "status",
    "severity": "severity",
    "category": "category__code",
    "grid": "grid__code",
}


class _LonLatField(serializers.Field):
    """The ``lon`` and ``lat`` parameters as a point; its errors go under the field's name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", **kwargs)

    def get_value(self, dictionary: Any) -> Any:
        return dictionary

    def to_internal_value(self, data: Any) -> dict[str, Point]:
        try:
            lon = float(data["lon"])
            lat = float(data["lat"])
        except (KeyError, ValueError):
            raise ValidationError(_(MSG_LON_LAT_REQUIRED)) from None
        if not lon_lat_in_range(lon, lat):
            raise ValidationError(_(MSG_LON_LAT_RANGE))
        return {"point": Point(lon, lat, srid=settings.GRIDMAP_SRID)}

    def to_representation(self, value: Any) -> Any:
        return value


class DuplicatesInputSerializer(InputSerializer):
    """``lon``, ``lat`` (as ``point``, errors under ``geometry``) and ``category``."""

    geometry = _LonLatField()
    category = CategoryField()


class IncidentListApi(APIView):
    """``GET``: incidents in the user's jurisdiction as a paginated GeoJSON FeatureCollection.
    ``POST``: report an incident (a GeoJSON Feature, or multipart with ``feature`` and up to
    three ``photos``); 201 with the routing result, 200 when ``client_uuid`` was received
    before."""

    @extend_schema(
        parameters=[IncidentListFilterSerializer],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        operation_id="incidents_list",
    )
    def get(self, request: Request) -> HttpResponse:
        params = IncidentListFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        page, size = filters["page"], filters["page_size"]
        user, mine = request.user, bool(filters["mine"])
        given = {name: filters.get(name) or None for name in _LIST_VALUES}

        def build_keys(chosen: Mapping[str, Any]) -> tuple[str, Sequence[Any]]:
            qs = selectors.incidents_visible_to(user)
            for name, lookup in _LIST_VALUES.items():
                if chosen[name] is not None:
                    qs = qs.filter(**{lookup: chosen[name]})
            if mine:
                qs = qs.filter(selectors.my_work_q(user))
            return LIST_KEYSET.keys(qs)

        cursor = filters.get("cursor") or ""
        url = request.build_absolute_uri()
        by_number = page > 1 and not cursor
        # The filter compiled once, for the page and the count; for a cached login, once
        # per shape of the filters (gridmap.statements).
        compiled = statements.compiled(
            statement_memo(user), ("incident-list", mine), build_keys, given
        )
        # Where the rows are (the filter itself is ``compiled``).
        incidents = Incident.objects.all()
        # The first page, or the page after (before) a cursor: keyset, nothing skipped. A page
        # by number (offset) is kept for clients that jump to a page.
        offset = (page - 1) * size if by_number else 0
        sql, values, before = LIST_KEYSET.window_sql(compiled, size, cursor or None, offset)
        # The page's features (and one more, which says whether a page follows) in one
        # statement, the newest first, as PostgreSQL wrote them.
        rows = selectors.list_features(
            (sql, values), category_name_field(), timezone.now(), incidents.db
        )
        keys = [(row.reported_at, row.pk) for row in rows]
        around = LIST_KEYSET.around(keys, size, None if by_number else cursor or None, before)
        shown = set(around.ids)
        if page == 1 and not cursor and not around.next_cursor:
            counted = RowCount(len(shown))  # the whole list is on this page
        else:
            counted = count_rows(incidents, cap=API_COUNT_CAP, trust=1, compiled=compiled)
        links = {"next": None, "previous": None}
        if around.next_cursor:
            links["next"] = replace_query_param(
                remove_query_param(url, "page"), "cursor", around.next_cursor
            )
        if by_number:
            links["previous"] = page_links(request, page, False)["previous"]
        elif around.previous_cursor:
            links["previous"] = replace_query_param(url, "cursor", around.previous_cursor)
        head = {
            "type": "FeatureCollection",
            "count": counted.value,
            "count_is_estimate": counted.estimate,
            **links,
        }
        features = ",".join(row.json for row in rows if row.pk in shown)
        body = f'{json.dumps(head, ensure_ascii=False)[:-1]}, "features": [{features}]}}'
        if request.accepted_renderer.format != "json":
            # The browsable API (a browser's Accept, ``?format=api``): DRF renders the data.
            return Response(json.loads(body))
        return HttpResponse(body, content_type=JSON_TYPE)

    @extend_schema(
        request=_report_request_schema(),
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        operation_id="incidents_create",
    )
    def post(self, request: Request) -> Response:
        feature = _feature_of(request)
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise _invalid({"properties": [_(MSG_NOT_FEATURE)]})
        photos = request.FILES.getlist("photos") if request.FILES else []
        serializer = IncidentReportInputSerializer(
            data={**props, "geometry": feature.get("geometry"), "photos": photos},
            context={"request": request},
        )
        serializer.is_valid(raise_exception=True)
        args = serializer.validated_data
        incident, created = services.incident_create(actor=request.user, **args)
        if created:
            attached = args["attach_to"] is not None
        else:
            first = incident.reports.all()[0] if incident.reports.all() else None
            attached = first is not None and first.client_uuid != args["client_uuid"]
        people = selectors.sees_people_of(request.user, incident)
        return Response(
            incident_result(
                incident,
                attached=attached,
                personal=can_see_personal_data(request.user),
                people=people,
            ),
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
        return Response(
            _feature(
                incident,
                personal=can_see_personal_data(request.user),
                people=selectors.sees_people_of(request.user, incident),
            )
        )


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
        params = DuplicatesInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = selectors.duplicates_nearby(
            **params.validated_data,
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


class CategorySerializer(serializers.Serializer):
    """An incident category as ``GET /api/incident-categories/`` lists it."""

    code = serializers.CharField()
    name = serializers.CharField()
    default_severity = serializers.ChoiceField(choices=Severity.choices)


class CategoryListApi(APIView):
    """Active incident categories, named in the user's language."""

    @extend_schema(responses={200: CategorySerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"code": c.code, "name": c.name, "default_severity": c.default_severity}
                for c in Category.objects.filter(is_active=True).order_by("ordering", "code")
            ]
        )
