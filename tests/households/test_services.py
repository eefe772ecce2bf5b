"""Grid derivation in PostGIS: households and ten-household units (buildings: tests/grids)."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from grids.selectors import grid_at_point
from households.models import Household, TenHouseholdUnit
from households.services import households_assign_grids, ten_household_units_refresh
from tests.factories import HouseholdFactory

pytestmark = pytest.mark.django_db


def test_household_grid_is_derived_from_location_with_the_edge_rule(two_grids):
    west, east = two_grids
    inside_east = HouseholdFactory(location=Point(100.07, 0.05, srid=4326))
    on_edge = HouseholdFactory(location=Point(100.05, 0.05, srid=4326))
    outside = HouseholdFactory(location=Point(101.0, 0.05, srid=4326), grid=west)

    households_assign_grids(ids=[inside_east.id, on_edge.id, outside.id])

    got = dict(
        Household.objects.filter(id__in=[inside_east.id, on_edge.id, outside.id]).values_list(
            "id", "grid_id"
        )
    )
    assert got[inside_east.id] == east.id
    # The SQL path and the ORM point lookup agree on a shared edge.
    assert got[on_edge.id] == grid_at_point(on_edge.location).id == west.id
    assert got[outside.id] is None


def test_unit_refresh_sets_grid_from_head_and_draws_an_area_around_members(two_grids):
    west, _ = two_grids
    members = [
        HouseholdFactory(location=Point(100.01 + i * 0.0002, 0.01, srid=4326)) for i in range(10)
    ]
    households_assign_grids(ids=[m.id for m in members])
    unit = TenHouseholdUnit.objects.create(name="unit", head_household=members[0])
    Household.objects.filter(id__in=[m.id for m in members]).update(ten_household_unit=unit)

    assert ten_household_units_refresh(ids=[unit.id]) == 1

    unit.refresh_from_db()
    assert unit.grid_id == west.id
    assert unit.geom is not None and unit.geom.valid
    for m in members:
        assert unit.geom.contains(m.location)
