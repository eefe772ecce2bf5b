"""Boundary import: one level of boundaries from a GeoJSON, Shapefile or GeoPackage file.

The ``import_boundaries`` management command is a thin CLI over ``import_boundaries`` here
(as in mysociety/mapit). The whole import runs in one transaction; a dry run (the default) takes
exactly the same path, database checks included, and rolls back at the end, so nothing is
written, not even a Generation row.

What an import does, in order:
1. read the file (pyogrio) and bring it to ``settings.GRIDMAP_SRID``: from ``--crs`` (any
   pyproj CRS, or ``gcj02`` / ``bd09`` lon/lat, converted with grids.coords), else the file's
   own CRS (GeoJSON without a ``crs`` member is EPSG:4326 by spec; a Shapefile needs its .prj);
2. check every feature: code format, level (codes of another level are skipped and reported),
   name, kind, polygonal geometry (invalid polygons are repaired with ``make_valid`` and
   listed with the reason), parent (from ``parent_code_field`` or the code prefix). Any
   error refuses the whole file;
3. put the checked features into a temporary staging table (one COPY) and compare them, in
   one statement, with the current row of each code: the same geometry (equal after snapping
   to 1e-9 degrees, or a Hausdorff distance under the tolerance, ``--tolerance`` metres,
   default ``settings.GRIDMAP_BOUNDARY_TOLERANCE_M`` = 0.5) and the same name / parent / kind
   is unchanged and nothing is written for it; otherwise the row is superseded in the
   import's generation (grids.services.boundary_supersede); new codes are created;
4. check in PostGIS that each boundary lies in its parent; one sticking out by more than
   1 m² and 0.1% of its area is listed (not refused).
Current rows of the level that the file does not mention (under the same parents) are left
alone and listed. A file whose boundaries all stay within the tolerance adds no generation and
re-derives nothing, however its coordinates were rounded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon

from gridmap.codes import (
    CODE_LENGTH,
    code_at,
    is_province,
    level_above,
    level_of,
    place_name,
)
from gridmap.sql import column, table

from .coords import OBFUSCATED_TO_WGS84
from .models import BOUNDARY_MODELS, Boundary, Generation, Town, Village
from .services import boundary_create, boundary_supersede
from .signals import boundaries_changed

SRID: int = settings.GRIDMAP_SRID

LEVELS = list(BOUNDARY_MODELS)
PROVINCE = "province"
# The parent level of each level, by its place name ("district", not "county"), for the
# messages and BOUNDARY_MODELS (see gridmap.codes).
PARENT_LEVEL: dict[str, str | None] = {
    level: None if (above := level_above(level)) is None else place_name(above) for level in LEVELS
}
# Kinds by level, with the Chinese words found in official lists.
KIND_WORDS: dict[str, dict[str, str]] = {
    "town": {"镇": Town.Kind.TOWN, "乡": Town.Kind.TOWNSHIP, "街道": Town.Kind.STREET},
    "village": {"村": Village.Kind.VILLAGE, "社区": Village.Kind.COMMUNITY},
}

# Equality and containment tolerances (see the module docstring).
SNAP_DEGREES = 1e-9
OUTSIDE_MIN_M2 = 1.0
OUTSIDE_MIN_SHARE = 0.001

# --- Messages (the tests reuse them) --------------------------------------------------------
UNKNOWN_LEVEL = "Unknown level {level!r}: expected one of {levels}."
FILE_NOT_FOUND = "File not found: {path}"
UNREADABLE = "Cannot read {path} as GeoJSON, Shapefile or GeoPackage: {error}"
UNKNOWN_CRS = (
    "Unknown coordinate reference system {crs!r}: give an EPSG code (EPSG:4326), "
    "another CRS pyproj knows, gcj02 or bd09."
)
NO_CRS = (
    "{path} does not say its coordinate reference system (a Shapefile needs its .prj file): "
    "pass --crs, e.g. --crs EPSG:4326, --crs EPSG:4545 or --crs gcj02."
)
OBFUSCATED_NEEDS_LONLAT = (
    "--crs {crs} means longitude/latitude coordinates, but {path} is in {file_crs}."
)
MISSING_FIELD = "Field {field!r} ({option}) is not in {path}; the file has: {fields}."
KIND_NOT_APPLICABLE = "A {level} has no kind; --kind-field is for towns and villages."
GENERATION_NOT_FOUND = "Generation {generation} does not exist."
NOTHING_AT_LEVEL = (
    "No feature in {path} has a {level} code ({length} digits); codes found: {codes}."
)
REFUSED = "{path}: {count} feature(s) refused, nothing was written:"
BAD_CODE = "feature {number}: code {code!r} is not a GB/T 2260 or statistical code"
DUPLICATE_CODE = "{code}: appears {count} times in the file"
MISSING_NAME = "{code}: field {field!r} is empty"
UNKNOWN_KIND = "{code}: kind {kind!r} is not one of {kinds}"
EMPTY_GEOMETRY = "{code}: no geometry"
NOT_POLYGONAL = "{code}: a {geom_type}, not a polygon"
NOTHING_LEFT = "{code}: nothing polygonal is left after repairing ({reason})"
MISSING_PARENT = "{code}: parent {parent_level} {parent_code} is not a current {parent_level}"
WRITE_FAILED = "{path}: the database refused the import, nothing was written: {error}"
OTHER_LEVEL = "a {other} code, not a {level} code"
BAD_TOLERANCE = (
    "--tolerance must be a distance in metres, 0 or more (0.5 means: a boundary that moved "
    "by less than half a metre is unchanged); got {tolerance!r}."
)


class BoundaryImportError(Exception):
    """Bad input: nothing was written. ``report`` is the partial report, when there is one."""

    def __init__(self, message: str, report: ImportReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Repair:
    code: str
    reason: str


@dataclass(frozen=True)
class Skip:
    code: str
    name: str
    reason: str


@dataclass(frozen=True)
class Outside:
    code: str
    parent_code: str
    area_m2: float
    share: float


@dataclass
class ImportReport:
    level: str
    path: str
    crs: str
    commit: bool
    generation: int | None = None
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    repaired: list[Repair] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    outside_parent: list[Outside] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Current rows of the level, under the parents of the file's features, that the file
    # does not mention (left alone).
    not_in_file: list[str] = field(default_factory=list)
    # What changed, by code: some of "name", "parent", "kind", "geometry".
    changes: dict[str, list[str]] = field(default_factory=dict)

    def lines(self, limit: int = 20) -> list[str]:
        def codes(items: list[str]) -> str:
            more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        mode = "Import" if self.commit else "Dry run of the import"
        out = [f"{mode} of {self.level} boundaries from {self.path} (CRS {self.crs})."]
        out.append(
            f"Created: {len(self.created)}" + (f": {codes(self.created)}" if self.created else "")
        )
        changed = [f"{c} ({', '.join(self.changes.get(c, []))})" for c in self.changed]
        out.append(f"Changed: {len(changed)}" + (f": {codes(changed)}" if changed else ""))
        out.append(f"Unchanged: {len(self.unchanged)}")
        out.append(f"Repaired: {len(self.repaired)}")
        out += [f"  {r.code}: {r.reason}" for r in self.repaired]
        out.append(f"Skipped: {len(self.skipped)}")
        out += [f"  {s.code} {s.name}: {s.reason}" for s in self.skipped]
        out.append(f"Outside their parent: {len(self.outside_parent)}")
        out += [
            f"  {o.code}: {o.area_m2:,.1f} m² ({o.share:.2%}) outside its "
            f"{PARENT_LEVEL[self.level]} {o.parent_code}"
            for o in self.outside_parent
        ]
        out.append(
            f"Not in the file, left alone: {len(self.not_in_file)}"
            + (f": {codes(self.not_in_file)}" if self.not_in_file else "")
        )
        if self.commit and self.generation is None:
            out.append("Nothing to write: no generation was added.")
        elif self.commit:
            out.append(f"Committed as generation {self.generation}.")
        else:
            out.append("Dry run: nothing was written. Run again with --commit to write.")
        return out


@dataclass
class _Feature:
    number: int
    code: str
    name: str
    parent_code: str | None
    kind: str | None
    geom: MultiPolygon


def normalise_code(value: Any) -> str | None:
    """A code from a file as a string: 450702, 450702.0 and " 450702 " give "450702"."""
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else str(value)
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if pd.isna(value):
        return None
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]+)\.0*", text)
    return (match.group(1) if match else text) or None


def code_level(code: str) -> str | None:
    """The level a code belongs to, by its place name ("province" for xx0000), or None for a
    malformed code (gridmap.codes.level_of)."""
    level = level_of(code)
    if level is not None:
        return place_name(level)
    return PROVINCE if is_province(code) else None


def derived_parent_code(level: str, code: str) -> str | None:
    """The parent's code read from the code's prefix (a district's city: code[:4] + "00")."""
    above = level_above(level)
    return None if above is None else code_at(above, code)


def import_boundaries(
    *,
    level: str,
    path: str | Path,
    crs: str | None = None,
    code_field: str = "code",
    name_field: str = "name",
    parent_code_field: str | None = None,
    kind_field: str | None = None,
    generation: int | None = None,
    commit: bool = False,
    tolerance: float | None = None,
    out: TextIO | None = None,
) -> ImportReport:
    """Import the ``level`` boundaries of ``path``; see the module docstring.

    ``tolerance``: how far (metres, Hausdorff distance) a boundary may lie from its current
    version and still be unchanged; default ``settings.GRIDMAP_BOUNDARY_TOLERANCE_M``.
    Raises BoundaryImportError (nothing written) on bad input.
    """
    if level not in BOUNDARY_MODELS:
        raise BoundaryImportError(UNKNOWN_LEVEL.format(level=level, levels=", ".join(LEVELS)))
    if tolerance is None:
        tolerance = float(settings.GRIDMAP_BOUNDARY_TOLERANCE_M)
    if not (isinstance(tolerance, int | float) and math.isfinite(tolerance) and tolerance >= 0):
        raise BoundaryImportError(BAD_TOLERANCE.format(tolerance=tolerance))
    if kind_field and level not in KIND_WORDS:
        raise BoundaryImportError(KIND_NOT_APPLICABLE.format(level=level))
    path = Path(path)
    frame = read_layer(path)
    options = {
        "--code-field": code_field,
        "--name-field": name_field,
        "--parent-code-field": parent_code_field,
        "--kind-field": kind_field,
    }
    for option, name in options.items():
        if name and name not in frame.columns:
            fields = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
            raise BoundaryImportError(
                MISSING_FIELD.format(field=name, option=option, path=path, fields=fields or "none")
            )
    geoms, crs_label = to_srid(frame, crs=crs, path=path)

    report = ImportReport(level=level, path=str(path), crs=crs_label, commit=commit)
    features = _features(
        frame,
        geoms,
        level=level,
        path=path,
        report=report,
        code_field=code_field,
        name_field=name_field,
        parent_code_field=parent_code_field,
        kind_field=kind_field,
    )
    try:
        with transaction.atomic():
            ids = _write(
                features,
                level=level,
                generation=generation,
                parent_optional=level == "district" and not parent_code_field,
                path=path,
                report=report,
                tolerance=tolerance,
            )
            if report.errors:
                raise BoundaryImportError(_refused(path, report), report)
            _check_containment(level, ids, report)
            if not commit:
                transaction.set_rollback(True)
    except (ValidationError, ValueError, DatabaseError) as exc:
        raise BoundaryImportError(WRITE_FAILED.format(path=path, error=exc), report) from exc
    if not commit and generation is None:
        report.generation = None  # the generation was rolled back with everything else
    if commit and (report.created or report.changed):
        boundaries_changed.send(sender=Boundary, level=level)
    if out is not None:
        out.write("\n".join(report.lines()) + "\n")
    return report


def _refused(path: Path, report: ImportReport) -> str:
    header = REFUSED.format(path=path, count=len(report.errors))
    return "\n".join([header, *(f"  {e}" for e in report.errors)])


# --- Reading --------------------------------------------------------------------------------
def read_layer(path: Path) -> gpd.GeoDataFrame:
    """A GeoJSON, Shapefile or GeoPackage file as a GeoDataFrame (BoundaryImportError if not)."""
    if not path.exists():
        raise BoundaryImportError(FILE_NOT_FOUND.format(path=path))
    try:
        return gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise BoundaryImportError(UNREADABLE.format(path=path, error=exc)) from exc


def to_srid(frame: gpd.GeoDataFrame, *, crs: str | None, path: Path) -> tuple[np.ndarray, str]:
    """The file's geometries in GRIDMAP_SRID (2D), and a label of the source CRS."""
    obfuscated = crs.strip().lower().replace("-", "").replace("_", "") if crs else None
    if obfuscated in OBFUSCATED_TO_WGS84:
        if frame.crs is not None and not frame.crs.is_geographic:
            raise BoundaryImportError(
                OBFUSCATED_NEEDS_LONLAT.format(crs=obfuscated, path=path, file_crs=frame.crs.name)
            )
        wgs84 = OBFUSCATED_TO_WGS84[obfuscated](frame.geometry.to_numpy())
        series = gpd.GeoSeries(wgs84, crs="EPSG:4326")
        label = obfuscated
    elif crs:
        try:
            source = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            raise BoundaryImportError(UNKNOWN_CRS.format(crs=crs)) from exc
        series = frame.geometry.set_crs(source, allow_override=True)
        label = source.to_string()
    else:
        if frame.crs is None:
            raise BoundaryImportError(NO_CRS.format(path=path))
        series = frame.geometry
        label = frame.crs.to_string()
    return shapely.force_2d(series.to_crs(epsg=SRID).to_numpy()), label


# --- Checking features ----------------------------------------------------------------------
def _features(
    frame: gpd.GeoDataFrame,
    geoms: np.ndarray,
    *,
    level: str,
    path: Path,
    report: ImportReport,
    code_field: str,
    name_field: str,
    parent_code_field: str | None,
    kind_field: str | None,
) -> list[_Feature]:
    features: list[_Feature] = []

    def column(name: str | None) -> np.ndarray:
        if not name:
            return np.full(len(frame), None, dtype=object)
        return frame[name].to_numpy(dtype=object)

    names = (code_field, name_field, parent_code_field, kind_field)
    rows = zip(*(column(name) for name in names), geoms, strict=True)
    for number, (raw_code, raw_name, raw_parent, raw_kind, geom) in enumerate(rows, start=1):
        code = normalise_code(raw_code)
        found = code_level(code) if code else None
        if found is None:
            report.errors.append(BAD_CODE.format(number=number, code=code or ""))
            continue
        name = _text(raw_name)
        if found != level:
            reason = OTHER_LEVEL.format(other=found, level=level)
            report.skipped.append(Skip(code=code, name=name, reason=reason))
            continue
        if not name:
            report.errors.append(MISSING_NAME.format(code=code, field=name_field))
            continue
        parent_code = (
            normalise_code(raw_parent) if parent_code_field else derived_parent_code(level, code)
        )
        errors = len(report.errors)
        kind = _kind(raw_kind, level=level, code=code, report=report)
        multi = _multipolygon(geom, code=code, report=report)
        if multi is not None and len(report.errors) == errors:
            features.append(_Feature(number, code, name, parent_code, kind, multi))

    counts = pd.Series([f.code for f in features]).value_counts()
    for code, count in counts[counts > 1].items():
        report.errors.append(DUPLICATE_CODE.format(code=code, count=count))
    if not features and not report.errors:
        raise BoundaryImportError(
            NOTHING_AT_LEVEL.format(
                path=path,
                level=level,
                length=CODE_LENGTH[level],
                codes=", ".join(s.code for s in report.skipped[:10]) or "none",
            )
        )
    return features


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _kind(value: Any, *, level: str, code: str, report: ImportReport) -> str | None:
    """The kind choice; None when not given (or unknown, with an error in the report)."""
    text = _text(value)
    if not text:
        return None
    model = BOUNDARY_MODELS[level]
    choices = {c.value: c.value for c in model.Kind} | {str(c.label): c.value for c in model.Kind}
    choices |= {k: str(v) for k, v in KIND_WORDS[level].items()}
    kind = choices.get(text) or choices.get(text.lower())
    if kind is None:
        report.errors.append(UNKNOWN_KIND.format(code=code, kind=text, kinds=", ".join(choices)))
    return kind


def _polygons(geom: shapely.Geometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon | GeometryCollection):
        return [p for part in geom.geoms for p in _polygons(part)]
    return []


def _multipolygon(
    geom: shapely.Geometry | None, *, code: str, report: ImportReport
) -> MultiPolygon | None:
    """The feature as a valid MultiPolygon (repairing and listing it when needed), or None."""
    if geom is None or geom.is_empty:
        report.errors.append(EMPTY_GEOMETRY.format(code=code))
        return None
    if not isinstance(geom, Polygon | MultiPolygon):
        report.errors.append(NOT_POLYGONAL.format(code=code, geom_type=geom.geom_type))
        return None
    multi = MultiPolygon(_polygons(geom))
    if multi.is_valid:
        return multi
    reason = shapely.is_valid_reason(multi)
    parts = _polygons(shapely.make_valid(multi))
    multi = MultiPolygon(parts)
    if not multi.is_valid:  # polygons of a collection may overlap: dissolve them
        multi = MultiPolygon(_polygons(shapely.union_all(parts)))
    if multi.is_empty:
        report.errors.append(NOTHING_LEFT.format(code=code, reason=reason))
        return None
    report.repaired.append(Repair(code=code, reason=reason))
    return multi


# --- Writing --------------------------------------------------------------------------------
# The checked features go into a temporary staging table in one COPY; matching them to the
# current rows and their parents by code, the comparison and the rows the file leaves alone
# are each one set statement over it. Only what really changed goes through the services
# (grids.services: a superseded row is followed by its children, assignments and derived
# households), one row at a time, because each change has its own history to keep.
STAGING = "grids_boundary_import_staging"

_STAGING_CREATE_SQL = """
DROP TABLE IF EXISTS {staging};
CREATE TEMPORARY TABLE {staging} (
    number integer NOT NULL,
    code text NOT NULL,  -- not unique yet: a code twice is refused after the parents check
    name text NOT NULL,
    parent_code text,
    kind text,
    geom geometry(MultiPolygon, {srid}) NOT NULL
);
CREATE INDEX ON {staging} (code)
"""

# The parent of every staged feature that names one: its current row's id, or NULL.
_STAGED_PARENTS_SQL = """
SELECT s.number, s.code, s.parent_code, p.id
  FROM {staging} s
  LEFT JOIN {parent_table} p ON p.code = s.parent_code AND p.generation_high_id IS NULL
 WHERE s.parent_code IS NOT NULL
 ORDER BY s.number
"""

# Every staged feature against the current row of its code: the row's id (NULL: a new code)
# and what differs. The geometry is the same when it is equal after snapping to SNAP_DEGREES
# (the cheap test, tried first) or when no point of either boundary is farther than the
# tolerance from the other (the Hausdorff distance, taken in Web Mercator and scaled by the
# cosine of the latitude, which gives metres to well under 1% across a boundary). The CASE
# fixes the order: ST_Equals only sees valid geometries (snapping can, rarely, make one
# invalid) and the distance is computed only when needed.
_COMPARE_SQL = """
SELECT s.code, b.id,
       b.id IS NOT NULL AND s.name IS DISTINCT FROM b.name,
       b.id IS NOT NULL AND NOT (
           CASE WHEN ST_IsValid(sn.old) AND ST_IsValid(sn.new) AND ST_Equals(sn.old, sn.new)
                     THEN TRUE
                ELSE ST_HausdorffDistance(ST_Transform(b.geom, 3857), ST_Transform(s.geom, 3857))
                     * cos(radians(ST_Y(ST_Centroid(ST_Envelope(b.geom))))) < %(tolerance)s
           END),
       b.id IS NOT NULL AND {parent_differs},
       b.id IS NOT NULL AND {kind_differs}
  FROM {staging} s
  LEFT JOIN {parent_table} p ON p.code = s.parent_code AND p.generation_high_id IS NULL
  LEFT JOIN {table} b ON b.code = s.code AND b.generation_high_id IS NULL
  LEFT JOIN LATERAL (SELECT ST_SnapToGrid(b.geom, %(snap)s) AS old,
                            ST_SnapToGrid(s.geom, %(snap)s) AS new) sn ON b.id IS NOT NULL
 ORDER BY s.code
"""

# Boundaries sticking out of their parent by more than the tolerance, with the area outside.
_OUTSIDE_PARENT_SQL = """
SELECT code, parent_code, outside, outside / NULLIF(area, 0)
  FROM (SELECT c.code, p.code AS parent_code,
               ST_Area(ST_Difference(c.geom, p.geom)::geography) AS outside,
               ST_Area(c.geom::geography) AS area
          FROM {table} c JOIN {parent_table} p ON p.id = c.{parent_column}
         WHERE c.id = ANY(%(ids)s) AND NOT ST_Covers(p.geom, c.geom)) AS t
 WHERE outside > GREATEST(%(min_area)s, %(min_share)s * area)
 ORDER BY code
"""

# Current rows of the level that the file does not mention, under the parents it covers.
_NOT_IN_FILE_SQL = """
SELECT b.code FROM {table} b
 WHERE b.generation_high_id IS NULL
   AND NOT EXISTS (SELECT 1 FROM {staging} s WHERE s.code = b.code)
   AND {scope}
 ORDER BY b.code
"""
_NOT_IN_FILE_SCOPE_SQL = """(b.{parent_column} IN (
        SELECT p.id FROM {staging} s
          JOIN {parent_table} p ON p.code = s.parent_code AND p.generation_high_id IS NULL)
     OR (b.{parent_column} IS NULL
         AND EXISTS (SELECT 1 FROM {staging} s WHERE s.parent_code IS NULL)))"""


def _write(
    features: list[_Feature],
    *,
    level: str,
    generation: int | None,
    parent_optional: bool,
    path: Path,
    report: ImportReport,
    tolerance: float,
) -> list[int]:
    """Create or supersede the rows of ``features``; the ids of the rows now current."""
    model = BOUNDARY_MODELS[level]
    _stage(features)
    _check_parents(level=level, optional=parent_optional, report=report)
    if report.errors:
        return []

    target = None
    if generation is not None:
        target = Generation.objects.filter(pk=generation).first()
        if target is None:
            raise BoundaryImportError(GENERATION_NOT_FOUND.format(generation=generation))
        report.generation = target.pk

    def target_generation() -> Generation:
        # Created on first use: an import that changes nothing adds no generation.
        nonlocal target
        if target is None:
            description = f"{level} boundaries from {path.name}"[:200]
            target = Generation.objects.create(description=description)
            report.generation = target.pk
        return target

    compared = _compare(model, level=level, tolerance=tolerance)
    by_code = {f.code: f for f in features}
    rows = model.objects.in_bulk([pk for pk, _ in compared.values() if pk is not None])
    wanted_parents = {
        by_code[code].parent_code
        for code, (pk, changes) in compared.items()
        if (pk is None or changes) and by_code[code].parent_code
    }
    parents = _parents_by_code(level, wanted_parents)
    ids: list[int] = []
    for code, (pk, changes) in compared.items():
        if pk is not None and not changes:
            report.unchanged.append(code)
            ids.append(pk)
            continue
        feature = by_code[code]
        fields = _fields(model, feature, parents)
        if pk is None:
            row = boundary_create(model=model, generation=target_generation(), code=code, **fields)
            report.created.append(code)
        else:
            row = boundary_supersede(
                rows[pk], generation=target_generation(), **{k: fields[k] for k in changes}
            )
            report.changed.append(code)
            report.changes[code] = [
                "geometry" if k == "geom" else "parent" if k == model.parent_field else k
                for k in changes
            ]
        ids.append(row.pk)

    report.not_in_file = _not_in_file(model, level=level)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {STAGING}")
    return ids


def _stage(features: list[_Feature]) -> None:
    """The checked features into the staging table, in one COPY."""
    geoms = shapely.set_srid(np.array([f.geom for f in features], dtype=object), SRID)
    wkbs = shapely.to_wkb(geoms, hex=True, include_srid=True)
    with connection.cursor() as cursor:
        cursor.execute(_STAGING_CREATE_SQL.format(staging=STAGING, srid=SRID))
        copy_sql = f"COPY {STAGING} (number, code, name, parent_code, kind, geom) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for feature, wkb in zip(features, wkbs, strict=True):
                copy.write_row(
                    (
                        feature.number,
                        feature.code,
                        feature.name,
                        feature.parent_code,
                        feature.kind,
                        wkb,
                    )
                )


def _check_parents(*, level: str, optional: bool, report: ImportReport) -> None:
    """Every named parent must be a current row of the level above (one statement); a
    district whose city is not loaded (``optional``) has none."""
    parent_level = PARENT_LEVEL[level]
    if parent_level is None:
        return
    sql = _STAGED_PARENTS_SQL.format(
        staging=STAGING, parent_table=table(BOUNDARY_MODELS[parent_level])
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        missing = [(code, parent) for _, code, parent, pk in cursor.fetchall() if pk is None]
        if missing and optional:
            cursor.execute(
                f"UPDATE {STAGING} SET parent_code = NULL WHERE code = ANY(%s)",
                [[code for code, _ in missing]],
            )
            return
    report.errors += [
        MISSING_PARENT.format(code=code, parent_level=parent_level, parent_code=parent)
        for code, parent in missing
    ]


def _compare(
    model: type[Boundary], *, level: str, tolerance: float
) -> dict[str, tuple[int | None, list[str]]]:
    """By code, in code order: the current row's id (None for a new code) and the fields
    that differ (names of ``_fields``), in one statement over the staging table."""
    parent_level = PARENT_LEVEL[level]
    if model.parent_field:
        parent_table = table(BOUNDARY_MODELS[parent_level])
        parent_differs = f"p.id IS DISTINCT FROM b.{column(model, model.parent_field)}"
    else:  # no parent level: a join that never matches
        parent_table, parent_differs = table(model), "FALSE"
    kind_differs = (
        "s.kind IS NOT NULL AND s.kind IS DISTINCT FROM b.kind"
        if any(f.name == "kind" for f in model._meta.concrete_fields)
        else "FALSE"
    )
    sql = _COMPARE_SQL.format(
        staging=STAGING,
        table=table(model),
        parent_table=parent_table,
        parent_differs=parent_differs,
        kind_differs=kind_differs,
    )
    names = ["name", "geom", model.parent_field, "kind"]
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tolerance": tolerance, "snap": SNAP_DEGREES})
        return {
            code: (pk, [name for name, differs in zip(names, flags, strict=True) if differs])
            for code, pk, *flags in cursor.fetchall()
        }


def _parents_by_code(level: str, codes: set[str]) -> dict[str, Boundary]:
    parent_level = PARENT_LEVEL[level]
    if parent_level is None or not codes:
        return {}
    rows = BOUNDARY_MODELS[parent_level].objects.current().filter(code__in=codes)
    return {p.code: p for p in rows}


def _fields(
    model: type[Boundary], feature: _Feature, parents: dict[str, Boundary]
) -> dict[str, Any]:
    """The model fields a feature sets (as the services take them)."""
    geom = GEOSGeometry(memoryview(shapely.to_wkb(feature.geom)), srid=SRID)
    fields: dict[str, Any] = {"name": feature.name, "geom": geom}
    if model.parent_field:
        fields[model.parent_field] = parents.get(feature.parent_code or "")
    if feature.kind:
        fields["kind"] = feature.kind
    return fields


def _not_in_file(model: type[Boundary], *, level: str) -> list[str]:
    """Current rows of the level missing from the file, under the parents the file covers."""
    scope = "TRUE"
    if model.parent_field:
        scope = _NOT_IN_FILE_SCOPE_SQL.format(
            staging=STAGING,
            parent_table=table(BOUNDARY_MODELS[PARENT_LEVEL[level]]),
            parent_column=column(model, model.parent_field),
        )
    sql = _NOT_IN_FILE_SQL.format(table=table(model), staging=STAGING, scope=scope)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [code for (code,) in cursor.fetchall()]


def _check_containment(level: str, ids: list[int], report: ImportReport) -> None:
    model = BOUNDARY_MODELS[level]
    if model.parent_field is None or not ids:
        return
    parent_model = BOUNDARY_MODELS[PARENT_LEVEL[level]]
    sql = _OUTSIDE_PARENT_SQL.format(
        table=table(model),
        parent_table=table(parent_model),
        parent_column=column(model, model.parent_field),
    )
    params = {"ids": ids, "min_area": OUTSIDE_MIN_M2, "min_share": OUTSIDE_MIN_SHARE}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        report.outside_parent = [
            Outside(code=code, parent_code=parent_code, area_m2=outside, share=share)
            for code, parent_code, outside, share in cursor.fetchall()
        ]
