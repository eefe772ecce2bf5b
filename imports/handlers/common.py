"""What the kinds' handlers share: table names, masked values, coordinates, common checks."""

from __future__ import annotations

from typing import Any

import shapely
from django.utils import translation
from django.utils.translation import gettext_noop

from gridmap.crypto import encrypt, keyed_hash
from gridmap.sql import local_settings, tables
from grids.models import Building, District, Grid, Station, Town, Village, Worker
from grids.services import GRID_OF_POINT_SQL
from imports.normalise import (
    Cleaned,
    RowError,
    clean_id_number,
    clean_lon_lat,
    clean_phone,
    is_empty,
)
from imports.pipeline import Context, Handler, Stage, clean_cells
from imports.sources import GEOMETRY, Record

T = tables(
    building=Building,
    district=District,
    grid=Grid,
    station=Station,
    town=Town,
    village=Village,
    worker=Worker,
)

MSG_MASKED_NEW = gettext_noop(
    "This value is masked (it has *): a masked number can only keep the number already stored "
    "for a record imported before. Give the full number, or leave the cell empty."
)
MSG_OUTSIDE_DISTRICTS = gettext_noop(
    "The point %(lon)s, %(lat)s (WGS84, after conversion) lies outside every district. Check "
    "the coordinates and the coordinate system (WGS84, GCJ-02 from AMap, BD-09 from Baidu)."
)
MSG_OUTSIDE_JURISDICTION = gettext_noop(
    "This row is outside your jurisdiction (it belongs to %(code)s): you may import only "
    "records of your own area."
)
MSG_NUMBER_INVALID = gettext_noop("%(value)s is not a number.")

# A value the exports mask (gridmap.personal_data: 138****5678) keeps the stored one.
MASK_CHAR = "*"


def choice_lookup(choices: Any, synonyms: dict[str, Any]) -> dict[str, str]:
    """Every accepted spelling of a choice of ``choices`` (a TextChoices): its value, its English
    and Chinese labels (lower case) and the ``synonyms`` counties use."""
    lookup: dict[str, str] = {k: v.value for k, v in synonyms.items()}
    for choice in choices:
        lookup[choice.value] = choice.value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup[str(choice.label).lower()] = choice.value
    return lookup


class PointHandler(Handler):
    """A kind whose rows carry a position: its cleaners, then lon/lat (or a geo file's point)."""

    cleaners: dict[str, Any] = {}

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["lon"], values["lat"], values["ewkt"] = lon_lat(record, ctx, errors, normalised)
        return values, errors, normalised


def grid_of(point_sql: str) -> str:
    """SQL: the id of the current grid covering ``point_sql`` (the application's rule)."""
    return GRID_OF_POINT_SQL.replace("{point}", point_sql).replace("{grid}", T["grid"])


def grids_of_points_sql(points: str, target: str, *, unlogged: bool = False) -> list[str]:
    """SQL statements making the temporary table ``target`` (``n``, ``grid_id``): the grid of
    each point of the table ``points`` (``n``, ``pt``) by the application's rule (``grid_of``:
    the current grid covering it, the first by code), as one spatial join taken grid by grid
    over an index on the points. Each grid's shape is then prepared once for all the points in
    it (PostGIS keeps it between consecutive calls), where a lookup per point (``grid_of``)
    tests candidate grids in turn and prepares little: measured ten times faster at 200,000
    points, the same grid for every one (tests/imports/test_sql_cleaning.py).

    ``unlogged``: ``points`` and ``target`` are unlogged tables (a parallel statement reads
    them afterwards); the join itself is kept serial, where the planner would otherwise split
    the points among workers and look each one up (four times slower at 200,000)."""
    create = "CREATE UNLOGGED TABLE" if unlogged else "CREATE TEMPORARY TABLE"
    on_commit = "" if unlogged else "ON COMMIT DROP"
    join = f"""{create} {target} {on_commit} AS
            SELECT DISTINCT ON (p.n) p.n, g.id AS grid_id
              FROM {T["grid"]} g JOIN {points} p ON ST_Covers(g.geom, p.pt)
             WHERE g.generation_high_id IS NULL
             ORDER BY p.n, g.code"""
    serial_on, serial_off = local_settings(max_parallel_workers_per_gather=0)
    serial = [*serial_on, join, *serial_off]
    return [
        f"CREATE INDEX ON {points} USING gist (pt)",
        f"ANALYZE {points}",
        *(serial if unlogged else [join]),
    ]


def masked(raw: Any) -> bool:
    return isinstance(raw, str) and MASK_CHAR in raw


def secret(
    record: Record, column: str, kind: str, errors: list[RowError], normalised: list[str]
) -> tuple[str | None, str | None, bool]:
    """An ID number (``kind="id"``) or phone cell as (token, keyed hash, keep): encrypted
    here so the staging table never holds it in clear; a masked value keeps the stored one."""
    raw = record.values.get(column)
    if masked(raw):
        return None, None, True
    cleaner = clean_id_number if kind == "id" else clean_phone
    try:
        cleaned: Cleaned[str] = cleaner(raw, column=column)
    except RowError as error:
        errors.append(error)
        return None, None, False
    if cleaned.normalised:
        normalised.append(column)
    value = cleaned.value
    return (encrypt(value) if value else ""), keyed_hash(value), False


def _number(raw: Any, column: str) -> float:
    try:
        return float(str(raw).strip())
    except ValueError:
        raise RowError(column, MSG_NUMBER_INVALID, {"value": str(raw).strip()}) from None


def lon_lat(
    record: Record, ctx: Context, errors: list[RowError], normalised: list[str]
) -> tuple[float | None, float | None, str | None]:
    """The row's position as (lon, lat, ewkt): lon/lat columns (in the file's CRS; GCJ-02 and
    BD-09 are converted a chunk at a time by the pipeline), else a geo file's geometry (a
    point: its x/y; another shape: EWKT for PostGIS)."""
    raw_lon, raw_lat = record.values.get("lon"), record.values.get("lat")
    if not (is_empty(raw_lon) and is_empty(raw_lat)):
        if ctx.crs == "epsg":
            try:
                return _number(raw_lon, "lon"), _number(raw_lat, "lat"), None
            except RowError as error:
                errors.append(error)
                return None, None, None
        try:
            cleaned = clean_lon_lat(raw_lon, raw_lat, crs=ctx.crs, convert=False)
        except RowError as error:
            errors.append(error)
            return None, None, None
        if cleaned.normalised:
            normalised.append("lon")
        assert cleaned.value is not None
        return cleaned.value[0], cleaned.value[1], None
    wkb = record.values.get(GEOMETRY)
    if wkb is None:
        return None, None, None
    geom = shapely.from_wkb(wkb)
    if geom.is_empty:
        return None, None, None
    if isinstance(geom, shapely.MultiPoint) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    srid = ctx.geo_srid or ctx.srid
    if isinstance(geom, shapely.Point) and srid in (4326, 4490):
        return geom.x, geom.y, None
    return None, None, f"SRID={srid};{geom.wkt}"


def point_sql(ctx: Context, alias: str = "s") -> str:
    """SQL: the staging row's point in WGS84 from its lon/lat or its EWKT (NULL without)."""
    xy = f"ST_SetSRID(ST_MakePoint({alias}.lon, {alias}.lat), {ctx.srid})"
    if ctx.srid != 4326 and ctx.crs == "epsg":
        xy = f"ST_Transform({xy}, 4326)"
    return (
        f"CASE WHEN {alias}.lon IS NOT NULL THEN {xy} "
        f"WHEN {alias}.ewkt IS NOT NULL THEN ST_Transform(ST_GeomFromEWKT({alias}.ewkt), 4326) END"
    )


def refuse_outside_districts(stage: Stage, point: str = "pt", where: str = "TRUE") -> int:
    """Refuse rows (of those matching ``where``) whose point lies in no current district."""
    return stage.refuse(
        f"""errors IS NULL AND ({where}) AND {point} IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM {T["district"]} d
               WHERE d.generation_high_id IS NULL AND ST_Covers(d.geom, {point}))""",
        "lon",
        MSG_OUTSIDE_DISTRICTS,
        f"jsonb_build_object('lon', round(ST_X({point})::numeric, 6), "
        f"'lat', round(ST_Y({point})::numeric, 6))",
    )


def district_code_sql(point: str) -> str:
    """SQL: the code of the current district covering ``point``."""
    return f"""(SELECT d.code FROM {T["district"]} d
                 WHERE d.generation_high_id IS NULL AND ST_Covers(d.geom, {point})
                 ORDER BY d.code LIMIT 1)"""
