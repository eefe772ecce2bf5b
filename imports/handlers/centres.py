"""Party-mass service centres (党群服务中心), keyed by their ``code``.

A new centre needs its position (lon/lat in the file's coordinate system, or a geo file's
point); a centre already imported keeps its stored position when the row has none. The point
must lie in a current district. The village is the one named by ``village_code`` (refused when
unknown), else the current village covering the point (derived in PostGIS, the smallest code
on a shared edge, as grids are found); its code is the centre's place in the jurisdiction
(outside every village: the district's code).
"""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext_noop

from grids.models import ServiceCentre
from imports.normalise import clean_code, clean_text
from imports.pipeline import STAGE, Stage, register

from .common import (
    MSG_OUTSIDE_JURISDICTION,
    PointHandler,
    district_code_sql,
    point_sql,
    refuse_outside_districts,
)
from .places import MSG_UNKNOWN_VILLAGE_CODE
from .refs import (
    classify,
    refuse_elsewhere,
    update,
    village_code_sql,
    village_id_sql,
    village_of_point_sql,
)

CENTRE = ServiceCentre._meta.db_table

MSG_DUPLICATE_CENTRE = gettext_noop(
    "The centre code %(value)s is in the file more than once (rows %(rows)s): keep one row."
)
MSG_CENTRE_NO_LOCATION = gettext_noop(
    "No location: give the longitude and latitude of a new centre (or, in a GeoPackage, "
    "Shapefile or GeoJSON, its point)."
)


@register
class ServiceCentres(PointHandler):
    kind = "service_centres"
    columns = [
        ("code", "text"),
        ("name", "text"),
        ("village_code", "text"),
        ("lon", "double precision"),
        ("lat", "double precision"),
        ("ewkt", "text"),
        # Derived in SQL.
        ("pt", "geometry(Point, 4326)"),
        ("location", "geometry(Point, 4326)"),
        ("village_id", "bigint"),
        ("moved", "boolean"),
    ]
    point_sql = "location"

    cleaners = {
        "code": partial(clean_code, required=True, max_length=40),
        "name": partial(clean_text, required=True, max_length=100),
        "village_code": partial(clean_code, max_length=12),
    }

    def prepare(self, stage: Stage) -> None:
        ctx = stage.ctx
        present = ctx.present
        stage.refuse_duplicates("code", "code", MSG_DUPLICATE_CENTRE)
        stage.execute(
            f"UPDATE {STAGE} s SET target_id = c.id FROM {CENTRE} c WHERE c.code = s.code"
        )
        stage.execute(f"UPDATE {STAGE} s SET pt = {point_sql(ctx)}")
        stage.refuse(
            "pt IS NULL AND target_id IS NULL AND errors IS NULL", "lon", MSG_CENTRE_NO_LOCATION
        )
        refuse_outside_districts(stage)
        # The position written: the row's, else the one stored.
        stage.execute(
            f"""UPDATE {STAGE} s SET
                  location = coalesce(s.pt, (SELECT c.location FROM {CENTRE} c
                                              WHERE c.id = s.target_id)),
                  moved = s.pt IS NOT NULL AND NOT coalesce((
                    SELECT ST_DWithin(c.location, s.pt, 1e-7) FROM {CENTRE} c
                     WHERE c.id = s.target_id), FALSE)
                 WHERE s.errors IS NULL"""
        )
        stage.execute(
            f"UPDATE {STAGE} SET village_id = {village_id_sql('village_code')} "
            "WHERE village_code <> ''"
        )
        stage.refuse(
            "village_code <> '' AND village_id IS NULL",
            "village_code",
            MSG_UNKNOWN_VILLAGE_CODE,
            "jsonb_build_object('value', village_code)",
        )
        # Without a village code: the village covering the point, for a new or moved centre
        # or when the file has the column (left empty); else the stored village stays.
        derive = "TRUE" if "village_code" in present else "(s.target_id IS NULL OR s.moved)"
        stage.execute(
            f"""UPDATE {STAGE} s SET village_id = CASE WHEN {derive}
                    THEN {village_of_point_sql("s.location")}
                    ELSE (SELECT c.village_id FROM {CENTRE} c WHERE c.id = s.target_id) END
                 WHERE s.errors IS NULL AND coalesce(s.village_code, '') = ''"""
        )
        place = f"coalesce({village_code_sql('village_id')}, {district_code_sql('location')}, '')"
        stage.refuse_out_of_scope(
            f"CASE WHEN errors IS NULL THEN {place} END", "village_code", MSG_OUTSIDE_JURISDICTION
        )
        stored_place = f"""(SELECT coalesce({village_code_sql("c.village_id")},
                                          {district_code_sql("c.location")}, '')
                              FROM {CENTRE} c WHERE c.id = target_id)"""
        refuse_elsewhere(stage, stored_place, "code", "code")
        same = ["NOT s.moved", "c.village_id IS NOT DISTINCT FROM s.village_id"]
        if "name" in present:
            same.append("c.name = s.name")
        classify(stage, CENTRE, "c", same)

    def apply(self, stage: Stage) -> None:
        stage.execute(
            f"""INSERT INTO {CENTRE} (code, name, location, village_id)
                SELECT code, name, location, village_id FROM {STAGE}
                 WHERE errors IS NULL AND action = 'new' ORDER BY n"""
        )
        sets = ["location = s.location", "village_id = s.village_id"]
        if "name" in stage.ctx.present:
            sets.append("name = s.name")
        update(stage, CENTRE, "c", sets)
