"""The field API of presence: sign-ins and patrol tracks.

- ``POST /api/presence/sign-ins/`` ``{lon, lat, crs, accuracy, at, note, client_uuid}``: a
  sign-in (``presence.signins.sign_in``); 201, 200 for a resend, 400 with ``detail`` (and
  ``reason``: ``outside`` with ``distance_m`` and ``place``, ``already``, ``inaccurate``,
  ``no_place``, ``too_late``) when refused.
- ``GET /api/presence/sign-ins/?worker=&day=``: the user's own by default; another worker's
  within the jurisdiction.
- ``POST /api/patrols/`` ``{client_uuid, crs, points: [{lon, lat, t, accuracy}]}``: a track
  (``presence.patrols.record_patrol``).
- ``GET /api/patrols/?day=&worker=&area=``: the day's tracks as a GeoJSON FeatureCollection;
  ``GET /api/patrols/<id>/``: one, with the seconds of each vertex.
- ``GET /api/patrols/coverage/?day=&worker=&area=``: the grid areas covered per worker.

Positions may come in ``crs`` = ``wgs84`` (default), ``gcj02`` (AMap, Tencent) or ``bd09``
(Baidu): converted with ``grids.coords`` before anything is judged or stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Extract
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.fields import DateTimeField
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import jurisdiction_prefixes, scope_q, worker_of
from gridmap.api import object_body
from gridmap.geojson import feature_collection
from gridmap.params import MSG_LON_LAT_RANGE, InputSerializer, lon_lat_in_range
from grids import coords
from grids.models import Grid, Station, Town, Village, Worker
from grids.selectors import workers_within

from .models import PlaceLevel, SignIn
from .patrols import PatrolRefused, covered_areas, patrols_visible_to, record_patrol
from .signins import SignInRefused, sign_in

MSG_NOT_A_WORKER = gettext_noop(
    "Your login is not linked to a worker: only workers sign in and record patrols."
)
MSG_UNKNOWN_WORKER = gettext_noop("There is no worker %(id)s in your jurisdiction.")
MSG_UNKNOWN_PATROL = gettext_noop("There is no patrol %(id)s in your jurisdiction.")
MSG_BAD_POINT = gettext_noop("Position %(index)s needs lon, lat (numbers) and t (a date and time).")
MSG_NO_POINTS = gettext_noop("Send the track's positions in points: a list.")

CRS_CHOICES = ["wgs84", "gcj02", "bd09"]
_DATETIME = DateTimeField()


def to_wgs84(lonlat: np.ndarray, crs: str) -> np.ndarray:
    """(N, 2) longitudes and latitudes in ``crs`` as WGS84."""
    if crs == "gcj02":
        return coords.gcj02_to_wgs84_coords(lonlat)
    if crs == "bd09":
        return coords.bd09_to_wgs84_coords(lonlat)
    return np.asarray(lonlat, dtype=float).reshape(-1, 2)


def _require_worker(user: Any) -> Worker:
    worker = worker_of(user)
    if worker is None:
        raise PermissionDenied(_(MSG_NOT_A_WORKER))
    return worker


def visible_worker(user: Any, worker_id: int) -> Worker:
    """A worker of the user's jurisdiction (or the user's own), else a 404."""
    own = worker_of(user)
    if own is not None and own.pk == worker_id:
        return own
    found = workers_within(jurisdiction_prefixes(user)).filter(pk=worker_id).first()
    if found is None:
        raise NotFound(_(MSG_UNKNOWN_WORKER) % {"id": worker_id})
    return found


def place_names(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The current names of places given as ``(level, code)``."""
    out: dict[tuple[str, str], str] = {}
    for level, model in (
        (PlaceLevel.GRID, Grid),
        (PlaceLevel.VILLAGE, Village),
        (PlaceLevel.TOWN, Town),
    ):
        codes = {c for lv, c in pairs if lv == level}
        if codes:
            for code, name in (
                model.objects.current().filter(code__in=codes).values_list("code", "name")
            ):
                out[(str(level), code)] = name
    codes = {c for lv, c in pairs if lv == PlaceLevel.STATION}
    for code, name in Station.objects.filter(code__in=codes).values_list("code", "name"):
        out[(str(PlaceLevel.STATION), code)] = name
    return out


def sign_in_result(record: SignIn, names: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {
        "id": record.pk,
        "client_uuid": str(record.client_uuid),
        "worker": {"id": record.worker_id, "name": record.worker.name},
        "at": _DATETIME.to_representation(record.at),
        "received_at": _DATETIME.to_representation(record.received_at),
        "day": record.day.isoformat(),
        "half": record.half,
        "half_label": record.get_half_display(),
        "verdict": record.verdict,
        "verdict_label": record.get_verdict_display(),
        "place": {
            "level": record.place_level,
            "code": record.place_code,
            "name": names.get((record.place_level, record.place_code), ""),
        },
        "role": record.role,
        "distance_m": record.distance_m,
        "accuracy_m": record.accuracy_m,
        "note": record.note,
        "lon": round(record.location.x, 7),
        "lat": round(record.location.y, 7),
    }


def sign_ins_visible_to(user: Any) -> QuerySet[SignIn]:
    """Sign-ins inside the user's jurisdiction (by ``place_code``), and their own."""
    qs = SignIn.objects.select_related("worker")
    inside = scope_q(user, "place_code")
    if inside is None:
        return qs
    if user.is_authenticated:
        inside |= Q(worker__user=user)
    return qs.filter(inside)


# --- sign-ins ---------------------------------------------------------------------------------
class SignInInputSerializer(InputSerializer):
    lon = serializers.FloatField(help_text="longitude in `crs`")
    lat = serializers.FloatField(help_text="latitude in `crs`")
    crs = serializers.ChoiceField(CRS_CHOICES, required=False, default="wgs84")
    accuracy = serializers.FloatField(min_value=0, help_text="the fix's accuracy in metres")
    at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="when the phone signed in"
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200, help_text="the reason"
    )
    client_uuid = serializers.UUIDField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lon, lat = to_wgs84(np.array([[attrs["lon"], attrs["lat"]]]), attrs["crs"])[0]
        if not (np.isfinite(lon) and np.isfinite(lat) and lon_lat_in_range(lon, lat)):
            raise ValidationError({"lon": [_(MSG_LON_LAT_RANGE)]})
        attrs["point"] = Point(float(lon), float(lat), srid=settings.GRIDMAP_SRID)
        return attrs


class SignInFilterSerializer(InputSerializer):
    first_error_only = True
    worker = serializers.IntegerField(required=False, min_value=1)
    day = serializers.DateField(required=False)


class SignInListApi(APIView):
    """``POST``: sign in. ``GET``: sign-ins (the user's own, or ``?worker=`` of the
    jurisdiction; ``?day=``)."""

    @extend_schema(
        parameters=[SignInFilterSerializer],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        operation_id="presence_sign_ins_list",
    )
    def get(self, request: Request) -> Response:
        params = SignInFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        qs = sign_ins_visible_to(request.user)
        if filters.get("worker"):
            qs = qs.filter(worker=visible_worker(request.user, filters["worker"]))
        else:
            own = worker_of(request.user)
            if own is not None:
                qs = qs.filter(worker=own)
        if filters.get("day"):
            qs = qs.filter(day=filters["day"])
        rows = list(qs.order_by("-at", "-id")[:500])
        names = place_names({(r.place_level, r.place_code) for r in rows})
        return Response({"results": [sign_in_result(r, names) for r in rows]})

    @extend_schema(
        request=SignInInputSerializer,
        responses={
            200: OpenApiTypes.OBJECT,
            201: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
        },
        operation_id="presence_sign_ins_create",
    )
    def post(self, request: Request) -> Response:
        worker = _require_worker(request.user)
        params = SignInInputSerializer(data=object_body(request))
        params.is_valid(raise_exception=True)
        args = params.validated_data
        try:
            record, created = sign_in(
                worker,
                at=args["at"],
                point=args["point"],
                accuracy_m=args["accuracy"],
                note=args["note"],
                client_uuid=args["client_uuid"],
            )
        except SignInRefused as refused:
            body: dict[str, Any] = {"detail": refused.message, "reason": refused.reason}
            if refused.distance_m is not None:
                body["distance_m"] = refused.distance_m
            if refused.place is not None:
                body["place"] = refused.place
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        names = place_names({(record.place_level, record.place_code)})
        return Response(
            sign_in_result(record, names),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- patrols ----------------------------------------------------------------------------------
def _time_of(value: Any) -> dt.datetime | None:
    """An ISO 8601 time, or milliseconds since 1970 (what a phone's ``Date`` gives)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            return None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def parse_points(raw: Any, crs: str) -> list[tuple[float, float, dt.datetime, float | None]]:
    """The track's positions in WGS84; a 400 naming the first bad one."""
    if not isinstance(raw, list):
        raise ValidationError(
            {"detail": _(MSG_NO_POINTS), "errors": {"points": [_(MSG_NO_POINTS)]}}
        )
    lonlats, times, accuracies = [], [], []
    for index, item in enumerate(raw, start=1):
        item = item if isinstance(item, dict) else {}
        lon, lat, t = _number(item.get("lon")), _number(item.get("lat")), _time_of(item.get("t"))
        accuracy = _number(item.get("accuracy"))
        if lon is None or lat is None or t is None or not lon_lat_in_range(lon, lat):
            message = _(MSG_BAD_POINT) % {"index": index}
            raise ValidationError({"detail": message, "errors": {"points": [message]}})
        lonlats.append((lon, lat))
        times.append(t)
        accuracies.append(accuracy)
    converted = to_wgs84(np.array(lonlats, dtype=float).reshape(-1, 2), crs) if lonlats else []
    return [
        (float(xy[0]), float(xy[1]), t, a)
        for xy, t, a in zip(converted, times, accuracies, strict=True)
    ]


class PatrolInputSerializer(InputSerializer):
    client_uuid = serializers.UUIDField(required=False, allow_null=True, default=None)
    crs = serializers.ChoiceField(CRS_CHOICES, required=False, default="wgs84")
    points = serializers.ListField(
        child=inline_serializer(
            "PatrolPoint",
            {
                "lon": serializers.FloatField(),
                "lat": serializers.FloatField(),
                "t": serializers.DateTimeField(help_text="ISO 8601, or ms since 1970"),
                "accuracy": serializers.FloatField(required=False, allow_null=True),
            },
        ),
        help_text="the positions in the order they were taken",
    )


class PatrolFilterSerializer(InputSerializer):
    first_error_only = True
    day = serializers.DateField(required=False, help_text="YYYY-MM-DD (today by default)")
    worker = serializers.IntegerField(required=False, min_value=1)
    area = serializers.RegexField(
        r"^[0-9S]{1,15}$", required=False, help_text="code of a place: its patrols"
    )


def filtered_patrols(request: Request) -> QuerySet:
    params = PatrolFilterSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    filters = params.validated_data
    qs = patrols_visible_to(request.user).filter(day=filters.get("day") or timezone.localdate())
    if filters.get("worker"):
        qs = qs.filter(worker=visible_worker(request.user, filters["worker"]))
    if filters.get("area"):
        qs = qs.filter(place_code__startswith=filters["area"])
    return qs


def patrol_properties() -> dict[str, Any]:
    return {
        "id": F("id"),
        "worker_id": F("worker_id"),
        "worker_name": F("worker__name"),
        "day": F("day"),
        "started_at": F("started_at"),
        "ended_at": F("ended_at"),
        "duration_s": Extract(F("ended_at") - F("started_at"), "epoch"),
        "length_m": F("length_m"),
        "grid_code": F("grid__code"),
        "grid_name": F("grid__name"),
        "place_code": F("place_code"),
        "points_received": F("points_received"),
        "points_dropped": F("points_dropped"),
    }


class PatrolListApi(APIView):
    """``POST``: record a patrol track. ``GET``: the day's tracks (GeoJSON)."""

    @extend_schema(
        parameters=[PatrolFilterSerializer],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        operation_id="patrols_list",
    )
    def get(self, request: Request) -> Response:
        qs = filtered_patrols(request)
        return Response(
            feature_collection(
                qs,
                geom="track",
                properties=patrol_properties(),
                fid=F("id"),
                order_by=("worker__name", "started_at"),
                precision=7,
            )
        )

    @extend_schema(
        request=PatrolInputSerializer,
        responses={
            200: OpenApiTypes.OBJECT,
            201: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
        },
        operation_id="patrols_create",
    )
    def post(self, request: Request) -> Response:
        worker = _require_worker(request.user)
        body = object_body(request)
        head = PatrolInputSerializer(
            data={"client_uuid": body.get("client_uuid"), "crs": body.get("crs") or "wgs84",
                  "points": []},
        )  # fmt: skip
        head.is_valid(raise_exception=True)
        points = parse_points(body.get("points"), head.validated_data["crs"])
        try:
            patrol, created = record_patrol(
                worker, points=points, client_uuid=head.validated_data["client_uuid"]
            )
        except PatrolRefused as refused:
            return Response({"detail": refused.message}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            patrol_result(patrol),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def patrol_result(patrol: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": patrol.pk,
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in patrol.track.coords]},
        "properties": {
            "id": patrol.pk,
            "client_uuid": str(patrol.client_uuid),
            "worker_id": patrol.worker_id,
            "worker_name": patrol.worker.name,
            "day": patrol.day.isoformat(),
            "started_at": _DATETIME.to_representation(patrol.started_at),
            "ended_at": _DATETIME.to_representation(patrol.ended_at),
            "duration_s": (patrol.ended_at - patrol.started_at).total_seconds(),
            "length_m": patrol.length_m,
            "grid_code": patrol.grid.code if patrol.grid_id else None,
            "place_code": patrol.place_code,
            "points_received": patrol.points_received,
            "points_dropped": patrol.points_dropped,
            "offsets": patrol.offsets,
            "coverage": [
                {"grid_code": c.grid.code, "share": round(c.share, 4)}
                for c in patrol.coverage.select_related("grid").order_by("grid__code")
            ],
        },
    }


class PatrolDetailApi(APIView):
    """One patrol of the jurisdiction (or the user's own), with its vertices' seconds."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        patrol = patrols_visible_to(request.user).filter(pk=pk).first()
        if patrol is None:
            raise NotFound(_(MSG_UNKNOWN_PATROL) % {"id": pk})
        return Response(patrol_result(patrol))


class PatrolCoverageApi(APIView):
    """The grid areas the day's patrols came within 50 m of, per worker and grid (GeoJSON),
    with each area's share of its grid."""

    @extend_schema(
        parameters=[PatrolFilterSerializer],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        operation_id="patrols_coverage",
    )
    def get(self, request: Request) -> Response:
        rows = covered_areas(filtered_patrols(request))
        return Response(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": f"{r['worker']['id']}-{r['day']}-{r['grid']['id']}",
                        "geometry": r["geometry"],
                        "properties": {
                            "worker_id": r["worker"]["id"],
                            "worker_name": r["worker"]["name"],
                            "day": r["day"].isoformat(),
                            "grid_code": r["grid"]["code"],
                            "grid_name": r["grid"]["name"],
                            "share": r["share"],
                        },
                    }
                    for r in rows
                ],
            }
        )
