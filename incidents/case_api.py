"""The case API: a case's state, the actions the user may take, its history; acting on it.

- ``GET /api/incidents/<id>/case/``: the case (``case_body``).
- ``POST /api/incidents/<id>/actions/``: JSON ``{"action", "version", "note", "data"}``, or
  multipart with the same fields (``data`` as a JSON text) and up to five ``attachments``.
  200 with the case as it now is; 403 ``{"detail"}`` when the user may not take the action
  now; 409 ``{"detail", "case"}`` when the version is stale (someone else acted first:
  nothing was applied); 400 ``{"detail", "errors": {field: [...]}}`` for bad input; 404 for
  a case the user cannot see.
- ``GET /api/incidents/<id>/public-text/``: the case's approved public text (what the notice
  board shows), who approved it and when, and whether the user may approve.
- ``POST /api/incidents/<id>/public-text/``: JSON ``{"text"}`` approves (or edits, or with an
  empty text withdraws) it (``incidents.publication``): 200 with the new state; 400
  ``{"detail", "errors"}`` for a text that cannot be published; 403 for a role that does not
  review; 404 for a case the user cannot see.

The rules live in ``incidents.workflow``; this module parses and renders.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import can_see_personal_data
from cases.api import (
    ACT_RESPONSES,
    act_answer,
    case_state,
    event_body,
    when,
)
from gridmap.api import object_body

from .api import MSG_UNKNOWN_INCIDENT, _invalid
from .deliveries import deliveries_shown
from .models import CaseAttachment, CaseEvent, Incident
from .publication import PublicationNotAllowed, approve_public_text, may_approve_public_text
from .selectors import incidents_visible_to, sees_people_of
from .workflow import case_act

MSG_TEXT_REQUIRED = gettext_noop("text must be a string (empty withdraws the public text).")


def _attachment_url(incident_id: int, attachment: CaseAttachment) -> str:
    """Through the case page's jurisdiction check when that route exists, else the file."""
    try:
        return reverse("case-attachment", kwargs={"pk": incident_id, "attachment": attachment.pk})
    except NoReverseMatch:
        return attachment.file.url


def case_body(incident: Incident, user: Any) -> dict[str, Any]:
    """The case as the API shows it (two queries: the history and its attachments)."""
    now = timezone.now()
    events = (
        CaseEvent.objects.filter(incident=incident)
        .order_by("seq")
        .prefetch_related(Prefetch("attachments", queryset=CaseAttachment.objects.order_by("id")))
    )
    return {
        **case_state(incident, user, now),
        "history": [
            {
                **event_body(e),
                "attachments": [_attachment_url(incident.pk, a) for a in e.attachments.all()],
            }
            for e in events
        ],
    }


def deliveries_body(incident: Incident, request: Request) -> list[dict[str, Any]]:
    """The delivery states of the messages about the case, as the case page shows them (the
    person by role, a name only for viewers who see the case's people; addresses masked by
    the same rules), with times as ISO 8601."""
    user = request.user
    groups = deliveries_shown(
        incident,
        people=sees_people_of(user, incident),
        personal=can_see_personal_data(user),
    )
    return [
        {
            "who": str(g["who"]),
            "name": g["name"],
            "message": g["message"],
            "at": when(g["at"]),
            "urgent": g["urgent"],
            "deliveries": [
                {
                    "channel": d["channel"],
                    "channel_label": str(d["channel_label"]),
                    "address": d["address"],
                    "state": d["state"],
                    "state_label": str(d["state_label"]),
                    "reason": str(d["reason"]),
                    "attempts": d["attempts"],
                    "last_error": d["last_error"],
                    "at": when(d["at"]),
                    "not_before": when(d["not_before"]),
                }
                for d in [*g["rows"], *g["skipped"]]
            ],
        }
        for g in groups
    ]


def _case(request: Request, pk: int) -> Incident:
    incident = incidents_visible_to(request.user).filter(pk=pk).first()
    if incident is None:
        raise NotFound(_(MSG_UNKNOWN_INCIDENT) % {"id": pk})
    return incident


class CaseApi(APIView):
    """A case: state, owner, deadlines, traffic light, the actions the user may take now and
    the history."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}, operation_id="case_get"
    )
    def get(self, request: Request, pk: int) -> Response:
        incident = _case(request, pk)
        return Response(
            {**case_body(incident, request.user), "deliveries": deliveries_body(incident, request)}
        )


class CaseActionApi(APIView):
    """Take an action on a case (see the module docstring for the answers)."""

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses=ACT_RESPONSES,
        operation_id="case_act",
    )
    def post(self, request: Request, pk: int) -> Response:
        incident = _case(request, pk)
        return act_answer(
            request,
            lambda **args: case_act(actor=request.user, incident_id=incident.pk, **args),
            lambda case: case_body(case, request.user),
        )


def public_text_body(incident: Incident, user: Any) -> dict[str, Any]:
    by = incident.public_text_by
    return {
        "id": incident.pk,
        "text": incident.public_text,
        "approved_by": (by.get_username() if by is not None else None),
        "approved_at": when(incident.public_text_at),
        "may_approve": may_approve_public_text(user),
    }


class PublicTextApi(APIView):
    """The publication review of a case: the text the public notice board shows (see the
    module docstring for the answers)."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        operation_id="case_public_text_get",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(public_text_body(_case(request, pk), request.user))

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
        },
        operation_id="case_public_text_approve",
    )
    def post(self, request: Request, pk: int) -> Response:
        incident = _case(request, pk)
        body = object_body(request)
        text = body.get("text")
        if not isinstance(text, str):
            raise _invalid({"text": [_(MSG_TEXT_REQUIRED)]})
        try:
            incident = approve_public_text(actor=request.user, incident_id=incident.pk, text=text)
        except PublicationNotAllowed as exc:
            return Response({"detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
        except ValidationError as exc:
            errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            raise _invalid(errors) from None
        return Response(public_text_body(incident, request.user))
