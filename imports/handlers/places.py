"""Buildings (keyed by building number), stations (by code) and catchments (dated).

A building's footprint is the file's geometry (a GeoPackage, Shapefile or GeoJSON), or the WKT
of its 轮廓 column, or a 10 m square around its lon/lat; its grid is derived from a point on its
footprint with the application's SQL. A catchment row gives a village to a station from a day:
the village's current assignment to another station ends the day before (history is kept, as
catchment planning does when it publishes a plan).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import shapely
from django.utils import timezone
from django.utils.translation import gettext_noop

from grids.models import Building, CatchmentAssignment, Station
from imports.normalise import RowError, clean_code, clean_date, clean_integer, clean_text, is_empty
from imports.pipeline import STAGE, Context, Handler, Stage, clean_cells, register
from imports.sources import Record

from .common import (
    MSG_OUTSIDE_JURISDICTION,
    PointHandler,
    T,
    district_code_sql,
    grid_of,
    lon_lat,
    point_sql,
    refuse_outside_districts,
)
from .refs import classify, update

B = Building._meta.db_table
S = Station._meta.db_table
CA = CatchmentAssignment._meta.db_table
# Half the side of the square footprint of a building given by a point, in metres.
POINT_BUILDING_HALF_SIDE = 5

MSG_DUPLICATE_BUILDING = gettext_noop(
    "The building number %(value)s is in the file more than once (rows %(rows)s): keep one row."
)
MSG_FOOTPRINT_INVALID = gettext_noop("The footprint is not a shape: %(value)s")
MSG_FOOTPRINT_NOT_POLYGON = gettext_noop(
    "The footprint must be one polygon (an outline); this is a %(type)s."
)
MSG_FOOTPRINT_BROKEN = gettext_noop(
    "The footprint is not a valid outline (%(reason)s): redraw it without crossing edges."
)
MSG_NO_FOOTPRINT = gettext_noop(
    "No location: give the footprint, or the longitude and latitude of the building."
)
MSG_DUPLICATE_STATION = gettext_noop(
    "The station code %(value)s is in the file more than once (rows %(rows)s): keep one row."
)
MSG_UNKNOWN_TOWN_CODE = gettext_noop("No current town has the code %(value)s.")
MSG_STATION_NO_LOCATION = gettext_noop(
    "A new station needs its location: give the longitude and latitude."
)
MSG_UNKNOWN_VILLAGE_CODE = gettext_noop("No current village has the code %(value)s.")
MSG_UNKNOWN_STATION_CODE = gettext_noop(
    "No station in service has the code %(value)s: import the stations first, or correct it."
)
MSG_DUPLICATE_CATCHMENT = gettext_noop(
    "The village %(value)s is in the file more than once (rows %(rows)s): one station per village."
)
MSG_LATER_CATCHMENT = gettext_noop(
    "The village is already given to a station from %(from)s, later than this row's first "
    "day: correct the date."
)


def _footprint_ewkt(
    record: Record, ctx: Context, errors: list[RowError]
) -> tuple[float | None, float | None, str | None]:
    """The footprint from the 轮廓 WKT column or the geo file's geometry (EWKT), else the
    lon/lat of a point (the pipeline converts GCJ-02/BD-09)."""
    raw = record.values.get("footprint")
    if not is_empty(raw):
        try:
            geom = shapely.from_wkt(str(raw).strip())
        except shapely.errors.GEOSException:
            errors.append(RowError("footprint", MSG_FOOTPRINT_INVALID, {"value": str(raw)[:60]}))
            return None, None, None
        return None, None, _polygon_ewkt(geom, ctx.srid, "footprint", errors)
    lon, lat, ewkt = lon_lat(record, ctx, errors, [])
    if ewkt is not None:
        srid, wkt = ewkt.split(";", 1)
        return None, None, _polygon_ewkt(shapely.from_wkt(wkt), int(srid[5:]), "lon", errors)
    return lon, lat, None


def _polygon_ewkt(geom: Any, srid: int, column: str, errors: list[RowError]) -> str | None:
    if isinstance(geom, shapely.MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if not isinstance(geom, shapely.Polygon):
        errors.append(RowError(column, MSG_FOOTPRINT_NOT_POLYGON, {"type": geom.geom_type}))
        return None
    return f"SRID={srid};{shapely.force_2d(geom).wkt}"


@register
class Buildings(Handler):
    kind = "buildings"
    columns = [
        ("code", "text"),
        ("name", "text"),
        ("floors", "integer"),
        ("lon", "double precision"),
        ("lat", "double precision"),
        ("ewkt", "text"),
        ("footprint", "geometry(Polygon, 4326)"),
        ("grid_id", "bigint"),
        ("moved", "boolean"),
    ]
    point_sql = "ST_PointOnSurface(footprint)"

    cleaners = {
        "code": partial(clean_code, required=True, max_length=40),
        "name": partial(clean_text, max_length=100),
        "address": partial(clean_text, max_length=100),
        "floors": partial(clean_integer, minimum=1, maximum=200),
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["name"] = values.get("name") or values.get("address") or values.get("code")
        values["lon"], values["lat"], values["ewkt"] = _footprint_ewkt(record, ctx, errors)
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        ctx = stage.ctx
        stage.refuse_duplicates("code", "code", MSG_DUPLICATE_BUILDING)
        stage.execute(f"UPDATE {STAGE} s SET target_id = b.id FROM {B} b WHERE b.code = s.code")
        square = (
            f"ST_Envelope(ST_Buffer(({point_sql(ctx)})::geography, "
            f"{POINT_BUILDING_HALF_SIDE}, 'quad_segs=1')::geometry)"
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET footprint = CASE
                  WHEN s.ewkt IS NOT NULL THEN ST_Transform(ST_GeomFromEWKT(s.ewkt), 4326)
                  WHEN s.lon IS NOT NULL THEN {square}
                  ELSE (SELECT b.footprint FROM {B} b WHERE b.id = s.target_id) END
                WHERE s.errors IS NULL"""
        )
        stage.refuse("errors IS NULL AND footprint IS NULL", "lon", MSG_NO_FOOTPRINT)
        stage.refuse(
            "errors IS NULL AND NOT ST_IsValid(footprint)",
            "footprint",
            MSG_FOOTPRINT_BROKEN,
            "jsonb_build_object('reason', ST_IsValidReason(footprint))",
        )
        refuse_outside_districts(stage, "ST_PointOnSurface(footprint)")
        stage.execute(
            f"""UPDATE {STAGE} s SET moved = NOT coalesce((
                  SELECT ST_HausdorffDistance(b.footprint, s.footprint) < 1e-7
                    FROM {B} b WHERE b.id = s.target_id), FALSE)
                 WHERE s.errors IS NULL"""
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET grid_id = CASE
                  WHEN s.moved THEN {grid_of("ST_PointOnSurface(s.footprint)")}
                  ELSE (SELECT b.grid_id FROM {B} b WHERE b.id = s.target_id) END
                 WHERE s.errors IS NULL"""
        )
        if ctx.prefixes is not None:
            code = f"""coalesce((SELECT g.code FROM {T["grid"]} g WHERE g.id = grid_id),
                                {district_code_sql("ST_PointOnSurface(footprint)")})"""
            stage.refuse_out_of_scope(
                f"CASE WHEN errors IS NULL THEN {code} END", "lon", MSG_OUTSIDE_JURISDICTION
            )
        same = ["NOT s.moved", "b.name = s.name"]
        if "floors" in ctx.present:
            same.append("b.floors = coalesce(s.floors, 1)")
        classify(stage, B, "b", same)

    def apply(self, stage: Stage) -> None:
        stage.execute(
            f"""INSERT INTO {B} (code, name, footprint, floors, grid_id)
                SELECT code, name, footprint, coalesce(floors, 1), grid_id
                  FROM {STAGE} WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        sets = ["name = s.name", "footprint = s.footprint", "grid_id = s.grid_id"]
        if "floors" in stage.ctx.present:
            sets.append("floors = coalesce(s.floors, 1)")
        update(stage, B, "b", sets)


@register
class Stations(PointHandler):
    kind = "stations"
    columns = [
        ("code", "text"),
        ("name", "text"),
        ("town_code", "text"),
        ("town_id", "bigint"),
        ("address", "text"),
        ("lon", "double precision"),
        ("lat", "double precision"),
        ("ewkt", "text"),
        ("pt", "geometry(Point, 4326)"),
    ]
    point_sql = "pt"

    cleaners = {
        "code": partial(clean_code, required=True, max_length=12),
        "name": partial(clean_text, required=True, max_length=100),
        "town_code": partial(clean_code, required=True, max_length=15),
        "address": partial(clean_text, max_length=200),
    }

    def prepare(self, stage: Stage) -> None:
        ctx = stage.ctx
        stage.refuse_duplicates("code", "code", MSG_DUPLICATE_STATION)
        stage.execute(f"UPDATE {STAGE} s SET target_id = x.id FROM {S} x WHERE x.code = s.code")
        stage.execute(
            f"""UPDATE {STAGE} s SET town_id = t.id FROM {T["town"]} t
                 WHERE t.code = s.town_code AND t.generation_high_id IS NULL"""
        )
        stage.refuse(
            "errors IS NULL AND town_id IS NULL",
            "town_code",
            MSG_UNKNOWN_TOWN_CODE,
            "jsonb_build_object('value', town_code)",
        )
        stage.refuse_out_of_scope(
            "CASE WHEN errors IS NULL THEN town_code END", "town_code", MSG_OUTSIDE_JURISDICTION
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET pt = coalesce({point_sql(ctx)},
                  (SELECT x.location FROM {S} x WHERE x.id = s.target_id))
                 WHERE s.errors IS NULL"""
        )
        stage.refuse("errors IS NULL AND pt IS NULL", "lon", MSG_STATION_NO_LOCATION)
        refuse_outside_districts(stage)
        same = ["x.name = s.name", "x.town_id = s.town_id", "ST_DWithin(x.location, s.pt, 1e-7)"]
        if "address" in ctx.present:
            same.append("x.address = s.address")
        classify(stage, S, "x", same)

    def apply(self, stage: Stage) -> None:
        stage.execute(
            f"""INSERT INTO {S} (code, name, town_id, address, location)
                SELECT code, name, town_id, coalesce(address, ''), pt
                  FROM {STAGE} WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        sets = ["name = s.name", "town_id = s.town_id", "location = s.pt"]
        if "address" in stage.ctx.present:
            sets.append("address = coalesce(s.address, '')")
        update(stage, S, "x", sets)


@register
class Catchments(Handler):
    kind = "catchments"
    columns = [
        ("village_code", "text"),
        ("village_id", "bigint"),
        ("station_code", "text"),
        ("station_id", "bigint"),
        ("start", "date"),
        ("handover_id", "bigint"),
    ]

    cleaners = {
        "village_code": partial(clean_code, required=True, max_length=15),
        "station_code": partial(clean_code, required=True, max_length=12),
        "start": clean_date,
    }

    def clean(
        self, record: Record, ctx: Context
    ) -> tuple[dict[str, Any], list[RowError], list[str]]:
        values, errors, normalised = clean_cells(record, self.cleaners)
        values["start"] = values.get("start") or timezone.localdate()
        return values, errors, normalised

    def prepare(self, stage: Stage) -> None:
        stage.refuse_duplicates("village_code", "village_code", MSG_DUPLICATE_CATCHMENT)
        stage.execute(
            f"""UPDATE {STAGE} s SET village_id = v.id FROM {T["village"]} v
                 WHERE v.code = s.village_code AND v.generation_high_id IS NULL"""
        )
        stage.refuse(
            "errors IS NULL AND village_id IS NULL",
            "village_code",
            MSG_UNKNOWN_VILLAGE_CODE,
            "jsonb_build_object('value', village_code)",
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET station_id = x.id FROM {S} x
                 WHERE x.code = s.station_code AND x.retired_on IS NULL"""
        )
        stage.refuse(
            "errors IS NULL AND station_id IS NULL",
            "station_code",
            MSG_UNKNOWN_STATION_CODE,
            "jsonb_build_object('value', station_code)",
        )
        stage.refuse_out_of_scope(
            "CASE WHEN errors IS NULL THEN village_code END",
            "village_code",
            MSG_OUTSIDE_JURISDICTION,
        )
        # An assignment of the village that begins after this row's day: refused.
        stage.refuse(
            f"""errors IS NULL AND EXISTS (SELECT 1 FROM {CA} ca
                  WHERE ca.village_id = {STAGE}.village_id AND lower(ca.period) > {STAGE}.start)""",
            "start",
            MSG_LATER_CATCHMENT,
            f"""(SELECT jsonb_build_object('from', min(lower(ca.period))::text) FROM {CA} ca
                  WHERE ca.village_id = {STAGE}.village_id AND lower(ca.period) > {STAGE}.start)""",
        )
        # The village's assignment on that day: the same station (unchanged), the same first
        # day with another station (updated), or an earlier one to end the day before.
        stage.execute(
            f"""UPDATE {STAGE} s SET target_id = ca.id FROM {CA} ca
                 WHERE s.errors IS NULL AND ca.village_id = s.village_id
                   AND ca.period @> s.start"""
        )
        stage.execute(
            f"UPDATE {STAGE} SET action = 'new' WHERE errors IS NULL AND target_id IS NULL"
        )
        stage.execute(
            f"""UPDATE {STAGE} s SET
                  action = CASE WHEN ca.station_id = s.station_id THEN 'unchanged'
                                WHEN lower(ca.period) = s.start THEN 'updated' ELSE 'new' END,
                  handover_id = CASE WHEN ca.station_id <> s.station_id
                                      AND lower(ca.period) < s.start THEN ca.id END
                  FROM {CA} ca WHERE ca.id = s.target_id AND s.errors IS NULL"""
        )

    def apply(self, stage: Stage) -> None:
        stage.execute(
            f"""UPDATE {CA} ca SET period = daterange(lower(ca.period), s.start, '[)')
                  FROM {STAGE} s WHERE s.handover_id = ca.id AND s.errors IS NULL"""
        )
        stage.execute(
            f"""UPDATE {CA} ca SET station_id = s.station_id FROM {STAGE} s
                 WHERE s.target_id = ca.id AND s.errors IS NULL AND s.action = 'updated'"""
        )
        stage.execute(
            f"""INSERT INTO {CA} (village_id, station_id, period)
                SELECT village_id, station_id, daterange(start, NULL, '[)')
                  FROM {STAGE} WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
