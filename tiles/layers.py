"""The tile layers: which rows a viewer may see in a tile, and the one statement that makes
them a Mapbox Vector Tile.

Each layer gives a Django queryset of the rows inside the tile (with the one jurisdiction
rule of the app: ``accounts.selectors`` for places, ``incidents.selectors.incidents_visible_to``
for incidents), reduced by ``values()`` to a feature id ``fid``, the geometry ``g`` (in the
database's SRID) and the feature's properties. ``tile_sql`` compiles that queryset and wraps
it in ``ST_AsMVT(ST_AsMVTGeom(ST_Transform(g, 3857), ST_TileEnvelope(z, x, y)))``: the
filtering, the projection, the clipping and the quantisation to the tile's 4096 × 4096
grid (the per-zoom simplification: ``ST_AsMVTGeom`` snaps to that grid and drops the
vertices that collapse) all happen in that one statement.

Incidents below ``CLUSTER_BELOW`` are clustered in the same statement: grouped by
``ST_SnapToGrid`` on cells of 1/16 of the tile, each cluster a point with its count, its
counts by severity and its worst severity (a single incident keeps its id, state and
category). The work is one index scan of the tile's envelope and a hash aggregate, so a tile
never sends more than 16 × 16 (plus buffer) points whatever the number of incidents.

Personal data: no tile carries any. A household is a point with its id, grid and size; its
head's name, ID number and phone stay behind the household file and ``/api/households/``,
which apply the masking rule (``gridmap.personal_data``) and log an unmasked view. Tiles
are cached by browsers, where a per-feature access log is impossible, so they hold only
what every role inside the jurisdiction may see.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Func, QuerySet
from django.utils import timezone

from accounts.selectors import boundary_scope_q, scope_q
from coverage.models import RoadSegment
from gridmap.codes import CODE_LENGTH, Level
from grids.models import Building, District, Grid, Station, Town, Village
from households.models import Household
from incidents.selectors import incidents_visible_to

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
# Incidents are clustered below this zoom (at 14 a tile is about 2.4 km wide).
CLUSTER_BELOW = 14
# Cells per tile side when clustering (a cell is 16 px of a 256 px tile).
CLUSTER_CELLS = 16
# Half the Web Mercator world's width, metres.
MERCATOR_HALF = 20037508.342789244


@dataclass(frozen=True)
class Filters:
    """The incident layer's filters (other layers take none)."""

    category: str | None = None
    statuses: tuple[str, ...] = ()
    days: int | None = None


class TileEnvelope(Func):
    """The tile's envelope with its buffer, in the database's SRID (for the ``&&`` filter)."""

    output_field = GeometryField(srid=4326)

    def __init__(self, z: int, x: int, y: int) -> None:
        self.zxy = (int(z), int(x), int(y))
        super().__init__()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        margin = BUFFER / EXTENT
        return (
            f"ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => {margin}), 4326)",
            list(self.zxy),
        )


Rows = Callable[[Any, TileEnvelope, Filters], QuerySet]


@dataclass(frozen=True)
class Layer:
    """One tile layer: its name (also the MVT layer's name), the zoom it starts at, its rows
    and its properties (``(name in the tile, column of the rows)``)."""

    name: str
    min_zoom: int
    rows: Rows
    props: tuple[tuple[str, str], ...]
    clustered_below: int = 0
    takes_filters: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _within(qs: QuerySet, scope: Any) -> QuerySet:
    """``qs`` limited by a jurisdiction ``Q`` (None: no limit)."""
    return qs if scope is None else qs.filter(scope)


def _boundaries(model: type, level: str) -> Rows:
    def rows(user: Any, env: TileEnvelope, filters: Filters) -> QuerySet:
        qs = _within(
            model.objects.current().filter(geom__bboverlaps=env),
            boundary_scope_q(user, CODE_LENGTH[level]),
        )
        columns: dict[str, Any] = {"fid": F("id"), "g": F("geom")}
        if level == Level.GRID:
            columns["village_code"] = F("village__code")
        names = ["code", "name"] + (["kind"] if level in (Level.TOWN, Level.VILLAGE) else [])
        return qs.values(*names, **columns)

    return rows


def _stations(user: Any, env: TileEnvelope, filters: Filters) -> QuerySet:
    qs = Station.objects.filter(location__bboverlaps=env)
    qs = _within(qs, boundary_scope_q(user, CODE_LENGTH[Level.TOWN], "town__code"))
    return qs.values("code", "name", fid=F("id"), g=F("location"), town_code=F("town__code"))


def _buildings(user: Any, env: TileEnvelope, filters: Filters) -> QuerySet:
    qs = _within(Building.objects.filter(footprint__bboverlaps=env), scope_q(user, "grid__code"))
    return qs.values("name", fid=F("id"), g=F("footprint"), grid_code=F("grid__code"))


def _households(user: Any, env: TileEnvelope, filters: Filters) -> QuerySet:
    # The jurisdiction rule of /api/households/ (by the household's grid); no personal field.
    qs = _within(Household.objects.filter(location__bboverlaps=env), scope_q(user, "grid__code"))
    return qs.values("size", fid=F("id"), g=F("location"), grid_code=F("grid__code"))


def _roads(user: Any, env: TileEnvelope, filters: Filters) -> QuerySet:
    # coverage's road network, by the village it was imported for.
    qs = _within(RoadSegment.objects.filter(geom__bboverlaps=env), scope_q(user, "village_code"))
    return qs.values("name", "village_code", fid=F("id"), g=F("geom"))


def _incidents(user: Any, env: TileEnvelope, filters: Filters) -> QuerySet:
    qs = incidents_visible_to(user).filter(location__bboverlaps=env)
    if filters.category:
        qs = qs.filter(category__code=filters.category)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.days:
        qs = qs.filter(reported_at__gte=timezone.now() - dt.timedelta(days=filters.days))
    return qs.values(
        "severity",
        "status",
        fid=F("id"),
        g=F("location"),
        category_code=F("category__code"),
    )


_INCIDENT_PROPS = (
    ("id", "fid"),
    ("severity", "severity"),
    ("status", "status"),
    ("category", "category_code"),
)

_CODE = ("code", "code")
_NAME = ("name", "name")

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("districts", 0, _boundaries(District, Level.COUNTY), (_CODE, _NAME)),
        Layer("towns", 6, _boundaries(Town, Level.TOWN), (_CODE, _NAME, ("kind", "kind"))),
        Layer("villages", 8, _boundaries(Village, Level.VILLAGE), (_CODE, _NAME, ("kind", "kind"))),
        Layer(
            "grids", 10, _boundaries(Grid, Level.GRID),
            (_CODE, _NAME, ("village_code", "village_code")),
        ),
        Layer("stations", 8, _stations, (_CODE, _NAME, ("town_code", "town_code"))),
        Layer("buildings", 14, _buildings, (("name", "name"), ("grid_code", "grid_code"))),
        Layer("households", 15, _households, (("size", "size"), ("grid_code", "grid_code"))),
        Layer("roads", 13, _roads, (("name", "name"), ("village_code", "village_code"))),
        Layer(
            "incidents", 0, _incidents, _INCIDENT_PROPS,
            clustered_below=CLUSTER_BELOW, takes_filters=True,
        ),
    )
}  # fmt: skip


_PLAIN = """SELECT ST_AsMVT(t, %s, {extent}, 'geom', 'fid') FROM (
  SELECT s.fid, {props},
         ST_AsMVTGeom(ST_Transform(s.g, 3857), ST_TileEnvelope(%s, %s, %s),
                      {extent}, {buffer}, true) AS geom
  FROM ({rows}) s
) t WHERE t.geom IS NOT NULL"""

# Clusters: a cell's worst severity, its counts, and for a lone incident its state and category.
_CLUSTERED = """SELECT ST_AsMVT(t, %s, {extent}, 'geom', 'fid') FROM (
  SELECT min(s.fid) AS fid, count(*)::int AS count,
         count(*) FILTER (WHERE s.severity = 'red')::int AS red,
         count(*) FILTER (WHERE s.severity = 'yellow')::int AS yellow,
         count(*) FILTER (WHERE s.severity = 'blue')::int AS blue,
         CASE WHEN bool_or(s.severity = 'red') THEN 'red'
              WHEN bool_or(s.severity = 'yellow') THEN 'yellow' ELSE 'blue' END AS severity,
         CASE WHEN count(*) = 1 THEN min(s.status) END AS status,
         CASE WHEN count(*) = 1 THEN min(s.fid) END AS id,
         CASE WHEN count(*) = 1 THEN min(s.category_code) END AS category,
         ST_AsMVTGeom(ST_Centroid(ST_Collect(ST_Transform(s.g, 3857))), ST_TileEnvelope(%s, %s, %s),
                      {extent}, {buffer}, true) AS geom
  FROM ({rows}) s
  GROUP BY ST_SnapToGrid(ST_Transform(s.g, 3857), %s)
) t WHERE t.geom IS NOT NULL"""


def in_range(z: int, x: int, y: int) -> bool:
    """Whether z/x/y names a tile of the Web Mercator pyramid (z from 0 to ``MAX_ZOOM``)."""
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The z/x/y of the Web Mercator tile holding lon/lat (degrees) at zoom ``z``."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_sql(
    layer: Layer, user: Any, z: int, x: int, y: int, filters: Filters | None = None
) -> tuple[str, list[Any]] | None:
    """The one statement making ``layer``'s tile z/x/y for ``user`` (None: nothing to draw,
    below the layer's zoom or an empty jurisdiction)."""
    if z < layer.min_zoom:
        return None
    rows = layer.rows(user, TileEnvelope(z, x, y), filters or Filters())
    try:
        rows_sql, rows_params = rows.query.sql_with_params()
    except EmptyResultSet:
        return None
    fmt = {"extent": EXTENT, "buffer": BUFFER, "rows": rows_sql}
    if z < layer.clustered_below:
        cell = 2 * MERCATOR_HALF / 2**z / CLUSTER_CELLS
        sql = _CLUSTERED.format(**fmt)
        return sql, [layer.name, z, x, y, *rows_params, cell]
    props = ", ".join(f's."{column}" AS "{name}"' for name, column in layer.props)
    if layer.clustered_below:
        props += ", 1 AS count"
    sql = _PLAIN.format(props=props, **fmt)
    return sql, [layer.name, z, x, y, *rows_params]


def render_tile(
    layer: Layer, user: Any, z: int, x: int, y: int, filters: Filters | None = None
) -> bytes:
    """The tile's MVT bytes (empty: no feature), in one statement."""
    statement = tile_sql(layer, user, z, x, y, filters)
    if statement is None:
        return b""
    with connection.cursor() as cur:
        cur.execute(*statement)
        row = cur.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
