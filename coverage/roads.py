"""Road import: a line network from a GeoJSON, Shapefile or GeoPackage file, made routable.

The ``import_roads`` management command is a thin CLI over ``import_roads`` here. As with
boundaries (``grids.importers``), the whole import runs in one transaction and a dry run (the
default) takes the same path and rolls back at the end, so nothing is written.

What an import does, in order:
1. read the file (pyogrio) and bring it to ``settings.GRIDMAP_SRID`` exactly as the boundary
   import does (``--crs`` as an EPSG code, any pyproj CRS, ``gcj02`` or ``bd09``; else the
   file's own CRS; a Shapefile needs its .prj);
2. check every feature: a LineString or MultiLineString (each part of a MultiLineString becomes
   its own segment); anything else refuses the whole file;
3. build the topology: segment ends closer than ``tolerance_m`` (1 m by default) to each other,
   or to a node already in the database, become one node (chains of close ends merge; an
   existing node is kept in place, otherwise the first end read is the node's position), and
   each segment's first and last vertex are moved onto its nodes. A segment whose two ends
   fall on one node (a closed loop, or shorter than the tolerance) is skipped and listed.
   One-way tags are ignored: walking goes both ways;
4. write the new nodes and the segments with their geodesic length in metres (the cost
   pgRouting walks with).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import pyproj
import shapely
from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.db import DatabaseError, connection, transaction

from gridmap.sql import table
from grids.importers import BoundaryImportError, normalise_code, read_layer, to_srid

from .models import RoadNode, RoadSegment
from .signals import roads_changed

SRID: int = settings.GRIDMAP_SRID
METRIC_SRID: int = settings.GRIDMAP_METRIC_SRID
SNAP_TOLERANCE_M = 1.0
GEOD = pyproj.Geod(ellps="WGS84")

# --- Messages (the tests reuse them) --------------------------------------------------------
REFUSED = "{path}: {count} feature(s) refused, nothing was written:"
EMPTY_GEOMETRY = "feature {number}: no geometry"
NOT_A_LINE = "feature {number}: a {geom_type}, not a line"
MISSING_FIELD = "Field {field!r} ({option}) is not in {path}; the file has: {fields}."
BAD_VILLAGE_CODE = "feature {number}: village code {code!r} is not a 12-digit code"
NO_LINES = "{path} has no features."
BAD_TOLERANCE = "The snapping tolerance must be a positive number of metres, not {tolerance}."
WRITE_FAILED = "{path}: the database refused the import, nothing was written: {error}"
LOOP_SKIPPED = "feature {number}: both ends on one node (a closed loop or shorter than {tol} m)"


class RoadImportError(Exception):
    """Bad input: nothing was written."""


@dataclass
class RoadImportReport:
    path: str
    crs: str
    commit: bool
    tolerance_m: float
    features: int = 0
    segments: int = 0
    nodes_created: int = 0
    nodes_reused: int = 0  # existing nodes that the file's ends were snapped onto
    ends_snapped: int = 0  # segment ends moved onto a node made from another end or node
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        mode = "Import" if self.commit else "Dry run of the import"
        out = [
            f"{mode} of roads from {self.path} (CRS {self.crs}, tolerance {self.tolerance_m} m).",
            f"Features: {self.features}; segments: {self.segments}.",
            f"Nodes created: {self.nodes_created}; existing nodes joined: {self.nodes_reused}; "
            f"segment ends snapped: {self.ends_snapped}.",
            f"Skipped: {len(self.skipped)}",
            *(f"  {s}" for s in self.skipped),
        ]
        if self.commit:
            out.append("Committed.")
        else:
            out.append("Dry run: nothing was written. Run again with --commit to write.")
        return out


@dataclass
class _Line:
    number: int
    coords: np.ndarray  # (n, 2) lon/lat in SRID
    name: str
    village_code: str


def import_roads(
    *,
    path: str | Path,
    crs: str | None = None,
    name_field: str | None = "name",
    village_field: str | None = None,
    tolerance_m: float = SNAP_TOLERANCE_M,
    commit: bool = False,
    out: TextIO | None = None,
) -> RoadImportReport:
    """Import the lines of ``path`` as road segments; see the module docstring.

    ``name_field`` is used when the file has it (an explicitly given field must exist);
    ``village_field`` optionally gives each segment's 12-digit village code.
    Raises RoadImportError (nothing written) on bad input.
    """
    if not tolerance_m or tolerance_m <= 0:
        raise RoadImportError(BAD_TOLERANCE.format(tolerance=tolerance_m))
    path = Path(path)
    try:
        frame = read_layer(path)
        geoms, crs_label = to_srid(frame, crs=crs, path=path)
    except BoundaryImportError as exc:
        raise RoadImportError(str(exc)) from exc
    if len(frame) == 0:
        raise RoadImportError(NO_LINES.format(path=path))
    fields = [str(c) for c in frame.columns if c != frame.geometry.name]
    for option, name in (("--village-field", village_field),):
        if name and name not in frame.columns:
            raise RoadImportError(
                MISSING_FIELD.format(
                    field=name, option=option, path=path, fields=", ".join(fields) or "none"
                )
            )
    if name_field and name_field not in frame.columns:
        if name_field != "name":
            raise RoadImportError(
                MISSING_FIELD.format(
                    field=name_field,
                    option="--name-field",
                    path=path,
                    fields=", ".join(fields) or "none",
                )
            )
        name_field = None

    report = RoadImportReport(
        path=str(path), crs=crs_label, commit=commit, tolerance_m=tolerance_m, features=len(frame)
    )
    lines = _lines(frame, geoms, name_field=name_field, village_field=village_field, report=report)
    if report.errors:
        header = REFUSED.format(path=path, count=len(report.errors))
        raise RoadImportError("\n".join([header, *(f"  {e}" for e in report.errors)]))
    try:
        with transaction.atomic():
            _write(lines, tolerance_m=tolerance_m, report=report)
            if not commit:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise RoadImportError(WRITE_FAILED.format(path=path, error=exc)) from exc
    if commit:
        roads_changed.send(sender=RoadSegment)
    if out is not None:
        out.write("\n".join(report.lines()) + "\n")
    return report


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _lines(
    frame: Any,
    geoms: np.ndarray,
    *,
    name_field: str | None,
    village_field: str | None,
    report: RoadImportReport,
) -> list[_Line]:
    def column(name: str | None) -> np.ndarray:
        if not name:
            return np.full(len(frame), None, dtype=object)
        return frame[name].to_numpy(dtype=object)

    lines: list[_Line] = []
    rows = zip(column(name_field), column(village_field), geoms, strict=True)
    for number, (raw_name, raw_village, geom) in enumerate(rows, start=1):
        if geom is None or shapely.is_empty(geom):
            report.errors.append(EMPTY_GEOMETRY.format(number=number))
            continue
        if geom.geom_type not in ("LineString", "MultiLineString"):
            report.errors.append(NOT_A_LINE.format(number=number, geom_type=geom.geom_type))
            continue
        village = normalise_code(raw_village) or "" if village_field else ""
        if village and not (len(village) == 12 and village.isdigit()):
            report.errors.append(BAD_VILLAGE_CODE.format(number=number, code=village))
            continue
        for part in shapely.get_parts(geom):
            coords = shapely.get_coordinates(part)
            if len(coords) >= 2:
                lines.append(_Line(number, coords, _text(raw_name)[:200], village))
    return lines


# --- Topology -------------------------------------------------------------------------------
class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller index is the representative: existing nodes come first, then ends
            # in the order read.
            self.parent[max(ra, rb)] = min(ra, rb)


def snap_clusters(xy: np.ndarray, tolerance: float) -> np.ndarray:
    """For each of the (n, 2) metric points, the index of its cluster's representative.

    Points within ``tolerance`` of each other are in one cluster (transitively); the
    representative is the cluster's first point. A hash grid of ``tolerance``-sized cells
    keeps it near linear.
    """
    uf = _UnionFind(len(xy))
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    keys = np.floor(xy / tolerance).astype(np.int64)
    for i, (cx, cy) in enumerate(keys.tolist()):
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in cells.get((cx + dx, cy + dy), ()):
                    if np.hypot(*(xy[i] - xy[j])) <= tolerance:
                        uf.union(i, j)
        cells[(cx, cy)].append(i)
    return np.array([uf.find(i) for i in range(len(xy))], dtype=np.int64)


def _write(lines: list[_Line], *, tolerance_m: float, report: RoadImportReport) -> None:
    to_metric = pyproj.Transformer.from_crs(SRID, METRIC_SRID, always_xy=True)
    ends = np.array([[line.coords[0], line.coords[-1]] for line in lines]).reshape(-1, 2)
    # Existing nodes near the file's extent take part in the snapping, first.
    existing_ids: list[int] = []
    existing_xy = np.empty((0, 2))
    if len(ends):
        pad = tolerance_m / 100_000 * 2  # degrees, generous
        x0, y0 = ends.min(0) - pad
        x1, y1 = ends.max(0) + pad
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT id, ST_X(geom), ST_Y(geom) FROM {table(RoadNode)} "
                "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, %s) ORDER BY id",
                [x0, y0, x1, y1, SRID],
            )
            rows = cur.fetchall()
        existing_ids = [r[0] for r in rows]
        existing_xy = np.array([r[1:] for r in rows], dtype=float).reshape(-1, 2)
    points = np.vstack([existing_xy, ends]) if len(ends) else existing_xy
    if not len(points):
        return
    mx, my = to_metric.transform(points[:, 0], points[:, 1])
    rep = snap_clusters(np.column_stack([mx, my]), tolerance_m)
    n_existing = len(existing_ids)

    # One node per cluster that holds an end of the file.
    node_of_rep: dict[int, int] = {}
    end_reps = rep[n_existing:]
    pairs = end_reps.reshape(-1, 2)
    used = {int(r) for r in pairs[pairs[:, 0] != pairs[:, 1]].ravel()}
    new_reps = sorted(r for r in used if r >= n_existing)
    created = RoadNode.objects.bulk_create(
        RoadNode(geom=Point(*points[r], srid=SRID)) for r in new_reps
    )
    node_of_rep.update({r: node.pk for r, node in zip(new_reps, created, strict=True)})
    node_of_rep.update({r: existing_ids[r] for r in used if r < n_existing})
    report.nodes_created = len(created)
    report.nodes_reused = sum(1 for r in used if r < n_existing)
    report.ends_snapped = int(
        sum(1 for k, r in enumerate(end_reps.tolist()) if r != n_existing + k)
    )

    segments: list[RoadSegment] = []
    for k, line in enumerate(lines):
        r0, r1 = int(end_reps[2 * k]), int(end_reps[2 * k + 1])
        if r0 == r1:
            report.skipped.append(LOOP_SKIPPED.format(number=line.number, tol=tolerance_m))
            continue
        coords = line.coords.copy()
        coords[0], coords[-1] = points[r0], points[r1]
        geom = shapely.LineString(coords)
        segments.append(
            RoadSegment(
                geom=LineString(coords.tolist(), srid=SRID),
                source_id=node_of_rep[r0],
                target_id=node_of_rep[r1],
                length_m=GEOD.geometry_length(geom),
                name=line.name,
                village_code=line.village_code,
            )
        )
    RoadSegment.objects.bulk_create(segments, batch_size=5000)
    report.segments = len(segments)
