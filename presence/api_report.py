"""The presence report over the API: ``GET /api/presence/?month=YYYY-MM&area=CODE``.

The area must lie inside the user's jurisdiction (404 otherwise, as for every place outside
it); the workers listed are those holding a role inside the area in the month
(``presence.report.presence_figures``). 400 ``{"detail"}`` for a malformed month or area.
"""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import report
from .views_report import MSG_NO_AREA, area_visible


class PresenceReportApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="presence_report",
        parameters=[
            OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM", required=True),
            OpenApiParameter("area", OpenApiTypes.STR, description="an area's code", required=True),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        month = (request.query_params.get("month") or "").strip()
        area = (request.query_params.get("area") or "").strip()
        if report.parse_month(month) is None:
            raise ValidationError({"detail": gettext(report.MSG_BAD_MONTH)})
        if report.area_prefix(area) is None:
            raise ValidationError({"detail": gettext(report.MSG_BAD_AREA)})
        if not area_visible(request.user, area):
            raise NotFound(gettext(MSG_NO_AREA) % {"code": area})
        rows = report.presence_figures(area, month)
        return Response(
            {
                "area": area,
                "month": month,
                "workers": [row.as_dict() for row in rows],
                "flagged": sum(1 for row in rows if row.flagged),
            }
        )
