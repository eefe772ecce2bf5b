"""API of the care area: the household file, the map's building households, the search.

- ``GET /api/households/<key>/file/``: the household file (``presence.household_file``);
- ``GET /api/households/search/?q=``: households by number or address, a page at a time;
- ``GET /api/buildings/<id>/households/``: the households of a building (the map's click).

Inside the user's jurisdiction only; an outside household or building answers 404.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import household_file

MSG_NO_HOUSEHOLD = gettext_noop("There is no household %(key)s in your jurisdiction.")
MSG_NO_BUILDING = gettext_noop("There is no building %(id)s in your jurisdiction.")


class HouseholdFileApi(APIView):
    """The household file (民情档案): the household, its places and people, visits, cases
    and key-person status, personal fields masked per role."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, key: str) -> Response:
        household = household_file.household_for(request.user, key)
        if household is None:
            raise NotFound(_(MSG_NO_HOUSEHOLD) % {"key": key})
        return Response(household_file.household_file(request.user, household))


class SearchPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class HouseholdSearchApi(APIView):
    """Households of your jurisdiction whose number is ``q`` or whose address contains it
    (three characters or more)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="household number or address"),
            OpenApiParameter("page", OpenApiTypes.INT),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        qs = household_file.household_search(request.user, request.query_params.get("q", ""))
        paginator = SearchPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([household_file.search_row(h) for h in page or []])


class BuildingHouseholdsApi(APIView):
    """The households of a building, each with the link to its file (the map's click)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        building = household_file.building_for(request.user, pk)
        if building is None:
            raise NotFound(_(MSG_NO_BUILDING) % {"id": pk})
        return Response(household_file.building_households(request.user, building))
