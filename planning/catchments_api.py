"""``GET /api/catchments/?town=..&at=DATE``: the village -> station assignment valid on a day.

Any logged-in user may read the catchments inside their jurisdiction (a catchment is not
personal data); a town outside it is "not there" (404), as elsewhere in the API.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_date
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
from grids.models import CatchmentAssignment, Town

MSG_TOWN_REQUIRED = gettext_noop("Give the town: ?town= and its 9-digit code.")
MSG_TOWN_FORMAT = gettext_noop("%(code)s is not a town code (9 digits).")
MSG_TOWN_NOT_FOUND = gettext_noop("There is no town %(code)s in your jurisdiction.")
MSG_BAD_DATE = gettext_noop("%(value)s is not a date; write it as YYYY-MM-DD.")


def catchments_on(town_code: str, on: dt.date) -> list[dict[str, object]]:
    """The assignment of the town's villages valid on ``on``: one row per village, with the
    period of the version it belongs to."""
    rows = (
        CatchmentAssignment.objects.active(on)
        .filter(village__code__startswith=town_code)
        .order_by("village__code", "id")
        .values_list("village__code", "village__name", "station__code", "station__name", "period")
    )
    out: dict[str, dict[str, object]] = {}
    for village, village_name, station, station_name, period in rows:
        out.setdefault(
            village,
            {
                "village_code": village,
                "village_name": village_name,
                "station_code": station,
                "station_name": station_name,
                "valid_from": period.lower.isoformat() if period.lower else None,
                "valid_until": period.upper.isoformat() if period.upper else None,
            },
        )
    return list(out.values())


class CatchmentsApi(APIView):
    """The catchment assignment of a town valid on a date (today by default)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("town", OpenApiTypes.STR, required=True, description="town code"),
            OpenApiParameter(
                "at", OpenApiTypes.DATE, required=False, description="the day (default today)"
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        code = (request.query_params.get("town") or "").strip()
        if not code:
            raise ValidationError({"town": [_(MSG_TOWN_REQUIRED)]})
        if len(code) != 9 or not code.isdigit():
            raise ValidationError({"town": [_(MSG_TOWN_FORMAT) % {"code": code}]})
        raw = (request.query_params.get("at") or "").strip()
        try:
            on = parse_date(raw) if raw else timezone.localdate()
        except ValueError:
            on = None
        if on is None:
            raise ValidationError({"at": [_(MSG_BAD_DATE) % {"value": raw}]})
        prefixes = jurisdiction_prefixes(request.user)
        allowed = covers(prefixes, code)
        if not allowed or not Town.objects.filter(code=code).exists():
            raise NotFound(_(MSG_TOWN_NOT_FOUND) % {"code": code})
        villages = catchments_on(code, on)
        return Response({"town": code, "at": on.isoformat(), "villages": villages})
