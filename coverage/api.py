"""Coverage API: the whole coverage report of an area, and its uncovered households as GeoJSON.

Views parse the area, check it lies inside the user's jurisdiction (accounts.selectors) and
hand off to ``coverage.report`` / a FeatureCollection built in the database.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet, Value
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import jurisdiction_prefixes
from gridmap.codes import covers
from gridmap.geojson import feature_collection
from grids.models import Village
from households.models import Household

from .checks import area_level
from .clusters import MAX_ZOOM, clusters, parse_bbox
from .report import area_of, coverage_report, refresh_or_defer, service_circle_available
from .service_circle import uncovered_rows

# Messages shared with the KPI API (reports.kpis), so the catalogue already has them; an
# area outside the user's jurisdiction is "not there" (404), as for KPIs.
MSG_CHOOSE = gettext_noop("Choose which %(level)s.")
MSG_BAD_CODE = gettext_noop("%(code)s is not a valid %(level)s code.")
MSG_NOT_FOUND = gettext_noop("There is no %(level)s %(code)s in your jurisdiction.")
MSG_BAD_CHOICE = gettext_noop("Unknown %(field)s %(value)s; choose one of: %(choices)s.")
LEVEL_NAMES = {
    "city": gettext_noop("city"),
    "district": gettext_noop("district"),
    "town": gettext_noop("town"),
    "village": gettext_noop("village"),
}

REASON_NO_GRID = "no_grid"
REASON_NO_UNIT = "no_unit"
REASON_BEYOND = "beyond_15_minutes"
AREA_PARAM = OpenApiParameter(
    "area", OpenApiTypes.STR, required=True, description="town, district or city code"
)


def _area(request: Request) -> dict[str, str]:
    """The requested area, known and inside the user's jurisdiction (400, 404 if not)."""
    code = (request.query_params.get("area") or "").strip()
    if not code:
        raise ValidationError({"area": [_(MSG_CHOOSE) % {"level": _("area")}]})
    try:
        area = area_of(code)
    except ValueError:
        raise ValidationError(
            {"area": [_(MSG_BAD_CODE) % {"code": code, "level": _("area")}]}
        ) from None
    prefixes = jurisdiction_prefixes(request.user)
    if area is None or not covers(prefixes, area["prefix"]):
        level = _(LEVEL_NAMES[area_level(code)])
        raise NotFound(_(MSG_NOT_FOUND) % {"level": level, "code": code})
    return area


class CoverageReportApi(APIView):
    """Every coverage figure of an area (checks 1-7), with the items behind each figure. The
    service circle says ``"status": "computing"`` while a large recomputation runs in the
    background."""

    @extend_schema(parameters=[AREA_PARAM], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        area = _area(request)
        return Response(
            coverage_report(
                area["code"], max_households=settings.GRIDMAP_COVERAGE_INLINE_HOUSEHOLDS
            )
        )


def uncovered_households(area: dict[str, str], reasons: list[str]) -> dict[str, Any]:
    """Households of the area in no grid, in no ten-household unit and (when check 7 exists)
    beyond the 15-minute service circle, as one FeatureCollection (a household may appear
    once per reason). Built in the database, one aggregate query per reason."""
    like = area["prefix"]
    querysets: dict[str, QuerySet] = {
        REASON_NO_GRID: Household.objects.filter(grid__isnull=True).filter(
            Exists(
                Village.objects.current().filter(
                    code__startswith=like, geom__covers=OuterRef("location")
                )
            )
        ),
        REASON_NO_UNIT: Household.objects.filter(
            grid__code__startswith=like, ten_household_unit__isnull=True
        ),
    }
    if service_circle_available():
        # The cache brought up to date when that is quick; else as last computed, while the
        # background worker recomputes it (the call stays within the server's timeout).
        refresh_or_defer(area["code"], settings.GRIDMAP_COVERAGE_INLINE_HOUSEHOLDS)
        querysets[REASON_BEYOND] = Household.objects.filter(
            pk__in=uncovered_rows(area["code"]).values("household_id")
        )
    features: list = []
    for reason in reasons:
        if reason not in querysets:
            continue
        props = {"id": F("id"), "reason": Value(reason), "grid": F("grid__code")}
        fc = feature_collection(
            querysets[reason].order_by(), geom="location", properties=props, fid=F("id")
        )
        features.extend(fc["features"])
    return {"type": "FeatureCollection", "features": features}


REASONS = [REASON_NO_GRID, REASON_NO_UNIT, REASON_BEYOND]


class UncoveredHouseholdsApi(APIView):
    """Households of an area that no grid, no ten-household unit or (when built) the
    15-minute service circle covers, as GeoJSON points with a ``reason`` property."""

    @extend_schema(
        parameters=[
            AREA_PARAM,
            OpenApiParameter(
                "reason", OpenApiTypes.STR, description="only this reason: " + ", ".join(REASONS)
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        area = _area(request)
        reason = request.query_params.get("reason")
        if reason and reason not in REASONS:
            raise ValidationError(
                {
                    "reason": [
                        _(MSG_BAD_CHOICE)
                        % {"field": "reason", "value": reason, "choices": ", ".join(REASONS)}
                    ]
                }
            )
        return Response(uncovered_households(area, [reason] if reason else REASONS))


MSG_BAD_ZOOM = gettext_noop("Zoom must be a whole number from 0 to %(max)s.")
MSG_BAD_BBOX = gettext_noop(
    "bbox must be four numbers west,south,east,north in degrees, west < east and south < north."
)


class UncoveredClustersApi(APIView):
    """The households of ``uncovered-households`` counted per map cell (about 48 pixels at
    ``zoom``) inside ``bbox``: one point per cell and reason with its ``count``, never one per
    household; at most ``clusters.MAX_FEATURES`` cells (``truncated`` says when cut)."""

    @extend_schema(
        parameters=[
            AREA_PARAM,
            OpenApiParameter("zoom", OpenApiTypes.INT, required=True, description="map zoom"),
            OpenApiParameter("bbox", OpenApiTypes.STR, description="west,south,east,north"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        area = _area(request)
        try:
            zoom = int(request.query_params.get("zoom", ""))
            if not 0 <= zoom <= MAX_ZOOM:
                raise ValueError(zoom)
        except ValueError:
            raise ValidationError({"zoom": [_(MSG_BAD_ZOOM) % {"max": MAX_ZOOM}]}) from None
        try:
            bbox = parse_bbox(request.query_params.get("bbox"))
        except ValueError:
            raise ValidationError({"bbox": [_(MSG_BAD_BBOX)]}) from None
        with connection.cursor() as cur:
            return Response(clusters(cur, area["prefix"], zoom, bbox))
