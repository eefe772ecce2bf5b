"""grids.services: a building's grid is derived from its footprint in PostGIS."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Polygon

from grids.services import buildings_assign_grids
from tests.factories import BuildingFactory

pytestmark = pytest.mark.django_db


def test_building_grid_is_derived_from_its_footprint(two_grids):
    _, east = two_grids
    b = BuildingFactory(footprint=Polygon.from_bbox((100.07, 0.01, 100.0702, 0.0102)))
    buildings_assign_grids(ids=[b.id])
    b.refresh_from_db()
    assert b.grid_id == east.id
