"""Read API for households. Personal fields are masked for roles that do not need them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from accounts.selectors import can_see_personal_data, scope_q

from .models import Household

MASK = "***"


def mask_id_number(value: str) -> str:
    return f"{value[:6]}********{value[-4:]}" if len(value) == 18 else (MASK if value else "")


def mask_phone(value: str) -> str:
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 7 else (MASK if value else "")


class HouseholdSerializer(GeoFeatureModelSerializer):
    grid = serializers.CharField(source="grid.code", default=None)

    class Meta:
        model = Household
        geo_field = "location"
        fields = ["id", "address", "grid", "size", "tags", "head_name", "id_number", "phone"]

    def to_representation(self, instance: Household) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("personal_data"):
            props = data["properties"]
            props["id_number"] = mask_id_number(instance.id_number)
            props["phone"] = mask_phone(instance.phone)
        return data


class HouseholdPagination(GeoJsonPagination):
    page_size = 200
    max_page_size = 1000
    page_size_query_param = "page_size"


class HouseholdListApi(ListAPIView):
    """Households in the user's jurisdiction as GeoJSON, filterable by ``grid`` code."""

    serializer_class = HouseholdSerializer
    pagination_class = HouseholdPagination

    def get_queryset(self):  # type: ignore[override]
        qs = Household.objects.select_related("grid").order_by("id")
        scope = scope_q(self.request.user, "grid__code")
        if scope is not None:
            qs = qs.filter(scope)
        grid = self.request.query_params.get("grid")
        if grid:
            qs = qs.filter(grid__code=grid)
        return qs

    def get_serializer_context(self) -> dict[str, Any]:
        ctx = super().get_serializer_context()
        ctx["personal_data"] = can_see_personal_data(self.request.user)
        return ctx

    @extend_schema(parameters=[OpenApiParameter("grid", str, description="grid code")])
    def get(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().get(request, *args, **kwargs)
