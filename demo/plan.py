"""Stage 1 of the demo: the places (towns, station areas, villages, grids) as pure geometry.

``plan_boundaries`` takes the districts' geometries and returns codes, names, kinds, exact
boundaries and household counts, deterministically for a seed, without touching the
database. The partition scheme is described in ``demo.partition``.

Exactness across levels
-----------------------
Each level is first cut top-down (an *approximate* pass: siblings are exact, but snap-rounding
the points where a cutting line crosses the parent's edge can leave millimetre kinks between
a parent and its children). The cutting lines of every level, each clipped to its parent,
are then noded together ONCE per district with the district outline; every face ("atom") of
that arrangement is labelled with the approximate grid containing it, and every grid,
village and town is the coverage union of its atoms. So all generated levels share one set
of edges: villages are tiled by their grids and towns by their villages with no gap and no
overlap at all. The cutting lines are rounded to the 1e-7 degree grid but the district
outline is kept exactly as imported and the noding is done in floating point, so the towns'
outer edge IS the district's (crossing points lie on it to within floating-point error).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from .names import PlaceNamer, name_lists
from .partition import (
    GRID_SIZE,
    as_multipolygon,
    nearest_seed,
    noisy_disc,
    partition,
    snap,
    spread_seeds,
    voronoi_edges,
)

# Clip margin for cutting lines (5 cm): they must cross their parent's final edge.
CUT_MARGIN = 5e-7
STREET_KM2 = 12.0  # mean area of an urban street (街道)


@dataclass(frozen=True)
class ScaleSpec:
    name: str
    districts: tuple[str, ...]
    towns: dict[str, int]  # towns + streets + townships per district
    streets: dict[str, int]
    townships: dict[str, int]
    stations: int
    villages: int
    households: int
    station_shuffles: int  # random moves of a village between stations (variety)
    # Grids per village, by village kind: (choices, probabilities).
    grids_rural: tuple[tuple[int, ...], tuple[float, ...]]
    grids_seat: tuple[tuple[int, ...], tuple[float, ...]]
    grids_urban: tuple[tuple[int, ...], tuple[float, ...]]


# Households per grid by village kind (the coverage norm is 300-500; rural grids ~300).
HOUSEHOLDS_RURAL = (300, 360)
HOUSEHOLDS_SEAT = (340, 480)
HOUSEHOLDS_URBAN = (400, 500)


def scale_spec(scale: str) -> ScaleSpec:
    """The figures of a scale: ``small`` (one district) or ``city`` (Qinzhou's four)."""
    facts = name_lists().qinzhou["districts"]
    if scale == "small":
        return ScaleSpec(
            name="small",
            districts=("450702",),
            towns={"450702": 3},
            streets={"450702": 1},
            townships={"450702": 0},
            # Six stations: the town with the largest area gets three (the planner's town of
            # create_demo_users has catchments to redraw), the others one or two.
            stations=6,
            villages=20,
            households=7_500,
            station_shuffles=0,
            grids_rural=((1, 2), (0.6, 0.4)),
            grids_seat=((1, 2), (0.5, 0.5)),
            grids_urban=((2, 3, 4), (0.3, 0.4, 0.3)),
        )
    if scale == "city":
        codes = tuple(sorted(facts))
        return ScaleSpec(
            name="city",
            districts=codes,
            towns={c: facts[c]["towns"] for c in codes},
            streets={c: facts[c]["streets"] for c in codes},
            townships={c: facts[c]["townships"] for c in codes},
            stations=244,
            villages=1_030,
            households=1_000_000,
            station_shuffles=244,
            grids_rural=((1, 2, 3, 4, 5), (0.12, 0.36, 0.30, 0.15, 0.07)),
            grids_seat=((1, 2, 3, 4), (0.2, 0.4, 0.3, 0.1)),
            grids_urban=((3, 4, 5, 6, 7, 8, 9), (0.1, 0.15, 0.2, 0.2, 0.15, 0.1, 0.1)),
        )
    raise ValueError(f"Unknown scale {scale!r}: expected 'small' or 'city'.")


@dataclass
class TownPlan:
    code: str
    name: str
    stem: str
    kind: str  # town | township | street
    district_code: str
    geom: MultiPolygon
    seat: tuple[float, float]


@dataclass
class StationPlan:
    code: str
    name: str
    town_code: str
    location: tuple[float, float]
    address: str
    village_codes: list[str] = field(default_factory=list)


@dataclass
class VillagePlan:
    code: str
    name: str
    stem: str
    kind: str  # village | community
    town_code: str
    station_code: str
    geom: MultiPolygon
    urban: bool  # a street's community: multi-storey buildings


@dataclass
class GridPlan:
    code: str
    name: str
    village_code: str
    geom: MultiPolygon
    households: int


@dataclass
class BoundaryPlan:
    scale: str
    seed: int
    district_names: dict[str, str]
    towns: list[TownPlan]
    stations: list[StationPlan]
    villages: list[VillagePlan]
    grids: list[GridPlan]

    def wkb(self) -> list[bytes]:
        """Every boundary as WKB, in a fixed order (what the determinism test compares)."""
        geoms = [t.geom for t in self.towns] + [v.geom for v in self.villages]
        geoms += [g.geom for g in self.grids]
        return [shapely.to_wkb(g) for g in geoms]


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent random stream per (seed, key...), so results do not depend on order."""
    return np.random.default_rng([seed, *key])


def _code_int(code: str) -> int:
    return int(code.replace("S", "0"))


def largest_remainder(total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Integers >= ``minimum`` proportional to ``weights`` and summing to ``total``."""
    n = len(weights)
    rest = total - minimum * n
    if rest < 0:
        raise ValueError(f"Cannot give {n} parts at least {minimum} each out of {total}.")
    share = weights / weights.sum() * rest
    out = np.floor(share).astype(int)
    order = np.argsort(-(share - out), kind="stable")
    out[order[: rest - out.sum()]] += 1
    return out + minimum


def sizes_in_range(
    total: int, count: int, lo: int, hi: int, rng: np.random.Generator, shuffles: int = 0
) -> np.ndarray:
    """``count`` integers in [lo, hi] summing to ``total``, near-equal then randomly varied."""
    if not lo * count <= total <= hi * count:
        raise ValueError(f"{total} does not split into {count} parts of {lo}..{hi}.")
    sizes = np.full(count, total // count)
    sizes[rng.permutation(count)[: total % count]] += 1
    for _ in range(shuffles):
        i, j = rng.integers(count, size=2)
        if i != j and sizes[i] > lo and sizes[j] < hi:
            sizes[i] -= 1
            sizes[j] += 1
    return sizes


def _clip(lines: BaseGeometry, parent: BaseGeometry) -> BaseGeometry:
    return shapely.intersection(lines, parent.buffer(CUT_MARGIN, quad_segs=2))


def _xy(geom: BaseGeometry) -> tuple[float, float]:
    """A point well inside ``geom``: its centroid when inside, else a point on its surface."""
    c = geom.centroid
    p = c if geom.contains(c) else geom.point_on_surface()
    return (round(p.x, 7), round(p.y, 7))


# --- Stage 1 --------------------------------------------------------------------------------
def plan_boundaries(districts: dict[str, BaseGeometry], scale: str, seed: int) -> BoundaryPlan:
    """Towns, station areas, villages and grids inside ``districts`` (code -> lon/lat geometry)."""
    spec = scale_spec(scale)
    facts = name_lists().qinzhou["districts"]
    missing = [c for c in spec.districts if c not in districts]
    if missing:
        raise ValueError(f"Districts {', '.join(missing)} are needed for the {scale} demo.")
    namer = PlaceNamer(rng_for(seed, 1))
    cuts: dict[str, list[BaseGeometry]] = defaultdict(list)

    # 1. Towns per district (streets around the seat, towns and townships beyond).
    towns: list[TownPlan] = []
    for dcode in spec.districts:
        towns += _plan_towns(
            dcode, snap(districts[dcode]), spec, facts[dcode], namer, seed, cuts[dcode]
        )

    # 2. Stations per town (each town >= 1; streets weigh 4x their area) and villages per
    #    station (3..7 each).
    areas = np.array([t.geom.area * (4.0 if t.kind == "street" else 1.0) for t in towns])
    stations_per_town = largest_remainder(spec.stations, areas, minimum=1)
    villages_per_station = sizes_in_range(
        spec.villages, spec.stations, 3, 7, rng_for(seed, 2), shuffles=spec.station_shuffles
    )

    # 3. Station areas and villages.
    stations: list[StationPlan] = []
    villages: list[VillagePlan] = []
    s_index = 0
    for t_index, town in enumerate(towns):
        n_st = int(stations_per_town[t_index])
        sizes = [int(x) for x in villages_per_station[s_index : s_index + n_st]]
        s_index += n_st
        st, vs = _plan_stations(town, sizes, namer, seed, cuts[town.district_code])
        stations += st
        villages += vs

    # 4. Grids: how many per village and their households, then the cut.
    households = _plan_households(villages, spec, seed)
    grids: list[GridPlan] = []
    for v_index, village in enumerate(villages):
        grids += _plan_grids(village, households[v_index], seed, cuts[village.code[:6]])

    # 5. One arrangement per district: exact towns, villages and grids.
    for dcode in spec.districts:
        _finalise(dcode, districts[dcode], cuts[dcode], towns, villages, grids)

    names = {c: facts[c]["name"] for c in spec.districts}
    return BoundaryPlan(scale, seed, names, towns, stations, villages, grids)


def _plan_towns(
    dcode: str,
    district: MultiPolygon,
    spec: ScaleSpec,
    facts: dict,
    namer: PlaceNamer,
    seed: int,
    cuts: list[BaseGeometry],
) -> list[TownPlan]:
    rng = rng_for(seed, 10, int(dcode))
    n_towns, n_streets = spec.towns[dcode], spec.streets[dcode]
    n_rural = n_towns - n_streets
    seat = shapely.Point(facts["seat"])
    if not district.contains(seat):
        seat = district.point_on_surface()
    lines: list[BaseGeometry] = []
    street_seeds = np.empty((0, 2))
    core = None
    if n_streets:
        radius = np.sqrt(n_streets * STREET_KM2 * 1e6 / np.pi)
        disc = noisy_disc((seat.x, seat.y), radius, rng)
        core = snap(shapely.intersection(district, disc))
        rest = snap(shapely.difference(district, core, grid_size=GRID_SIZE))
        street_seeds = spread_seeds(core, n_streets, rng)
        # Only the disc's own edge cuts (not the stretches of coast the core shares).
        lines += [_clip(disc.exterior, district), _clip(voronoi_edges(street_seeds, core), core)]
    else:
        rest = district
    town_seeds = spread_seeds(rest, n_rural, rng)
    lines.append(_clip(voronoi_edges(town_seeds, rest), rest))

    def label(xy: np.ndarray) -> np.ndarray:
        out = n_streets + nearest_seed(town_seeds)(xy)
        if core is not None:
            in_core = shapely.contains_xy(core, xy[:, 0], xy[:, 1])
            out[in_core] = nearest_seed(street_seeds)(xy[in_core])
        return out

    parts = partition(district, n_towns, lines, label)
    cuts += lines
    seeds = np.concatenate([street_seeds, town_seeds])

    # Codes: streets 001.. by angle around the seat, towns 100.. and townships 200.. by
    # distance from the seat (the farthest rural towns are the townships).
    d = np.hypot(seeds[:, 0] - seat.x, seeds[:, 1] - seat.y)
    angle = np.arctan2(seeds[:, 1] - seat.y, seeds[:, 0] - seat.x)
    street_order = sorted(range(n_streets), key=lambda i: angle[i])
    rural_order = sorted(range(n_streets, n_towns), key=lambda i: d[i])
    n_townships = spec.townships[dcode]
    out: list[TownPlan] = []
    for rank, i in enumerate(street_order):
        stem = namer.urban()
        out.append(_town(dcode, f"{rank + 1:03d}", stem, "street", parts[i], seeds[i]))
    for rank, i in enumerate(rural_order):
        stem = namer.rural()
        if rank >= n_rural - n_townships:
            seq = 200 + rank - (n_rural - n_townships)
            out.append(_town(dcode, f"{seq:03d}", stem, "township", parts[i], seeds[i]))
        else:
            out.append(_town(dcode, f"{100 + rank:03d}", stem, "town", parts[i], seeds[i]))
    return out


def _town(dcode: str, seq: str, stem: str, kind: str, geom: MultiPolygon, seat) -> TownPlan:
    suffix = {"street": "街道", "town": "镇", "township": "乡"}[kind]
    xy = (round(float(seat[0]), 7), round(float(seat[1]), 7))
    return TownPlan(f"{dcode}{seq}", stem + suffix, stem, kind, dcode, geom, xy)


def _plan_stations(
    town: TownPlan, sizes: list[int], namer: PlaceNamer, seed: int, cuts: list[BaseGeometry]
) -> tuple[list[StationPlan], list[VillagePlan]]:
    """Station areas of ``town`` (one per entry of ``sizes``), each cut into its villages."""
    rng = rng_for(seed, 20, int(town.code))
    k = len(sizes)
    if k > 1:
        seeds = spread_seeds(town.geom, k, rng)
        lines = [_clip(voronoi_edges(seeds, town.geom), town.geom)]
        areas = partition(town.geom, k, lines, nearest_seed(seeds))
        cuts += lines
    else:
        seeds, areas = np.array([town.seat]), [town.geom]
    # The seat's station first, then by distance from the seat.
    order = sorted(range(k), key=lambda i: np.hypot(*(seeds[i] - np.array(town.seat))))
    seat_pt = shapely.Point(town.seat)
    stations: list[StationPlan] = []
    villages: list[VillagePlan] = []
    n_comm, n_vill = 0, 0
    seat_free = town.kind != "street"  # a town (not a street) has one seat community
    for rank, i in enumerate(order):
        scode = f"{town.code}S{rank + 1:02d}"
        area, n = areas[i], sizes[i]
        vrng = rng_for(seed, 21, _code_int(scode))
        vseeds = spread_seeds(area, n, vrng)
        vlines = [_clip(voronoi_edges(vseeds, area), area)]
        parts = partition(area, n, vlines, nearest_seed(vseeds))
        cuts += vlines
        centre = np.array(_xy(area))
        vorder = sorted(range(n), key=lambda j: np.hypot(*(vseeds[j] - centre)))
        station_villages: list[VillagePlan] = []
        for j in vorder:
            geom = parts[j]
            seat_village = seat_free and geom.covers(seat_pt)
            seat_free = seat_free and not seat_village
            if town.kind == "street" or seat_village:
                n_comm += 1
                code = f"{town.code}{n_comm:03d}"
                # A town's seat community takes the town's name (那丽镇 -> 那丽社区).
                stem = town.stem if seat_village else namer.urban()
                kind, name = "community", stem + "社区"
            else:
                n_vill += 1
                code = f"{town.code}{199 + n_vill:03d}"
                stem = namer.rural()
                kind, name = "village", stem + "村"
            station_villages.append(
                VillagePlan(code, name, stem, kind, town.code, scode, geom, town.kind == "street")
            )
        centre_village = station_villages[0]
        location = _xy(centre_village.geom)
        stations.append(
            StationPlan(
                code=scode,
                name=f"{centre_village.stem}党建工作站",
                town_code=town.code,
                location=location,
                address=f"{town.name}{centre_village.name}",
                village_codes=[v.code for v in station_villages],
            )
        )
        villages += station_villages
    return stations, villages


def _plan_households(villages: list[VillagePlan], spec: ScaleSpec, seed: int) -> list[list[int]]:
    """Households of each grid of each village; the total is exactly ``spec.households``."""
    rng = rng_for(seed, 30)
    kinds = []
    for v in villages:
        if v.urban:
            kinds.append((spec.grids_urban, HOUSEHOLDS_URBAN))
        elif v.kind == "community":
            kinds.append((spec.grids_seat, HOUSEHOLDS_SEAT))
        else:
            kinds.append((spec.grids_rural, HOUSEHOLDS_RURAL))
    k = np.array([rng.choice(choices, p=p) for (choices, p), _ in kinds])
    mean = np.array([(lo + hi) / 2 for _, (lo, hi) in kinds])
    kmax = np.array([max(choices) + 2 for (choices, _), _ in kinds])
    # Add or remove grids until the expected total is within half a grid of the target.
    for _ in range(100_000):
        gap = spec.households - float((k * mean).sum())
        if abs(gap) <= mean.max() / 2:
            break
        can = (k < kmax) if gap > 0 else (k > 1)
        i = rng.choice(np.flatnonzero(can))
        k[i] += 1 if gap > 0 else -1
    counts = [
        list(rng.integers(lo, hi + 1, size=int(n)))
        for n, (_, (lo, hi)) in zip(k, kinds, strict=True)
    ]
    # Fine-tune within each grid's range to hit the target exactly.
    flat = np.array([h for c in counts for h in c], dtype=np.int64)
    lo = np.array([kinds[i][1][0] for i, c in enumerate(counts) for _ in c])
    hi = np.array([kinds[i][1][1] for i, c in enumerate(counts) for _ in c])
    gap = spec.households - int(flat.sum())
    while gap:
        room = (hi - flat) if gap > 0 else (flat - lo)
        open_ = np.flatnonzero(room > 0)
        if not len(open_):
            break
        step = np.zeros_like(flat)
        share = min(abs(gap), len(open_))
        pick = rng.choice(open_, size=share, replace=False)
        step[pick] = 1 if gap > 0 else -1
        flat += step
        gap -= int(step.sum())
    out, i = [], 0
    for c in counts:
        out.append([int(x) for x in flat[i : i + len(c)]])
        i += len(c)
    return out


def _plan_grids(
    village: VillagePlan, households: list[int], seed: int, cuts: list[BaseGeometry]
) -> list[GridPlan]:
    k = len(households)
    if k == 1:
        parts = [village.geom]
    else:
        rng = rng_for(seed, 40, int(village.code))
        seeds = spread_seeds(village.geom, k, rng)
        lines = [_clip(voronoi_edges(seeds, village.geom), village.geom)]
        parts = partition(village.geom, k, lines, nearest_seed(seeds))
        cuts += lines
    # Number the grids from the north-west.
    cx = [p.centroid.x for p in parts]
    cy = [p.centroid.y for p in parts]
    order = sorted(range(k), key=lambda i: (-round(cy[i], 3), cx[i]))
    return [
        GridPlan(
            code=f"{village.code}{rank + 1:03d}",
            name=f"第{rank + 1}网格",
            village_code=village.code,
            geom=parts[i],
            households=int(households[rank]),
        )
        for rank, i in enumerate(order)
    ]


def _finalise(
    dcode: str,
    district: MultiPolygon,
    cuts: list[BaseGeometry],
    towns: list[TownPlan],
    villages: list[VillagePlan],
    grids: list[GridPlan],
) -> None:
    """Replace the approximate geometries of ``dcode`` by unions of one arrangement's faces."""
    mine = [g for g in grids if g.code.startswith(dcode)]
    if not mine:
        return
    # The cutting lines are rounded to the 1e-7 degree grid, the district outline is kept as
    # imported, and the noding is exact (floating point): the crossings lie on the outline.
    lines = shapely.set_precision(np.array(cuts, dtype=object), GRID_SIZE)
    linework = shapely.union_all([district.boundary, *lines])
    atoms = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    atoms = atoms[shapely.area(atoms) > 0]
    points = shapely.point_on_surface(atoms)
    shapely.prepare(district)
    inside = shapely.contains(district, points)
    atoms, points = atoms[inside], points[inside]
    tree = shapely.STRtree([g.geom for g in mine])
    label = np.full(len(atoms), -1, dtype=np.int64)
    pairs = tree.query(points, predicate="within")
    # Where two approximate grids claim a point (a sub-centimetre sliver), the first wins;
    # a point in none of them (a sliver between them) goes to the nearest.
    for a, g in zip(pairs[0][::-1], pairs[1][::-1], strict=True):
        label[a] = g
    loose = np.flatnonzero(label < 0)
    if len(loose):
        nearest = tree.query_nearest(points[loose], return_distance=False, all_matches=False)
        label[loose[nearest[0]]] = nearest[1]

    def union(indices: np.ndarray) -> MultiPolygon:
        return as_multipolygon(shapely.coverage_union_all(atoms[indices]))

    for i, g in enumerate(mine):
        g.geom = union(np.flatnonzero(label == i))
    atom_codes = np.array([g.code for g in mine])[label]
    for v in villages:
        if v.code.startswith(dcode):
            v.geom = union(np.flatnonzero(np.char.startswith(atom_codes, v.code)))
    for t in towns:
        if t.district_code == dcode:
            t.geom = union(np.flatnonzero(np.char.startswith(atom_codes, t.code)))
