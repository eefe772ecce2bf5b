"""The service request API.

- ``GET /api/service-requests/``: the requests in the user's jurisdiction, newest first,
  paginated (``page``, ``page_size``), filtered by ``status``, ``item`` (code) and
  ``village`` (code); ``open=1`` only those still open.
- ``POST /api/service-requests/``: take a request: JSON ``{"item" (id), "household" (id) or
  "village" (code), "applicant_name", "applicant_phone", "matter", "channel", "visit" (id),
  "client_uuid"}``; 201 with the request, 200 when ``client_uuid`` was received before, 400
  ``{"detail", "errors"}`` by field, 403 for a user who does not work for the village.
- ``GET /api/service-requests/<id>/``: the request: its state, promise, steps, the actions
  the user may take (with the service's labels) and the history; 404 outside the
  jurisdiction.
- ``POST /api/service-requests/<id>/actions/``: ``{"action", "version", "note", "data"}``
  as the incidents' case API (``cases.api``): 200 with the request, 403 ``{"detail"}``,
  409 ``{"detail", "request"}`` for a stale version, 400 ``{"detail", "errors"}``.

The applicant's name and phone are personal data: shown through ``gridmap.personal_data``
(the phone masked for roles that do not visit households, logged when shown; the name as
a household head's).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import can_see_personal_data
from cases.api import ACT_RESPONSES, act_answer, case_state, event_body, when
from cases.kinds import kind_of
from cases.models import OPEN_STATUSES
from cases.workflow import action_label
from gridmap import personal_data
from gridmap.api import Invalid, object_body, page_links
from gridmap.params import InputSerializer
from grids.models import Village
from presence.visits import households_visible_to, visits_visible_to

from .models import Channel, ServiceItem, ServiceRequest, ServiceStatus
from .selectors import applicant_shown, promised_date, requests_visible_to
from .services import service_request_act, service_request_create

MSG_UNKNOWN_REQUEST = gettext_noop("There is no service request %(id)s in your jurisdiction.")
MSG_UNKNOWN = gettext_noop("There is no %(what)s %(value)s.")
MSG_BAD_NUMBER = gettext_noop("%(field)s must be a whole number from 1 to %(max)s.")
MSG_BAD_STATUS = gettext_noop("Unknown status %(value)s; choose one of: %(choices)s.")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_PAGE = 10000


def _number(params: Any, field: str, default: int, maximum: int) -> int:
    value = params.get(field)
    if value in (None, ""):
        return default
    if not str(value).isdigit() or not 1 <= int(value) <= maximum:
        raise Invalid({field: [_(MSG_BAD_NUMBER) % {"field": field, "max": maximum}]})
    return int(value)


def request_summary(request: ServiceRequest, user: Any, *, personal: bool) -> dict[str, Any]:
    """A request as the list shows it (the applicant masked unless ``personal``)."""
    return {
        "id": request.pk,
        "short_code": request.short_code,
        "item": {"id": request.item_id, "code": request.item.code, "name": request.item.name},
        "village": {"code": request.village.code, "name": request.village.name},
        "household": request.household_id,
        # Masked as a household head's name and phone are (and logged when shown).
        "applicant_name": applicant_shown(
            request, "applicant_name", personal_data.HEAD_NAME, visible=personal
        ),
        "applicant_phone": applicant_shown(
            request, "applicant_phone", personal_data.PHONE, visible=personal
        ),
        "channel": request.channel,
        "status": request.status,
        "status_label": str(ServiceStatus(request.status).label),
        "received_at": when(request.reported_at),
        "promised_on": promised_date(request).isoformat(),
        "resolved_at": when(request.resolved_at),
        "closed_at": when(request.closed_at),
        "owner_level": request.owner_level,
        "satisfaction": request.satisfaction,
    }


def request_body(request: ServiceRequest, user: Any) -> dict[str, Any]:
    """The request with its state, the actions the user may take (and their labels), its
    steps and its history."""
    now = timezone.now()
    kind = kind_of(request)
    state = case_state(request, user, now)
    return {
        **request_summary(request, user, personal=can_see_personal_data(user)),
        **state,
        "matter": request.matter,
        "first_receiver": request.first_receiver.name if request.first_receiver else None,
        "action_labels": {a: action_label(kind, a) for a in state["allowed_actions"]},
        "steps": [
            {
                "number": s.number,
                "office": s.office,
                "level": s.level,
                "handed_at": when(s.handed_at),
                "promised_on": s.promised_on.isoformat(),
                "back_at": when(s.back_at),
                "note": s.note,
            }
            for s in request.steps.order_by("number")
        ],
        "history": [event_body(e) for e in request.events.order_by("seq")],
    }


def _request(request: Request, pk: int) -> ServiceRequest:
    found = (
        requests_visible_to(request.user)
        .select_related("item", "village", "first_receiver")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise NotFound(_(MSG_UNKNOWN_REQUEST) % {"id": pk})
    return found


class ServiceRequestInput(InputSerializer):
    """A new request's fields (ids of the item, household and visit; the village's code)."""

    item = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    household = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    village = serializers.CharField(required=False, allow_blank=True, max_length=12)
    visit = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    applicant_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    applicant_phone = serializers.CharField(required=False, allow_blank=True, max_length=200)
    matter = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    channel = serializers.CharField(required=False, allow_blank=True, max_length=20)
    client_uuid = serializers.UUIDField(required=False, allow_null=True)


def _found(qs: Any, what: str, value: Any, **lookup: Any) -> Any:
    if value in (None, ""):
        return None
    found = qs.filter(**lookup).first()
    if found is None:
        # The thing named in the reader's language (the model's name: 服务事项, 住户, ...).
        name = str(qs.model._meta.verbose_name)
        raise Invalid({what: [_(MSG_UNKNOWN) % {"what": name, "value": value}]})
    return found


def _create_args(request: Request) -> dict[str, Any]:
    body = object_body(request)
    # An empty field is a field not given (a form sends every field).
    given = ServiceRequestInput(
        data={k: body.get(k) for k in ServiceRequestInput().fields if body.get(k) not in ("", None)}
    )
    given.is_valid(raise_exception=True)
    v = given.validated_data
    return {
        "item": _found(ServiceItem.objects, "item", v.get("item"), pk=v.get("item")),
        "household": _found(
            households_visible_to(request.user),
            "household",
            v.get("household"),
            pk=v.get("household"),
        ),
        "village": _found(
            Village.objects.current(), "village", v.get("village"), code=v.get("village")
        ),
        "visit": _found(
            visits_visible_to(request.user), "visit", v.get("visit"), pk=v.get("visit")
        ),
        "applicant_name": v.get("applicant_name", ""),
        "applicant_phone": v.get("applicant_phone", ""),
        "matter": v.get("matter", ""),
        "channel": v.get("channel") or Channel.DESK,
        "client_uuid": v.get("client_uuid"),
    }


class ServiceRequestListApi(APIView):
    """``GET`` the requests in the user's jurisdiction; ``POST`` take one (see the module
    docstring)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="service_requests_list")
    def get(self, request: Request) -> Response:
        params = request.query_params
        page = _number(params, "page", 1, MAX_PAGE)
        size = _number(params, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        qs = requests_visible_to(request.user)
        wanted = params.get("status")
        if wanted:
            if wanted not in ServiceStatus.values:
                choices = ", ".join(ServiceStatus.values)
                raise Invalid(
                    {"status": [_(MSG_BAD_STATUS) % {"value": wanted, "choices": choices}]}
                )
            qs = qs.filter(status=wanted)
        if params.get("open") in ("1", "true"):
            qs = qs.filter(status__in=OPEN_STATUSES)
        if params.get("item"):
            qs = qs.filter(item__code=params["item"])
        if params.get("village"):
            qs = qs.filter(village__code=params["village"])
        count = qs.count()
        start = (page - 1) * size
        rows = qs.select_related("item", "village").order_by("-reported_at", "-id")[
            start : start + size
        ]
        personal = can_see_personal_data(request.user)
        return Response(
            {
                "count": count,
                **page_links(request, page, start + size < count),
                "results": [request_summary(r, request.user, personal=personal) for r in rows],
            }
        )

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        operation_id="service_requests_create",
    )
    def post(self, request: Request) -> Response:
        args = _create_args(request)
        known = args["client_uuid"] and (
            requests_visible_to(request.user).filter(client_uuid=args["client_uuid"]).exists()
        )
        created = service_request_create(actor=request.user, **args)
        code = status.HTTP_200_OK if known else status.HTTP_201_CREATED
        return Response(request_body(created, request.user), status=code)


class ServiceRequestDetailApi(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        operation_id="service_request_get",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(request_body(_request(request, pk), request.user))


class ServiceRequestActionApi(APIView):
    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses=ACT_RESPONSES,
        operation_id="service_request_act",
    )
    def post(self, request: Request, pk: int) -> Response:
        found = _request(request, pk)
        return act_answer(
            request,
            lambda **args: service_request_act(actor=request.user, request_id=found.pk, **args),
            lambda case: request_body(_request(request, case.pk), request.user),
            conflict_key="request",
            attachments=False,
        )
