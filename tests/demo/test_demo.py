"""The small demo (``load_demo --scale small --seed 7``, loaded once by the ``demo`` fixture).

How tiling is measured
----------------------
Boundaries are stored as lon/lat ``geometry`` and every predicate the application uses
(``ST_Covers`` for the grid of a household) is planar in lon/lat, so "no gap, no overlap" is a
planar property of the lon/lat geometries. Gaps and overlaps are therefore computed in
PostGIS on the stored geometries, then measured in a local equirectangular frame (an affine
scaling of lon/lat to metres at 22°N): affine maps keep straight edges straight, so an exact
tiling stays exactly zero. Reprojecting to EPSG:4545 or casting to geography would not: an
edge straight in lon/lat bows by up to ~1.4 cm over 2 km in either, so a vertex that lies
exactly on a long district edge (where a town boundary meets the coast) would look 1.4 cm
off. Parts thinner than 1 cm are removed by a -0.5 cm buffer before taking the area
(``THICK``); the raw area in the same frame (``PLANAR``) is reported too and is about 1e-6 m².
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import connection

from demo.loader import boundaries_path
from demo.names import id_number_valid
from demo.people import synthesise_staff
from demo.plan import plan_boundaries
from demo.population import synthesise_population
from gridmap.crypto import TOKEN_PREFIX, decrypt

SEED = 7
PREFIX = "4507%"
# Area (m²) of the parts of a lon/lat geometry at least 1 cm thick, and its raw area (m²),
# in a local equirectangular frame (see the module docstring).
FRAME = "ST_Scale(ST_Translate({g}, -108.0, -22.0), 103215.0, 110574.0)"
THICK = "ST_Area(ST_Buffer(" + FRAME + ", -0.005))"
PLANAR = "ST_Area(" + FRAME + ")"


@pytest.fixture
def loaded(demo, db):
    """The demo, with database access for the test."""


def rows(sql: str, params: dict | None = None) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, {"prefix": PREFIX, **(params or {})})
        return cur.fetchall()


def tiling(parent: str, child: str, fk: str) -> tuple[list[tuple], list[tuple]]:
    """(gaps, overlaps) of the current ``child`` rows against their current ``parent`` rows.

    gaps: (parent code, thick gap, thick outside, raw gap, raw outside) per parent;
    overlaps: (code, code, thick overlap) for sibling pairs that overlap by more than 0 m².
    """
    gap, outside = "ST_Difference(p.geom, c.geom)", "ST_Difference(c.geom, p.geom)"
    common = f"""
        WITH parent AS (SELECT id, code, geom FROM {parent}
                         WHERE generation_high_id IS NULL AND code LIKE %(prefix)s),
             child AS (SELECT id, code, {fk} AS parent_id, geom FROM {child}
                        WHERE generation_high_id IS NULL AND {fk} IN (SELECT id FROM parent))
    """
    gaps = rows(
        common
        + f""", cover AS (SELECT parent_id, ST_Union(geom) AS geom FROM child GROUP BY parent_id)
        SELECT p.code, {THICK.format(g=gap)}, {THICK.format(g=outside)},
               {PLANAR.format(g=gap)}, {PLANAR.format(g=outside)}
          FROM parent p LEFT JOIN cover c ON c.parent_id = p.id
          WHERE EXISTS (SELECT 1 FROM child WHERE child.parent_id = p.id)
             OR %(all_parents)s
         ORDER BY p.code""",
        {"all_parents": parent != "grids_district"},
    )
    overlap = "ST_Intersection(a.geom, b.geom)"
    overlaps = rows(
        common
        + f"""
        SELECT a.code, b.code, {THICK.format(g=overlap)}
          FROM child a JOIN child b
            ON a.parent_id = b.parent_id AND a.id < b.id AND ST_Intersects(a.geom, b.geom)
         WHERE {THICK.format(g=overlap)} > 0"""
    )
    return gaps, overlaps


def assert_tiled(parent: str, child: str, fk: str, raw_limit_m2: float) -> None:
    gaps, overlaps = tiling(parent, child, fk)
    assert gaps, f"no {parent} rows with {child} children"
    for code, gap, outside, raw_gap, raw_outside in gaps:
        assert gap is not None, f"{code} has no children"
        assert (gap, outside) == (0, 0), f"{code}: gap {gap} m², outside {outside} m²"
        assert raw_gap < raw_limit_m2 and raw_outside < raw_limit_m2, (code, raw_gap, raw_outside)
    assert overlaps == []


# --- Tiling ---------------------------------------------------------------------------------
def test_every_village_is_tiled_by_its_grids(loaded):
    assert_tiled("grids_village", "grids_grid", "village_id", raw_limit_m2=0.01)


def test_every_town_is_tiled_by_its_villages(loaded):
    assert_tiled("grids_town", "grids_village", "town_id", raw_limit_m2=0.01)


def test_towns_tile_the_district(loaded):
    assert_tiled("grids_district", "grids_town", "district_id", raw_limit_m2=0.01)


def test_the_measure_sees_a_real_gap(loaded):
    """The tiling measure fails on a village missing a 2 m strip of one of its grids."""
    (thick,) = rows(
        f"""SELECT {THICK.format(g="ST_Difference(v.geom, ST_Buffer(g.geom, -0.00002))")}
              FROM grids_village v JOIN grids_grid g ON g.village_id = v.id
             WHERE g.generation_high_id IS NULL AND v.code LIKE %(prefix)s
               AND (SELECT count(*) FROM grids_grid o WHERE o.village_id = v.id) = 1
             LIMIT 1"""
    )[0]
    assert thick > 100


def test_every_geometry_is_valid_and_no_grid_is_a_speck(loaded):
    for table, column in [
        ("grids_town", "geom"),
        ("grids_village", "geom"),
        ("grids_grid", "geom"),
        ("grids_building", "footprint"),
        ("households_tenhouseholdunit", "geom"),
    ]:
        assert rows(f"SELECT count(*) FROM {table} WHERE NOT ST_IsValid({column})") == [(0,)]
    (smallest,) = rows(
        """SELECT min(ST_Area(geom::geography)) FROM grids_grid
            WHERE generation_high_id IS NULL AND code LIKE %(prefix)s"""
    )[0]
    assert smallest > 50_000  # m²


# --- Households, grids, units ---------------------------------------------------------------
def test_every_grid_holds_300_to_500_households_by_derived_grid(loaded):
    counts = rows(
        """SELECT g.code, count(h.id) FROM grids_grid g
             LEFT JOIN households_household h ON h.grid_id = g.id
            WHERE g.generation_high_id IS NULL AND g.code LIKE %(prefix)s
            GROUP BY g.code"""
    )
    assert len(counts) >= 15
    assert all(300 <= n <= 500 for _, n in counts), counts
    mismatched = rows(
        """SELECT count(*) FROM households_household h
             JOIN grids_building b ON b.id = h.building_id
             JOIN grids_grid g ON g.id = b.grid_id
            WHERE g.code LIKE %(prefix)s AND h.grid_id IS DISTINCT FROM b.grid_id"""
    )
    assert mismatched == [(0,)]
    (total,) = rows(
        """SELECT count(*) FROM households_household h JOIN grids_grid g ON g.id = h.grid_id
            WHERE g.code LIKE %(prefix)s"""
    )[0]
    assert total == 7_500


def test_every_household_is_inside_the_district_and_its_building(loaded):
    assert rows(
        """SELECT count(*) FROM households_household h
             JOIN grids_grid g ON g.id = h.grid_id
             JOIN grids_district d ON d.code = left(g.code, 6) AND d.generation_high_id IS NULL
             JOIN grids_building b ON b.id = h.building_id
            WHERE g.code LIKE %(prefix)s
              AND NOT (ST_Covers(d.geom, h.location) AND ST_Covers(b.footprint, h.location))"""
    ) == [(0,)]


def test_ten_household_units_have_8_to_15_households_of_one_grid(loaded):
    units = rows(
        """SELECT u.id, count(m.id), count(DISTINCT m.grid_id), bool_and(m.grid_id = u.grid_id),
                  bool_or(m.id = u.head_household_id), u.geom IS NOT NULL
             FROM households_tenhouseholdunit u
             JOIN households_household m ON m.ten_household_unit_id = u.id
             JOIN grids_grid g ON g.id = u.grid_id
            WHERE g.code LIKE %(prefix)s
            GROUP BY u.id"""
    )
    assert len(units) > 400
    for _, n, grids, same_grid, head_is_member, has_area in units:
        assert 8 <= n <= 15 and grids == 1 and same_grid and head_is_member and has_area
    (share,) = rows(
        """SELECT avg((ten_household_unit_id IS NOT NULL)::int) FROM households_household h
             JOIN grids_grid g ON g.id = h.grid_id WHERE g.code LIKE %(prefix)s"""
    )[0]
    assert 0.8 <= share <= 0.9


def test_central_households_are_party_member_households_of_their_unit(loaded):
    (units, with_central, consistent) = rows(
        """SELECT count(*), count(c.id),
                  count(*) FILTER (WHERE h.ten_household_unit_id = u.id
                                     AND pm.household_id = c.household_id)
             FROM households_tenhouseholdunit u
             JOIN grids_grid g ON g.id = u.grid_id
             LEFT JOIN households_centralhousehold c ON c.id = u.central_household_id
             LEFT JOIN households_household h ON h.id = c.household_id
             LEFT JOIN households_partymember pm ON pm.id = c.party_member_id
            WHERE g.code LIKE %(prefix)s"""
    )[0]
    assert 0 < units - with_central < 0.05 * units  # a few units deliberately without one
    assert consistent == with_central


def test_households_are_well_formed(loaded):
    sample = rows(
        """SELECT h.id_number, h.phone, h.size, h.address, h.head_name
             FROM households_household h JOIN grids_grid g ON g.id = h.grid_id
            WHERE g.code LIKE %(prefix)s ORDER BY h.id"""
    )
    # Encrypted at rest (gridmap.crypto): the table holds tokens, Python reads the numbers.
    assert all(r[0].startswith(TOKEN_PREFIX) and r[1].startswith(TOKEN_PREFIX) for r in sample)
    sample = [(decrypt(r[0]), decrypt(r[1]), *r[2:]) for r in sample]
    assert all(id_number_valid(r[0]) for r in sample)
    assert len({r[0] for r in sample}) == len(sample)
    assert all(len(r[1]) == 11 and r[1].startswith("1") for r in sample)
    assert all(1 <= r[2] <= 6 for r in sample)
    assert all(r[3].startswith("钦南区") for r in sample)
    (elderly,) = rows(
        """SELECT avg(('left_behind_elderly' = ANY(tags))::int) FROM households_household h
             JOIN grids_grid g ON g.id = h.grid_id WHERE g.code LIKE %(prefix)s"""
    )[0]
    assert 0.04 < elderly < 0.12


# --- Stations, places, people ---------------------------------------------------------------
def test_stations_have_3_to_7_villages_of_their_own_town(loaded):
    stations = rows(
        """SELECT s.code, count(*), bool_and(v.town_id = s.town_id)
             FROM grids_station s
             JOIN grids_catchmentassignment c ON c.station_id = s.id AND c.period @> CURRENT_DATE
             JOIN grids_village v ON v.id = c.village_id
            WHERE s.code LIKE %(prefix)s GROUP BY s.code"""
    )
    assert len(stations) == 6
    assert all(3 <= n <= 7 and own_town for _, n, own_town in stations)
    per_village = rows(
        """SELECT v.code, count(c.id) FROM grids_village v
             LEFT JOIN grids_catchmentassignment c
                    ON c.village_id = v.id AND c.period @> CURRENT_DATE
            WHERE v.generation_high_id IS NULL AND v.code LIKE %(prefix)s GROUP BY v.code"""
    )
    assert len(per_village) == 20 and all(n == 1 for _, n in per_village)


def test_places_have_codes_names_and_kinds(loaded):
    towns = rows(
        """SELECT code, name, kind FROM grids_town
            WHERE generation_high_id IS NULL AND code LIKE %(prefix)s ORDER BY code"""
    )
    assert [t[2] for t in towns] == ["street", "town", "town"]
    assert towns[0][1].endswith("街道") and towns[1][1].endswith("镇")
    villages = rows(
        """SELECT v.code, v.name, v.kind, t.kind FROM grids_village v
             JOIN grids_town t ON t.id = v.town_id
            WHERE v.generation_high_id IS NULL AND v.code LIKE %(prefix)s"""
    )
    for code, name, kind, town_kind in villages:
        assert kind == "community" if town_kind == "street" else kind in ("village", "community")
        assert name.endswith("社区" if kind == "community" else "村")
        # Statistical codes: communities 001-199, villages 200-399.
        assert (int(code[9:]) < 200) == (kind == "community")
    assert rows(
        """SELECT count(*) FROM grids_grid WHERE generation_high_id IS NULL
              AND code LIKE %(prefix)s AND name !~ '^第[0-9]+网格$'"""
    ) == [(0,)]
    assert rows(
        """SELECT count(*), count(*) FILTER (WHERE ST_Covers(v.geom, s.location))
             FROM grids_servicecentre s JOIN grids_village v ON v.id = s.village_id
            WHERE v.code LIKE %(prefix)s"""
    ) == [(23, 23)]  # one per village and one per town, inside their village


def test_grid_roles_are_filled_except_the_deliberate_gaps(loaded):
    grids = rows(
        """SELECT g.code,
                  count(r.id) FILTER (WHERE r.role = 'grid_leader'),
                  count(r.id) FILTER (WHERE r.role = 'grid_member'),
                  count(r.id) FILTER (WHERE r.role = 'party_guide')
             FROM grids_grid g LEFT JOIN grids_roleassignment r
                    ON r.grid_id = g.id AND r.period @> CURRENT_DATE
            WHERE g.generation_high_id IS NULL AND g.code LIKE %(prefix)s GROUP BY g.code"""
    )
    full = [g for g in grids if all(n >= 1 for n in g[1:])]
    assert len(full) >= 0.8 * len(grids)
    for role in (1, 2, 3):  # leader, member, guide: at least one grid lacks each
        assert any(g[role] == 0 for g in grids)
    assert all(g[1] <= 1 and g[3] <= 1 for g in grids)  # single holders
    # A vacated leader post: an assignment that has ended.
    assert rows(
        """SELECT count(*) FROM grids_roleassignment r JOIN grids_grid g ON g.id = r.grid_id
            WHERE g.code LIKE %(prefix)s AND r.role = 'grid_leader'
              AND upper(r.period) <= CURRENT_DATE"""
    ) == [(1,)]


def test_places_above_grids_are_staffed_and_some_workers_are_overloaded(loaded):
    staffed = rows(
        """SELECT
             (SELECT count(*) FROM grids_village v WHERE v.code LIKE %(prefix)s AND NOT EXISTS
               (SELECT 1 FROM grids_roleassignment r WHERE r.village_id = v.id
                   AND r.role = 'village_secretary')),
             (SELECT count(*) FROM grids_station s WHERE s.code LIKE %(prefix)s AND NOT EXISTS
               (SELECT 1 FROM grids_roleassignment r WHERE r.station_id = s.id
                   AND r.role = 'station_head')),
             (SELECT count(*) FROM grids_town t WHERE t.code LIKE %(prefix)s AND NOT EXISTS
               (SELECT 1 FROM grids_roleassignment r WHERE r.town_id = t.id
                   AND r.role = 'town_dispatcher'))"""
    )
    assert staffed == [(0, 0, 0)]
    busy = rows(
        """SELECT r.worker_id, count(*) FROM grids_roleassignment r
             JOIN grids_grid g ON g.id = r.grid_id
            WHERE g.code LIKE %(prefix)s AND r.period @> CURRENT_DATE
            GROUP BY r.worker_id HAVING count(*) >= 6"""
    )
    assert len(busy) >= 2


# --- Determinism (pure stages, no database) -------------------------------------------------
def _districts() -> dict[str, shapely.Geometry]:
    import geopandas as gpd

    path = boundaries_path()
    frame = gpd.read_file(path)
    return {str(c): g for c, g in zip(frame["adcode"], frame.geometry, strict=True)}


def test_the_pure_stages_are_deterministic_for_a_seed():
    districts = _districts()
    first, second = (plan_boundaries(districts, "small", SEED) for _ in range(2))
    assert first.wkb() == second.wkb()
    assert [(t.code, t.name) for t in first.towns] == [(t.code, t.name) for t in second.towns]
    assert [(g.code, g.households) for g in first.grids] == [
        (g.code, g.households) for g in second.grids
    ]
    a, b = synthesise_population(first, SEED), synthesise_population(second, SEED)
    assert np.array_equal(a.footprint, b.footprint) and np.array_equal(a.location, b.location)
    assert list(a.address) == list(b.address) and list(a.id_number) == list(b.id_number)
    assert synthesise_staff(first, SEED) == synthesise_staff(second, SEED)
    other = plan_boundaries(districts, "small", SEED + 1)
    assert other.wkb() != first.wkb()


def test_the_pure_plan_tiles_exactly():
    """The generated levels share edges exactly (shapely, before any database)."""
    plan = plan_boundaries(_districts(), "small", SEED)
    for village in plan.villages:
        grids = [g.geom for g in plan.grids if g.village_code == village.code]
        union = shapely.coverage_union_all(grids)
        assert shapely.symmetric_difference(union, village.geom).area == 0
        assert sum(g.area for g in grids) == pytest.approx(union.area, rel=1e-12)


# --- The command ----------------------------------------------------------------------------
def _counts() -> list[tuple]:
    return rows(
        """SELECT (SELECT count(*) FROM grids_town WHERE code LIKE %(prefix)s),
                  (SELECT count(*) FROM grids_grid WHERE code LIKE %(prefix)s),
                  (SELECT count(*) FROM households_household),
                  (SELECT count(*) FROM grids_worker),
                  (SELECT count(*) FROM grids_generation),
                  (SELECT max(id) FROM grids_grid)"""
    )


def test_if_empty_changes_nothing_when_loaded(loaded):
    before = _counts()
    out = StringIO()
    call_command("load_demo", scale="small", seed=3, if_empty=True, stdout=out)
    assert "already loaded" in out.getvalue()
    assert _counts() == before


def test_loading_over_a_demo_is_refused_without_replace(loaded):
    before = _counts()
    with pytest.raises(CommandError, match="--replace"):
        call_command("load_demo", scale="small", seed=3, verbosity=0)
    assert _counts() == before


def test_a_failed_load_writes_nothing(loaded, monkeypatch):
    import demo.loader as loader

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    before = _counts()
    monkeypatch.setattr(loader, "synthesise_staff", boom)
    with pytest.raises(RuntimeError, match="boom"):
        call_command("load_demo", scale="small", seed=SEED, replace=True, verbosity=0)
    assert _counts() == before


def test_replace_reloads_the_same_demo_for_the_same_seed(loaded):
    sql = """SELECT code, name, ST_AsBinary(geom) FROM grids_grid
              WHERE generation_high_id IS NULL AND code LIKE %(prefix)s ORDER BY code"""
    before = [(c, n, bytes(g)) for c, n, g in rows(sql)]
    addresses = rows("SELECT count(DISTINCT address) FROM households_household")
    out = StringIO()
    call_command("load_demo", scale="small", seed=SEED, replace=True, stdout=out)
    assert "Loaded the small demo" in out.getvalue()
    assert [(c, n, bytes(g)) for c, n, g in rows(sql)] == before
    assert rows("SELECT count(DISTINCT address) FROM households_household") == addresses


def test_delete_demo_removes_the_demo_and_nothing_else(loaded):
    from demo.loader import delete_demo, demo_loaded
    from grids.models import District, Worker
    from households.models import Household
    from tests.factories import GridFactory, HouseholdFactory, RoleAssignmentFactory

    grid = GridFactory()
    household = HouseholdFactory(grid=grid)
    worker = RoleAssignmentFactory(grid=grid).worker
    deleted = delete_demo()
    assert deleted["household"] == 7_500 and deleted["town"] == 3
    assert not demo_loaded()
    assert rows(
        """SELECT (SELECT count(*) FROM grids_grid WHERE code LIKE %(prefix)s)
                + (SELECT count(*) FROM grids_station WHERE code LIKE %(prefix)s)
                + (SELECT count(*) FROM households_household h JOIN grids_building b
                      ON b.id = h.building_id WHERE b.grid_id IS NULL)"""
    ) == [(0,)]
    assert District.objects.current().filter(code="450702").exists()  # real, kept
    assert Household.objects.filter(pk=household.pk).exists()
    assert Worker.objects.filter(pk=worker.pk).exists()


def test_demo_dates_are_in_the_past():
    """Every assignment has started, and the deliberately ended ones have ended."""
    from demo.people import ENDED_ON, LAST_START

    assert dt.date.today() > max(LAST_START, ENDED_ON)


def test_every_central_household_is_reachable_through_a_worker(demo):
    """Blue incidents go to the unit's central household: its party member is a Worker."""
    from households.models import CentralHousehold

    central = CentralHousehold.objects.filter(household__grid__code__startswith="4507")
    assert central.exists()
    assert not central.filter(party_member__worker__isnull=True).exists()
    # The worker carries its household's phone (decrypted from the household's table).
    sample = central.select_related("household", "party_member__worker")[:50]
    assert all(c.party_member.worker.phone == c.household.phone for c in sample)
    assert all(len(c.household.phone) == 11 for c in sample)
