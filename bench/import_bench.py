"""Issue 13 scenarios: coordinate conversion and the households import (registered in
bench/scenarios.py).

``coords``: grids.coords' numpy GCJ-02 and BD-09 inverse against prcoords' scalar one, on the
same 100,000 points across China.

``import_households``: ``manage.py import_records households PATH --commit`` (ours, in a
subprocess, so that its memory high-water mark is its own) against a baseline measured in the
same run on the same CSV: ``COPY`` into a plain table plus the grid derivation as one
``UPDATE ... ST_Covers`` statement. The CSV is written first, streamed to var/bench/: one
household a row with the columns of the households template, points inside the current grids
(``ST_GeneratePoints``), about 1% messy values that normalise (full-width digits, ``+86``, a
lowercase ``x``, spaces in a phone) and a few rows to refuse (a wrong check digit, an ID number
in scientific notation, an invalid phone, a point outside every district, a code twice).
Afterwards everything the import inserted is deleted: the database is left as it was found.

Options (environment variables):
    BENCH_IMPORT_ROWS      rows of the CSV (default 1,000,000)
    BENCH_IMPORT_CRS       wgs84 (default) or gcj02: the file's coordinates are written in
                           GCJ-02 (as AMap gives them) and ours runs with --crs gcj02; the
                           baseline COPYs the same file (its grids are then 100-700 m off: it
                           measures the same work, not the same answer)
    BENCH_IMPORT_PROFILE   a path: run ours under cProfile, the profile written there and its
                           top functions printed (ours is then slower than it really is)
    BENCH_IMPORT_SQL       1: afterwards, run the same import again in this process with every
                           SQL statement timed, and print the slowest (where the time goes)
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Timing, report
from imports.normalise import ID_CHECK, ID_WEIGHTS

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"

# --- coords -------------------------------------------------------------------------------
COORDS_POINTS = 100_000


def coords() -> None:
    """GCJ-02 -> WGS84 and BD-09 -> WGS84 of 100,000 random points across China: ours
    (grids.coords, numpy) vs prcoords' scalar iterative inverse, point by point."""
    import prcoords

    from grids.coords import bd09_to_wgs84_coords, gcj02_to_wgs84_coords

    rng = np.random.default_rng(13)
    points = np.column_stack(
        (rng.uniform(73.0, 135.0, COORDS_POINTS), rng.uniform(3.0, 53.5, COORDS_POINTS))
    )

    def timed(fn: Callable[[], object], runs: int) -> list[float]:
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return samples

    def scalar_gcj() -> np.ndarray:
        return np.array(
            [(w.lon, w.lat) for w in (prcoords.gcj_wgs_bored((la, lo)) for lo, la in points)]
        )

    def scalar_bd() -> np.ndarray:
        out = []
        for lon, lat in points:
            wgs = prcoords.gcj_wgs_bored(prcoords.bd_gcj_bored((lat, lon)))
            out.append((wgs.lon, wgs.lat))
        return np.array(out)

    difference = float(np.abs(gcj02_to_wgs84_coords(points) - scalar_gcj()).max())
    notes = {
        "GCJ-02": f"largest difference from prcoords {difference:.1e} deg",
        "BD-09": "BD-09 -> GCJ-02 -> WGS84, both iterative",
    }
    for label, vector, scalar in (
        ("GCJ-02", lambda: gcj02_to_wgs84_coords(points), scalar_gcj),
        ("BD-09", lambda: bd09_to_wgs84_coords(points), scalar_bd),
    ):
        ours = Timing("ours: grids.coords (numpy, (N, 2) arrays)", timed(vector, 7))
        baseline = Timing("baseline: prcoords, point by point", timed(scalar, 3))
        report(
            f"{label} -> WGS84 of {COORDS_POINTS:,} random points across China",
            ours,
            baseline,
            note=f"same constants and stopping rule; {notes[label]}",
        )
        print(f"   speed-up: {baseline.median_ms / ours.median_ms:.0f}x")


# --- import_households --------------------------------------------------------------------
IMPORT_ROWS = 1_000_000
IMPORT_TARGET_RATIO = 3.0
CODE_PREFIX = "BENCH"  # every household code of the bench file starts so (the demo's: H...)
HEADER = ("code", "head_name", "id_number", "phone", "address", "size", "tags", "lon", "lat")
MESSY_SHARE = 0.01
# Rows refused on purpose, by their position in each block of REFUSE_BLOCK rows.
REFUSE_BLOCK = 200_000
REFUSE_AT = {
    7: "check_digit",
    11: "phone",
    13: "outside",
    17: "duplicate",
    19: "excel",
}
OUTSIDE_POINT = (110.29, 25.27)  # Guilin: in China, outside every district of the demo
DISTRICTS = ("450702", "450703", "450721", "450722")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐韦覃莫蒙"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国文海"
TAGS = (("留守老人", 0.03), ("低保户", 0.02), ("残疾人", 0.01))
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

BASELINE_TABLE = "bench_households_baseline"
BASELINE_SQL = f"""
CREATE TABLE {BASELINE_TABLE} (
    code text, head_name text, id_number text, phone text, address text, size text,
    tags text, lon double precision, lat double precision, grid_id integer
)"""
BASELINE_COPY = (
    f"COPY {BASELINE_TABLE} ({', '.join(HEADER)}) FROM STDIN WITH (FORMAT csv, HEADER true)"
)
BASELINE_UPDATE = f"""
UPDATE {BASELINE_TABLE} b SET grid_id = g.id
  FROM grids_grid g
 WHERE g.generation_high_id IS NULL
   AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(b.lon, b.lat), 4326))
"""


def id_check(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def _id_number(rng: random.Random) -> str:
    birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(28_000))
    first17 = f"{rng.choice(DISTRICTS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_check(first17)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def _messy(row: list[str], rng: random.Random) -> None:
    """Rewrite one value of ``row`` in a form the import normalises back."""
    kind = rng.randrange(5)
    if kind == 0 and row[2].endswith("X"):
        row[2] = row[2][:-1] + "x"
    elif kind in (0, 1):
        row[2] = row[2].translate(FULL_WIDTH)
    elif kind == 2:
        row[3] = "+86 " + row[3]
    elif kind == 3:
        row[3] = f"{row[3][:3]} {row[3][3:7]} {row[3][7:]}"
    else:
        row[5] = row[5].translate(FULL_WIDTH)


def _refuse(row: list[str], reason: str, previous_code: str) -> None:
    """Make ``row`` one the import must refuse, for ``reason``."""
    if reason == "check_digit":
        right = row[2][-1]
        row[2] = row[2][:-1] + ("1" if right != "1" else "2")
    elif reason == "phone":
        row[3] = "1234567"
    elif reason == "outside":
        row[7], row[8] = f"{OUTSIDE_POINT[0]:.7f}", f"{OUTSIDE_POINT[1]:.7f}"
    elif reason == "duplicate":
        row[0] = previous_code
    elif reason == "excel":
        row[2] = f"{int(row[2][:17]) * 10:.5E}"  # 4.50702E+17, as Excel shows it


def grid_points(n: int, crs: str = "wgs84") -> Iterator[tuple[float, float]]:
    """``n`` points inside the current grids, a share of them in every grid, streamed from
    PostGIS (ST_GeneratePoints, seeded) through a server-side cursor; in GCJ-02 if ``crs`` is
    ``gcj02``."""
    from django.db import connection, transaction

    from grids.coords import wgs84_to_gcj02_coords

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM grids_grid WHERE generation_high_id IS NULL")
        grids = cur.fetchone()[0]
    if not grids:
        return
    per_grid = -(-n // grids)
    sent = 0
    with transaction.atomic(), connection.chunked_cursor() as cur:
        cur.execute(
            """SELECT ST_X(p), ST_Y(p) FROM (
                 SELECT (ST_Dump(ST_GeneratePoints(geom, %s, 13))).geom AS p
                   FROM grids_grid WHERE generation_high_id IS NULL ORDER BY code) s""",
            [per_grid],
        )
        while sent < n:
            batch = cur.fetchmany(10_000)
            if not batch:
                return
            batch = batch[: n - sent]
            if crs == "gcj02":
                batch = wgs84_to_gcj02_coords(np.array(batch, dtype=float)).tolist()
            yield from batch
            sent += len(batch)


def write_households_csv(path: Path, n: int, seed: int = 13, crs: str = "wgs84") -> dict[str, int]:
    """Write ``n`` households to ``path`` (UTF-8 CSV, the template's keys as the header; points
    in ``crs``), streamed; returns how many rows were made messy and how many should be
    refused."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    # refused: rows made bad on purpose; refused_rows: the rows the import must refuse (both
    # rows of a duplicated code).
    counts = {"rows": 0, "messy": 0, "refused": 0, "refused_rows": 0}
    previous_code = ""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for i, (lon, lat) in enumerate(grid_points(n, crs)):
            code = f"{CODE_PREFIX}{i:09d}"
            tags = [label for label, share in TAGS if rng.random() < share]
            row = [
                code,
                rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                _id_number(rng),
                _phone(rng),
                f"钦州市测试路{i % 997 + 1}号{i // 997 % 50 + 1}栋",
                str(rng.randint(1, 6)),
                ",".join(tags),
                f"{lon:.7f}",
                f"{lat:.7f}",
            ]
            reason = REFUSE_AT.get(i % REFUSE_BLOCK)
            if reason:
                _refuse(row, reason, previous_code)
                counts["refused"] += 1
                counts["refused_rows"] += 2 if reason == "duplicate" else 1
            elif rng.random() < MESSY_SHARE:
                _messy(row, rng)
                counts["messy"] += 1
            writer.writerow(row)
            previous_code = code
            counts["rows"] += 1
    return counts


def baseline_import(path: Path) -> tuple[float, int]:
    """COPY the CSV into a plain table and derive each row's grid in one UPDATE; the seconds
    both took (committed) and the rows given a grid. The table is dropped afterwards."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(BASELINE_SQL)
        with path.open("rb") as f, cur.copy(BASELINE_COPY) as copy:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        cur.execute(BASELINE_UPDATE)
        placed = cur.rowcount
    seconds = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {BASELINE_TABLE}")
    return seconds, placed


def _table_writes() -> dict[str, int]:
    """Rows inserted, updated or deleted so far per table (pg_stat_user_tables)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables")
        return dict(cur.fetchall())


def _tree_pss_kb(root: int) -> int:
    """Proportional set size (kB) of process ``root`` and all its descendants (the import's
    cleaning workers): PSS shares pages mapped by several processes among them, so the sum
    counts shared libraries once. 0 for processes gone meanwhile."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(parents.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def ours_import(path: Path, crs: str, profile: str | None) -> tuple[float, int, int, int, str]:
    """``manage.py import_records households PATH --commit`` in a subprocess: its seconds,
    exit code, memory high-water mark (kB) of its own process (os.wait4) and of it with its
    worker processes (the peak of their summed PSS, sampled every 0.2 s), and its output."""

    command = [sys.executable]
    if profile:
        command += ["-m", "cProfile", "-o", profile]
    command += [str(ROOT / "manage.py"), "import_records", "households", str(path), "--commit"]
    command += ["--crs", crs]
    log = path.with_suffix(".log")
    t0 = time.perf_counter()
    peak = [0]
    done = threading.Event()

    def sample(pid: int) -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_pss_kb(pid))

    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=sample, args=(process.pid,), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        done.set()
        sampler.join()
    seconds = time.perf_counter() - t0
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, process.returncode, usage.ru_maxrss, peak[0], log.read_text()


def _remove_bench_households() -> int:
    """Delete the households the bench file created (their codes start with CODE_PREFIX)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DELETE FROM households_household WHERE code LIKE %s", [CODE_PREFIX + "%"])
        deleted = cur.rowcount
        if deleted:
            cur.execute("VACUUM (ANALYZE) households_household")
    return deleted


def _print_sql_times(path: Path, crs: str, counts: dict[str, int], share: float = 0.005) -> None:
    """Run the import again in this process with every SQL statement timed (the COPY into the
    stage is not a statement: it is in the rest), print those over ``share`` of the total,
    then delete what it inserted."""
    from django.db import connection

    from imports.pipeline import run_import

    statements: list[tuple[float, str]] = []

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - t0, " ".join(sql.split())))

    t0 = time.perf_counter()
    try:
        with connection.execute_wrapper(timed):
            result = run_import("households", path, crs=crs, commit=True)
    finally:
        total = time.perf_counter() - t0
        _remove_bench_households()
    in_sql = sum(t for t, _ in statements)
    expected = (counts["rows"] - counts["refused_rows"], counts["refused_rows"], counts["messy"])
    got = (result.new, result.refused, result.normalised)
    print(
        f"   new, refused, normalised rows: {got}; expected {expected}: "
        + ("as expected" if got == expected else "DIFFERENT: check the cleaners")
    )
    if getattr(result, "timings", None):
        print(f"   the pipeline's own timings (s): {result.timings}")
    print(
        f"   ours again in this process with each statement timed: {total:.1f} s, of which "
        f"{in_sql:.1f} s in {len(statements)} SQL statements and {total - in_sql:.1f} s in "
        "reading, cleaning, encrypting and COPY into the stage:"
    )
    for seconds, sql in sorted(statements, reverse=True):
        if seconds >= share * total:
            print(f"     {seconds:7.2f} s  {sql[:110]}")


def _print_profile(profile: str, top: int = 30) -> None:
    import pstats

    print(f"   profile of ours ({profile}), top {top} by cumulative time:")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def import_households() -> None:
    """See the module docstring. Target: ours <= 3x the baseline, memory flat."""
    from django.db import connection

    rows = int(os.environ.get("BENCH_IMPORT_ROWS", IMPORT_ROWS))
    crs = os.environ.get("BENCH_IMPORT_CRS", "wgs84").lower()
    if crs not in ("wgs84", "gcj02"):
        print(f"import_households: BENCH_IMPORT_CRS must be wgs84 or gcj02, not {crs!r}")
        return
    profile = os.environ.get("BENCH_IMPORT_PROFILE") or None
    sql_times = os.environ.get("BENCH_IMPORT_SQL", "") not in ("", "0")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM grids_grid WHERE generation_high_id IS NULL),"
            " (SELECT count(*) FROM households_household),"
            " (SELECT count(*) FROM households_household WHERE code LIKE %s)",
            [CODE_PREFIX + "%"],
        )
        grids, households, leftovers = cur.fetchone()
    if not grids:
        print("import_households: no grids loaded; load the demo first (load_demo --scale city)")
        return
    if leftovers:
        print(f"   {leftovers:,} households of an interrupted run ({CODE_PREFIX}...) deleted first")
        _remove_bench_households()
        households -= leftovers

    path = BENCH_DIR / f"households-{rows}-{crs}.csv"
    t0 = time.perf_counter()
    counts = write_households_csv(path, rows, crs=crs)
    written = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6
    print(
        f"\n== import of {counts['rows']:,} households from CSV ({crs}): "
        "import_records vs COPY + UPDATE"
    )
    print(
        f"   database {connection.settings_dict['NAME']!r}: {grids:,} current grids, "
        f"{households:,} households before; CSV {path} ({size_mb:.0f} MB) written in "
        f"{written:.1f} s: {counts['messy']:,} rows with a messy value, {counts['refused']:,} "
        "rows to refuse"
    )

    base_seconds, placed = baseline_import(path)
    print(
        f"   {'baseline: COPY + one UPDATE ... ST_Covers':<46} {base_seconds:8.1f} s"
        f"   ({placed:,} rows placed in a grid)"
    )
    before = _table_writes()
    try:
        ours_seconds, code, maxrss_kb, tree_kb, output = ours_import(path, crs, profile)
    finally:
        after = _table_writes()
        deleted = _remove_bench_households()
    touched = {
        table: after[table] - before.get(table, 0)
        for table in after
        if after[table] != before.get(table, 0) and table != BASELINE_TABLE
    }
    print("   ours' output (last lines):")
    for line in output.strip().splitlines()[-12:]:
        print(f"     | {line}")
    expected_new = counts["rows"] - counts["refused_rows"]
    print(
        f"   households inserted by ours: {deleted:,}; expected {expected_new:,} "
        f"({counts['refused_rows']} rows to refuse): "
        + ("as expected" if deleted == expected_new else "DIFFERENT")
    )
    print(
        f"   rows written per table by ours: {touched or 'none'}; "
        f"{deleted:,} inserted households deleted afterwards"
    )
    if code != 0:
        print(f"   ours FAILED (exit code {code}); no ratio. Output in {path.with_suffix('.log')}")
        return
    print(
        f"   {'ours: import_records households --commit':<46} {ours_seconds:8.1f} s"
        + ("   (under cProfile: slower than it is)" if profile else "")
    )
    # The baseline again, after ours (the database is as it was): on a shared machine the
    # load drifts, and the mean of a run before and one after is fairer to both.
    again, _ = baseline_import(path)
    print(f"   {'baseline again, after ours':<46} {again:8.1f} s")
    base_seconds = (base_seconds + again) / 2
    ratio = ours_seconds / base_seconds
    met = "met" if ratio <= IMPORT_TARGET_RATIO else "NOT met"
    print(
        f"   ratio ours/baseline (mean of the two): {ratio:.2f}x; "
        f"target <= {IMPORT_TARGET_RATIO:g}x: {met}"
    )
    print(
        f"   memory high-water mark of ours: {tree_kb / 1024:.0f} MB for the import_records "
        f"process and its cleaning workers together (peak summed PSS); "
        f"{maxrss_kb / 1024:.0f} MB max RSS of the largest one; this bench process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if profile:
        _print_profile(profile)
    if sql_times:
        _print_sql_times(path, crs, counts)
