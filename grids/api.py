"""Read API for places and grids. Views parse input, call a selector, hand off to a serializer."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Polygon
from django.db import DatabaseError, connection
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.codes import CODE_LENGTH, Level
from gridmap.geojson import feature_collection
from gridmap.jurisdiction import prefixes_of, user_boundary_scope_q, user_scope_q
from gridmap.params import MSG_LON_LAT_RANGE, MSG_UNKNOWN_SRID, bbox_param, lon_lat_in_range

from . import selectors
from .models import (
    BOUNDARY_MODELS,
    Building,
    CatchmentAssignment,
    Generation,
    Grid,
    Role,
    Station,
)

MAX_BUILDINGS = 5000


# --- messages (tests reuse them) -----------------------------------------------------------
def msg_no_grid(lon: float, lat: float) -> str:
    return _("No grid covers this point (lon %(lon)s, lat %(lat)s).") % {"lon": lon, "lat": lat}


MSG_UNKNOWN_GENERATION = gettext_noop("There is no boundary generation %(generation)s.")
MSG_UNKNOWN_LEVEL = gettext_noop("Unknown layer %(level)s; choose one of: %(levels)s.")
MSG_BBOX_REQUIRED = gettext_noop("Buildings are only listed for a bbox (zoom in on the map).")


def _generation_param(request: Request) -> int | None:
    raw = request.query_params.get("generation")
    if raw in (None, ""):
        return None
    try:
        gid = int(raw)
    except ValueError:
        raise ValidationError({"generation": [_("Generation must be a whole number.")]}) from None
    if not Generation.objects.filter(pk=gid).exists():
        raise ValidationError({"generation": [_(MSG_UNKNOWN_GENERATION) % {"generation": gid}]})
    return gid


# --- point lookup ---------------------------------------------------------------------------
class PointQuerySerializer(serializers.Serializer):
    lon = serializers.FloatField(help_text="x (longitude in EPSG:4326, or easting in `srid`)")
    lat = serializers.FloatField(help_text="y (latitude in EPSG:4326, or northing in `srid`)")
    srid = serializers.IntegerField(required=False, default=4326)

    def validate_srid(self, srid: int) -> int:
        if srid == settings.GRIDMAP_SRID:
            return srid
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
            if cur.fetchone() is None:
                raise serializers.ValidationError(_(MSG_UNKNOWN_SRID) % {"srid": srid})
        return srid

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["srid"] == 4326 and not (
            -180 <= attrs["lon"] <= 180 and -90 <= attrs["lat"] <= 90
        ):
            raise serializers.ValidationError(_(MSG_LON_LAT_RANGE))
        return attrs


def _person(assignment: Any) -> dict[str, str] | None:
    if assignment is None:
        return None
    return {"name": assignment.worker.name, "phone": assignment.worker.phone}


def grid_summary(grid: Grid) -> dict[str, Any]:
    """The grid's identity, lineage, figures and one-leader-two-members, as the API shows it.

    Expects ``grid.active_roles`` (``selectors.active_roles_prefetch``) and
    ``household_count`` / ``population`` annotations.
    """
    by_role = {}
    for a in grid.active_roles:
        by_role.setdefault(a.role, a)
    village = grid.village
    town = village.town
    district = town.district
    return {
        "code": grid.code,
        "name": grid.name,
        "generation": grid.generation_low_id,
        "current": grid.is_current,
        "village": {"code": village.code, "name": village.name},
        "town": {"code": town.code, "name": town.name},
        "district": {"code": district.code, "name": district.name},
        "household_count": grid.household_count,
        "population": grid.population,
        "leader": _person(by_role.get(Role.GRID_LEADER)),
        "member": _person(by_role.get(Role.GRID_MEMBER)),
        "guide": _person(by_role.get(Role.PARTY_GUIDE)),
    }


def _grids_for_display(user: Any) -> QuerySet[Grid]:
    qs = selectors.with_household_figures(
        selectors.grids_with_lineage().prefetch_related(selectors.active_roles_prefetch())
    )
    scope = user_scope_q(user)
    return qs.filter(scope) if scope is not None else qs


def _plain_point(request: Request) -> tuple[float, float, int] | None:
    """``(lon, lat, 4326)`` of a lookup in plain longitude and latitude, read without building
    a serializer; None for anything else (another SRID, a bad or missing number, a value out
    of range), which ``PointQuerySerializer`` then checks and words."""
    params = request.query_params
    if params.get("srid", "4326") not in ("4326", ""):
        return None
    raw_lon, raw_lat = params.get("lon", ""), params.get("lat", "")
    if len(raw_lon) > 1000 or len(raw_lat) > 1000:  # DRF's FloatField refuses these
        return None
    try:
        lon, lat = float(raw_lon), float(raw_lat)
    except ValueError:
        return None
    if not lon_lat_in_range(lon, lat):  # NaN is out of range too
        return None
    return lon, lat, 4326


class GridAtPointApi(APIView):
    """The grid covering a point, with its village, town and district and its active
    grid leader and party-building guide. A point on a shared edge resolves to the grid
    with the smallest code. One prepared statement (``selectors.grid_at``)."""

    # JSON only: the lookup is the phones' hottest call, and negotiating among renderers
    # (DRF's browsable HTML one) cost a tenth of its time.
    renderer_classes = [JSONRenderer]

    @extend_schema(
        parameters=[
            PointQuerySerializer,
            OpenApiParameter("generation", OpenApiTypes.INT, description="boundary generation"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        point = _plain_point(request)
        if point is None:  # anything unusual: the serializer and its messages
            params = PointQuerySerializer(data=request.query_params)
            params.is_valid(raise_exception=True)
            point = tuple(params.validated_data[k] for k in ("lon", "lat", "srid"))
        lon, lat, srid = point
        generation = _generation_param(request)
        try:
            summary = selectors.grid_at(
                lon, lat, srid, generation=generation, prefixes=prefixes_of(request.user)
            )
        except DatabaseError:
            raise ValidationError({"srid": [_(MSG_UNKNOWN_SRID) % {"srid": srid}]}) from None
        if summary is None:
            raise NotFound(msg_no_grid(lon, lat))
        return Response(summary)


class GridDetailApi(APIView):
    """One grid (current generation unless ``generation`` is given) as a GeoJSON Feature."""

    @extend_schema(
        parameters=[OpenApiParameter("generation", OpenApiTypes.INT)],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, code: str) -> Response:
        generation = _generation_param(request)
        grid = (
            _grids_for_display(request.user)
            .filter(code=code)
            .filter(pk__in=Grid.objects.at_generation(generation).values("pk"))
            .annotate(geojson=AsGeoJSON("geom", precision=7))
            .first()
        )
        if grid is None:
            raise NotFound(_("There is no grid %(code)s in your jurisdiction.") % {"code": code})
        return Response(
            {
                "type": "Feature",
                "id": grid.code,
                "geometry": json.loads(grid.geojson),
                "properties": grid_summary(grid),
            }
        )


# --- map layers -----------------------------------------------------------------------------
LAYER_LEVELS = ("city", "district", "town", "village", "grid", "building", "station")


class LayerApi(APIView):
    """Map layers as GeoJSON FeatureCollections, limited to the user's jurisdiction."""

    @extend_schema(
        parameters=[
            OpenApiParameter("bbox", OpenApiTypes.STR, description="minlon,minlat,maxlon,maxlat"),
            OpenApiParameter("generation", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, level: str) -> Response:
        if level not in LAYER_LEVELS:
            raise NotFound(
                _(MSG_UNKNOWN_LEVEL) % {"level": level, "levels": ", ".join(LAYER_LEVELS)}
            )
        bbox = bbox_param(request)
        generation = _generation_param(request)
        user = request.user
        if level == "building":
            return self._buildings(user, bbox)
        if level == "station":
            return self._stations(user, bbox)
        model = BOUNDARY_MODELS[level]
        qs = model.objects.at_generation(generation)
        scope = user_boundary_scope_q(user, CODE_LENGTH[level])
        if scope is not None:
            qs = qs.filter(scope)
        if bbox is not None:
            qs = qs.filter(geom__bboverlaps=bbox)
        props: dict[str, Any] = {"code": F("code"), "name": F("name"), "level": Value(level)}
        if level in ("town", "village"):
            props["kind"] = F("kind")
        if level == "grid":
            props["village_code"] = F("village__code")
        return Response(feature_collection(qs, geom="geom", properties=props, fid=F("code")))

    def _buildings(self, user: Any, bbox: Polygon | None) -> Response:
        if bbox is None:
            raise ValidationError({"bbox": [_(MSG_BBOX_REQUIRED)]})
        qs = Building.objects.filter(footprint__bboverlaps=bbox)
        scope = user_scope_q(user, "grid__code")
        if scope is not None:
            qs = qs.filter(scope)
        ids = list(qs.order_by("id").values_list("id", flat=True)[: MAX_BUILDINGS + 1])
        truncated = len(ids) > MAX_BUILDINGS
        qs = Building.objects.filter(id__in=ids[:MAX_BUILDINGS])
        props = {"id": F("id"), "name": F("name"), "grid_code": F("grid__code")}
        body = feature_collection(qs, geom="footprint", properties=props, fid=F("id"))
        body["truncated"] = truncated
        return Response(body)

    def _stations(self, user: Any, bbox: Polygon | None) -> Response:
        village_count = (
            CatchmentAssignment.objects.active()
            .filter(station=OuterRef("pk"))
            .values("station")
            .annotate(n=Count("id"))
            .values("n")
        )
        qs = Station.objects.all()
        scope = user_boundary_scope_q(user, CODE_LENGTH[Level.TOWN], "town__code")
        if scope is not None:
            qs = qs.filter(scope)
        if bbox is not None:
            qs = qs.filter(location__intersects=bbox)
        props = {
            "code": F("code"),
            "name": F("name"),
            "town_code": F("town__code"),
            "village_count": Coalesce(Subquery(village_count), 0),
            "level": Value("station"),
        }
        return Response(feature_collection(qs, geom="location", properties=props, fid=F("code")))
