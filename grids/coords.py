"""Coordinates captured from Chinese web maps, converted to WGS84 before they are stored.

GCJ-02 (AMap, Tencent, Google China) is WGS84 pushed 100-700 m by a published formula;
BD-09 (Baidu) is GCJ-02 with a further rotation and shift. Both are longitude/latitude. The
inverse has no closed form: we use the iterative ("bored") inverse of ``prcoords`` (public
domain / CC0), whose result the forward formula sends back within a few millimetres.

As in every implementation of the standard, GCJ-02 only moves points inside the rough China
bounding box of ``prcoords.sanity_in_china_p``; points outside it are returned unchanged.
BD-09's own rotation is a plain formula and is undone everywhere.

The functions take a shapely geometry (or an array of them, converted in one pass) and return
the same type with 2D coordinates. Work is done once per distinct coordinate, so vertices
shared by neighbouring boundaries cost nothing extra.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import prcoords
import shapely

GeometryT = TypeVar("GeometryT", shapely.Geometry, np.ndarray)

# The China bounding box of the standard (longitude, latitude), as in prcoords.sanity_in_china_p.
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)


def in_china(lonlat: np.ndarray) -> np.ndarray:
    """Boolean mask of the (N, 2) lon/lat rows inside the box where GCJ-02 applies."""
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    return (
        (lon >= CHINA_LON[0])
        & (lon <= CHINA_LON[1])
        & (lat >= CHINA_LAT[0])
        & (lat <= CHINA_LAT[1])
    )


def _per_coordinate(
    lonlat: np.ndarray, convert: Callable[[float, float], tuple[float, float]]
) -> np.ndarray:
    """Apply a scalar (lon, lat) -> (lon, lat) conversion once per distinct row of ``lonlat``."""
    if len(lonlat) == 0:
        return lonlat.copy()
    unique, inverse = np.unique(lonlat, axis=0, return_inverse=True)
    converted = np.array([convert(lon, lat) for lon, lat in unique], dtype=float)
    return converted[inverse.reshape(-1)]


def _gcj_to_wgs(lon: float, lat: float) -> tuple[float, float]:
    # prcoords works in (lat, lon) order; its bored inverse does not skip points outside
    # China itself, so the caller only passes points inside the box.
    wgs = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lon))
    return wgs.lon, wgs.lat


def _bd_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    gcj = prcoords.bd_gcj_bored(prcoords.Coords(lat, lon))
    return gcj.lon, gcj.lat


def gcj02_to_wgs84_coords(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) GCJ-02 lon/lat -> WGS84 lon/lat; rows outside China are copied unchanged."""
    lonlat = np.asarray(lonlat, dtype=float)
    out = lonlat.copy()
    mask = in_china(lonlat)
    out[mask] = _per_coordinate(lonlat[mask], _gcj_to_wgs)
    return out


def bd09_to_wgs84_coords(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) BD-09 lon/lat -> WGS84 lon/lat (BD-09 -> GCJ-02 -> WGS84)."""
    gcj = _per_coordinate(np.asarray(lonlat, dtype=float), _bd_to_gcj)
    return gcj02_to_wgs84_coords(gcj)


def gcj02_to_wgs84(geometry: GeometryT) -> GeometryT:
    """A GCJ-02 geometry (or array of geometries) in WGS84."""
    return shapely.transform(geometry, gcj02_to_wgs84_coords)


def bd09_to_wgs84(geometry: GeometryT) -> GeometryT:
    """A BD-09 geometry (or array of geometries) in WGS84."""
    return shapely.transform(geometry, bd09_to_wgs84_coords)


# Names accepted by ``import_boundaries --crs`` for the obfuscated systems.
OBFUSCATED_TO_WGS84: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
