"""Reads of the OGC API: a page of features, one feature, a collection's extent. Geometries
are transformed, flipped to the CRS's axis order and written as GeoJSON by PostGIS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.aggregates import Extent
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.contrib.gis.geos import Polygon
from django.db.models import Expression, F, Func, QuerySet

from .collections import Collection, grids_extent_rows
from .crs import STORAGE, Crs
from .params import Cursor, Interval

GEOMETRY = "ogc_geometry"


def geometry_expression(collection: Collection, crs: Crs) -> Expression:
    """The collection's geometry in ``crs`` as GeoJSON text (``ST_AsGeoJSON``), in the
    authority's axis order (``ST_FlipCoordinates`` for north-first systems)."""
    geom: Expression = F(collection.geom)
    if crs.srid != STORAGE.srid:
        geom = Transform(geom, crs.srid)
    if crs.north_first:
        geom = Func(geom, function="ST_FlipCoordinates", output_field=GeometryField(srid=crs.srid))
    return AsGeoJSON(geom, precision=crs.precision)


def matching(
    collection: Collection,
    user: Any,
    *,
    generation: int | None,
    bbox: Polygon | None,
    bbox_srid: int,
    interval: Interval | None = None,
) -> QuerySet:
    """The rows the viewer may see, inside ``bbox`` (given in ``bbox_srid``; PostGIS
    transforms it to the stored CRS)."""
    qs = collection.rows(user, generation)
    if bbox is not None:
        bbox.srid = bbox_srid
        qs = qs.filter(**{f"{collection.geom}__intersects": bbox})
    if interval is not None and collection.temporal is not None:
        start, end = interval
        if start is not None:
            qs = qs.filter(**{f"{collection.temporal}__gte": start})
        if end is not None:
            qs = qs.filter(**{f"{collection.temporal}__lte": end})
    return qs


def rows_of(
    collection: Collection, qs: QuerySet, crs: Crs, count: int | None = None
) -> list[dict[str, Any]]:
    """The first ``count`` rows of ``qs`` (all without it): the collection's fields and the
    geometry as GeoJSON text, in one statement."""
    paths = list(collection.fields.values())
    values = qs.annotate(**{GEOMETRY: geometry_expression(collection, crs)}).values(
        *paths, GEOMETRY
    )
    return list(values if count is None else values[:count])


def features(collection: Collection, rows: list[dict[str, Any]], user: Any) -> list[dict[str, Any]]:
    """``rows`` (``rows_of``) as GeoJSON features with the collection's properties, its
    ``finish`` (masking, traffic light) applied: call it only on the rows that are shown,
    since an unmasked value is logged as seen."""
    props = [{name: row[path] for name, path in collection.fields.items()} for row in rows]
    if collection.finish is not None:
        collection.finish(props, user)
    return [
        {
            "type": "Feature",
            "id": row[collection.key],
            "geometry": json.loads(row[GEOMETRY]) if row[GEOMETRY] else None,
            # Dates and times are written by the answer's encoder (DjangoJSONEncoder).
            "properties": p,
        }
        for row, p in zip(rows, props, strict=True)
    ]


@dataclass
class Page:
    features: list[dict[str, Any]]
    # The keys to page on: ``next`` after the last feature, ``prev`` before the first.
    next_after: Any = None
    prev_before: Any = None


def page(
    collection: Collection, qs: QuerySet, *, cursor: Cursor, limit: int, crs: Crs, user: Any
) -> Page:
    """One page by keyset on the collection's key (stable, and as fast deep as shallow), in
    one statement: ``limit + 1`` rows tell whether there is more."""
    key = collection.key
    if cursor.before is not None:
        qs = qs.filter(**{f"{key}__lt": cursor.before}).order_by(f"-{key}")
        rows = rows_of(collection, qs, crs, limit + 1)
        has_prev, has_next = len(rows) > limit, True
        rows = rows[:limit][::-1]
    else:
        if cursor.after is not None:
            qs = qs.filter(**{f"{key}__gt": cursor.after})
        rows = rows_of(collection, qs.order_by(key), crs, limit + 1)
        has_next, has_prev = len(rows) > limit, cursor.after is not None
        rows = rows[:limit]
    return Page(
        features=features(collection, rows, user),
        next_after=rows[-1][key] if has_next and rows else None,
        prev_before=rows[0][key] if has_prev and rows else None,
    )


def extent(collection: Collection, user: Any) -> list[float] | None:
    """The collection's extent for the viewer in CRS84 (of the rows; for the large point
    layers, of the viewer's current grids), or None when they see nothing."""
    if collection.extent_of_grids:
        box = grids_extent_rows(user).aggregate(e=Extent("geom"))["e"]
    else:
        box = collection.rows(user, None).aggregate(e=Extent(collection.geom))["e"]
    return [round(v, 7) for v in box] if box else None
