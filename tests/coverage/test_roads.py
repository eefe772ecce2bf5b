"""The road importer (coverage.roads) and its command, on small files written here (lon 100,
lat 0, far from the demo)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command

from coverage.models import RoadNode, RoadSegment
from coverage.roads import NOT_A_LINE, RoadImportError, import_roads
from grids.importers import NO_CRS, UNKNOWN_CRS

pytestmark = pytest.mark.django_db

M = 1 / 111_320  # about a metre of longitude at the equator, in degrees


def write(path: Path, geoms: list, crs: str | None = "EPSG:4326", **columns) -> Path:
    frame = gpd.GeoDataFrame(
        {"name": [f"road {i}" for i in range(len(geoms))], **columns}, geometry=geoms, crs=crs
    )
    frame.to_file(path, engine="pyogrio")
    return path


def three_roads(tmp_path: Path) -> Path:
    # Road 0 ends 0.5 m from road 1's start (one node); road 2 starts 5 m away (its own node).
    return write(
        tmp_path / "roads.geojson",
        [
            shapely.LineString([(100.0, 0.0), (100.001, 0.0)]),
            shapely.LineString([(100.001 + 0.5 * M, 0.0), (100.002, 0.0)]),
            shapely.LineString([(100.001 + 5 * M, 0.0), (100.001 + 5 * M, 0.001)]),
        ],
    )


def test_dry_run_writes_nothing(tmp_path):
    before = (RoadSegment.objects.count(), RoadNode.objects.count())
    report = import_roads(path=three_roads(tmp_path))
    assert report.segments == 3 and not report.commit
    assert (RoadSegment.objects.count(), RoadNode.objects.count()) == before


def test_commit_writes_and_snaps_ends_within_the_tolerance(tmp_path):
    report = import_roads(path=three_roads(tmp_path), commit=True)
    assert report.segments == 3
    assert report.nodes_created == 5  # 6 ends, two of them 0.5 m apart
    assert report.ends_snapped == 1
    r0, r1, r2 = RoadSegment.objects.filter(name__startswith="road ").order_by("name")
    assert r0.target_id == r1.source_id
    assert r2.source_id not in (r0.target_id, r1.source_id)
    # The geometry follows the topology: road 1 now starts exactly on the shared node.
    assert r1.geom.coords[0] == r0.geom.coords[-1]
    assert r0.length_m == pytest.approx(111.32, abs=0.1)


def test_a_second_file_joins_the_existing_nodes(tmp_path):
    import_roads(path=three_roads(tmp_path), commit=True)
    more = write(
        tmp_path / "more.geojson", [shapely.LineString([(100.002 + 0.3 * M, 0.0), (100.003, 0.0)])]
    )
    report = import_roads(path=more, commit=True)
    assert report.nodes_reused == 1 and report.nodes_created == 1


def test_multilinestrings_are_exploded(tmp_path):
    path = write(
        tmp_path / "multi.geojson",
        [
            shapely.MultiLineString(
                [[(100.0, 0.01), (100.001, 0.01)], [(100.0, 0.02), (100.001, 0.02)]]
            )
        ],
    )
    assert import_roads(path=path).segments == 2


def test_another_crs_is_reprojected(tmp_path):
    line = gpd.GeoSeries([shapely.LineString([(100.0, 0.0), (100.001, 0.0)])], crs=4326)
    path = write(tmp_path / "utm.gpkg", list(line.to_crs(32647)), crs="EPSG:32647")
    import_roads(path=path, commit=True)
    segment = RoadSegment.objects.get(name="road 0")
    assert segment.geom.coords[0] == pytest.approx((100.0, 0.0), abs=1e-7)


def test_bad_crs_is_refused(tmp_path):
    with pytest.raises(RoadImportError) as exc:
        import_roads(path=three_roads(tmp_path), crs="EPSG:nonsense")
    assert str(exc.value) == UNKNOWN_CRS.format(crs="EPSG:nonsense")


def test_a_shapefile_without_prj_is_refused(tmp_path):
    path = write(tmp_path / "roads.shp", [shapely.LineString([(100.0, 0.0), (100.001, 0.0)])])
    path.with_suffix(".prj").unlink()
    with pytest.raises(RoadImportError) as exc:
        import_roads(path=path)
    assert str(exc.value) == NO_CRS.format(path=path)


def test_non_line_geometry_is_refused_and_nothing_written(tmp_path):
    path = write(
        tmp_path / "mixed.geojson",
        [
            shapely.LineString([(100.0, 0.0), (100.001, 0.0)]),
            shapely.box(100.0, 0.0, 100.001, 0.001),
        ],
    )
    with pytest.raises(RoadImportError) as exc:
        import_roads(path=path, commit=True)
    assert str(NOT_A_LINE.format(number=2, geom_type="Polygon")) in str(exc.value)
    assert not RoadSegment.objects.filter(name__startswith="road ").exists()


def test_command_dry_run_and_commit(tmp_path, capsys):
    path = three_roads(tmp_path)
    call_command("import_roads", str(path))
    assert "Dry run" in capsys.readouterr().out
    assert not RoadSegment.objects.filter(name__startswith="road ").exists()
    call_command("import_roads", str(path), "--commit")
    assert RoadSegment.objects.filter(name__startswith="road ").count() == 3
    with pytest.raises(CommandError, match="Unknown coordinate reference system"):
        call_command("import_roads", str(path), "--crs", "EPSG:nonsense")
