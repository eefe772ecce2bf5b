"""Issue 16 item 6: re-importing the current grids (registered in bench/scenarios.py as
``boundary_reimport``).

The current grids are exported to a GeoJSON under var/bench/ with their coordinates rounded to
7 decimals of a degree (about 1 cm), as another system hands them back, and re-imported with
``grids.importers.import_boundaries`` (the ``import_boundaries grid FILE`` command without its
argument parsing): as a dry run, and with ``--commit``. The baseline, timed in the same run,
is ``ogr2ogr`` loading the same file into a scratch table of the same database (read, COPY,
spatial index), which is dropped afterwards. Then a second file with one grid moved 5 m east
is dry-run. Printed: the times and their ratio, and how many grids each import found changed
(target: 0 for the rounded file, 1 for the moved one). Nothing is left changed: the rounded
file changes nothing, the moved one is only dry-run.

Options (environment variables):
    BENCH_REIMPORT_RUNS   runs of each (default 3)
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod

from bench.common import Timing, report

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
SCRATCH = "bench_reimport_ogr2ogr"
DECIMALS = 7  # about 1 cm
MOVE_M = 5.0

_EXPORT_SQL = """
SELECT code, name, ST_AsBinary(geom) FROM grids_grid
 WHERE generation_high_id IS NULL ORDER BY code
"""


def export_grids(path: Path, *, moved: str | None = None) -> int:
    """The current grids into ``path``, rounded to DECIMALS; ``moved`` (a code) shifted east by
    MOVE_M. The number of grids."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_EXPORT_SQL)
        rows = cursor.fetchall()
    geoms = shapely.from_wkb([bytes(wkb) for _, _, wkb in rows])
    if moved is not None:
        i = [code for code, _, _ in rows].index(moved)
        centre = geoms[i].centroid
        lon = Geod(ellps="WGS84").fwd(centre.x, centre.y, 90, MOVE_M)[0]
        geoms[i] = shapely.affinity.translate(geoms[i], lon - centre.x)
    geoms = shapely.transform(geoms, lambda c: np.round(c, DECIMALS))
    frame = gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "name": [r[1] for r in rows]},
        geometry=geoms,
        crs="EPSG:4326",
    )
    path.unlink(missing_ok=True)
    frame.to_file(path, engine="pyogrio")
    return len(rows)


def _pg_source() -> tuple[str, dict[str, str]]:
    """The ogr2ogr PostgreSQL data source of the default database, and an environment that
    carries the password (not the command line)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    parts = [f"dbname={db['NAME']}"]
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user")):
        if db.get(key):
            parts.append(f"{name}={db[key]}")
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    return "PG:" + " ".join(parts), env


def _timed(label: str, fn: Callable[[], object], runs: int) -> tuple[Timing, object]:
    samples, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return Timing(label, samples), result


def boundary_reimport() -> None:
    """Re-import of every current grid (rounded to ~1 cm): dry run and commit vs ogr2ogr."""
    from django.db import connection

    from grids.importers import import_boundaries

    runs = int(os.environ.get("BENCH_REIMPORT_RUNS", "3"))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rounded = BENCH_DIR / "reimport_grids.geojson"
    count = export_grids(rounded)
    if count == 0:
        print("boundary_reimport: no grids; run 'python manage.py load_demo' first")
        return
    source, env = _pg_source()

    def ogr2ogr() -> None:
        subprocess.run(
            ["ogr2ogr", "-f", "PostgreSQL", source, str(rounded), "-nln", SCRATCH,
             "-overwrite", "-nlt", "PROMOTE_TO_MULTI", "-lco", "GEOMETRY_NAME=geom"],
            check=True, env=env, capture_output=True,
        )  # fmt: skip

    def ours(commit: bool) -> Callable[[], object]:
        return lambda: import_boundaries(level="grid", path=rounded, commit=commit)

    try:
        baseline, _ = _timed("ogr2ogr into a scratch table", ogr2ogr, runs)
        dry, dry_report = _timed("import_boundaries grid (dry run)", ours(False), runs)
        committed, commit_report = _timed("import_boundaries grid --commit", ours(True), runs)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    size = rounded.stat().st_size / 1e6
    note = f"{count:,} grids, {size:.1f} MB GeoJSON rounded to {DECIMALS} decimals (~1 cm)"
    report("boundary_reimport: dry run vs ogr2ogr", dry, baseline, note)
    print(f"   grids found changed: {len(dry_report.changed)} (target 0)")
    report("boundary_reimport: --commit vs ogr2ogr", committed, baseline, note)
    print(
        f"   grids found changed: {len(commit_report.changed)} (target 0); "
        f"generation added: {commit_report.generation}"
    )

    moved_code = dry_report.unchanged[len(dry_report.unchanged) // 2]
    moved = BENCH_DIR / "reimport_grids_moved.geojson"
    export_grids(moved, moved=moved_code)
    t0 = time.perf_counter()
    moved_report = import_boundaries(level="grid", path=moved)
    seconds = time.perf_counter() - t0
    print(
        f"\n== boundary_reimport: grid {moved_code} moved {MOVE_M:g} m east (dry run, "
        f"{seconds:.2f} s)\n   grids found changed: {len(moved_report.changed)} (target 1): "
        f"{', '.join(moved_report.changed)}"
    )
