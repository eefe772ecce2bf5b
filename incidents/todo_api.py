"""``GET /api/todo/``: the signed-in person's to do (``incidents.todo``), a page at a time,
with the count of every action; the other sources' items (``incidents.todo_extra``: key
persons due for a visit) whole, under ``extra``, their counts in ``counts``."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import todo, todo_extra


class TodoPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class TodoApi(APIView):
    """Every case waiting on your action now, by severity (red, yellow, blue) and deadline,
    with ``counts`` per action (``total`` too) and a page of ``results``; under ``extra``,
    the other items waiting on you (``[{"key", "label", "count", "items"}]``: key persons due
    for a visit, each with ``text``, ``url`` (the household file) and ``visit_url``)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        at = timezone.now()
        counts = todo.todo_counts(request.user, now=at)
        paginator = TodoPagination()
        page = paginator.paginate_queryset(todo.todo(request.user, now=at), request, view=self)
        assert page is not None  # page_size is set
        extra = todo_extra.sections(request.user, at)
        counts.update({source.key: 0 for source in todo_extra.sources()})
        counts.update({section["key"]: section["count"] for section in extra})
        return Response(
            {
                "count": paginator.page.paginator.count,
                "counts": {**counts, "total": sum(counts.values())},
                "actions": {key: str(label) for key, label in todo.ACTIONS.items()},
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": [todo.item(i, at=at) for i in page],
                "extra": extra,
            }
        )
