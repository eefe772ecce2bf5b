"""Stage 2 of the demo: buildings, households, party members, central households and
ten-household units, as numpy arrays (pure: no database).

Settlements: each grid holds a few hamlets (rural 组) or estates (urban); a building stands
on a lattice point near its hamlet, on a lattice coarse enough that two footprints never
overlap, inside the grid shrunk by the largest footprint's half-diagonal, so its footprint
(and every household in it) lies inside its grid. The grid a building or household belongs
to is NOT part of the output: the loader derives it in PostGIS from the location.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .names import (
    given_names,
    id_numbers,
    name_lists,
    person_names,
    phones,
    surnames_of,
)
from .partition import M_PER_DEG_LAT, M_PER_DEG_LON_EQUATOR, sample_in
from .plan import BoundaryPlan, GridPlan, VillagePlan, largest_remainder, rng_for

TAGS = (
    "left_behind_elderly",
    "left_behind_child",
    "low_income",
    "special_hardship",
    "disability",
    "military_family",
)
# Share of households with each tag (rural, urban).
TAG_SHARES = {
    "left_behind_elderly": (0.10, 0.04),
    "left_behind_child": (0.05, 0.01),
    "low_income": (0.045, 0.03),
    "special_hardship": (0.006, 0.003),
    "disability": (0.025, 0.02),
    "military_family": (0.015, 0.015),
}
HOUSEHOLD_SIZE_P = (0.12, 0.20, 0.22, 0.22, 0.14, 0.10)  # 1..6 members, mean 3.36
PARTY_HOUSEHOLD_SHARE = 0.10  # households with at least one party member
UNIT_COVERAGE = 0.85  # households in a ten-household unit
UNITS_WITHOUT_CENTRAL = 0.02  # deliberately without a central household (at least one)


@dataclass(frozen=True)
class Style:
    """Settlement style of a grid: households per building, lattice and footprint in metres."""

    per_building: tuple[int, int, float]  # min, max, mean households per building
    spacing: float
    length: tuple[float, float]
    width: tuple[float, float]
    per_hamlet: tuple[int, int]  # households (rural) or buildings (estates) per cluster


RURAL = Style((1, 4, 1.7), 28.0, (8.0, 16.0), (6.0, 12.0), (40, 90))
SEAT = Style((2, 12, 5.0), 32.0, (12.0, 20.0), (8.0, 14.0), (6, 14))
URBAN = Style((12, 60, 36.0), 60.0, (20.0, 45.0), (12.0, 18.0), (4, 10))
JITTER = 0.06  # of the spacing


@dataclass
class Population:
    # Buildings
    footprint: np.ndarray  # (nb, 5, 2) lon/lat rings
    building_name: np.ndarray
    floors: np.ndarray
    # Households (building order)
    location: np.ndarray  # (nh, 2)
    building: np.ndarray  # index into the buildings
    grid: np.ndarray  # index into plan.grids: where the generator put it (tests only)
    address: np.ndarray
    size: np.ndarray
    tags: np.ndarray  # bit i set = TAGS[i]
    head_name: np.ndarray
    id_number: np.ndarray
    phone: np.ndarray
    unit: np.ndarray  # index into the units, -1 when in none
    # Ten-household units
    unit_name: np.ndarray
    unit_head: np.ndarray  # household index
    unit_central: np.ndarray  # central-household index, -1 when none
    # Party members and central households
    member_household: np.ndarray
    member_name: np.ndarray
    member_village: np.ndarray  # index into plan.villages (its branch)
    member_joined: np.ndarray  # datetime64[D]
    central_household: np.ndarray
    central_member: np.ndarray  # party-member index
    central_designated: np.ndarray  # datetime64[D]
    # Service centres
    centre_name: np.ndarray
    centre_location: np.ndarray  # (nc, 2)
    centre_village: np.ndarray  # index into plan.villages


def split_total(n: int, lo: int, hi: int, mean: float, rng: np.random.Generator) -> np.ndarray:
    """Random integers in [lo, hi], about ``mean`` on average, summing to ``n`` (n >= lo)."""
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    k_min, k_max = -(-n // hi), max(n // lo, 1)
    k = int(np.clip(round(n / mean * rng.uniform(0.9, 1.1)), k_min, k_max))
    sizes = np.full(k, lo, dtype=np.int64)
    extra = n - lo * k
    while extra > 0:
        room = np.flatnonzero(sizes < hi)
        add = rng.multinomial(extra, np.full(len(room), 1 / len(room)))
        add = np.minimum(add, hi - sizes[room])
        sizes[room] += add
        extra = n - int(sizes.sum())
    return sizes


def _spread(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` of ``points`` chosen far apart (greedy farthest point from a random start)."""
    chosen = [int(rng.integers(len(points)))]
    d = np.hypot(*(points - points[chosen[0]]).T)
    for _ in range(1, k):
        nxt = int(np.argmax(d * rng.uniform(0.7, 1.0, len(d))))
        chosen.append(nxt)
        d = np.minimum(d, np.hypot(*(points - points[nxt]).T))
    return points[chosen]


def _disc_offsets(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    ij = np.mgrid[-r : r + 1, -r : r + 1].reshape(2, -1).T
    return ij[(ij**2).sum(1) <= radius**2]


@dataclass
class _Placed:
    centre: np.ndarray  # (nb, 2) metres in the grid's local frame
    per_building: np.ndarray
    hamlet: np.ndarray  # hamlet of each building
    hamlet_centre: np.ndarray  # (nh, 2) metres
    length: np.ndarray
    width: np.ndarray
    angle: np.ndarray


def _place(local: BaseGeometry, households: int, style: Style, rng) -> _Placed:
    """Buildings for ``households`` inside ``local`` (the grid in local metres)."""
    lo, hi, mean = style.per_building
    per_building = split_total(households, lo, hi, mean, rng)
    nb = len(per_building)
    for factor in (1.0, 0.75, 0.55, 0.4, 0.28, 0.2, 0.14):
        spacing = style.spacing * factor
        half_diag = np.hypot(style.length[1], style.width[1]) / 2 * factor
        margin = half_diag + spacing * JITTER + 0.5
        inner = local.buffer(-margin, quad_segs=2)
        if inner.is_empty or inner.area < nb * spacing**2 * 1.1:
            continue
        placed = _place_in(inner, per_building, style, spacing, factor, rng)
        if placed is not None:
            return placed
    raise ValueError("A demo grid is too small for its buildings.")


def _place_in(inner, per_building, style: Style, spacing: float, factor: float, rng):
    nb = len(per_building)
    shapely.prepare(inner)
    if style is RURAL:
        n_hamlets = max(1, round(per_building.sum() / rng.uniform(*style.per_hamlet)))
    else:
        n_hamlets = max(1, round(nb / rng.uniform(*style.per_hamlet)))
    n_hamlets = min(n_hamlets, nb)
    candidates = sample_in(inner, 40 * n_hamlets + 20, rng)
    centres = _spread(candidates, n_hamlets, rng)
    counts = largest_remainder(nb, rng.dirichlet(np.full(n_hamlets, 3.0)), minimum=1)
    taken: set[tuple[int, int]] = set()
    chosen_ij = np.empty((nb, 2), dtype=np.int64)
    hamlet = np.repeat(np.arange(n_hamlets), counts)
    at = 0
    for h in range(n_hamlets):
        need = int(counts[h])
        c_ij = np.round(centres[h] / spacing).astype(np.int64)
        radius = np.sqrt(need / np.pi / 0.45) + 1.5
        for _ in range(12):
            ij = c_ij + _disc_offsets(radius)
            xy = ij * spacing
            ok = shapely.contains_xy(inner, xy[:, 0], xy[:, 1])
            ij = ij[ok]
            if taken:
                ij = ij[[(int(a), int(b)) not in taken for a, b in ij]]
            if len(ij) >= need:
                break
            radius *= 1.6
        if len(ij) < need:
            return None
        d = np.hypot(*(ij * spacing - centres[h]).T) / (radius * spacing)
        pick = ij[np.argsort(d + rng.gumbel(0, 0.08, len(d)))[:need]]
        taken.update((int(a), int(b)) for a, b in pick)
        chosen_ij[at : at + need] = pick
        at += need
    centre = chosen_ij * spacing + rng.uniform(-JITTER, JITTER, (nb, 2)) * spacing
    length = rng.uniform(*style.length, nb) * factor
    width = rng.uniform(*style.width, nb) * factor
    spread = 0.15 if style is RURAL else 0.04
    angle = rng.uniform(0, np.pi / 2, n_hamlets)[hamlet] + rng.normal(0, spread, nb)
    return _Placed(centre, per_building, hamlet, centres, length, width, angle)


def _rings(p: _Placed) -> np.ndarray:
    """Footprint rectangles (nb, 5, 2) in local metres."""
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    local = corners[None, :, :] * np.stack([p.length, p.width], 1)[:, None, :]
    cos, sin = np.cos(p.angle)[:, None], np.sin(p.angle)[:, None]
    x = local[..., 0] * cos - local[..., 1] * sin
    y = local[..., 0] * sin + local[..., 1] * cos
    return np.stack([x, y], -1) + p.centre[:, None, :]


def _hilbert(xy: np.ndarray, order: int = 16) -> np.ndarray:
    """Hilbert-curve index of points (for grouping neighbours), vectorised."""
    lo, hi = xy.min(0), xy.max(0)
    span = np.maximum(hi - lo, 1e-12)
    n = 1 << order
    x = ((xy[:, 0] - lo[0]) / span[0] * (n - 1)).astype(np.int64)
    y = ((xy[:, 1] - lo[1]) / span[1] * (n - 1)).astype(np.int64)
    d = np.zeros(len(xy), dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = ((x & s) > 0).astype(np.int64)
        ry = ((y & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        flip = ry == 0
        swap_x = np.where(flip & (rx == 1), n - 1 - x, x)
        swap_y = np.where(flip & (rx == 1), n - 1 - y, y)
        x, y = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return d


@dataclass
class _GridOut:
    rings: np.ndarray
    building_name: list[str]
    floors: np.ndarray
    location: np.ndarray
    building: np.ndarray
    address: list[str]
    hamlet_centres: np.ndarray  # lon/lat
    urban: bool


def _grid_population(
    grid: GridPlan,
    village: VillagePlan,
    town_name: str,
    district_name: str,
    first_group: int,
    seed: int,
    grid_index: int,
) -> _GridOut:
    rng = rng_for(seed, 50, grid_index)
    lists = name_lists()
    style = URBAN if village.urban else SEAT if village.kind == "community" else RURAL
    x0, y0 = grid.geom.centroid.x, grid.geom.centroid.y
    mx, my = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(y0)), M_PER_DEG_LAT
    local = shapely.transform(grid.geom, lambda c: (c - [x0, y0]) * [mx, my])
    p = _place(local, grid.households, style, rng)

    def to_lonlat(xy: np.ndarray) -> np.ndarray:
        return np.round(xy / [mx, my] + [x0, y0], 7)

    rings = to_lonlat(_rings(p))
    nb = len(p.per_building)
    # Households: one point per household inside its footprint.
    building = np.repeat(np.arange(nb), p.per_building)
    slot = np.arange(len(building)) - np.repeat(
        np.cumsum(p.per_building) - p.per_building, p.per_building
    )
    u = rng.uniform(-0.3, 0.3, (len(building), 2))
    u[np.repeat(p.per_building == 1, p.per_building)] = 0
    off = u * np.stack([p.length, p.width], 1)[building]
    cos, sin = np.cos(p.angle)[building], np.sin(p.angle)[building]
    local_xy = p.centre[building] + np.stack(
        [off[:, 0] * cos - off[:, 1] * sin, off[:, 0] * sin + off[:, 1] * cos], 1
    )
    location = to_lonlat(local_xy)

    # Addresses and building names; house numbers run outwards from each hamlet's centre.
    prefix = f"{district_name}{town_name}{village.name}"
    order = np.lexsort((np.hypot(*(p.centre - p.hamlet_centre[p.hamlet]).T), p.hamlet))
    number = np.empty(nb, dtype=np.int64)
    for h in range(len(p.hamlet_centre)):
        members = order[p.hamlet[order] == h]
        number[members] = np.arange(1, len(members) + 1)
    names: list[str] = []
    floors = np.ones(nb, dtype=np.int64)
    address: list[str] = []
    if style is RURAL:
        group = first_group + p.hamlet
        for b in range(nb):
            names.append(f"{group[b]}组{number[b]}号")
        floors[:] = rng.integers(1, 4, nb)
        for b, s in zip(building, slot, strict=True):
            extra = f"之{s + 1}" if s else ""
            address.append(f"{prefix}{names[b]}{extra}")
    else:
        pool = lists.roads if style is URBAN else [f"{village.stem}大街", *lists.town_roads]
        roads = [pool[i] for i in rng.choice(len(pool), len(p.hamlet_centre))]
        start = rng.integers(1, 120, len(p.hamlet_centre))
        units = np.where(p.per_building <= 24, 1, np.where(p.per_building <= 48, 2, 3))
        if style is SEAT:
            units[:] = 1
        floors = -(-p.per_building // (units * 2))
        for b in range(nb):
            names.append(f"{roads[p.hamlet[b]]}{start[p.hamlet[b]] + number[b] - 1}号")
        for b, s in zip(building, slot, strict=True):
            unit, within = divmod(int(s), int(floors[b]) * 2)
            room = (within // 2 + 1) * 100 + within % 2 + 1
            unit_part = f"{unit + 1}单元" if units[b] > 1 or style is URBAN else ""
            address.append(f"{prefix}{names[b]}{unit_part}{room}")
    return _GridOut(
        rings=rings,
        building_name=names,
        floors=floors,
        location=location,
        building=building,
        address=address,
        hamlet_centres=to_lonlat(p.hamlet_centre),
        urban=style is not RURAL,
    )


def synthesise_population(plan: BoundaryPlan, seed: int) -> Population:
    """Everything below the grids, for ``plan`` (deterministic for ``seed``)."""
    towns = {t.code: t for t in plan.towns}
    villages = {v.code: (i, v) for i, v in enumerate(plan.villages)}
    rings: list[np.ndarray] = []
    floors: list[np.ndarray] = []
    locs: list[np.ndarray] = []
    hh_building: list[np.ndarray] = []
    hh_grid: list[np.ndarray] = []
    urban: list[np.ndarray] = []
    bnames: list[str] = []
    addresses: list[str] = []
    hamlets_of_village: dict[int, list[np.ndarray]] = {}
    groups: dict[str, int] = {}
    n_buildings = 0
    for g_index, grid in enumerate(plan.grids):
        v_index, village = villages[grid.village_code]
        town = towns[village.town_code]
        out = _grid_population(
            grid,
            village,
            town.name,
            plan.district_names[town.district_code],
            groups.get(village.code, 1),
            seed,
            g_index,
        )
        groups[village.code] = groups.get(village.code, 1) + len(out.hamlet_centres)
        hamlets_of_village.setdefault(v_index, []).append(out.hamlet_centres)
        rings.append(out.rings)
        bnames += out.building_name
        floors.append(out.floors)
        locs.append(out.location)
        hh_building.append(out.building + n_buildings)
        addresses += out.address
        hh_grid.append(np.full(len(out.location), g_index))
        urban.append(np.full(len(out.location), out.urban))
        n_buildings += len(out.rings)
    location = np.concatenate(locs)
    grid_of = np.concatenate(hh_grid)
    is_urban = np.concatenate(urban)
    nh = len(location)
    village_of_grid = np.array([villages[g.village_code][0] for g in plan.grids])

    rng = rng_for(seed, 60)
    size = rng.choice(np.arange(1, 7), size=nh, p=HOUSEHOLD_SIZE_P)
    tags = np.zeros(nh, dtype=np.int64)
    for bit, tag in enumerate(TAGS):
        rural_p, urban_p = TAG_SHARES[tag]
        tags |= (rng.random(nh) < np.where(is_urban, urban_p, rural_p)).astype(np.int64) << bit
    male = rng.random(nh) < 0.78
    head_name = person_names(rng, male)
    district_of = np.array([int(g.code[:6]) for g in plan.grids])[grid_of]
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 60, nh).astype("timedelta64[D]")
    id_number = id_numbers(rng, district_of, birth, male)
    phone = phones(rng, nh)

    units = _units(plan, location, grid_of, village_of_grid, seed)
    party = _party(plan, units, head_name, village_of_grid[grid_of], seed)
    centres = _service_centres(plan, hamlets_of_village)
    return Population(
        footprint=np.concatenate(rings),
        building_name=np.array(bnames),
        floors=np.concatenate(floors),
        location=location,
        building=np.concatenate(hh_building),
        grid=grid_of,
        address=np.array(addresses),
        size=size,
        tags=tags,
        head_name=head_name,
        id_number=id_number,
        phone=phone,
        unit=units["unit"],
        unit_name=units["name"],
        unit_head=units["head"],
        unit_central=party["unit_central"],
        member_household=party["household"],
        member_name=party["name"],
        member_village=party["village"],
        member_joined=party["joined"],
        central_household=party["central_household"],
        central_member=party["central_member"],
        central_designated=party["designated"],
        centre_name=centres[0],
        centre_location=centres[1],
        centre_village=centres[2],
    )


def _units(plan, location, grid_of, village_of_grid, seed) -> dict[str, np.ndarray]:
    """Ten-household units of 8-15 neighbouring households of one grid (~85% coverage)."""
    rng = rng_for(seed, 70)
    nh = len(location)
    unit = np.full(nh, -1, dtype=np.int64)
    names: list[str] = []
    heads: list[int] = []
    per_village: dict[int, int] = {}
    bounds = np.r_[0, np.flatnonzero(np.diff(grid_of)) + 1, nh]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        members = a + np.argsort(_hilbert(location[a:b]), kind="stable")
        sizes = split_total(b - a, 8, 15, 11.5, rng)
        drop = rng.random(len(sizes)) > UNIT_COVERAGE
        v = int(village_of_grid[grid_of[a]])
        village = plan.villages[v]
        at = 0
        for s, dropped in zip(sizes, drop, strict=True):
            chunk = members[at : at + s]
            at += s
            if dropped:
                continue
            seq = per_village.get(v, 0) + 1
            per_village[v] = seq
            unit[chunk] = len(heads)
            heads.append(int(chunk[0]))
            names.append(f"{village.name}十户联防第{seq}组")
    return {"unit": unit, "name": np.array(names), "head": np.array(heads, dtype=np.int64)}


def _party(plan, units, head_name, village_of, seed) -> dict[str, np.ndarray]:
    """Central households (about one per unit) and the party members behind them."""
    rng = rng_for(seed, 80)
    nh = len(head_name)
    n_units = len(units["head"])
    # A member household of each unit hosts its central household, except a few units.
    without = rng.random(n_units) < UNITS_WITHOUT_CENTRAL
    if n_units and not without.any():
        without[rng.integers(n_units)] = True
    unit_of = units["unit"]
    order = np.argsort(unit_of, kind="stable")
    sorted_units = unit_of[order]
    first = np.searchsorted(sorted_units, np.arange(n_units))
    count = np.searchsorted(sorted_units, np.arange(n_units), side="right") - first
    pick = order[first + (rng.random(n_units) * count).astype(np.int64)]
    central_households = pick[~without]
    unit_central = np.full(n_units, -1, dtype=np.int64)
    unit_central[~without] = np.arange(len(central_households))
    # Other party households, up to the target share.
    has = np.zeros(nh, dtype=bool)
    has[central_households] = True
    target = int(PARTY_HOUSEHOLD_SHARE * nh)
    others = np.flatnonzero(~has)
    wanted = max(0, min(target - int(has.sum()), len(others)))
    extra = rng.choice(others, size=wanted, replace=False)
    party_households = np.concatenate([central_households, np.sort(extra)])
    two = party_households[rng.random(len(party_households)) < 0.15]
    member_household = np.concatenate([party_households, two])
    # The first member of a household is its head 60% of the time, else a relative.
    is_head = np.r_[rng.random(len(party_households)) < 0.6, np.zeros(len(two), dtype=bool)]
    surname = surnames_of(head_name[member_household])
    relative = given_names(rng, rng.random(len(member_household)) < 0.6, surname)
    name = np.where(is_head, head_name[member_household], relative)
    joined = np.datetime64("1975-01-01") + rng.integers(0, 365 * 49, len(member_household)).astype(
        "timedelta64[D]"
    )
    designated = np.datetime64("2023-01-01") + rng.integers(0, 540, len(central_households)).astype(
        "timedelta64[D]"
    )
    return {
        "household": member_household,
        "name": name,
        "village": village_of[member_household],
        "joined": joined,
        "central_household": central_households,
        "central_member": np.arange(len(central_households)),  # the first members
        "designated": designated,
        "unit_central": unit_central,
    }


def _service_centres(
    plan: BoundaryPlan, hamlets_of_village: dict[int, list[np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A party-mass service centre per village (at its most central hamlet) and per town."""
    names, points, village_idx = [], [], []
    village_index = {v.code: i for i, v in enumerate(plan.villages)}
    for i, v in enumerate(plan.villages):
        hamlets = np.concatenate(hamlets_of_village[i])
        centre = np.array(v.geom.representative_point().coords[0])
        best = hamlets[np.argmin(np.hypot(*(hamlets - centre).T))]
        names.append(f"{v.name}党群服务中心")
        points.append(best)
        village_idx.append(i)
    for t in plan.towns:
        seat = shapely.Point(t.seat)
        mine = [v for v in plan.villages if v.town_code == t.code]
        seat_village = next((v for v in mine if v.geom.covers(seat)), mine[0])
        i = village_index[seat_village.code]
        hamlets = np.concatenate(hamlets_of_village[i])
        d = np.hypot(*(hamlets - np.array(t.seat)).T)
        # The town's centre at the seat village's hamlet nearest the seat (a few metres
        # from the village's own centre when it is the same hamlet).
        best = hamlets[np.argmin(d)]
        if np.allclose(best, points[i]):
            best = np.round(best + [4e-5, 0.0], 7)
        names.append(f"{t.name}党群服务中心")
        points.append(best)
        village_idx.append(i)
    return np.array(names), np.array(points), np.array(village_idx)
