"""GCJ-02 and BD-09 to WGS84 (grids.coords), against published reference pairs."""

from __future__ import annotations

import numpy as np
import prcoords
import pytest
import shapely
from pyproj import Geod

from grids.coords import (
    bd09_to_wgs84,
    bd09_to_wgs84_coords,
    gcj02_to_wgs84,
    gcj02_to_wgs84_coords,
    in_china,
    wgs84_to_bd09_coords,
    wgs84_to_gcj02_coords,
)

GEOD = Geod(ellps="WGS84")
TOLERANCE_M = 10.0


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance between two (lon, lat) points."""
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


# (WGS84 lon, lat) -> (GCJ-02 lon, lat) pairs.
# - Shanghai, Shenzhen, Beijing: the test vectors of googollee/eviltransform (MIT),
#   go/transform_test.go and python/test.py ("wgsLat, wgsLng, gcjLat, gcjLng").
# - Tian'anmen: wandergis/coordtransform (MIT), test/app.js, wgs84togcj02(116.404, 39.915).
GCJ_REFERENCE = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]

# BD-09 -> WGS84 from wandergis/coordtransform test/app.js: gcj02tobd09(116.404, 39.915) gives
# BD-09 (116.41036949371029, 39.92133699351021), and gcj02towgs84(116.404, 39.915) gives
# WGS84 (116.39775550083061, 39.91359571849836) (its one-step inverse, good to about 1 m).
BD_REFERENCE = [((116.39775550083061, 39.91359571849836), (116.41036949371029, 39.92133699351021))]


@pytest.mark.parametrize(("wgs", "gcj"), GCJ_REFERENCE)
def test_gcj02_reference_pairs_land_within_10_m(wgs, gcj):
    converted = gcj02_to_wgs84(shapely.Point(gcj))
    assert metres((converted.x, converted.y), wgs) < TOLERANCE_M
    # The pair is a real 100-700 m obfuscation, so an identity conversion would fail above.
    assert 100 < metres(gcj, wgs) < 700


@pytest.mark.parametrize(("wgs", "bd"), BD_REFERENCE)
def test_bd09_reference_pair_lands_within_10_m(wgs, bd):
    converted = bd09_to_wgs84(shapely.Point(bd))
    assert metres((converted.x, converted.y), wgs) < TOLERANCE_M
    assert metres(bd, wgs) > 700


def test_gcj02_inverse_is_precise_over_a_polygon_with_a_hole():
    shell = [(108.5, 21.8), (108.7, 21.8), (108.7, 22.0), (108.5, 22.0), (108.5, 21.8)]
    hole = [(108.55, 21.85), (108.6, 21.85), (108.6, 21.9), (108.55, 21.85)]
    polygon = shapely.Polygon(shell, [hole])
    converted = gcj02_to_wgs84(polygon)
    assert converted.geom_type == "Polygon"
    assert len(converted.interiors) == 1
    before = shapely.get_coordinates(polygon)
    after = shapely.get_coordinates(converted)
    assert before.shape == after.shape
    for (lon, lat), original in zip(after, before, strict=True):
        forward = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
        assert metres((forward.lon, forward.lat), tuple(original)) < 0.01


def test_points_outside_china_are_left_unchanged():
    # The test factories' polygons near lon 100, lat 0 lie outside the GCJ-02 box.
    square = shapely.box(100.0, 0.0, 100.1, 0.1)
    assert not in_china(shapely.get_coordinates(square)).any()
    assert shapely.equals_exact(gcj02_to_wgs84(square), square, tolerance=0)


def test_mixed_array_converts_only_the_points_in_china():
    coords = np.array([[100.0, 0.0], [108.6, 21.9], [108.6, 21.9]])
    out = gcj02_to_wgs84_coords(coords)
    assert (out[0] == coords[0]).all()
    assert (out[1] == out[2]).all()
    assert 100 < metres(tuple(out[1]), tuple(coords[1])) < 700


def test_array_of_geometries_and_empty_geometry():
    geoms = np.array([shapely.Point(108.6, 21.9), shapely.Polygon(), None], dtype=object)
    out = gcj02_to_wgs84(geoms)
    assert out[0].x != 108.6
    assert out[1].is_empty
    assert out[2] is None


# --- The numpy implementation against prcoords' scalar one ---------------------------------
# Random points over the China box (seeded), in GCJ-02 / BD-09 as a county's file holds them.
RNG_SEED = 13
SAMPLE = 3000


def china_sample(n: int = SAMPLE, seed: int = RNG_SEED) -> np.ndarray:
    """(n, 2) lon/lat drawn uniformly inside the box where GCJ-02 applies."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(73.0, 135.0, n)
    lat = rng.uniform(3.0, 53.5, n)
    return np.column_stack((lon, lat))


def max_metres(a: np.ndarray, b: np.ndarray) -> float:
    """The largest geodesic distance between matching rows of two (N, 2) lon/lat arrays."""
    return float(np.max(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]))


def test_gcj02_inverse_agrees_with_prcoords_within_a_millimetre():
    gcj = china_sample()
    ours = gcj02_to_wgs84_coords(gcj)
    theirs = np.array(
        [(w.lon, w.lat) for w in (prcoords.gcj_wgs_bored((lat, lon)) for lon, lat in gcj)]
    )
    assert max_metres(ours, theirs) < 0.001
    # And it really moved them (an identity would be 100-700 m away).
    assert max_metres(ours, gcj) > 100


def test_bd09_inverse_agrees_with_prcoords_within_a_millimetre():
    bd = china_sample(seed=RNG_SEED + 1)
    ours = bd09_to_wgs84_coords(bd)
    theirs = []
    for lon, lat in bd:
        gcj = prcoords.bd_gcj_bored((lat, lon))
        wgs = prcoords.gcj_wgs_bored(gcj)
        theirs.append((wgs.lon, wgs.lat))
    assert max_metres(ours, np.array(theirs)) < 0.001


def test_forward_formulas_agree_with_prcoords():
    wgs = china_sample(500, seed=RNG_SEED + 2)
    gcj = np.array([(c.lon, c.lat) for c in (prcoords.wgs_gcj((la, lo)) for lo, la in wgs)])
    bd = np.array([(c.lon, c.lat) for c in (prcoords.wgs_bd((la, lo)) for lo, la in wgs)])
    assert max_metres(wgs84_to_gcj02_coords(wgs), gcj) < 0.001
    assert max_metres(wgs84_to_bd09_coords(wgs), bd) < 0.001


def test_forward_of_the_inverse_lands_within_a_few_millimetres():
    points = china_sample(seed=RNG_SEED + 3)
    assert max_metres(wgs84_to_gcj02_coords(gcj02_to_wgs84_coords(points)), points) < 0.005
    assert max_metres(wgs84_to_bd09_coords(bd09_to_wgs84_coords(points)), points) < 0.005


def test_random_points_outside_china_are_unchanged_among_points_inside():
    rng = np.random.default_rng(RNG_SEED + 4)
    outside = np.column_stack((rng.uniform(-180, 71.9, 200), rng.uniform(-90, 90, 200)))
    inside = china_sample(200)
    mixed = np.vstack((outside, inside))
    out = gcj02_to_wgs84_coords(mixed)
    assert not in_china(outside).any()
    assert (out[:200] == outside).all()
    assert (out[200:] != inside).any(axis=1).all()
    assert (wgs84_to_gcj02_coords(outside) == outside).all()
    # The input is never modified in place.
    assert (mixed[200:] == inside).all()


def test_empty_arrays_pass_through():
    for convert in (gcj02_to_wgs84_coords, bd09_to_wgs84_coords, wgs84_to_gcj02_coords):
        assert convert(np.empty((0, 2))).shape == (0, 2)
