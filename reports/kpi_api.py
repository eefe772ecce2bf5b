"""``GET /api/kpis/``: case KPIs of a unit for a period (see ``reports.kpis``)."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import kpis
from .kpis import KpiError, KpiResult

TRUE = {"1", "true", "yes", "on"}
FALSE = {"", "0", "false", "no", "off"}


def kpi_request(params: QueryDict, user: Any) -> KpiResult:
    """Parse ``level``, ``code``, ``from``, ``to``, ``breakdown`` and ``weeks`` and run the
    selector. Raises KpiError on bad input (shared by the API and the dashboard page)."""
    level = params.get("level", "")
    code = params.get("code", "")
    if level not in kpis.LEVELS:
        # Checked before the dates so the first message names the first mistake.
        kpis.unit_resolve(level=level, code=code, user=user)
    start, end = kpis.parse_period(params.get("from"), params.get("to"))
    raw = (params.get("breakdown") or "").strip().lower()
    child_level = None
    if raw in TRUE:
        child_level = kpis.default_child_level(level)
        if child_level is None:
            kpis.check_child_level(level, raw)  # raises: nothing to break down into
    elif raw not in FALSE:
        child_level = kpis.check_child_level(level, raw)
    weekly = (params.get("weeks") or "").strip().lower() in TRUE
    unit = kpis.unit_resolve(level=level, code=code, user=user)
    return kpis.kpis(unit=unit, start=start, end=end, child_level=child_level, weekly=weekly)


def raise_api_error(error: KpiError) -> None:
    if error.not_found:
        raise NotFound(error.message)
    raise ValidationError({"detail": error.message, "errors": {error.field: [error.message]}})


class KpiApi(APIView):
    """Closure rate, on-time closure rate, rework and extension rates, mean times to
    acknowledge and resolve, and satisfaction of a unit's cases reported in [from, to);
    with ``breakdown`` the same per child unit (children with too few cases are not
    ranked), with ``weeks`` received and closed per week."""

    @extend_schema(
        operation_id="kpis_retrieve",
        parameters=[
            OpenApiParameter(
                "level", OpenApiTypes.STR, required=True, enum=kpis.LEVELS, description="unit"
            ),
            OpenApiParameter(
                "code",
                OpenApiTypes.STR,
                required=True,
                description="place code (city, district, town, village, grid, station) or, "
                "for a person, the worker's id",
            ),
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="first day (default: 13 weeks ago)"
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, description="day after the last (default: tomorrow)"
            ),
            OpenApiParameter(
                "breakdown",
                OpenApiTypes.STR,
                description="1 for the default child level, or a child level "
                "(town: village or station)",
            ),
            OpenApiParameter("weeks", OpenApiTypes.BOOL, description="received/closed per week"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        try:
            result = kpi_request(request.query_params, request.user)
        except KpiError as error:
            raise_api_error(error)
        return Response(result.as_dict())
