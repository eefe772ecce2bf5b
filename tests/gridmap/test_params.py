"""Request parsing shared by the APIs (gridmap.params): bbox, lon/lat range, known SRIDs."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Polygon
from django.utils.translation import gettext
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from gridmap.params import (
    MSG_BAD_BBOX,
    BBoxField,
    InputSerializer,
    bbox_of,
    bbox_param,
    lon_lat_in_range,
    srid_known,
)


def request(**params: str) -> Request:
    return Request(APIRequestFactory().get("/", params))


def test_bbox_is_a_polygon_of_its_four_numbers():
    bbox = bbox_param(request(bbox="100,0,100.5,0.25"))
    assert bbox.extent == (100.0, 0.0, 100.5, 0.25)
    assert bbox_of("-180,-90,180,90").extent == (-180.0, -90.0, 180.0, 90.0)


@pytest.mark.parametrize(
    "raw",
    ["100,0,100.5,0.25", "0,0,0,0", "-180,-90,180,90", "108.644288,21.979156,109.32489,22.36"],
)
def test_the_bbox_is_the_ring_polygon_from_bbox_makes(raw):
    ours = bbox_of(raw)
    theirs = Polygon.from_bbox(tuple(float(v) for v in raw.split(",")))
    assert type(ours) is Polygon and ours.srid is None
    assert ours.wkt == theirs.wkt and ours.equals_exact(theirs, 0)


class _Nested(InputSerializer):
    name = serializers.CharField(max_length=5)
    codes = serializers.ListField(child=serializers.CharField(max_length=3))


def test_each_input_has_its_own_fields_and_the_declared_ones_stay_unbound():
    first = _Nested(data={"name": "abc", "codes": ["a"]})
    second = _Nested(data={"name": "toolong", "codes": ["toolong"]})
    assert first.is_valid() and not second.is_valid()
    assert set(second.errors) == {"name", "codes"}
    for name in ("name", "codes"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert _Nested._declared_fields[name].parent is None
    # A list's child belongs to its own list (deep-copied, as DRF does).
    assert first.fields["codes"].child is not second.fields["codes"].child
    assert first.fields["codes"].child.parent is first.fields["codes"]
    assert first.validated_data == {"name": "abc", "codes": ["a"]}


@pytest.mark.parametrize("params", [{}, {"bbox": ""}])
def test_no_bbox_is_none(params):
    assert bbox_param(request(**params)) is None


@pytest.mark.parametrize(
    "raw",
    ["1,2,3", "1,2,3,4,5", "a,b,c,d", "nan,0,1,1", "0,0,inf,1", "1,0,0,1", "0,1,1,0", "0,0,181,1"],
)
def test_a_bad_bbox_is_400_under_bbox(raw):
    with pytest.raises(ValidationError) as raised:
        bbox_param(request(bbox=raw))
    assert raised.value.detail == {"bbox": [gettext(MSG_BAD_BBOX)]}
    with pytest.raises(ValidationError):
        BBoxField().to_internal_value(raw)


def test_the_bbox_field_reads_and_writes_the_parameter():
    field = BBoxField()
    assert field.to_internal_value("") is None
    assert field.to_representation(field.to_internal_value("1,2,3,4")) == "1.0,2.0,3.0,4.0"


@pytest.mark.parametrize(
    ("lon", "lat", "ok"),
    [(0, 0, True), (180, 90, True), (-180, -90, True), (180.1, 0, False), (0, -90.1, False),
     (float("nan"), 0, False)],
)  # fmt: skip
def test_lon_lat_range(lon, lat, ok):
    assert lon_lat_in_range(lon, lat) is ok


@pytest.mark.django_db
def test_srid_known():
    assert srid_known(4326) and srid_known(3857)
    assert not srid_known(999999)
