"""Coordinates captured from Chinese web maps, converted to WGS84 before they are stored.

GCJ-02 (AMap, Tencent, Google China) is WGS84 pushed 100-700 m by a published formula;
BD-09 (Baidu) is GCJ-02 with a further rotation and shift. Both are longitude/latitude. The
inverse has no closed form: we use the iterative ("bored") inverse of ``prcoords`` (public
domain / CC0, Caijun 2014): start from the one-step inverse, then repeatedly push the guess
forward and subtract the difference from the target, until the difference is at most
``PRC_EPS`` degrees or after ``MAX_ITERATIONS`` rounds. The forward formula sends the result
back within a few millimetres.

Here the forward formulas and the iteration are written in numpy over (N, 2) arrays, with the
constants and the per-point stopping rule of ``prcoords`` (a point stops iterating when its
own difference is small enough, the others go on): the results agree with ``prcoords`` to well
under a millimetre (tests/grids/test_coords.py), at a small fraction of the cost of its scalar
loop (``bench/run.py coords``), which matters for a million imported households.

As in every implementation of the standard, GCJ-02 only moves points inside the rough China
bounding box of ``prcoords.sanity_in_china_p``; points outside it are returned unchanged.
BD-09's own rotation is a plain formula and is undone everywhere.

The geometry functions take a shapely geometry (or an array of them, converted in one pass)
and return the same type with 2D coordinates; the ``*_coords`` functions take and return
(N, 2) arrays of lon/lat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import shapely

GeometryT = TypeVar("GeometryT", shapely.Geometry, np.ndarray)

# The China bounding box of the standard (longitude, latitude), as in prcoords.sanity_in_china_p.
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)

# The constants of prcoords: the Krasovsky 1940 ellipsoid GCJ-02 uses (semi-major axis in
# metres, first eccentricity squared), Baidu's fixed shift in degrees, and the iteration's
# stopping rule (difference in degrees, at most so many rounds).
GCJ_A = 6378245.0
GCJ_EE = 0.00669342162296594323
BD_DLAT = 0.0060
BD_DLON = 0.0065
PRC_EPS = 1e-5
MAX_ITERATIONS = 10

LonLatFunction = Callable[[np.ndarray], np.ndarray]


def in_china(lonlat: np.ndarray) -> np.ndarray:
    """Boolean mask of the (N, 2) lon/lat rows inside the box where GCJ-02 applies."""
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    return (
        (lon >= CHINA_LON[0])
        & (lon <= CHINA_LON[1])
        & (lat >= CHINA_LAT[0])
        & (lat <= CHINA_LAT[1])
    )


def _as_lonlat(lonlat: np.ndarray) -> np.ndarray:
    """A float (N, 2) copy of ``lonlat`` (an empty input becomes an empty (0, 2) array)."""
    out = np.array(lonlat, dtype=float)
    return out.reshape(-1, 2) if out.size == 0 else out


def _wgs_to_gcj(lonlat: np.ndarray) -> np.ndarray:
    """The GCJ-02 formula on every row, in China or not (prcoords.wgs_gcj, check_china=False).

    The distortions are arc lengths in metres, functions of (x, y) = (lon - 105, lat - 35),
    turned into degrees with the lengths of a degree on the Krasovsky ellipsoid.
    """
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    x, y = lon - 105.0, lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = 2 * np.sin(x * 6 * np.pi) + 2 * np.sin(x * 2 * np.pi)
    d_lat_m = (
        -100
        + 2 * x
        + 3 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + (
            common
            + 2 * np.sin(y * np.pi)
            + 4 * np.sin(y / 3 * np.pi)
            + 16 * np.sin(y / 12 * np.pi)
            + 32 * np.sin(y / 30 * np.pi)
        )
        * 20
        / 3
    )
    d_lon_m = (
        300
        + x
        + 2 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + (
            common
            + 2 * np.sin(x * np.pi)
            + 4 * np.sin(x / 3 * np.pi)
            + 15 * np.sin(x / 12 * np.pi)
            + 30 * np.sin(x / 30 * np.pi)
        )
        * 20
        / 3
    )
    rad_lat = np.radians(lat)
    magic = 1 - GCJ_EE * np.sin(rad_lat) ** 2
    lat_deg_arclen = np.radians((GCJ_A * (1 - GCJ_EE)) / magic**1.5)
    lon_deg_arclen = np.radians(GCJ_A * np.cos(rad_lat) / np.sqrt(magic))
    return np.column_stack((lon + d_lon_m / lon_deg_arclen, lat + d_lat_m / lat_deg_arclen))


def _gcj_to_bd(lonlat: np.ndarray) -> np.ndarray:
    """Baidu's rotation and shift (prcoords.gcj_bd)."""
    x, y = lonlat[:, 0], lonlat[:, 1]
    r = np.sqrt(x * x + y * y) + 0.00002 * np.sin(np.radians(y) * 3000)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(np.radians(x) * 3000)
    return np.column_stack((r * np.cos(theta) + BD_DLON, r * np.sin(theta) + BD_DLAT))


def _bd_to_gcj_rough(lonlat: np.ndarray) -> np.ndarray:
    """The one-step inverse of Baidu's rotation (prcoords.bd_gcj, about 1e-7 degrees)."""
    x, y = lonlat[:, 0] - BD_DLON, lonlat[:, 1] - BD_DLAT
    r = np.sqrt(x * x + y * y) - 0.00002 * np.sin(np.radians(y) * 3000)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(np.radians(x) * 3000)
    return np.column_stack((r * np.cos(theta), r * np.sin(theta)))


def _gcj_to_wgs_rough(lonlat: np.ndarray) -> np.ndarray:
    """The one-step inverse of GCJ-02 (prcoords.gcj_wgs, about 2e-6 degrees)."""
    return lonlat - (_wgs_to_gcj(lonlat) - lonlat)


def _bored(target: np.ndarray, forward: LonLatFunction, rough: LonLatFunction) -> np.ndarray:
    """The inverse of ``forward`` at every row of ``target`` by prcoords' iteration: from the
    ``rough`` inverse, subtract (forward(guess) - target) until that difference is at most
    ``PRC_EPS`` degrees (hypot of both axes), per row, or ``MAX_ITERATIONS`` rounds are done."""
    guess = rough(target)
    active = np.arange(len(target))
    for _ in range(MAX_ITERATIONS):
        if active.size == 0:
            break
        diff = forward(guess[active]) - target[active]
        guess[active] -= diff
        active = active[np.hypot(diff[:, 0], diff[:, 1]) > PRC_EPS]
    return guess


def wgs84_to_gcj02_coords(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) WGS84 lon/lat -> GCJ-02 lon/lat; rows outside China are copied unchanged."""
    lonlat = _as_lonlat(lonlat)
    mask = in_china(lonlat)
    lonlat[mask] = _wgs_to_gcj(lonlat[mask])
    return lonlat


def wgs84_to_bd09_coords(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) WGS84 lon/lat -> BD-09 lon/lat (WGS84 -> GCJ-02 -> BD-09, as prcoords.wgs_bd)."""
    return _gcj_to_bd(wgs84_to_gcj02_coords(lonlat))


def gcj02_to_wgs84_coords(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) GCJ-02 lon/lat -> WGS84 lon/lat; rows outside China are copied unchanged."""
    lonlat = _as_lonlat(lonlat)
    mask = in_china(lonlat)
    lonlat[mask] = _bored(lonlat[mask], _wgs_to_gcj, _gcj_to_wgs_rough)
    return lonlat


def bd09_to_wgs84_coords(lonlat: np.ndarray) -> np.ndarray:
    """(N, 2) BD-09 lon/lat -> WGS84 lon/lat (BD-09 -> GCJ-02 -> WGS84)."""
    lonlat = _as_lonlat(lonlat)
    return gcj02_to_wgs84_coords(_bored(lonlat, _gcj_to_bd, _bd_to_gcj_rough))


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
