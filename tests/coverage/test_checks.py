"""Coverage checks 1-6 on a small hand-built town where every answer is known.

Layout (lon 100, lat 0; 0.01° is about 1.1 km):
- village A = [100.00, 100.01]: grids A1 [100.00, 100.005] and A2 [100.005, 100.0099]:
  a 0.0001° x 0.01° gap along its east edge;
- village B = [100.02, 100.03]: grids B1 [100.02, 100.0251] and B2 [100.025, 100.03]:
  a 0.0001° x 0.01° overlap;
- village C = [100.01, 100.02]: one grid short of the east edge by 5e-8° (5.6 mm): a sliver,
  not a gap;
- village D = [100.01, 100.02] x [0.01, 0.02] (touches C) and village E (no station).
Station S1 holds A and B (not contiguous, too few), S2 holds C and D (contiguous).
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from coverage import checks
from grids.models import Role
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    TenHouseholdUnit,
)
from tests.factories import (
    BuildingFactory,
    CatchmentAssignmentFactory,
    GridFactory,
    HouseholdFactory,
    RoleAssignmentFactory,
    StationFactory,
    TownFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)


def geography_area(ewkt: str) -> float:
    with connection.cursor() as cur:
        cur.execute("SELECT ST_Area(ST_GeomFromEWKT(%s)::geography)", [ewkt])
        return cur.fetchone()[0]


def households(grid, n: int, **kw) -> list[Household]:
    return Household.objects.bulk_create(
        Household(
            address=f"{grid.code} {i}",
            location=Point(100.001, 0.001, srid=4326),
            grid=grid,
            head_name="Head",
            **kw,
        )
        for i in range(n)
    )


@pytest.fixture
def town(db):
    town = TownFactory()
    a = VillageFactory(town=town, geom=rect(100.0, 0.0, 100.01, 0.01))
    b = VillageFactory(town=town, geom=rect(100.02, 0.0, 100.03, 0.01))
    c = VillageFactory(town=town, geom=rect(100.01, 0.0, 100.02, 0.01))
    d = VillageFactory(town=town, geom=rect(100.01, 0.01, 100.02, 0.02))
    e = VillageFactory(town=town, geom=rect(100.05, 0.05, 100.06, 0.06))
    grids = {
        "A1": GridFactory(village=a, geom=rect(100.0, 0.0, 100.005, 0.01)),
        "A2": GridFactory(village=a, geom=rect(100.005, 0.0, 100.0099, 0.01)),
        "B1": GridFactory(village=b, geom=rect(100.02, 0.0, 100.0251, 0.01)),
        "B2": GridFactory(village=b, geom=rect(100.025, 0.0, 100.03, 0.01)),
        "C1": GridFactory(village=c, geom=rect(100.01, 0.0, 100.01999995, 0.01)),
        "D1": GridFactory(village=d, geom=d.geom),
        "E1": GridFactory(village=e, geom=e.geom),
    }
    s1 = StationFactory(town=town)
    s2 = StationFactory(town=town)
    for station, village in [(s1, a), (s1, b), (s2, c), (s2, d)]:
        CatchmentAssignmentFactory(station=station, village=village)
    return {"town": town, "villages": (a, b, c, d, e), "grids": grids, "stations": (s1, s2)}


# --- 1. tiling ------------------------------------------------------------------------------
def test_tiling_finds_the_gap_and_the_overlap_with_their_areas(town):
    a, b, *_ = town["villages"]
    result = checks.check_tiling(town["town"].code)
    expected = geography_area("SRID=4326;POLYGON((0 0,0.0001 0,0.0001 0.01,0 0.01,0 0))")
    assert expected == pytest.approx(12_308, rel=0.01)  # 11.13 m x 1105.7 m

    [gap] = result["gaps"]
    assert gap["village"] == a.code
    assert gap["area_m2"] == pytest.approx(expected, rel=0.005)
    lon, lat = gap["location"]
    assert 100.0099 <= lon <= 100.01 and 0 <= lat <= 0.01

    [overlap] = result["overlaps"]
    assert overlap["village"] == b.code
    assert overlap["grids"] == [town["grids"]["B1"].code, town["grids"]["B2"].code]
    assert overlap["area_m2"] == pytest.approx(expected, rel=0.005)
    lon, lat = overlap["location"]
    assert 100.025 <= lon <= 100.0251

    assert result["villages"] == 5
    assert result["villages_with_gaps"] == [a.code]
    assert result["villages_with_overlaps"] == [b.code]
    assert result["gap_area_m2"] == pytest.approx(expected, rel=0.005)


def test_tiling_drops_slivers_under_a_centimetre(town):
    c = town["villages"][2]
    result = checks.check_tiling(town["town"].code)
    assert c.code not in result["villages_with_gaps"]


def test_a_village_without_grids_is_one_whole_gap(town):
    village = VillageFactory(town=town["town"], geom=rect(100.07, 0.07, 100.08, 0.08))
    result = checks.check_tiling(town["town"].code)
    [gap] = [g for g in result["gaps"] if g["village"] == village.code]
    assert gap["area_m2"] == pytest.approx(
        geography_area(
            "SRID=4326;POLYGON((100.07 0.07,100.08 0.07,100.08 0.08,100.07 0.08,100.07 0.07))"
        ),
        rel=0.005,
    )


def test_tiling_lists_buildings_and_households_in_no_grid(town):
    inside = HouseholdFactory(location=Point(100.00995, 0.005, srid=4326), grid=None)
    HouseholdFactory(location=Point(100.001, 0.001, srid=4326), grid=town["grids"]["A1"])
    HouseholdFactory(location=Point(101.5, 1.5, srid=4326), grid=None)  # outside the town
    building = BuildingFactory(grid=None)
    result = checks.check_tiling(town["town"].code)
    assert result["households_in_no_grid"] == {"count": 1, "ids": [inside.id], "truncated": False}
    assert result["buildings_in_no_grid"]["ids"] == [building.id]


def test_tiling_is_scoped_to_the_area(town):
    other = TownFactory()
    result = checks.check_tiling(other.code)
    assert result["gaps"] == [] and result["overlaps"] == [] and result["villages"] == 0


# --- 2. roles -------------------------------------------------------------------------------
def test_roles_lists_grids_missing_roles_and_overloaded_workers(town, settings):
    settings.GRIDMAP_MAX_ROLES_PER_WORKER = 3
    g = town["grids"]
    for grid in g.values():
        for role in (Role.GRID_LEADER, Role.PARTY_GUIDE):
            if grid is not g["A2"] or role is not Role.PARTY_GUIDE:
                RoleAssignmentFactory(grid=grid, role=role)
    busy = WorkerFactory()
    for name in ("A1", "A2", "B1", "B2", "C1", "D1"):
        RoleAssignmentFactory(grid=g[name], role=Role.GRID_MEMBER, worker=busy)
    ok = WorkerFactory()  # three roles: at the limit, not over it
    for station in town["stations"]:
        RoleAssignmentFactory(station=station, role=Role.STATION_DEPUTY, worker=ok)
    RoleAssignmentFactory(grid=g["E1"], role=Role.GRID_MEMBER, worker=ok)

    result = checks.check_roles(town["town"].code)
    assert result["grids"] == 7
    assert result["grids_missing"][Role.PARTY_GUIDE] == [g["A2"].code]
    assert result["grids_missing"][Role.GRID_MEMBER] == []
    assert result["grids_missing"][Role.GRID_LEADER] == []
    assert result["grids_missing_any_role"] == [g["A2"].code]
    [worker] = result["overloaded_workers"]
    assert worker["id"] == busy.id and worker["roles"] == 6
    assert len(worker["assignments"]) == 6


def test_ended_roles_do_not_count(town):
    import datetime as dt

    from psycopg.types.range import Range

    grid = town["grids"]["A1"]
    RoleAssignmentFactory(
        grid=grid,
        role=Role.GRID_LEADER,
        period=Range(dt.date(2020, 1, 1), dt.date(2021, 1, 1), "[)"),
    )
    result = checks.check_roles(town["town"].code)
    assert grid.code in result["grids_missing"][Role.GRID_LEADER]


# --- 3. grid size ---------------------------------------------------------------------------
def test_grid_size_histogram_and_outliers(town, settings):
    settings.GRIDMAP_GRID_HOUSEHOLDS_NORM = (100, 160)
    g = town["grids"]
    households(g["A1"], 120)
    households(g["A2"], 160)
    households(g["B1"], 170)
    households(g["B2"], 40)
    result = checks.check_grid_size(town["town"].code)
    assert result["histogram"] == [
        {"from": 0, "to": 50, "grids": 4},  # B2 and the three empty grids
        {"from": 50, "to": 100, "grids": 0},
        {"from": 100, "to": 150, "grids": 1},
        {"from": 150, "to": 200, "grids": 2},
    ]
    assert result["within_norm"] == 2
    assert result["above_norm"] == [{"code": g["B1"].code, "households": 170}]
    assert {o["code"] for o in result["below_norm"]} == {
        g[n].code for n in ("B2", "C1", "D1", "E1")
    }


# --- 4. ten-household units -----------------------------------------------------------------
def test_units_share_central_households_and_units_without_one(town):
    g = town["grids"]
    a1 = households(g["A1"], 10)
    households(g["A2"], 10)
    branch = PartyBranch.objects.create(name="Branch", village=town["villages"][0])
    member = PartyMember.objects.create(name="Member", branch=branch, household=a1[0])
    central = CentralHousehold.objects.create(
        household=a1[0], party_member=member, designated_on="2024-01-01"
    )
    with_central = TenHouseholdUnit.objects.create(
        name="U1", grid=g["A1"], head_household=a1[0], central_household=central
    )
    without = TenHouseholdUnit.objects.create(name="U2", grid=g["A1"], head_household=a1[5])
    Household.objects.filter(pk__in=[h.pk for h in a1[:5]]).update(ten_household_unit=with_central)
    Household.objects.filter(pk__in=[h.pk for h in a1[5:]]).update(ten_household_unit=without)

    result = checks.check_units(town["town"].code)
    assert result["households"] == 20
    assert result["households_in_unit"] == 10
    assert result["share_in_unit"] == 0.5
    assert result["units"] == 2
    assert result["units_without_central_household"] == [
        {"id": without.id, "name": "U2", "grid": g["A1"].code}
    ]
    per_grid = {r["code"]: r["central_households"] for r in result["central_households_per_grid"]}
    assert per_grid[g["A1"].code] == 1 and per_grid[g["A2"].code] == 0
    assert g["A1"].code not in result["grids_without_central_household"]
    assert g["A2"].code in result["grids_without_central_household"]


# --- 5. staffing ----------------------------------------------------------------------------
def test_staffing_households_per_full_time_worker(town, settings):
    settings.GRIDMAP_HOUSEHOLDS_PER_WORKER = 100
    s1, s2 = town["stations"]
    g = town["grids"]
    households(g["A1"], 150)  # S1
    households(g["C1"], 90)  # S2
    households(g["E1"], 60)  # no station
    RoleAssignmentFactory(station=s1, role=Role.STATION_WORKER)
    RoleAssignmentFactory(station=s2, role=Role.STATION_WORKER)
    RoleAssignmentFactory(station=s2, role=Role.STATION_HEAD)  # not full-time staff
    result = checks.check_staffing(town["town"].code)
    assert result["households"] == 300
    assert result["full_time_workers"] == 2
    assert result["households_per_worker"] == 150
    assert result["workers_needed"] == 3 and result["shortfall"] == 1
    assert result["stations_over_norm"] == [
        {
            "code": s1.code,
            "households": 150,
            "workers": 1,
            "households_per_worker": 150,
            "workers_needed": 2,
        }
    ]


# --- 6. stations ----------------------------------------------------------------------------
def test_stations_membership_size_and_contiguity(town):
    a, b, c, d, e = town["villages"]
    s1, s2 = town["stations"]
    result = checks.check_stations(town["town"].code)
    assert result["stations"] == 2
    assert result["villages_in_no_station"] == [e.code]
    assert result["villages_in_several_stations"] == []
    assert result["stations_too_few_villages"] == [
        {"code": s1.code, "villages": 2},
        {"code": s2.code, "villages": 2},
    ]
    assert result["stations_too_many_villages"] == []
    assert result["stations_not_contiguous"] == [{"code": s1.code, "parts": 2}]


def test_a_station_with_eight_villages_is_too_big(town):
    station = StationFactory(town=town["town"])
    for i in range(8):
        village = VillageFactory(
            town=town["town"], geom=rect(100.0 + i * 0.01, 0.5, 100.01 + i * 0.01, 0.51)
        )
        CatchmentAssignmentFactory(station=station, village=village)
    result = checks.check_stations(town["town"].code)
    assert result["stations_too_many_villages"] == [{"code": station.code, "villages": 8}]
    assert station.code not in [s["code"] for s in result["stations_not_contiguous"]]
