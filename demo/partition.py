"""Exact partitions of a polygon into compact, contiguous parts (pure shapely, no database).

The partition scheme
--------------------
Every level of the demo hierarchy (district -> towns -> station areas -> villages -> grids) is
cut the same way:

1. *Seeds*: k points spread over the parent by a few Lloyd (k-means) iterations over uniform
   samples of the parent; each seed is then moved to the sample nearest its centroid, so it
   lies inside the parent even when the parent is not convex.
2. *One arrangement*: the parent's boundary and the Voronoi edges of the seeds (plus any
   extra cutting lines, such as the ring of an urban core) are noded together ONCE with
   snap-rounding to ``GRID_SIZE`` (1e-7 degrees, about 1 cm) and polygonized into faces.
3. *Labelling*: each face inside the parent goes to a part by a label function of a point in
   the face: the nearest seed (so a part is the parent clipped to a Voronoi cell), or, for a
   district with an urban core, the nearest street seed inside the core and the nearest town
   seed outside it.
4. *Dissolve*: each part is the coverage union of its faces. Faces come from one noded
   arrangement, so siblings share identical edges: no gap, no overlap, and every vertex is
   on the 1e-7 degree grid. Siblings cover the parent up to the snap-rounding of the points
   where a cutting line crosses the parent's edge (millimetres); the final boundaries remove
   even that by noding every level's cutting lines once per district
   (``demo.plan._finalise``).
5. *Fragments*: a Voronoi cell clipped to a ragged coastline can leave a part in several
   pieces. Every piece but a part's largest is handed to the sibling it shares the longest
   edge with; a piece touching no sibling (an island) stays. So parts are contiguous except
   for islands, and no part carries a speck.

Coordinates are WGS84 lon/lat degrees throughout; the small anisotropy of degrees at 22°N
(a degree of longitude is 0.93 of a degree of latitude) only stretches cells a little.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

# Snap-rounding grid for every boundary: 1e-7 degrees is 1.1 cm of latitude.
GRID_SIZE = 1e-7
# Metres per degree of latitude; of longitude multiply by cos(latitude).
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0

Labeller = Callable[[np.ndarray], np.ndarray]


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """``geom``'s polygons as one MultiPolygon (empty parts and other types dropped)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    return MultiPolygon(parts)


def snap(geom: BaseGeometry) -> MultiPolygon:
    """``geom`` snap-rounded to the 1e-7 degree grid, as a valid MultiPolygon."""
    return as_multipolygon(shapely.set_precision(geom, GRID_SIZE))


def sample_in(geom: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``geom`` (rejection sampling), shape (n, 2)."""
    shapely.prepare(geom)
    x0, y0, x1, y1 = geom.bounds
    share = max(geom.area / max((x1 - x0) * (y1 - y0), 1e-30), 1e-3)
    out: list[np.ndarray] = []
    have = 0
    for _ in range(200):
        m = int((n - have) / share * 1.3) + 16
        xy = rng.random((m, 2)) * [x1 - x0, y1 - y0] + [x0, y0]
        xy = xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]
        out.append(xy)
        have += len(xy)
        if have >= n:
            break
    pts = np.concatenate(out)[:n] if out else np.empty((0, 2))
    if len(pts) < n:  # a degenerate sliver: fall back to points on its surface
        extra = np.repeat([shapely.get_coordinates(geom.point_on_surface())[0]], n - len(pts), 0)
        pts = np.concatenate([pts, extra])
    return pts


def spread_seeds(
    geom: BaseGeometry,
    k: int,
    rng: np.random.Generator,
    iterations: int = 15,
) -> np.ndarray:
    """``k`` well-spread seed points inside ``geom`` (Lloyd iterations on samples), (k, 2)."""
    if k <= 0:
        return np.empty((0, 2))
    samples = sample_in(geom, max(60 * k, 300), rng)
    # k-means++ start, then Lloyd.
    centres = [samples[rng.integers(len(samples))]]
    d2 = ((samples - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else None
        centres.append(samples[rng.choice(len(samples), p=p)])
        d2 = np.minimum(d2, ((samples - centres[-1]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(iterations):
        labels = _nearest(samples, c)
        for j in range(k):
            members = samples[labels == j]
            if len(members):
                c[j] = members.mean(0)
    # Move each centre to the nearest unused sample: inside the parent, and distinct.
    seeds = np.empty_like(c)
    used: set[int] = set()
    for j in range(k):
        order = np.argsort(((samples - c[j]) ** 2).sum(1))
        pick = next(int(i) for i in order if int(i) not in used)
        used.add(pick)
        seeds[j] = samples[pick]
    return seeds


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed for each point (chunked to bound memory)."""
    out = np.empty(len(points), dtype=np.int64)
    step = max(1, 4_000_000 // max(len(seeds), 1))
    for i in range(0, len(points), step):
        chunk = points[i : i + step]
        d = ((chunk[:, None, :] - seeds[None, :, :]) ** 2).sum(-1)
        out[i : i + step] = d.argmin(1)
    return out


def nearest_seed(seeds: np.ndarray) -> Labeller:
    """Label function: the nearest of ``seeds`` (so parts are Voronoi cells)."""
    return lambda xy: _nearest(xy, seeds)


def voronoi_edges(seeds: np.ndarray, extent: BaseGeometry) -> BaseGeometry:
    """The Voronoi edges of ``seeds``, covering ``extent``'s envelope."""
    if len(seeds) < 2:
        return shapely.MultiLineString()
    frame = shapely.box(*extent.buffer(0.01).bounds)
    return shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, only_edges=True)


def partition(
    parent: BaseGeometry,
    k: int,
    lines: Sequence[BaseGeometry],
    label: Labeller,
) -> list[MultiPolygon]:
    """Cut ``parent`` along ``lines`` into ``k`` parts chosen by ``label`` (see module doc).

    ``label`` maps an (n, 2) array of points to part indices in [0, k). Every returned part is
    a valid MultiPolygon on the 1e-7 degree grid; parts share edges exactly.
    """
    parent = snap(parent)
    if k == 1:
        return [parent]
    linework = shapely.union_all([parent.boundary, *lines], grid_size=GRID_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    faces = faces[shapely.area(faces) > 0]
    points = shapely.point_on_surface(faces)
    shapely.prepare(parent)
    inside = shapely.contains(parent, points)
    faces, points = faces[inside], points[inside]
    labels = np.asarray(label(shapely.get_coordinates(points)))
    parts: list[BaseGeometry] = []
    for i in range(k):
        mine = faces[labels == i]
        parts.append(shapely.coverage_union_all(mine) if len(mine) else Polygon())
    parts = _absorb_fragments(parts)
    return [as_multipolygon(p) for p in parts]


def _absorb_fragments(parts: list[BaseGeometry], passes: int = 3) -> list[BaseGeometry]:
    """Hand every non-largest piece of a part to the sibling sharing its longest edge."""
    parts = list(parts)
    for _ in range(passes):
        moved = False
        tree = shapely.STRtree(parts)
        for i in range(len(parts)):
            pieces = list(shapely.get_parts(parts[i]))
            if len(pieces) < 2:
                continue
            areas = [p.area for p in pieces]
            main = int(np.argmax(areas))
            keep: list[Polygon] = [pieces[main]]
            for j, piece in enumerate(pieces):
                if j == main:
                    continue
                best, best_len = -1, 0.0
                for other in tree.query(piece):
                    other = int(other)
                    if other == i or parts[other].is_empty:
                        continue
                    shared = shapely.intersection(piece.boundary, parts[other].boundary).length
                    if shared > best_len:
                        best, best_len = other, shared
                if best < 0:
                    keep.append(piece)  # an island: it touches no sibling
                    continue
                parts[best] = shapely.coverage_union_all([*shapely.get_parts(parts[best]), piece])
                moved = True
            parts[i] = MultiPolygon(keep) if len(keep) > 1 else keep[0]
        if not moved:
            break
    return parts


def noisy_disc(centre: tuple[float, float], radius_m: float, rng: np.random.Generator) -> Polygon:
    """An irregular round polygon (an urban core) of mean radius ``radius_m`` around ``centre``."""
    theta = np.linspace(0, 2 * np.pi, 73)[:-1]
    r = np.ones_like(theta)
    for harmonic in (2, 3, 5):
        r += rng.uniform(0.04, 0.12) * np.sin(harmonic * theta + rng.uniform(0, 2 * np.pi))
    r *= radius_m
    lon, lat = centre
    dx = r * np.cos(theta) / (M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat)))
    dy = r * np.sin(theta) / M_PER_DEG_LAT
    return Polygon(np.column_stack([lon + dx, lat + dy]))
