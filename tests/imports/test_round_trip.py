"""The round trip (issue 13, acceptance 3): every kind of the small demo exported with
``export_records``, the records removed (the test database emptied of every kind, inside the
test's transaction), imported again with ``import_records`` in the README's order, gives the
same rows: equal counts for every kind and equal values for every record (by stable key).

Boundaries stay (every other table hangs on them); their own round trip through
``import_boundaries`` is tested in tests/imports/test_exports.py."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db

# The README's order: each kind refers only to kinds before it.
ORDER = [
    ("buildings", "gpkg"),
    ("households", "xlsx"),
    ("workers", "xlsx"),
    ("stations", "csv"),
    ("roles", "xlsx"),
    ("catchments", "xlsx"),
    ("party_branches", "xlsx"),
    ("party_members", "csv"),
    ("central_households", "xlsx"),
    ("service_centres", "gpkg"),
    ("ten_household_units", "xlsx"),
]

SNAPSHOTS = {
    "buildings": """
        SELECT b.code, b.name, b.floors, ST_AsText(ST_SnapToGrid(b.footprint, 1e-7)), g.code
          FROM grids_building b LEFT JOIN grids_grid g ON g.id = b.grid_id""",
    "households": """
        SELECT h.code, h.head_name, h.address, h.size, array_to_string(ARRAY(
                 SELECT t FROM unnest(h.tags) t ORDER BY t), ','),
               h.id_number_hash, h.phone_hash, round(ST_X(h.location)::numeric, 7),
               round(ST_Y(h.location)::numeric, 7), b.code, g.code, head.code
          FROM households_household h
          LEFT JOIN grids_building b ON b.id = h.building_id
          LEFT JOIN grids_grid g ON g.id = h.grid_id
          LEFT JOIN households_tenhouseholdunit u ON u.id = h.ten_household_unit_id
          LEFT JOIN households_household head ON head.id = u.head_household_id""",
    "workers": """
        SELECT phone_hash, name, email, is_party_member, id_number_hash FROM grids_worker""",
    "roles": """
        SELECT w.phone_hash, ra.role, coalesce(g.code, v.code, s.code, t.code),
               lower(ra.period), upper(ra.period)
          FROM grids_roleassignment ra JOIN grids_worker w ON w.id = ra.worker_id
          LEFT JOIN grids_grid g ON g.id = ra.grid_id
          LEFT JOIN grids_village v ON v.id = ra.village_id
          LEFT JOIN grids_station s ON s.id = ra.station_id
          LEFT JOIN grids_town t ON t.id = ra.town_id""",
    "stations": """
        SELECT s.code, s.name, t.code, s.address, round(ST_X(s.location)::numeric, 7),
               round(ST_Y(s.location)::numeric, 7)
          FROM grids_station s JOIN grids_town t ON t.id = s.town_id
         WHERE s.retired_on IS NULL""",
    "catchments": """
        SELECT v.code, s.code FROM grids_catchmentassignment ca
          JOIN grids_village v ON v.id = ca.village_id
          JOIN grids_station s ON s.id = ca.station_id
         WHERE ca.period @> current_date""",
    "party_branches": """
        SELECT b.code, b.name, v.code FROM households_partybranch b
          JOIN grids_village v ON v.id = b.village_id""",
    "party_members": """
        SELECT h.code, m.name, b.code, m.joined_on, w.phone_hash
          FROM households_partymember m JOIN households_household h ON h.id = m.household_id
          JOIN households_partybranch b ON b.id = m.branch_id
          LEFT JOIN grids_worker w ON w.id = m.worker_id""",
    "central_households": """
        SELECT h.code, m.name, mh.code, c.designated_on
          FROM households_centralhousehold c JOIN households_household h ON h.id = c.household_id
          JOIN households_partymember m ON m.id = c.party_member_id
          JOIN households_household mh ON mh.id = m.household_id""",
    "service_centres": """
        SELECT c.code, c.name, v.code, round(ST_X(c.location)::numeric, 7),
               round(ST_Y(c.location)::numeric, 7)
          FROM grids_servicecentre c LEFT JOIN grids_village v ON v.id = c.village_id""",
    "ten_household_units": """
        SELECT head.code, u.name, ch.code, g.code, array_to_string(ARRAY(
                 SELECT m.code FROM households_household m
                  WHERE m.ten_household_unit_id = u.id ORDER BY m.code), ',')
          FROM households_tenhouseholdunit u
          JOIN households_household head ON head.id = u.head_household_id
          LEFT JOIN households_centralhousehold c ON c.id = u.central_household_id
          LEFT JOIN households_household ch ON ch.id = c.household_id
          LEFT JOIN grids_grid g ON g.id = u.grid_id""",
}

TABLES = [
    "households_tenhouseholdunit",
    "households_centralhousehold",
    "households_partymember",
    "households_partybranch",
    "grids_servicecentre",
    "grids_catchmentassignment",
    "grids_roleassignment",
    "grids_station",
    "grids_worker",
    "households_household",
    "grids_building",
]


def snapshot() -> dict[str, list[tuple]]:
    out = {}
    with connection.cursor() as cur:
        for kind, sql in SNAPSHOTS.items():
            cur.execute(sql)
            out[kind] = sorted(cur.fetchall(), key=lambda r: tuple(str(v) for v in r))
    return out


def test_the_whole_demo_exports_and_imports_into_an_empty_database_unchanged(demo, tmp_path):
    before = snapshot()
    assert all(before[kind] for kind in SNAPSHOTS), {k: len(v) for k, v in before.items()}
    files = {}
    for kind, fmt in ORDER:
        path = tmp_path / f"{kind}.{'zip' if fmt == 'shp' else fmt}"
        call_command("export_records", kind, str(path), "--unmasked", verbosity=0)
        files[kind] = path
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    assert all(not rows for rows in snapshot().values())
    from imports.pipeline import run_import

    for kind, _fmt in ORDER:
        result = run_import(kind, files[kind], commit=True)
        assert result.refused == 0, (kind, result.refusals[:5])
        assert result.updated == result.unchanged == 0, kind
    after = snapshot()
    for kind in SNAPSHOTS:
        assert len(after[kind]) == len(before[kind]), kind
        assert after[kind] == before[kind], kind
    # And once more: everything is already there.
    for kind, _fmt in ORDER:
        result = run_import(kind, files[kind])
        assert (result.new, result.updated, result.refused) == (0, 0, 0), kind
