"""The weekly two-down-two-up over the API (the same services and selectors as the pages).

- ``GET /api/weekly/towns/<code>/?week=``: the town's week: the task list, each station and
  village with its report's status (``on_time``, ``late``, ``missing``, ``pending``) and
  figures, and the deadlines.
- ``POST /api/weekly/towns/<code>/task-list/`` ``{"week", "items": [...], "note"}``
- ``POST /api/weekly/villages/<code>/report/`` ``{"week", "text"}`` (figures pre-filled)
- ``POST /api/weekly/stations/<code>/summary/`` ``{"week", "text"}``

``week`` is any day of the week (its Monday is meant); by default the current week. 403
``{"detail"}`` for a role that may not act, 400 ``{"detail", "errors"}`` for bad input, 404
for a place outside the jurisdiction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.fields import DateTimeField
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import jurisdiction_prefixes
from gridmap.api import object_body
from grids.models import Station, Town, Village

from . import selectors, services
from .models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList
from .views import MSG_BAD_WEEK, MSG_NOT_FOUND

_DATETIME = DateTimeField()
WEEK_PARAM = OpenApiParameter("week", OpenApiTypes.DATE, description="a day of the week")


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def _week(raw: Any) -> dt.date:
    if raw in (None, ""):
        return selectors.current_week()
    try:
        return selectors.week_of(dt.date.fromisoformat(str(raw)))
    except ValueError:
        message = _(MSG_BAD_WEEK) % {"value": str(raw)[:40]}
        raise ValidationError({"detail": message, "errors": {"week": [message]}}) from None


def task_list_body(task_list: WeeklyTaskList | None) -> dict[str, Any] | None:
    if task_list is None or task_list.published_at is None:
        return None
    return {
        "items": task_list.items,
        "note": task_list.note,
        "published_at": _when(task_list.published_at),
    }


def report_body(report: VillageWeeklyReport | StationWeeklySummary | None) -> dict | None:
    if report is None:
        return None
    return {
        "counts": report.counts,
        "text": report.text,
        "submitted_at": _when(report.submitted_at),
    }


class TownWeekApi(APIView):
    @extend_schema(
        operation_id="weekly_town_retrieve",
        parameters=[WEEK_PARAM],
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, code: str) -> Response:
        town = Town.objects.current().filter(code=code).defer("geom").first()
        if town is None or not selectors.can_view(request.user, code):
            raise NotFound(_(MSG_NOT_FOUND) % {"place": _("town"), "code": code})
        tw = selectors.town_week(
            town,
            _week(request.query_params.get("week")),
            prefixes=jurisdiction_prefixes(request.user),
        )
        return Response(
            {
                "town": {"code": town.code, "name": town.name},
                "week": tw.week.isoformat(),
                "village_report_due": _when(tw.village_due),
                "station_summary_due": _when(tw.station_due),
                "task_list": task_list_body(tw.task_list),
                "flags": tw.flags,
                "stations": [
                    {
                        "code": s.code,
                        "name": s.name,
                        "flag": s.flag,
                        "summary": report_body(s.summary),
                        "villages": [
                            {
                                "code": v.code,
                                "name": v.name,
                                "flag": v.flag,
                                "report": report_body(v.report),
                            }
                            for v in s.villages
                        ],  # fmt: skip
                    }
                    for s in tw.stations
                ],
                "villages_without_station": [
                    {
                        "code": v.code,
                        "name": v.name,
                        "flag": v.flag,
                        "report": report_body(v.report),
                    }
                    for v in tw.unassigned
                ],  # fmt: skip
            }
        )


class TaskListPublishApi(APIView):
    @extend_schema(
        operation_id="weekly_task_list_publish",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, code: str) -> Response:
        if not Town.objects.current().filter(code=code).exists() or not selectors.can_view(
            request.user, code
        ):
            raise NotFound(_(MSG_NOT_FOUND) % {"place": _("town"), "code": code})
        body = object_body(request)
        items = body.get("items")
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            message = _(services.MSG_NO_ITEMS)
            raise ValidationError({"detail": message, "errors": {"items": [message]}})
        task_list = services.task_list_publish(
            actor=request.user,
            town_code=code,
            week=_week(body.get("week")),
            items=items,
            note=str(body.get("note") or ""),
        )
        return Response(task_list_body(task_list))


class VillageReportApi(APIView):
    @extend_schema(
        operation_id="weekly_village_report_submit",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, code: str) -> Response:
        if not Village.objects.current().filter(code=code).exists() or not selectors.can_view(
            request.user, code
        ):
            raise NotFound(_(MSG_NOT_FOUND) % {"place": _("village"), "code": code})
        body = object_body(request)
        report = services.village_report_submit(
            actor=request.user,
            village_code=code,
            week=_week(body.get("week")),
            text=str(body.get("text") or ""),
        )
        return Response(report_body(report))


class StationSummaryApi(APIView):
    @extend_schema(
        operation_id="weekly_station_summary_submit",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, code: str) -> Response:
        body = object_body(request)
        station = Station.objects.select_related("town").filter(code=code).first()
        week = _week(body.get("week"))
        villages = [v.code for v in selectors.station_villages(code, week)] if station else []
        if station is None or not selectors.can_view_station(request.user, station, villages):
            raise NotFound(_(MSG_NOT_FOUND) % {"place": _("station"), "code": code})
        summary = services.station_summary_submit(
            actor=request.user,
            station_code=code,
            week=week,
            text=str(body.get("text") or ""),
        )
        return Response(report_body(summary))
