"""Request parsing shared by the apps' APIs: input serializers that answer in the API's error
shape, the map's ``bbox`` and the rules for longitude, latitude and spatial reference systems.

Messages are constants the tests reuse (translated when raised).
"""

from __future__ import annotations

import copy
import functools
import struct
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from gridmap.api import Invalid

MSG_UNKNOWN_SRID = gettext_noop("Unknown spatial reference system: %(srid)s.")
MSG_LON_LAT_RANGE = gettext_noop(
    "Longitude must be between -180 and 180 and latitude between -90 and 90."
)
MSG_BAD_BBOX = gettext_noop(
    "bbox must be four numbers: min longitude, min latitude, max longitude, max latitude."
)


class InputSerializer(serializers.Serializer):
    """A view's input. ``is_valid(raise_exception=True)`` answers 400 ``{"detail": <the first
    message>, "errors": {field: [messages]}}`` (``gridmap.api.Invalid``); errors come in the
    order the fields are declared.

    ``first_error_only``: report only the first bad field, for inputs checked one at a time.
    """

    first_error_only: ClassVar[bool] = False

    def get_fields(self) -> dict[str, serializers.Field]:
        """The declared fields, each this instance's own. DRF deep-copies them, which builds
        every field again from its arguments (0.15 ms for the incident list's nine, on every
        request). A field with no nested field keeps nothing of its own but what ``bind``
        sets on it, so a shallow copy of its attributes is enough (``copy.copy`` goes through
        ``__reduce_ex__``: half the list's parameter checks); nested ones are deep-copied as
        DRF does."""
        fields: dict[str, serializers.Field] = {}
        for name, field, nested in _declared(type(self)):
            if nested:
                fields[name] = copy.deepcopy(field)
            else:
                clone = object.__new__(type(field))
                clone.__dict__.update(field.__dict__)
                fields[name] = clone
        return fields

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        valid = super().is_valid(raise_exception=False)
        if not valid and raise_exception:
            errors = dict(self.errors)
            if self.first_error_only:
                errors = dict(list(errors.items())[:1])
            raise Invalid(errors)
        return valid


@functools.cache
def _declared(cls: type[InputSerializer]) -> tuple[tuple[str, serializers.Field, bool], ...]:
    """A serializer class's declared fields, each with whether it is nested."""
    return tuple((name, f, _nested(f)) for name, f in cls._declared_fields.items())


def _nested(field: serializers.Field) -> bool:
    """Whether ``field`` holds fields of its own (a list's child, a nested serializer)."""
    return isinstance(field, serializers.BaseSerializer) or any(
        hasattr(field, name) for name in ("child", "child_relation")
    )


# --- longitude, latitude and spatial reference systems ---------------------------------------
def lon_lat_in_range(lon: float, lat: float) -> bool:
    return -180 <= lon <= 180 and -90 <= lat <= 90


def srid_known(srid: int) -> bool:
    """The project's SRID, or one PostGIS knows (``spatial_ref_sys``)."""
    if srid == settings.GRIDMAP_SRID:
        return True
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
        return cur.fetchone() is not None


# --- bbox ------------------------------------------------------------------------------------
# A polygon of one ring of five points as WKB (little-endian): GEOS reads it in one call,
# where ``Polygon.from_bbox`` makes about twenty (15 us against 50 for every map request).
_BOX_WKB = struct.Struct("<BIII10d")


def bbox_of(raw: str) -> Polygon:
    """``minlon,minlat,maxlon,maxlat`` as a polygon (``Polygon.from_bbox``'s ring);
    ``ValueError`` when it is not one."""
    x0, y0, x1, y1 = (float(v) for v in raw.split(","))
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise ValueError(raw)
    ring = (x0, y0, x0, y1, x1, y1, x1, y0, x0, y0)
    return GEOSGeometry(memoryview(_BOX_WKB.pack(1, 3, 1, 5, *ring)))


@extend_schema_field(OpenApiTypes.STR)
class BBoxField(serializers.Field):
    """``bbox=minlon,minlat,maxlon,maxlat`` as a polygon; empty is none."""

    def to_internal_value(self, data: Any) -> Polygon | None:
        if not data:
            return None
        try:
            return bbox_of(str(data))
        except ValueError:
            raise ValidationError(_(MSG_BAD_BBOX)) from None

    def to_representation(self, value: Any) -> Any:
        return None if value is None else ",".join(str(v) for v in value.extent)


def bbox_param(request: Request) -> Polygon | None:
    """The ``bbox`` query parameter (none when absent); a 400 under ``bbox`` when bad."""
    raw = request.query_params.get("bbox")
    try:
        return BBoxField().to_internal_value(raw)
    except ValidationError:
        raise ValidationError({"bbox": [_(MSG_BAD_BBOX)]}) from None


# The largest id a request may name (PostgreSQL's bigint); longer digit strings are not ids.
MAX_ID_DIGITS = 18


def id_of(text: str | None) -> int | None:
    """``text`` as a database id: ASCII digits only (``"²".isdigit()`` is true, ``int("²")``
    fails), at most ``MAX_ID_DIGITS`` of them; None otherwise."""
    text = (text or "").strip()
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
