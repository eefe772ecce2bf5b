"""The boundary re-import bench's files (bench/reimport_bench.py): the export is every current
grid rounded to ~1 cm, which re-imports unchanged; the moved file moves exactly one grid 5 m,
which the importer finds as the one change."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from bench import reimport_bench
from grids.importers import import_boundaries
from grids.models import Grid
from tests.factories import GridFactory, VillageFactory, rect


@pytest.fixture
def grids(db) -> list[Grid]:
    village = VillageFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
    west = rect(100.0, 0.0, 100.0512345678912, 0.1)
    east = rect(100.0512345678912, 0.0, 100.1, 0.1)
    old = GridFactory(village=village, geom=west)
    old.generation_high = old.generation_low
    old.save()
    return [GridFactory(village=village, geom=west), GridFactory(village=village, geom=east)]


def test_the_export_is_every_current_grid_rounded_and_reimports_unchanged(grids, tmp_path):
    path = tmp_path / "grids.geojson"
    current = sorted(Grid.objects.current().values_list("code", flat=True))
    assert reimport_bench.export_grids(path) == len(current)
    frame = gpd.read_file(path)
    assert sorted(frame["code"]) == current
    assert grids[1].code in current
    coords = shapely.get_coordinates(frame.geometry.to_numpy())
    assert np.array_equal(coords, np.round(coords, reimport_bench.DECIMALS))
    assert 100.0512346 in coords[:, 0]  # rounded, so not the stored vertex

    report = import_boundaries(level="grid", path=path)
    assert report.changed == [] and report.unchanged == current


def test_the_moved_file_moves_one_grid_5_m(grids, tmp_path):
    path = tmp_path / "moved.geojson"
    reimport_bench.export_grids(path, moved=grids[1].code)
    report = import_boundaries(level="grid", path=path)
    assert report.changed == [grids[1].code]
    assert grids[0].code in report.unchanged
    assert len(report.unchanged) == Grid.objects.current().count() - 1
