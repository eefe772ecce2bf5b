"""The households bench's CSV generator and baseline (bench/import_bench.py), at a small scale:
the file is what the scenario says (messy values that normalise, the rows to refuse, points
inside the current grids) and the baseline places every point inside a grid."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
from django.db import connection

from bench import import_bench
from grids.coords import gcj02_to_wgs84_coords
from imports.normalise import RowError, clean_id_number, clean_integer, clean_phone
from tests.factories import GridFactory, rect

ROWS = 1000


@pytest.fixture
def households_csv(db, tmp_path):
    GridFactory()
    path = tmp_path / "households.csv"
    counts = import_bench.write_households_csv(path, ROWS)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return path, counts, rows


def test_the_csv_has_the_template_columns_and_every_row(households_csv):
    path, counts, rows = households_csv
    assert counts["rows"] == len(rows) == ROWS
    assert tuple(rows[0]) == import_bench.HEADER
    assert all(r["code"].startswith(import_bench.CODE_PREFIX) for r in rows)
    # One code twice (the duplicate row), every other code once.
    assert Counter(Counter(r["code"] for r in rows).values()) == {1: ROWS - 2, 2: 1}


def test_messy_values_normalise_and_the_bad_ones_are_refused(households_csv):
    _, counts, rows = households_csv
    normalised, refused = 0, []
    for row in rows:
        try:
            cleaned = [
                clean_id_number(row["id_number"], column="id_number"),
                clean_phone(row["phone"], column="phone"),
                clean_integer(row["size"], column="size", minimum=1, maximum=30),
            ]
        except RowError as error:
            refused.append(error.column)
            continue
        normalised += any(c.normalised for c in cleaned)
    assert 0 < counts["messy"] < ROWS * 0.03
    assert normalised == counts["messy"]
    # Wrong check digit, scientific notation, a short phone; the point outside every district
    # and the duplicate code are for the database to find.
    assert sorted(refused) == ["id_number", "id_number", "phone"]
    assert counts["refused"] == len(import_bench.REFUSE_AT)


def test_points_lie_in_the_current_grids_but_one_and_the_baseline_places_them(households_csv):
    path, _, rows = households_csv
    outside = [r for r in rows if (float(r["lon"]), float(r["lat"])) == import_bench.OUTSIDE_POINT]
    assert len(outside) == 1
    seconds, placed = import_bench.baseline_import(path)
    assert seconds > 0
    assert placed == ROWS - 1
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [import_bench.BASELINE_TABLE])
        assert cur.fetchone()[0] is None  # dropped again


def test_gcj02_file_holds_points_that_convert_back_into_the_grids(db, tmp_path):
    # A grid inside China (where GCJ-02 moves points), away from the demo's grids.
    GridFactory(geom=rect(108.10, 22.50, 108.13, 22.53))
    path = tmp_path / "gcj02.csv"
    import_bench.write_households_csv(path, 200, crs="gcj02")
    with path.open(encoding="utf-8", newline="") as f:
        points = np.array([(float(r["lon"]), float(r["lat"])) for r in csv.DictReader(f)])
    inside = np.array([p != import_bench.OUTSIDE_POINT for p in map(tuple, points)])
    wgs = gcj02_to_wgs84_coords(points[inside])
    assert np.abs(wgs - points[inside]).max() > 1e-3  # really written in GCJ-02
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM unnest(%s::float8[], %s::float8[]) p(x, y)
                WHERE EXISTS (SELECT 1 FROM grids_grid g WHERE g.generation_high_id IS NULL
                                AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(x, y), 4326)))""",
            [wgs[:, 0].tolist(), wgs[:, 1].tolist()],
        )
        assert cur.fetchone()[0] == inside.sum() == 199
