"""A synthetic but plausible road network for the demo, so the service circle has roads to walk.

Works on whatever demo is loaded (``demo.loader``): for each current demo village, the road
nodes are its buildings (footprint centroids) and its service centres; the streets are the
minimum spanning tree of their Delaunay triangulation (every building reached, no street
crossing another) plus about a quarter of the other short Delaunay edges (loops, as real
lanes have), each drawn with a slight bend. Neighbouring villages (sharing a boundary) are
linked by one road between their closest nodes. ``NO_ROAD_VILLAGES`` villages, drawn from the
seed, get no roads at all, so the service circle's "estimate" path shows in the demo.

Same demo and seed, same network. Nodes and segments are written with PostgreSQL COPY in one
transaction; the segments carry their village's code (a link carries the smaller code), which
is how ``delete_demo_roads`` finds them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from django.conf import settings
from django.db import connection, transaction

from coverage.models import RoadNode, RoadSegment
from coverage.signals import roads_changed

from .copy import copy_rows, ewkb_hex, reserve_ids, text
from .loader import CITY_PREFIX

SRID: int = settings.GRIDMAP_SRID
METRIC_SRID: int = settings.GRIDMAP_METRIC_SRID
NO_ROAD_VILLAGES = 2
EXTRA_EDGE_SHARE = 0.25  # of the non-tree Delaunay edges no longer than EXTRA_EDGE_MAX_M
EXTRA_EDGE_MAX_M = 120.0
BEND = 0.08  # the midpoint of a street moves sideways by up to this share of its length
GEOD = pyproj.Geod(ellps="WGS84")


class DemoRoadsError(Exception):
    pass


NO_DEMO = "No demo is loaded: run 'python manage.py load_demo' first."


@dataclass
class DemoRoadsResult:
    villages: int
    villages_without_roads: list[str]
    nodes: int
    segments: int
    links: int

    def lines(self) -> list[str]:
        return [
            f"Demo roads: {self.segments} segments, {self.nodes} nodes in {self.villages} "
            f"villages ({self.links} links between neighbouring villages).",
            "Villages left without roads (the service circle estimates them): "
            + (", ".join(self.villages_without_roads) or "none"),
        ]


def delete_demo_roads() -> int:
    """Delete the demo's segments and the nodes no segment uses any more; segments deleted."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "DELETE FROM coverage_roadsegment WHERE village_code LIKE %s", [CITY_PREFIX + "%"]
        )
        deleted = cur.rowcount
        cur.execute(
            "DELETE FROM coverage_roadnode n WHERE NOT EXISTS (SELECT 1 FROM coverage_roadsegment"
            " s WHERE s.source_id = n.id) AND NOT EXISTS (SELECT 1 FROM coverage_roadsegment s"
            " WHERE s.target_id = n.id)"
        )
    roads_changed.send(sender=RoadSegment)
    return deleted


def _mst(n: int, edges: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Boolean mask of the edges in a minimum spanning forest (Kruskal)."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keep = np.zeros(len(edges), dtype=bool)
    for k in np.argsort(lengths, kind="stable"):
        a, b = find(int(edges[k, 0])), find(int(edges[k, 1]))
        if a != b:
            parent[a] = b
            keep[k] = True
    return keep


def _delaunay_edges(xy: np.ndarray) -> np.ndarray:
    """(m, 2) index pairs of the Delaunay edges of the (distinct) metric points ``xy``."""
    if len(xy) < 2:
        return np.empty((0, 2), dtype=np.int64)
    if len(xy) == 2:
        return np.array([[0, 1]])
    lines = shapely.delaunay_triangles(shapely.multipoints(xy), only_edges=True)
    coords = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    index = {(x, y): i for i, (x, y) in enumerate(xy.tolist())}
    return np.array([[index[tuple(a)], index[tuple(b)]] for a, b in coords.tolist()])


def load_demo_roads(*, seed: int = 7) -> DemoRoadsResult:
    """Replace the demo's road network with a freshly generated one (one transaction)."""
    rng = np.random.default_rng(seed)
    to_metric = pyproj.Transformer.from_crs(SRID, METRIC_SRID, always_xy=True)
    to_lonlat = pyproj.Transformer.from_crs(METRIC_SRID, SRID, always_xy=True)
    like = CITY_PREFIX + "%"
    with transaction.atomic():
        delete_demo_roads()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, code, name FROM grids_village WHERE generation_high_id IS NULL "
                "AND code LIKE %s ORDER BY code",
                [like],
            )
            villages = cur.fetchall()
            if not villages:
                raise DemoRoadsError(NO_DEMO)
            cur.execute(
                "SELECT g.village_id, ST_X(p), ST_Y(p) FROM grids_building b "
                "JOIN grids_grid g ON g.id = b.grid_id "
                "CROSS JOIN LATERAL ST_PointOnSurface(b.footprint) p "
                "WHERE g.village_id = ANY(%s) ORDER BY b.id",
                [[v[0] for v in villages]],
            )
            buildings = np.array(cur.fetchall(), dtype=float).reshape(-1, 3)
            cur.execute(
                "SELECT village_id, ST_X(location), ST_Y(location) FROM grids_servicecentre "
                "WHERE village_id = ANY(%s) ORDER BY id",
                [[v[0] for v in villages]],
            )
            centres = np.array(cur.fetchall(), dtype=float).reshape(-1, 3)
            cur.execute(
                "SELECT a.id, b.id FROM grids_village a JOIN grids_village b "
                "ON a.code < b.code AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom) "
                "WHERE a.generation_high_id IS NULL AND b.generation_high_id IS NULL "
                "AND a.code LIKE %s AND b.code LIKE %s ORDER BY a.code, b.code",
                [like, like],
            )
            neighbours = cur.fetchall()

        codes = [v[1] for v in villages]
        skipped = (
            set(
                rng.choice(
                    len(villages), size=min(NO_ROAD_VILLAGES, len(villages) - 1), replace=False
                ).tolist()
            )
            if len(villages) > 1
            else set()
        )
        points = np.vstack([centres, buildings])  # centres first: they are kept on duplicates
        mx, my = to_metric.transform(points[:, 1], points[:, 2])
        metric = np.round(np.column_stack([mx, my]), 3)
        village_ids = points[:, 0].astype(np.int64)

        node_xy: list[np.ndarray] = []  # metric, per village
        seg_a: list[np.ndarray] = []
        seg_b: list[np.ndarray] = []
        seg_village: list[np.ndarray] = []
        seg_name: list[str] = []
        nodes_of: dict[int, tuple[int, np.ndarray]] = {}  # village id -> (first node, xy)
        n_nodes = 0
        order = np.argsort(village_ids, kind="stable")
        bounds = np.searchsorted(village_ids[order], [v[0] for v in villages], side="left")
        ends = np.searchsorted(village_ids[order], [v[0] for v in villages], side="right")
        for k, (vid, _code, name) in enumerate(villages):
            if k in skipped:
                continue
            xy = metric[order[bounds[k] : ends[k]]]
            if len(xy) == 0:
                continue
            _, first = np.unique(xy, axis=0, return_index=True)
            xy = xy[np.sort(first)]
            edges = _delaunay_edges(xy)
            if len(edges):
                lengths = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
                keep = _mst(len(xy), edges, lengths)
                keep |= (
                    (~keep)
                    & (lengths <= EXTRA_EDGE_MAX_M)
                    & (rng.random(len(edges)) < EXTRA_EDGE_SHARE)
                )
                edges = edges[keep]
                seg_a.append(edges[:, 0] + n_nodes)
                seg_b.append(edges[:, 1] + n_nodes)
                seg_village.append(np.full(len(edges), k))
                seg_name += [f"{name}{i + 1}巷" for i in range(len(edges))]
            nodes_of[vid] = (n_nodes, xy)
            node_xy.append(xy)
            n_nodes += len(xy)

        index_of = {v[0]: k for k, v in enumerate(villages)}
        links = 0
        for a, b in neighbours:
            if a not in nodes_of or b not in nodes_of:
                continue
            (fa, xa), (fb, xb) = nodes_of[a], nodes_of[b]
            # Candidates: the 30 nodes of each village nearest to the other village's middle.
            ca = np.argsort(np.hypot(*(xa - xb.mean(0)).T), kind="stable")[:30]
            cb = np.argsort(np.hypot(*(xb - xa.mean(0)).T), kind="stable")[:30]
            d = np.hypot(*(xa[ca][:, None, :] - xb[cb][None, :, :]).transpose(2, 0, 1))
            i, j = np.unravel_index(np.argmin(d), d.shape)
            seg_a.append(np.array([fa + ca[i]]))
            seg_b.append(np.array([fb + cb[j]]))
            seg_village.append(np.array([min(index_of[a], index_of[b])]))
            seg_name.append("联村路")
            links += 1

        if not n_nodes:
            return DemoRoadsResult(len(villages), [codes[k] for k in sorted(skipped)], 0, 0, 0)
        all_xy = np.vstack(node_xy)
        sa, sb = np.concatenate(seg_a), np.concatenate(seg_b)
        sv = np.concatenate(seg_village)
        # A slight bend: the midpoint moves sideways by up to BEND of the length.
        pa, pb = all_xy[sa], all_xy[sb]
        normal = np.column_stack([-(pb - pa)[:, 1], (pb - pa)[:, 0]])
        mid = (pa + pb) / 2 + normal * rng.uniform(-BEND, BEND, (len(sa), 1))
        lon, lat = to_lonlat.transform(all_xy[:, 0], all_xy[:, 1])
        node_lonlat = np.column_stack([lon, lat])
        mlon, mlat = to_lonlat.transform(mid[:, 0], mid[:, 1])
        line_coords = np.stack(
            [node_lonlat[sa], np.column_stack([mlon, mlat]), node_lonlat[sb]], axis=1
        )
        lines = shapely.linestrings(line_coords)
        lengths = (
            GEOD.inv(*line_coords[:, 0].T, *line_coords[:, 1].T)[2]
            + GEOD.inv(*line_coords[:, 1].T, *line_coords[:, 2].T)[2]
        )

        node_ids = reserve_ids(RoadNode, n_nodes)
        copy_rows(
            RoadNode,
            ["id", "geom"],
            [node_ids.astype(str), ewkb_hex(shapely.points(node_lonlat))],
        )
        copy_rows(
            RoadSegment,
            ["geom", "source", "target", "length_m", "name", "village_code"],
            [
                ewkb_hex(lines),
                node_ids[sa].astype(str),
                node_ids[sb].astype(str),
                [repr(float(x)) for x in lengths],
                text(np.array(seg_name, dtype=object)),
                [codes[k] for k in sv],
            ],
        )
        with connection.cursor() as cur:
            cur.execute("ANALYZE coverage_roadnode")
            cur.execute("ANALYZE coverage_roadsegment")
    roads_changed.send(sender=RoadSegment)
    return DemoRoadsResult(
        villages=len(villages) - len(skipped),
        villages_without_roads=[codes[k] for k in sorted(skipped)],
        nodes=n_nodes,
        segments=len(sa),
        links=links,
    )
