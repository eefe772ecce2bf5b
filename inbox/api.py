"""The logged-in worker's inbox: entries routed to them, copied to them, or watched.

A user without a worker (an administrator, say) has an empty inbox, not an error. Messages are
rendered in the request's language. Views parse, call ``inbox.selectors`` and
``inbox.services``, render.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gridmap.messages import render_message

from . import selectors, services
from .models import Notification, RecipientKind

MSG_UNKNOWN_KIND = gettext_noop("Unknown kind %(kind)s; choose one of: %(kinds)s.")
MSG_NOT_BOOLEAN = gettext_noop("%(field)s must be true or false.")
MSG_NO_SUCH_NOTIFICATION = gettext_noop("There is no such notification in your inbox.")

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off"}


class SubjectIdField(serializers.IntegerField):
    """The entry's subject id when the subject is of ``subject_type``, else null: the API names
    each kind of subject in a field of its own (``incident``, ``ten_household_unit``), as it did
    when the subjects were foreign keys."""

    def __init__(self, subject_type: str, **kwargs: Any) -> None:
        self.subject_type = subject_type
        super().__init__(source="*", read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: Notification) -> int | None:  # type: ignore[override]
        return value.subject_id if value.subject_type == self.subject_type else None


class NotificationSerializer(serializers.ModelSerializer):
    message = serializers.SerializerMethodField()
    incident = SubjectIdField("incident")
    ten_household_unit = SubjectIdField("ten_household_unit")

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "message",
            "incident",
            "ten_household_unit",
            "created_at",
            "read_at",
        ]

    def get_message(self, obj: Notification) -> str:
        return render_message(obj.message)


class InboxPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def _kind_param(request: Request) -> str | None:
    """``?kind=``: one of the kinds, as the schema says (empty is refused too)."""
    kind = request.query_params.get("kind")
    if kind is not None and kind not in RecipientKind.values:
        raise ValidationError(
            {"kind": [_(MSG_UNKNOWN_KIND) % {"kind": kind, "kinds": ", ".join(RecipientKind)}]}
        )
    return kind


def _unread_param(request: Request) -> bool:
    """``?unread=``: a boolean (``1``/``0``, ``true``/``false``, ...), or a 400."""
    raw = request.query_params.get("unread")
    if raw is None:
        return False
    if raw.lower() in TRUE_VALUES:
        return True
    if raw.lower() in FALSE_VALUES:
        return False
    raise ValidationError({"unread": [_(MSG_NOT_BOOLEAN) % {"field": "unread"}]})


class InboxApi(APIView):
    """The user's inbox, newest first, with unread counts per kind."""

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=RecipientKind.values),
            OpenApiParameter("unread", OpenApiTypes.BOOL, description="only unread entries"),
            OpenApiParameter("page", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        kind = _kind_param(request)
        qs = selectors.inbox(request.user)
        if kind:
            qs = qs.filter(kind=kind)
        if _unread_param(request):
            qs = qs.filter(read_at__isnull=True)
        paginator = InboxPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        assert page is not None  # page_size is set
        return Response(
            {
                "unread": selectors.inbox_unread_counts(request.user),
                "count": paginator.page.paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": NotificationSerializer(page, many=True).data,
            }
        )


class InboxReadApi(APIView):
    """Mark one of your own entries read; 404 for anyone else's."""

    @extend_schema(request=None, responses={200: NotificationSerializer, 404: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        try:
            notification = services.notification_mark_read(user=request.user, notification_id=pk)
        except Notification.DoesNotExist:
            raise NotFound(_(MSG_NO_SUCH_NOTIFICATION)) from None
        return Response(NotificationSerializer(notification).data)


class InboxReadAllApi(APIView):
    """Mark all your unread entries read (``?kind=`` for one kind only)."""

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("kind", OpenApiTypes.STR, enum=RecipientKind.values)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        kind = _kind_param(request)
        marked = services.notifications_mark_all_read(user=request.user, kind=kind)
        body: dict[str, Any] = {
            "marked": marked,
            "unread": selectors.inbox_unread_counts(request.user),
        }
        return Response(body)
