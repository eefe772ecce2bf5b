"""GeoJSON built in PostgreSQL: one statement, no GEOS objects in Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.postgres.aggregates import JSONBAgg
from django.db.models import JSONField, QuerySet, Value
from django.db.models.functions import Cast, JSONObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework.request import Request
from rest_framework_gis import pagination

from gridmap.api import Invalid

# The same message as the incidents list's page parameters.
MSG_BAD_PAGE = gettext_noop("%(field)s must be a whole number from 1 to %(max)s.")


def feature_collection(
    qs: QuerySet,
    *,
    geom: str,
    properties: dict[str, Any],
    fid: Any,
    order_by: Sequence[str] = (),
    precision: int = 6,
) -> dict[str, Any]:
    """The rows of ``qs`` as a GeoJSON FeatureCollection, aggregated by ``jsonb_agg``.

    ``properties`` maps property names to expressions (``F("code")``, ``Value(...)``, ...);
    ``fid`` is the feature id expression; ``order_by`` orders the features inside the
    aggregate.
    """
    feature = JSONObject(
        type=Value("Feature"),
        id=fid,
        geometry=Cast(AsGeoJSON(geom, precision=precision), JSONField()),
        properties=JSONObject(**properties),
    )
    agg = qs.aggregate(
        features=JSONBAgg(feature, order_by=tuple(order_by), default=Value([], JSONField()))
    )
    return {"type": "FeatureCollection", "features": agg["features"] or []}


class GeoJsonPagination(pagination.GeoJsonPagination):
    """rest_framework_gis' page of features (``{"type": "FeatureCollection", "count", "next",
    "previous", "features"}``), documented as it is answered: rest_framework_gis documents a
    page as ``{count, results}`` with a whole FeatureCollection under ``features``. A
    ``page_size`` that is not a whole number is refused, not ignored."""

    def get_page_size(self, request: Request) -> int | None:
        """``page_size``: a whole number from 1 (above ``max_page_size``: that), or a 400;
        DRF would silently use the default for anything else."""
        name = self.page_size_query_param
        raw = request.query_params.get(name) if name else None
        if raw is None:
            return self.page_size
        maximum = self.max_page_size or self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise Invalid({name: [_(MSG_BAD_PAGE) % {"field": name, "max": maximum}]})
        return min(int(raw), maximum)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # ``schema``: the serializer's FeatureCollection (``type`` and ``features``).
        page = {
            "type": "object",
            "required": ["type", "count", "features"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
        return {"allOf": [schema, page]}
