"""Read API for households. Personal fields are masked for roles that do not need them."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from accounts.selectors import can_see_personal_data, scope_q
from gridmap import personal_data
from gridmap.geojson import GeoJsonPagination, feature_collection
from gridmap.messages import render_messages
from gridmap.params import bbox_param

from . import services
from .models import CentralHousehold, Household, TenHouseholdUnit
from .routing import render_explanation, shown_phone


class HouseholdSerializer(GeoFeatureModelSerializer):
    grid = serializers.CharField(source="grid.code", default=None)
    ten_household_unit = serializers.IntegerField(source="ten_household_unit_id", allow_null=True)
    # The CentralHousehold id (what POST /api/ten-household-units/ takes), or null.
    central_household = serializers.IntegerField(
        source="central_household_pk", allow_null=True, default=None
    )
    is_central_household = serializers.SerializerMethodField()
    # Shown masked (450702********3014, 132****5854) to roles that do not visit households:
    # documented as text, not as the model's formats (tests/security/test_schema_fuzz.py).
    id_number = serializers.CharField(read_only=True, help_text="masked unless the role visits")
    phone = serializers.CharField(read_only=True, help_text="masked unless the role visits")

    class Meta:
        model = Household
        geo_field = "location"
        fields = [
            "id",
            "address",
            "grid",
            "size",
            "tags",
            "head_name",
            "id_number",
            "phone",
            "ten_household_unit",
            "central_household",
            "is_central_household",
        ]

    def get_is_central_household(self, instance: Household) -> bool:
        return getattr(instance, "central_household_pk", None) is not None

    def to_representation(self, instance: Household) -> dict[str, Any]:
        data = super().to_representation(instance)
        # The one masking rule, which also logs an unmasked view (gridmap.personal_data).
        props = data["properties"]
        visible = bool(self.context.get("personal_data"))
        code = instance.grid.code if instance.grid is not None else None
        for kind in personal_data.FIELDS:
            props[kind] = personal_data.show(
                getattr(instance, kind),
                kind=kind,
                visible=visible,
                record_type="household",
                record_id=instance.pk,
                code=code,
            )
        return data


class HouseholdPagination(GeoJsonPagination):
    page_size = 200
    # Picking the members of a ten-household unit loads every household in the map view.
    max_page_size = 5000
    page_size_query_param = "page_size"


class HouseholdListApi(ListAPIView):
    """Households in the user's jurisdiction as GeoJSON, filterable by ``grid`` code and
    ``bbox``, with their ten-household unit and central-household flag."""

    serializer_class = HouseholdSerializer
    pagination_class = HouseholdPagination

    def get_queryset(self):  # type: ignore[override]
        qs = (
            Household.objects.select_related("grid")
            .annotate(central_household_pk=F("central_household__id"))
            .order_by("id")
        )
        scope = scope_q(self.request.user, "grid__code")
        if scope is not None:
            qs = qs.filter(scope)
        grid = self.request.query_params.get("grid")
        if grid:
            qs = qs.filter(grid__code=grid)
        bbox = bbox_param(self.request)
        if bbox is not None:
            qs = qs.filter(location__intersects=bbox)
        return qs

    def get_serializer_context(self) -> dict[str, Any]:
        ctx = super().get_serializer_context()
        ctx["personal_data"] = can_see_personal_data(self.request.user)
        return ctx

    @extend_schema(
        parameters=[
            OpenApiParameter("grid", str, description="grid code"),
            OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat"),
        ]
    )
    def get(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().get(request, *args, **kwargs)


# --- ten-household units --------------------------------------------------------------------
MAX_UNITS = 5000


class TenHouseholdUnitCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    head_household = serializers.IntegerField()
    central_household = serializers.IntegerField(required=False, allow_null=True, default=None)
    members = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)

    def validate_members(self, value: list[int]) -> list[int]:
        if not value:
            raise serializers.ValidationError(_(services.MSG_MEMBERS_REQUIRED))
        return value


def render_warnings(warnings: list[dict[str, Any]] | None) -> list[str]:
    return render_messages(warnings)


def unit_created_body(unit: TenHouseholdUnit, *, personal: bool) -> dict[str, Any]:
    """The response to a created unit: identity, grid, size, warnings, who it went to
    (a central household's phone as ``personal`` allows)."""
    grid = unit.grid
    return {
        "id": unit.pk,
        "name": unit.name,
        "grid": {"code": grid.code, "name": grid.name} if grid is not None else None,
        "households": unit.member_count,
        "warnings": render_warnings(unit.warnings),
        "recipients": [
            {
                "name": r.name,
                "phone": shown_phone(
                    r.phone,
                    r.responder,
                    visible=personal,
                    record_type="worker",
                    record_id=r.worker_id,
                    code=grid.code if grid is not None else None,
                ),
                "responder": r.responder,
                "role": r.role,
                "kind": r.kind,
            }
            for r in unit.routing.recipients
        ],
        "explanation": render_explanation(unit.routing.explanation),
        "geometry": json.loads(unit.geom.geojson) if unit.geom is not None else None,
    }


class TenHouseholdUnitApi(APIView):
    """Ten-household units: the map layer (GET) and a new unit from picked households (POST).

    POST takes ``{"name", "head_household": id, "central_household": id|null, "members":
    [ids]}`` (household ids; the head is added to the members when missing; the central
    household is a CentralHousehold id, as in the households layer) and answers 201 with the
    unit, its warnings in the user's language and the leader and guide it was routed to.
    """

    @extend_schema(
        parameters=[
            OpenApiParameter("bbox", OpenApiTypes.STR, description="minlon,minlat,maxlon,maxlat")
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        bbox = bbox_param(request)
        qs = TenHouseholdUnit.objects.all()
        scope = scope_q(request.user, "grid__code")
        if scope is not None:
            qs = qs.filter(scope)
        if bbox is not None:
            qs = qs.filter(geom__bboverlaps=bbox)
        ids = list(qs.order_by("id").values_list("id", flat=True)[: MAX_UNITS + 1])
        members = (
            Household.objects.filter(ten_household_unit=OuterRef("pk"))
            .order_by()
            .values("ten_household_unit")
            .annotate(n=Count("id"))
            .values("n")
        )
        props = {
            "id": F("id"),
            "name": F("name"),
            "grid_code": F("grid__code"),
            "households": Coalesce(Subquery(members), 0),
            "has_central_household": ExpressionWrapper(
                Q(central_household__isnull=False), output_field=BooleanField()
            ),
            "warnings": F("warnings"),
        }
        body = feature_collection(
            TenHouseholdUnit.objects.filter(id__in=ids[:MAX_UNITS]),
            geom="geom",
            properties=props,
            fid=F("id"),
        )
        for feature in body["features"]:
            feature["properties"]["warnings"] = render_warnings(feature["properties"]["warnings"])
        body["truncated"] = len(ids) > MAX_UNITS
        return Response(body)

    @extend_schema(
        request=TenHouseholdUnitCreateSerializer,
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        params = TenHouseholdUnitCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        head = Household.objects.filter(pk=data["head_household"]).first()
        if head is None:
            raise ValidationError(
                {
                    "head_household": [
                        _(services.MSG_UNKNOWN_HOUSEHOLDS) % {"ids": data["head_household"]}
                    ]
                }
            )
        central = None
        if data["central_household"] is not None:
            central = (
                CentralHousehold.objects.select_related("household")
                .filter(pk=data["central_household"])
                .first()
            )
            if central is None:
                raise ValidationError(
                    {
                        "central_household": [
                            _(services.MSG_UNKNOWN_CENTRAL_HOUSEHOLD)
                            % {"id": data["central_household"]}
                        ]
                    }
                )
        # A refusal (Django's ValidationError) becomes a 400 in gridmap.api's handler.
        unit = services.ten_household_unit_create(
            actor=request.user,
            name=data["name"],
            head_household=head,
            member_ids=data["members"],
            central_household=central,
        )
        return Response(
            unit_created_body(unit, personal=can_see_personal_data(request.user)),
            status=status.HTTP_201_CREATED,
        )
