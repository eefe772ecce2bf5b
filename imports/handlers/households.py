"""Households (户), keyed by the county's household number (``code``).

A household's point is its lon/lat (or a geo file's point), else its building's (a point on
the building's footprint, ``building_code``), else, for a household already imported, the
point stored. Its grid is derived from the point in SQL as everywhere (``grid_of``). ID
numbers and phones are encrypted before they reach the database and compared by keyed hash;
a masked value (``138****5678``, from an export) keeps the stored one.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache, partial
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext_noop

from gridmap.crypto import fernet_body_sql, fernet_token_sql, keyed_hash_sql
from gridmap.sql import bulk_loaded, local_settings
from households.models import Household, Tag
from households.services import ten_household_units_refresh
from imports.normalise import (
    WGS84,
    RowError,
    clean_code,
    clean_integer,
    clean_text,
    code_sql,
    degrees_value_sql,
    empty_sql,
    id_number_sql,
    integer_sql,
    integer_value_sql,
    lon_lat_sql,
    phone_sql,
    text_sql,
)
from imports.pipeline import (
    KEYS,
    STAGE,
    Context,
    Handler,
    Stage,
    clean_cells,
    register,
)
from imports.sources import Record

from .common import (
    MSG_MASKED_NEW,
    MSG_OUTSIDE_JURISDICTION,
    T,
    choice_lookup,
    district_code_sql,
    grid_of,
    grids_of_points_sql,
    lon_lat,
    point_sql,
    refuse_outside_districts,
    secret,
)

H = Household._meta.db_table
B = T["building"]
# The points of a CSV's clean rows and their grids (``clean_sql``).
# A batch of new households at least this large (and a third of those stored) is written
# with the location and hash indexes built again afterwards (``Households.apply``).
BULK_MIN_ROWS = 100_000
BULK_SHARE = 3  # new rows times this at least the rows stored
BULK_INDEXED = ["location", "id_number_hash", "phone_hash"]

MSG_DUPLICATE_HOUSEHOLD = gettext_noop(
    "The household number %(value)s is in the file more than once (rows %(rows)s): keep one row."
)
MSG_UNKNOWN_BUILDING = gettext_noop(
    "No building has the number %(value)s: import the buildings first, or correct the number."
)
MSG_NO_LOCATION = gettext_noop(
    "No location: give the longitude and latitude, or the number of a building already imported."
)
MSG_UNKNOWN_TAG = gettext_noop("Unknown label %(value)s; the labels are: %(labels)s.")
MSG_HOUSEHOLD_ELSEWHERE = gettext_noop(
    "Household %(code)s is already recorded in %(place)s, outside your jurisdiction."
)

_TAG_SPLIT = re.compile(r"[,，、;；/|\s]+")
# Spellings counties use besides the labels themselves.
TAG_SYNONYMS = {
    "低保": Tag.LOW_INCOME,
    "低保对象": Tag.LOW_INCOME,
    "特困": Tag.SPECIAL_HARDSHIP,
    "特困户": Tag.SPECIAL_HARDSHIP,
    "特困供养": Tag.SPECIAL_HARDSHIP,
    "残疾": Tag.DISABILITY,
    "残疾户": Tag.DISABILITY,
    "军属": Tag.MILITARY_FAMILY,
    "退役军人": Tag.MILITARY_FAMILY,
    "优抚": Tag.MILITARY_FAMILY,
    "留守儿童户": Tag.LEFT_BEHIND_CHILD,
    "留守老人户": Tag.LEFT_BEHIND_ELDERLY,
}


@cache
def tag_lookup() -> dict[str, str]:
    """Every accepted spelling of a label (its key, English and Chinese labels, synonyms)."""
    return choice_lookup(Tag, TAG_SYNONYMS)


def tag_labels() -> str:
    return "、".join(str(tag.label) for tag in Tag)


def clean_tags(raw: Any, *, column: str = "tags") -> tuple[list[str], bool]:
    if raw is None or not str(raw).strip():
        return [], False
    lookup = tag_lookup()
    values: list[str] = []
    for part in _TAG_SPLIT.split(str(raw).strip()):
        if not part:
            continue
        value = lookup.get(part.lower())
        if value is None:
            raise RowError(column, MSG_UNKNOWN_TAG, {"value": part, "labels": tag_labels()})
        if value not in values:
            values.append(value)
    return sorted(values), False


@register
class Households(Handler):
    kind = "households"
    columns = [
        ("code", "text"),
        ("head_name", "text"),
        ("id_enc", "text"),
        ("id_hash", "text"),
        ("id_keep", "boolean"),
        ("phone_enc", "text"),
        ("phone_hash", "text"),
        ("phone_keep", "boolean"),
        ("address", "text"),
        ("size", "integer"),
        ("tags", "varchar(30)[]"),
        ("lon", "double precision"),
        ("lat", "double precision"),
        ("ewkt", "text"),
        ("building_code", "text"),
        # Derived in SQL.
        ("building_id", "bigint"),
        ("pt", "geometry(Point, 4326)"),
        ("grid_id", "bigint"),
        ("moved", "boolean"),
    ]
    point_sql = "pt"

    cleaners = {
        "code": partial(clean_code, required=True, max_length=40),
        "head_name": partial(clean_text, required=True, max_length=50),
        "address": partial(clean_text, required=True, max_length=200),
        "size": partial(clean_integer, minimum=1, maximum=30),
        "building_code": partial(clean_code, max_length=40),
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["id_enc"], values["id_hash"], values["id_keep"] = secret(
            record, "id_number", "id", errors, normalised
        )
        values["phone_enc"], values["phone_hash"], values["phone_keep"] = secret(
            record, "phone", "phone", errors, normalised
        )
        try:
            values["tags"], _ = clean_tags(record.values.get("tags"))
        except RowError as error:
            errors.append(error)
        values["lon"], values["lat"], values["ewkt"] = lon_lat(record, ctx, errors, normalised)
        return values, errors, normalised

    def cleans_in_sql(self, ctx: Context) -> bool:
        return ctx.crs == WGS84

    def clean_sql(self, stage: Stage, keys: list[str]) -> list[tuple[str, list[Any]]]:
        """The rows whose cells are all clean (``imports.normalise``'s ``*_sql``) cleaned,
        encrypted and hashed in one statement: what ``clean`` and ``convert`` make of them.
        Tags: labels between single commas, each one of ``tag_lookup``'s spellings (those
        without a separator ``clean_tags`` splits on). A row with a point and a code not yet
        stored is new: its grid is derived here (``grids_of_points_sql``, the rule ``prepare``
        applies), so that a large file's rows are not written twice."""
        names = (*self.cleaners, "id_number", "phone", "tags", "lon", "lat")
        cell = {k: (f"r.{k}" if k in keys else "NULL::text") for k in names}
        lookup = tag_lookup()
        spellings = [k for k in lookup if k.lower() == k and not _TAG_SPLIT.search(k)]
        tags_clean = f"""(CASE WHEN {empty_sql("r.tags")} THEN TRUE ELSE NOT EXISTS (
                            SELECT FROM unnest(string_to_array(r.tags, ',')) p
                             WHERE p <> ALL(%s::text[])) END)"""
        clean = " AND ".join(
            [
                code_sql(cell["code"], max_length=40, required=True),
                text_sql(cell["head_name"], max_length=50),
                text_sql(cell["address"], max_length=200),
                integer_sql(cell["size"], minimum=1, maximum=30),
                code_sql(cell["building_code"], max_length=40, required=False),
                id_number_sql(cell["id_number"]),
                phone_sql(cell["phone"]),
                # Clean lon/lat: both empty, or a point of POINTS (made there once).
                f"(p.n IS NOT NULL OR ({empty_sql(cell['lon'])} AND {empty_sql(cell['lat'])}))",
            ]
        )
        tags = f"""(CASE WHEN {empty_sql("r.tags")} THEN '{{}}'::varchar(30)[] ELSE ARRAY(
                      SELECT DISTINCT t.value COLLATE "C"
                        FROM unnest(string_to_array(r.tags, ',')) p
                        JOIN unnest(%s::text[], %s::text[]) t (spelling, value)
                          ON t.spelling = p
                       ORDER BY 1)::varchar(30)[] END)"""

        def token(name: str) -> str:
            body = f"{name}_body"
            return f"CASE WHEN {body} IS NULL THEN '' ELSE {fernet_token_sql(body, 'k')} END"

        def hashed(name: str) -> str:
            return (
                f"CASE WHEN {name}_body IS NULL THEN '' ELSE {keyed_hash_sql(f'r.{name}', 'k')} END"
            )

        def body(name: str) -> str:
            encrypted = fernet_body_sql(f"r.{name}", f"r.iv_{name}", "k")
            return f"CASE WHEN NOT {empty_sql(f'r.{name}')} THEN {encrypted} END"

        points, grids, cleaned = (stage.scratch(n) for n in ("points", "grids", "cleaned"))
        # The work per row (patterns, encryption, hashes) in one statement PostgreSQL runs in
        # parallel (a CREATE TABLE AS over unlogged tables; the keys from settings), over
        # every row: the rows are joined to their points and grids first, unfiltered (no
        # misestimate of the filter makes the planner hash the wide side), and whether each
        # is clean is a column. Three levels, each evaluated once per row (a volatile
        # function keeps the planner from merging them): a random IV per value with the
        # cells, the encrypted bodies, then the tokens that sign them and the hashes.
        parallel = f"""
            CREATE UNLOGGED TABLE {cleaned} AS
            SELECT n, sheet, row_no, clean, code, head_name, {token("id")} AS id_enc,
                   {hashed("id")} AS id_hash, {token("phone")} AS phone_enc,
                   {hashed("phone")} AS phone_hash, address,
                   CASE WHEN clean THEN {integer_value_sql("r.size")} END AS size, tags, x, y,
                   building_code, pt, grid_id
              FROM (
                SELECT r.*, clock_timestamp() AS _level, {body("id")} AS id_body,
                       {body("phone")} AS phone_body, ST_X(r.pt) AS x, ST_Y(r.pt) AS y
                  FROM (
                    SELECT r.n, sheet, row_no, {cell["code"]} AS code,
                           {cell["head_name"]} AS head_name, {cell["id_number"]} AS id,
                           {cell["phone"]} AS phone, {cell["address"]} AS address,
                           {cell["size"]} AS size, {cell["tags"]} AS tags,
                           {cell["building_code"]} AS building_code,
                           gen_random_bytes(16) AS iv_id, gen_random_bytes(16) AS iv_phone,
                           p.pt, gp.grid_id, {clean} AS clean
                      FROM {stage.raw} r LEFT JOIN {points} p ON p.n = r.n
                      LEFT JOIN {grids} gp ON gp.n = r.n) r
                 CROSS JOIN {KEYS} k) r
             CROSS JOIN {KEYS} k"""
        # The clean rows into the stage, with their tags (few rows have any) and whether they
        # are new.
        insert = f"""
            INSERT INTO {STAGE} (n, sheet, row_no, normalised, code, head_name, id_enc, id_hash,
                   id_keep, phone_enc, phone_hash, phone_keep, address, size, tags, lon, lat,
                   building_code, pt, grid_id, action, moved)
            SELECT n, sheet, row_no, '{{}}', code, head_name, id_enc, id_hash, FALSE,
                   phone_enc, phone_hash, FALSE, address, size, {tags}, x, y,
                   coalesce(building_code, ''), pt, CASE WHEN new THEN grid_id END,
                   CASE WHEN new THEN 'new' END, CASE WHEN new THEN TRUE END
              FROM (
                SELECT r.*, r.pt IS NOT NULL
                         AND NOT EXISTS (SELECT FROM {H} h WHERE h.code = r.code) AS new
                  FROM {cleaned} r WHERE r.clean AND {tags_clean} OFFSET 0) r"""
        # Work per row (patterns, encryption, hashes), which the planner's costs do not show:
        # spread over the server's cores.
        parallel_on, parallel_off = local_settings(parallel_setup_cost=0, parallel_tuple_cost=0.001)
        # The points given as clean lon/lat, and their grids in one spatial join.
        x, y = degrees_value_sql(cell["lon"]), degrees_value_sql(cell["lat"])
        points_sql = f"""CREATE UNLOGGED TABLE {points} AS
                     SELECT r.n, ST_SetSRID(ST_MakePoint({x}, {y}), 4326) AS pt
                       FROM {stage.raw} r
                      WHERE NOT {empty_sql(cell["lon"])}
                        AND {lon_lat_sql(cell["lon"], cell["lat"])}"""
        return [
            (points_sql, []),
            *((sql, []) for sql in grids_of_points_sql(points, grids, unlogged=True)),
            *((sql, []) for sql in parallel_on),
            (parallel, [date.today()]),
            *((sql, []) for sql in parallel_off),
            (insert, [spellings, [lookup[k] for k in spellings], spellings]),
            (f"DROP TABLE {points}, {grids}, {cleaned}", []),
        ]

    def convert(self, values: list[dict[str, Any]], ctx: Context) -> None:
        """The chunk's lon/lat converted (``Handler.convert``), then made the row's point here
        (EWKB, in one pass): the database only places the rows that come otherwise."""
        super().convert(values, ctx)
        if ctx.crs == "epsg":
            return
        rows = [v for v in values if v.get("lon") is not None and v.get("lat") is not None]
        if rows:
            points = shapely.points(np.array([[v["lon"], v["lat"]] for v in rows], dtype=float))
            ewkb = shapely.to_wkb(shapely.set_srid(points, 4326), hex=True, include_srid=True)
            for v, point in zip(rows, ewkb.tolist(), strict=True):
                v["pt"] = point

    @staticmethod
    def loads_in_bulk(stage: Stage, new: int) -> bool:
        """``new`` households are a large batch, at least a third of those stored (a county's
        first load, a district joining): written the bulk way (``apply``)."""
        if new < BULK_MIN_ROWS:
            return False
        (stored,) = stage.fetch(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Household._meta.db_table]
        )[0]
        return new * BULK_SHARE >= max(stored, 0)

    def prepare(self, stage: Stage) -> None:
        ctx = stage.ctx
        present = ctx.present
        stage.refuse_duplicates("code", "code", MSG_DUPLICATE_HOUSEHOLD)
        same = ["s.pt IS NOT NULL AND ST_DWithin(h.location, s.pt, 1e-7)"]
        if "head_name" in present:
            same.append("h.head_name = s.head_name")
        if "address" in present:
            same.append("h.address = s.address")
        if "size" in present:
            same.append("h.size = coalesce(s.size, 1)")
        if "tags" in present:
            same.append("h.tags @> s.tags AND h.tags <@ s.tags")
        if "id_number" in present:
            same.append("(s.id_keep OR h.id_number_hash = s.id_hash)")
        if "phone" in present:
            same.append("(s.phone_keep OR h.phone_hash = s.phone_hash)")
        if "building_code" in present:
            same.append("h.building_id IS NOT DISTINCT FROM s.building_id")
        moved = "coalesce(NOT ST_DWithin(h.location, s.pt, 1e-7), TRUE)"
        # Each statement below writes only the rows it must (an UPDATE rewrites every row it
        # touches): the buildings named; the point of rows the cleaning did not place (a
        # projected or geo file's position, else the building's, else the one stored); the
        # rows of stored households; then the new ones. The grid is derived as the application
        # derives it, and only for a point that is new or moved.
        if "building_code" in present:
            stage.execute(
                f"""UPDATE {STAGE} s SET building_id = b.id FROM {B} b
                     WHERE s.building_code <> '' AND b.code = s.building_code"""
            )
        stage.execute(
            f"""UPDATE {STAGE} s SET pt = coalesce(
                  {point_sql(ctx)},
                  (SELECT ST_PointOnSurface(b.footprint) FROM {B} b WHERE b.id = s.building_id),
                  (SELECT o.location FROM {H} o WHERE o.code = s.code))
                 WHERE s.pt IS NULL"""
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = h.id, moved = {moved},
                   grid_id = CASE WHEN s.pt IS NULL THEN NULL
                                  WHEN {moved} THEN {grid_of("s.pt")} ELSE h.grid_id END,
                   action = CASE WHEN {" AND ".join(same)} THEN 'unchanged' ELSE 'updated' END
                  FROM {H} h WHERE h.code = s.code AND s.action IS NULL"""
        )
        # (Rows cleaned in SQL are already new, with their grid, when their code is not stored:
        # ``clean_sql``; the two statements above skip them.)
        stage.execute(
            f"""UPDATE {STAGE} s SET action = 'new', moved = TRUE, grid_id = {grid_of("s.pt")}
                 WHERE s.target_id IS NULL AND s.action IS NULL"""
        )
        stage.refuse(
            "building_code <> '' AND building_id IS NULL",
            "building_code",
            MSG_UNKNOWN_BUILDING,
            "jsonb_build_object('value', building_code)",
        )
        stage.refuse("target_id IS NULL AND (id_keep OR phone_keep)", "id_number", MSG_MASKED_NEW)
        stage.refuse("errors IS NULL AND pt IS NULL", "lon", MSG_NO_LOCATION)
        # A point in a grid is in that grid's district: only the others are looked up.
        refuse_outside_districts(stage, where="grid_id IS NULL")
        if ctx.prefixes is not None:
            code = f"""coalesce((SELECT g.code FROM {T["grid"]} g WHERE g.id = grid_id),
                                {district_code_sql("pt")})"""
            stage.refuse_out_of_scope(
                f"CASE WHEN errors IS NULL THEN {code} END", "lon", MSG_OUTSIDE_JURISDICTION
            )
            # Nor may a household of another area be taken over by moving it here.
            stage.refuse(
                f"""errors IS NULL AND target_id IS NOT NULL AND NOT coalesce((
                      SELECT g.code LIKE ANY(%s) FROM {H} h JOIN {T["grid"]} g ON g.id = h.grid_id
                       WHERE h.id = target_id), TRUE)""",
                "code",
                MSG_HOUSEHOLD_ELSEWHERE,
                f"""jsonb_build_object('code', code, 'place', (
                      SELECT g.code FROM {H} h JOIN {T["grid"]} g ON g.id = h.grid_id
                       WHERE h.id = target_id))""",
                [[p + "%" for p in ctx.prefixes]],
            )

    def apply(self, stage: Stage) -> None:
        present = stage.ctx.present
        insert = f"""INSERT INTO {H} (code, head_name, id_number, id_number_hash, phone,
                                     phone_hash, address, size, tags, location, building_id,
                                     grid_id)
                     SELECT code, head_name, coalesce(id_enc, ''), coalesce(id_hash, ''),
                            coalesce(phone_enc, ''), coalesce(phone_hash, ''), address,
                            coalesce(size, 1), tags, pt, building_id, grid_id
                       FROM {STAGE} WHERE errors IS NULL AND action = 'new'
                      ORDER BY grid_id, n"""
        (new,) = stage.fetch(
            f"SELECT count(*) FROM {STAGE} WHERE errors IS NULL AND action = 'new'"
        )[0]
        # No insert of nothing: an insert notes a change of the service circle's inputs
        # (coverage, migration 0004) whether or not it writes a row.
        if new and self.loads_in_bulk(stage, new):
            # The location's GiST index and the two hash indexes cost more row by row than
            # built again at once (``gridmap.sql.bulk_loaded``), as do the foreign keys.
            with bulk_loaded(Household, BULK_INDEXED):
                stage.execute(insert)
        elif new:
            stage.execute(insert)
        sets = ["location = s.pt", "grid_id = s.grid_id"]
        if "head_name" in present:
            sets.append("head_name = s.head_name")
        if "address" in present:
            sets.append("address = s.address")
        if "size" in present:
            sets.append("size = coalesce(s.size, 1)")
        if "tags" in present:
            sets.append("tags = s.tags")
        if "id_number" in present:
            sets.append("id_number = CASE WHEN s.id_keep THEN h.id_number ELSE s.id_enc END")
            sets.append(
                "id_number_hash = CASE WHEN s.id_keep THEN h.id_number_hash ELSE s.id_hash END"
            )
        if "phone" in present:
            sets.append("phone = CASE WHEN s.phone_keep THEN h.phone ELSE s.phone_enc END")
            sets.append(
                "phone_hash = CASE WHEN s.phone_keep THEN h.phone_hash ELSE s.phone_hash END"
            )
        if "building_code" in present:
            sets.append("building_id = s.building_id")
        stage.execute(
            f"""UPDATE {H} h SET {", ".join(sets)} FROM {STAGE} s
                 WHERE s.target_id = h.id AND s.errors IS NULL AND s.action = 'updated'"""
        )
        # The units of households that moved: their grid and area follow.
        units = [
            r[0]
            for r in stage.fetch(
                f"""SELECT DISTINCT h.ten_household_unit_id FROM {H} h JOIN {STAGE} s
                      ON s.target_id = h.id
                     WHERE s.errors IS NULL AND s.action = 'updated' AND s.moved
                       AND h.ten_household_unit_id IS NOT NULL"""
            )
        ]
        if units:
            ten_household_units_refresh(ids=units)
