"""The planner's API (issue 6): draft plans of the village -> station assignment, edited,
solved, published and exported.

Routes, under ``/api/`` (``planning.api_urls``):

- ``GET plans/``: the plans of the user's jurisdiction, newest first; ``POST plans/``
  ``{"name", "area_code", "base_date"}`` creates one (201).
- ``GET plans/<id>/``: the plan: its meta, its stations as GeoJSON points with their
  figures and colour, the assignment (village -> station code), the violations,
  ``can_undo``/``can_redo`` and the latest changes (``plan_body``).
- ``GET plans/<id>/villages/``: its villages as GeoJSON with their station in the plan.
- ``POST plans/<id>/assign/`` ``{"villages": [codes], "station", "override_reason"}``: one
  village (a click) or several (a brush stroke) as one batch.
- ``POST plans/<id>/undo/``, ``POST plans/<id>/redo/``: the last batch.
- ``POST plans/<id>/stations/`` ``{"name", "lon", "lat", "town_code"?, "override_reason"}``;
  ``POST plans/<id>/stations/<code>/move/`` ``{"lon", "lat", "override_reason"}``;
  ``.../retire/`` ``{"override_reason"}``; ``.../lock/`` ``{"locked": bool}``.
- ``POST plans/<id>/solve/`` ``{"mode": "propose"|"repair", "stay_close": bool}``: the
  solver's answer applied as one batch, its report under ``report``.
- ``POST plans/<id>/publish/`` ``{"effective_from": "YYYY-MM-DD", "override_reason"}``.
- ``GET plans/<id>/export.csv`` (a download); ``POST plans/<id>/import/`` (multipart
  ``file``, or JSON ``{"csv": text}``): every bad line is reported, nothing half-written.
- ``GET plans/<id>/catchments.geojson``: one feature per station (a download).
- ``GET plans/<id>/diff/?with=published|<plan id>``: villages whose station differs.

Every write answers with the plan as ``GET plans/<id>/`` shows it (plus what the write
reports), so the editor redraws from one response. The views parse and render; the rules
live in ``planning.services`` (writes) and ``planning.selectors`` (reads).

Errors: 400 ``{"detail": <first message>, "errors": {field: [messages]}}``; a refusal under
``constraints`` also says whether a written ``override_reason`` would apply the change
anyway (``"overridable"``: false for a locked or retired station, which no reason moves).
403 when the user sees the plan but may not plan its area; 404 for a plan (or a station)
outside the user's jurisdiction, as everywhere in the API.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import SkipField, empty
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.api import MSG_BODY_NOT_OBJECT as MSG_BODY_NOT_OBJECT  # tests reuse it
from gridmap.api import Invalid, error_dict, object_body
from gridmap.params import InputSerializer
from gridmap.parsers import JSONParser
from grids.models import Town

from . import selectors, services
from .models import Plan, PlanChange, PlanStation

MIN_VILLAGES, MAX_VILLAGES = settings.GRIDMAP_STATION_VILLAGES

# --- messages (tests reuse them) -----------------------------------------------------------
MSG_UNKNOWN_PLAN = gettext_noop("There is no plan %(id)s in your jurisdiction.")
MSG_UNKNOWN_STATION = services.MSG_STATION_NOT_IN_PLAN
MSG_VILLAGES_LIST = gettext_noop("villages must be a list of village codes.")
MSG_STATION_REQUIRED = gettext_noop("Choose the station the villages go to.")
MSG_LON_LAT = gettext_noop("lon and lat must be numbers: longitude and latitude in degrees.")
MSG_NO_TOWN_HERE = gettext_noop(
    "There is no town of this plan at that point; place the station inside a town."
)
MSG_BAD_DATE = gettext_noop("%(value)s is not a date; write it as YYYY-MM-DD.")
MSG_BAD_BOOL = gettext_noop("%(field)s must be true or false.")
MSG_BAD_MODE = gettext_noop("mode must be propose or repair.")
MSG_BAD_TIME_LIMIT = gettext_noop("time_limit must be a number of seconds from 1 to %(max)s.")
MSG_CSV_REQUIRED = gettext_noop("Attach the CSV file (village_code,station_code).")
MSG_BAD_WITH = gettext_noop("with must be published or the number of another plan.")

# Stations get colours in the order they were made (published ones first, by code), so a
# station keeps its colour while the plan is edited and new stations never shift the others.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#2f6f8f",
    "#8cd17d",
    "#d37295",
)
RECENT_CHANGES = 15
MAX_TIME_LIMIT = 60.0


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def station_colours(plan: Plan) -> dict[str, str]:
    """Station code -> colour, stable for the life of the plan (see ``PALETTE``)."""
    codes = plan.stations.order_by("pk").values_list("code", flat=True)
    return {code: colour(i) for i, code in enumerate(codes)}


def person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    """ISO 8601; a moment in the site's time zone (what the planner's clock says)."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return None if value is None else value.isoformat()


def plan_links(plan: Plan) -> dict[str, str]:
    pk = plan.pk
    return {
        "api": reverse("api-plan-detail", args=[pk]),
        "page": reverse("plan-editor", args=[pk]),
        "compare": reverse("plan-compare", args=[pk]),
        "villages": reverse("api-plan-villages", args=[pk]),
        "csv": reverse("api-plan-export-csv", args=[pk]),
        "catchments": reverse("api-plan-catchments", args=[pk]),
    }


def plan_row(plan: Plan) -> dict[str, Any]:
    """A plan of ``plan_rows`` as the list shows it."""
    return {
        "id": plan.pk,
        "name": plan.name,
        "area_code": plan.area_code,
        "area_name": getattr(plan, "area_name", ""),
        "status": plan.status,
        "status_label": plan.get_status_display(),
        "base_date": _iso(plan.base_date),
        "created_at": _iso(plan.created_at),
        "author": person(plan.author),
        "effective_from": _iso(plan.effective_from),
        "published_at": _iso(plan.published_at),
        "villages": getattr(plan, "village_count", None),
        "unassigned": getattr(plan, "unassigned_count", None),
        "stations": getattr(plan, "station_count", None),
        "links": plan_links(plan),
    }


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None or not math.isfinite(seconds) else round(seconds / 60, 1)


def _change(change: PlanChange) -> dict[str, Any]:
    return {
        "seq": change.seq,
        "batch": change.batch,
        "kind": change.kind,
        "kind_label": change.get_kind_display(),
        "action": change.action,
        "village": change.village_code,
        "station": change.station.code if change.station else "",
        "from_station": change.from_station.code if change.from_station else "",
        "to_station": change.to_station.code if change.to_station else "",
        "override_reason": change.override_reason,
        "undone": change.undone,
        "discarded": change.discarded,
        "at": _iso(change.at),
        "by": person(change.by),
    }


def plan_body(plan: Plan, user: Any) -> dict[str, Any]:
    """The plan as the editor needs it (see the module docstring)."""
    shape = selectors.plan_shape(plan)
    stats = {row["id"]: row for row in selectors.plan_station_stats(plan, shape=shape)}
    stations = list(plan.stations.order_by("pk"))
    features = []
    for index, ps in enumerate(stations):
        row = stats.get(ps.pk, {})
        count = row.get("village_count", 0)
        features.append(
            {
                "type": "Feature",
                "id": ps.code,
                "geometry": {"type": "Point", "coordinates": [ps.location.x, ps.location.y]},
                "properties": {
                    "code": ps.code,
                    "name": ps.name,
                    "town_code": ps.town_code,
                    "colour": colour(index),
                    "locked": ps.locked,
                    "retired": ps.retired,
                    "published": ps.station_id is not None,
                    "villages": count,
                    "households": row.get("household_count", 0),
                    "population": row.get("population", 0),
                    "party_members": row.get("party_member_count", 0),
                    "longest_minutes": row.get("longest_minutes"),
                    "p95_minutes": row.get("p95_minutes"),
                    "estimated": row.get("estimated", False),
                    "contiguous": row.get("contiguous", True),
                    "pieces": row.get("pieces", 0),
                    "size_ok": ps.retired or MIN_VILLAGES <= count <= MAX_VILLAGES,
                },
            }
        )
    stations.sort(key=lambda s: s.code)
    log = plan.changes.aggregate(
        count=Count("pk"),
        live=Count("pk", filter=Q(undone=False)),
        redoable=Count("pk", filter=Q(undone=True, discarded=False)),
        overrides=Count("pk", filter=~Q(override_reason="")),
    )
    recent = (
        plan.changes.select_related("station", "from_station", "to_station", "by")
        .filter(discarded=False)
        .order_by("-seq")[:RECENT_CHANGES]
    )
    draft = plan.status == Plan.Status.DRAFT
    may_edit = draft and services.may_plan(user, plan.area_code)
    area_name = getattr(plan, "area_name", None)
    if area_name is None:
        area_name = (
            Plan.objects.filter(pk=plan.pk)
            .annotate(n=selectors.area_name_expression())
            .values_list("n", flat=True)
            .first()
        )
    return {
        "id": plan.pk,
        "name": plan.name,
        "area_code": plan.area_code,
        "area_name": area_name or "",
        "base_date": _iso(plan.base_date),
        "created_at": _iso(plan.created_at),
        "author": person(plan.author),
        "status": plan.status,
        "status_label": plan.get_status_display(),
        "effective_from": _iso(plan.effective_from),
        "published_at": _iso(plan.published_at),
        "published_by": person(plan.published_by),
        "publish_reason": plan.publish_reason,
        "editable": may_edit,
        "can_undo": may_edit and log["live"] > 0,
        "can_redo": may_edit and log["redoable"] > 0,
        "limits": {"min_villages": MIN_VILLAGES, "max_villages": MAX_VILLAGES},
        "stations": {"type": "FeatureCollection", "features": features},
        "assignment": dict(plan.assignments.values_list("village_code", "station__code")),
        "violations": selectors.plan_violations(plan, shape=shape),
        "changes": {
            "count": log["count"],
            "overrides": log["overrides"],
            "recent": [_change(c) for c in recent],
        },
        "links": plan_links(plan),
    }


# --- parsing: one input serializer per write ---------------------------------------------------
def _validated(request: Request, serializer_class: type[serializers.Serializer]) -> Any:
    """The body's fields, validated by the view's input serializer (400 if bad). A body that
    is not an object (a JSON list or text) is refused: it would otherwise act with every
    default (lock a station, run a proposal)."""
    serializer = serializer_class(data=object_body(request))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _Body(serializers.Field):
    """A field of the body as ``dict.get`` reads it: ``to_internal_value`` sees every value,
    ``empty`` when the field is absent, and gives the one message."""

    def get_value(self, dictionary: Any) -> Any:
        return dictionary.get(self.field_name, empty)

    def run_validation(self, data: Any = empty) -> Any:
        value = self.to_internal_value(data)
        self.run_validators(value)
        return value

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.STR)
class _Text(_Body):
    """Stripped; anything but text is empty."""

    def to_internal_value(self, data: Any) -> str:
        return data.strip() if isinstance(data, str) else ""


def _bool_of(data: Any, name: str, default: bool) -> bool:
    """true/false, 1/0, yes/no, on/off; absent is ``default``."""
    if data is empty:
        return default
    if isinstance(data, bool):
        return data
    text = str(data).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValidationError(_(MSG_BAD_BOOL) % {"field": name})


@extend_schema_field(OpenApiTypes.BOOL)
class _Bool(_Body):
    """true/false, 1/0, yes/no, on/off; absent is ``default``."""

    def __init__(self, *, default: bool, **kwargs: Any) -> None:
        self.default_value = default
        super().__init__(required=False, **kwargs)

    def to_internal_value(self, data: Any) -> bool:
        return _bool_of(data, self.field_name, self.default_value)


class _Raw(_Body):
    """Read as is (``empty`` when absent): the serializer's ``validate`` reads it."""

    def to_internal_value(self, data: Any) -> Any:
        return data


@extend_schema_field(OpenApiTypes.BOOL)
class _RawBool(_Raw):
    pass


@extend_schema_field(OpenApiTypes.STR)
class _RawText(_Raw):
    pass


@extend_schema_field(OpenApiTypes.NUMBER)
class _RawNumber(_Raw):
    pass


@extend_schema_field(OpenApiTypes.DATE)
class _Date(_Body):
    """YYYY-MM-DD; absent or empty is none."""

    def to_internal_value(self, data: Any) -> dt.date | None:
        raw = data.strip() if isinstance(data, str) else ""
        if not raw:
            return None
        try:
            day = parse_date(raw)
        except ValueError:
            day = None
        if day is None:
            raise ValidationError(_(MSG_BAD_DATE) % {"value": raw})
        return day


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _PlanInput(InputSerializer):
    """Fields checked one at a time, in the order declared: the first bad one answers."""

    first_error_only = True


class PlanCreateInputSerializer(_PlanInput):
    """A new draft plan of a town or district."""

    base_date = _Date(required=False, help_text="the published assignment of that day (today)")
    name = _Text()
    area_code = _Text(help_text="a town or a district")


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class _Villages(_Body):
    """Village codes; one code is a list of one."""

    def to_internal_value(self, data: Any) -> list[str]:
        villages = [data] if isinstance(data, str) else data
        if not isinstance(villages, list) or not all(isinstance(v, str) for v in villages):
            raise ValidationError(_(MSG_VILLAGES_LIST))
        return villages


@extend_schema_field(OpenApiTypes.STR)
class _Required(_Text):
    """Text that must not be empty."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        self.message = message
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if not text:
            raise ValidationError(_(self.message))
        return text


class PlanAssignInputSerializer(_PlanInput):
    """``action`` is what made the change, as the log keeps it: a click, or a brush stroke
    (several villages are always one)."""

    villages = _Villages(source="village_code")
    station = _Required(MSG_STATION_REQUIRED, help_text="the station code")
    action = _Text(required=False, help_text="click or brush")
    override_reason = _Text(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        brush = len(attrs["village_code"]) > 1 or attrs["action"] == "brush"
        return {**attrs, "action": "brush" if brush else "click"}


class _PointInput(_PlanInput):
    """``lon`` and ``lat`` in degrees as ``location``, a point (errors under ``location``)."""

    lon = _RawNumber(help_text="longitude in degrees")
    lat = _RawNumber(help_text="latitude in degrees")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lon, lat = _number(attrs.pop("lon")), _number(attrs.pop("lat"))
        if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError({"location": [_(MSG_LON_LAT)]})
        return {**attrs, "location": Point(lon, lat, srid=settings.GRIDMAP_SRID)}


class PlanStationAddInputSerializer(_PointInput):
    """A new station at ``lon``, ``lat``."""

    town_code = _Text(required=False, help_text="the town at the point unless given")
    name = _Text()
    override_reason = _Text(required=False)


class PlanStationMoveInputSerializer(_PointInput):
    """The station's new place, ``lon``, ``lat``."""

    override_reason = _Text(required=False)


class PlanStationRetireInputSerializer(_PlanInput):
    """Why a station holding villages is retired."""

    override_reason = _Text(required=False)


class PlanStationLockInputSerializer(_PlanInput):
    """Lock (true, the default) or unlock the station."""

    locked = _Bool(default=True)


@extend_schema_field({"type": "string", "enum": ["propose", "repair"]})
class _Mode(_Body):
    """``propose`` when absent; anything but ``propose`` or ``repair`` is refused, as the
    schema says (an empty or non-text mode used to run a proposal)."""

    def to_internal_value(self, data: Any) -> str:
        if data is empty:
            return "propose"
        mode = data.strip() if isinstance(data, str) else data
        if mode not in ("propose", "repair"):
            raise ValidationError(_(MSG_BAD_MODE))
        return mode


@extend_schema_field(OpenApiTypes.NUMBER)
class _TimeLimit(_Body):
    """Seconds, 1 to ``MAX_TIME_LIMIT``; absent or empty is the solver's default."""

    def to_internal_value(self, data: Any) -> float:
        if data is empty or data in (None, ""):
            raise SkipField
        limit = _number(data)
        if limit is None or not 1 <= limit <= MAX_TIME_LIMIT:
            raise ValidationError(_(MSG_BAD_TIME_LIMIT) % {"max": int(MAX_TIME_LIMIT)})
        return limit


class PlanSolveInputSerializer(_PlanInput):
    """``stay_close`` (to the published assignment) is read for ``propose`` only."""

    mode = _Mode(required=False)
    time_limit = _TimeLimit(required=False)
    stay_close = _RawBool(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["mode"] != "propose":
            return {**attrs, "stay_close": False}
        try:
            stay_close = _bool_of(attrs["stay_close"], "stay_close", False)
        except ValidationError as exc:
            raise ValidationError({"stay_close": exc.detail}) from None
        return {**attrs, "stay_close": stay_close}


class PlanPublishInputSerializer(_PlanInput):
    """From when the plan is in force, and why despite broken constraints."""

    effective_from = _Date(required=False, help_text="today unless given")
    override_reason = _Text(required=False)


class PlanImportInputSerializer(_PlanInput):
    """The CSV as a ``file`` (multipart) or as text in ``csv``: ``text`` for the service."""

    file = serializers.FileField(
        required=False, allow_null=True, allow_empty_file=True, help_text="the CSV file"
    )
    csv = _RawText(required=False, help_text="the CSV as text")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        upload = attrs.get("file")
        if upload is not None:
            return {"text": upload.read()}
        text = attrs.get("csv")
        if not isinstance(text, str) or not text.strip():
            raise ValidationError({"csv": [_(MSG_CSV_REQUIRED)]})
        return {"text": text}


def _hard_refusal(plan: Plan, station: str, villages: list[str] | None = None) -> bool:
    """Whether a refused change touches a locked or retired station, which no reason
    overrides (``services`` says so in its module docstring)."""
    target = Q(code=station) & (Q(locked=True) | Q(retired=True))
    losing = Q(locked=True, assignments__village_code__in=villages or [])
    return plan.stations.filter(target | losing).exists()


class PlanView(APIView):
    """Common parts: the plan from the URL (404 outside the jurisdiction), and a write that
    answers with the plan, or with a clear 400 when a rule refuses it."""

    hard: Callable[[], bool] | None = None

    def plan(self, request: Request, pk: int) -> Plan:
        plan = selectors.visible_plan_of(request.user, pk)
        if plan is None:
            raise NotFound(_(MSG_UNKNOWN_PLAN) % {"id": pk})
        return plan

    def station(self, plan: Plan, code: str) -> PlanStation:
        station = plan.stations.filter(code=code).first()
        if station is None:
            raise NotFound(_(MSG_UNKNOWN_STATION) % {"code": code})
        return station

    def write(
        self,
        request: Request,
        plan: Plan,
        action: Callable[[], Any],
        *,
        hard: Callable[[], bool] | None = None,
        extra: Callable[[Any], dict[str, Any]] | None = None,
    ) -> Response:
        """Run ``action()`` (a service call); answer with the fresh plan, ``extra(result)``
        merged in. ``hard()`` tells whether a refusal under ``constraints`` is final."""
        self.hard = hard
        result = action()
        plan.refresh_from_db()
        body = plan_body(plan, request.user)
        if extra is not None:
            body.update(extra(result))
        return Response(body)

    def handle_exception(self, exc: Exception) -> Response:
        """The API's error answer; a service's refusal under ``constraints`` also says whether
        a written ``override_reason`` would apply the change anyway (``overridable``)."""
        overridable = None
        if isinstance(exc, DjangoValidationError) and "constraints" in error_dict(exc):
            overridable = not (self.hard() if self.hard else False)
        response = super().handle_exception(exc)
        if overridable is not None:
            response.data["overridable"] = overridable
        return response


def _schema(**kwargs: Any) -> Any:
    kwargs.setdefault("tags", ["planning"])
    kwargs.setdefault(
        "responses",
        {
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
        },
    )
    return extend_schema(**kwargs)


# --- plans -----------------------------------------------------------------------------------
class PlanListApi(APIView):
    """``GET``: the plans of the user's jurisdiction. ``POST``: a new draft plan of a town or
    district, copied from the assignment published on ``base_date`` (today)."""

    @_schema(operation_id="plans_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({"results": [plan_row(p) for p in selectors.plan_rows(request.user)]})

    @_schema(
        operation_id="plans_create",
        request=PlanCreateInputSerializer,
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        data = _validated(request, PlanCreateInputSerializer)
        plan = services.plan_create(actor=request.user, **data)
        row = selectors.plan_rows(request.user).get(pk=plan.pk)
        return Response(plan_row(row), status=status.HTTP_201_CREATED)


class PlanDetailApi(PlanView):
    """The plan with its stations' figures, assignment, violations and latest changes."""

    @_schema(operation_id="plans_detail")
    def get(self, request: Request, pk: int) -> Response:
        return Response(plan_body(self.plan(request, pk), request.user))


class PlanVillagesApi(PlanView):
    """The plan's villages (current boundaries) with their station in the plan, as GeoJSON."""

    @_schema(operation_id="plans_villages")
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.plan_villages_geojson(self.plan(request, pk)))


class PlanAssignApi(PlanView):
    """Move villages to a station, as one batch: ``{"villages": [...], "station": code,
    "override_reason": ""}``. A refusal lists every broken rule under ``constraints``."""

    @_schema(operation_id="plans_assign", request=PlanAssignInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        data = _validated(request, PlanAssignInputSerializer)
        return self.write(
            request,
            plan,
            lambda: services.plan_assign(actor=request.user, plan=plan, **data),
            hard=lambda: _hard_refusal(plan, data["station"], data["village_code"]),
            extra=lambda changes: {"changed": [c.village_code for c in changes]},
        )


class PlanUndoApi(PlanView):
    """Undo the plan's last batch of changes."""

    @_schema(operation_id="plans_undo", request=None)
    def post(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        return self.write(
            request,
            plan,
            lambda: services.plan_undo(actor=request.user, plan=plan),
            extra=lambda changes: {"changed": [c.village_code for c in changes if c.village_code]},
        )


class PlanRedoApi(PlanView):
    """Redo the batch undone last."""

    @_schema(operation_id="plans_redo", request=None)
    def post(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        return self.write(
            request,
            plan,
            lambda: services.plan_redo(actor=request.user, plan=plan),
            extra=lambda changes: {"changed": [c.village_code for c in changes if c.village_code]},
        )


# --- stations --------------------------------------------------------------------------------
def _town_at(plan: Plan, point: Point) -> str:
    """The town of the plan's area that covers ``point`` (smallest code on a shared edge)."""
    code = (
        Town.objects.current()
        .filter(code__startswith=plan.area_code, geom__covers=point)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    if code is None:
        if len(plan.area_code) == 9:
            return plan.area_code
        raise Invalid({"location": [_(MSG_NO_TOWN_HERE)]})
    return code


class PlanStationAddApi(PlanView):
    """Add a station to the plan: ``{"name", "lon", "lat", "town_code"?, "override_reason"}``.
    The town is the one at the point unless given; the code is the town's next free one."""

    @_schema(operation_id="plans_station_add", request=PlanStationAddInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        data = _validated(request, PlanStationAddInputSerializer)
        data["town_code"] = data["town_code"] or _town_at(plan, data["location"])
        return self.write(
            request,
            plan,
            lambda: services.plan_station_add(actor=request.user, plan=plan, **data),
            extra=lambda station: {"station": station.code},
        )


class PlanStationMoveApi(PlanView):
    """Move a station of the plan: ``{"lon", "lat", "override_reason"}`` (it must stay in
    its town unless a reason is written)."""

    @_schema(operation_id="plans_station_move", request=PlanStationMoveInputSerializer)
    def post(self, request: Request, pk: int, code: str) -> Response:
        plan = self.plan(request, pk)
        station = self.station(plan, code)
        data = _validated(request, PlanStationMoveInputSerializer)
        return self.write(
            request,
            plan,
            lambda: services.plan_station_move(
                actor=request.user, plan=plan, station=station.code, **data
            ),
            extra=lambda change: {"station": station.code},
        )


class PlanStationRetireApi(PlanView):
    """Retire a station of the plan; one that holds villages needs ``override_reason`` (its
    villages are then left without a station)."""

    @_schema(operation_id="plans_station_retire", request=PlanStationRetireInputSerializer)
    def post(self, request: Request, pk: int, code: str) -> Response:
        plan = self.plan(request, pk)
        station = self.station(plan, code)
        data = _validated(request, PlanStationRetireInputSerializer)
        return self.write(
            request,
            plan,
            lambda: services.plan_station_retire(
                actor=request.user, plan=plan, station=station.code, **data
            ),
            hard=lambda: _hard_refusal(plan, station.code),
            extra=lambda changes: {
                "station": station.code,
                "changed": [c.village_code for c in changes if c.village_code],
            },
        )


class PlanStationLockApi(PlanView):
    """Lock (``{"locked": true}``) or unlock a station: a locked station's villages do not
    change, by hand or by a proposal."""

    @_schema(operation_id="plans_station_lock", request=PlanStationLockInputSerializer)
    def post(self, request: Request, pk: int, code: str) -> Response:
        plan = self.plan(request, pk)
        station = self.station(plan, code)
        data = _validated(request, PlanStationLockInputSerializer)
        return self.write(
            request,
            plan,
            lambda: services.plan_station_lock(
                actor=request.user, plan=plan, station=station.code, **data
            ),
            extra=lambda change: {"station": station.code},
        )


# --- proposals and publishing ----------------------------------------------------------------
def solver_report(result: Any, *, mode: str, stay_close: bool) -> dict[str, Any]:
    """The solver's ``Result`` as the page shows it: the objective as the household-weighted
    mean travel time in minutes, villages moved, the rules met, the time taken."""
    mean = getattr(result, "mean_seconds", None)
    changes = getattr(result, "changes", []) or []
    return {
        "mode": mode,
        "stay_close": stay_close,
        "status": result.status,
        "objective": result.objective,
        "mean_minutes": _minutes(mean),
        "moved": result.moved,
        "changed_from_published": getattr(result, "changed_from_published", None),
        "constraints": result.constraints,
        "seconds_taken": round(result.seconds_taken, 2),
        "messages": [str(m) for m in result.messages],
        "applied": len(changes),
    }


class PlanSolveApi(PlanView):
    """Propose a whole plan (``mode=propose``, optionally ``stay_close`` to the published
    assignment) or repair the violations moving the fewest villages (``mode=repair``); the
    answer is applied as one batch (undone together). The report is under ``report``."""

    # JSON only: its fields are a number, a boolean and a choice, which a form cannot type
    # (and a garbled multipart body lost ``mode`` and ran a proposal; tests/security/
    # test_schema_fuzz.py). The editor sends JSON.
    parser_classes = [JSONParser]

    @_schema(operation_id="plans_solve", request=PlanSolveInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        data = _validated(request, PlanSolveInputSerializer)
        return self.write(
            request,
            plan,
            lambda: services.plan_solve(actor=request.user, plan=plan, **data),
            extra=lambda result: {
                "report": solver_report(result, mode=data["mode"], stay_close=data["stay_close"])
            },
        )


class PlanPublishApi(PlanView):
    """Publish the plan from ``effective_from`` (today): a new dated version of every
    village's catchment. Broken constraints need ``override_reason``; every village needs a
    station."""

    @_schema(operation_id="plans_publish", request=PlanPublishInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        data = _validated(request, PlanPublishInputSerializer)
        return self.write(
            request,
            plan,
            lambda: services.plan_publish(actor=request.user, plan=plan, **data),
        )


# --- exports and import ----------------------------------------------------------------------
def _download(plan: Plan, suffix: str) -> str:
    return f"plan-{plan.pk}-{plan.area_code}-{suffix}"


class PlanExportCsvApi(PlanView):
    """``village_code,station_code`` per village of the plan (a download)."""

    @_schema(
        operation_id="plans_export_csv",
        responses={(200, "text/csv"): OpenApiTypes.STR, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        plan = self.plan(request, pk)
        response = HttpResponse(
            services.plan_export_csv(plan), content_type="text/csv; charset=utf-8"
        )
        name = _download(plan, "assignment.csv")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class PlanImportCsvApi(PlanView):
    """Apply a ``village_code,station_code`` CSV to the plan as one batch (multipart
    ``file``, or JSON ``{"csv": text}``). Every bad line is reported; nothing is written
    then."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @_schema(operation_id="plans_import_csv", request=PlanImportInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        serializer = PlanImportInputSerializer(
            data={
                "file": request.FILES.get("file") if request.FILES else None,
                "csv": object_body(request).get("csv"),
            }
        )
        serializer.is_valid(raise_exception=True)
        return self.write(
            request,
            plan,
            lambda: services.plan_import_csv(
                actor=request.user, plan=plan, **serializer.validated_data
            ),
            extra=lambda changes: {"imported": len(changes)},
        )


class PlanCatchmentsApi(PlanView):
    """The plan's catchments as GeoJSON, one feature per station (the union of its
    villages, built in PostGIS), as a download."""

    @_schema(
        operation_id="plans_catchments",
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, pk: int) -> JsonResponse:
        plan = self.plan(request, pk)
        collection = selectors.plan_catchments_geojson(plan)
        for feature in collection["features"]:
            # sum() of counts comes back from PostgreSQL as a numeric (Decimal).
            feature["properties"]["households"] = int(feature["properties"]["households"] or 0)
        response = JsonResponse(
            collection,
            content_type="application/geo+json",
            json_dumps_params={"ensure_ascii": False},
        )
        name = _download(plan, "catchments.geojson")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def other_plan(request: Request, plan: Plan, raw: str) -> Plan | None:
    """``with``: None for the published assignment, else a visible plan (404 if not)."""
    raw = (raw or "published").strip()
    if raw == "published":
        return None
    if not raw.isdigit():
        raise Invalid({"with": [_(MSG_BAD_WITH)]})
    other = selectors.plans_visible_to(request.user).filter(pk=int(raw)).first()
    if other is None:
        raise NotFound(_(MSG_UNKNOWN_PLAN) % {"id": raw})
    return other


def diff_body(plan: Plan, other: Plan | None) -> dict[str, Any]:
    rows = selectors.plan_diff(plan, other)
    return {
        "plan": plan.pk,
        "with": "published" if other is None else other.pk,
        "with_name": "" if other is None else other.name,
        "count": len(rows),
        "villages": rows,
    }


class PlanDiffApi(PlanView):
    """Villages whose station differs between the plan and the published assignment of
    today (``with=published``, the default) or another plan (``with=<id>``)."""

    @_schema(
        operation_id="plans_diff",
        parameters=[
            OpenApiParameter(
                "with", OpenApiTypes.STR, description="published (default) or a plan id"
            )
        ],
    )
    def get(self, request: Request, pk: int) -> Response:
        plan = self.plan(request, pk)
        other = other_plan(request, plan, request.query_params.get("with", ""))
        return Response(diff_body(plan, other))
