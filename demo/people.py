"""Stage 3 of the demo: workers and the roles they hold (pure: no database).

Every grid gets the "one leader, two members" (一长两员) roles, every village its secretary,
mediation director and team, every station its head, deputies and workers, every town a
dispatcher; except for deliberate gaps, so that coverage reports have something to show:

- about 2.5% of grids have no active grid leader (half of them because the leader's
  assignment ended, half never filled), about 2% no party-building guide and 1% no grid
  member; at least one grid of each kind of gap at every scale, never two gaps on one grid;
- a few workers (0.5% of the grids' count, at least two) hold far too many roles: they are
  also grid members of 6-9 other grids of their district and on a village mediation team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from .names import person_names, phones
from .plan import BoundaryPlan, rng_for

# All assignments start between these dates; an ended one ends on ENDED_ON.
FIRST_START = dt.date(2022, 1, 1)
LAST_START = dt.date(2025, 6, 30)
ENDED_ON = dt.date(2025, 9, 1)
LEADER_GAP_SHARE = 0.025
GUIDE_GAP_SHARE = 0.02
MEMBER_GAP_SHARE = 0.01
OVERLOADED_SHARE = 0.005


@dataclass
class Assignment:
    worker: int
    role: str
    scope: str  # grid | village | station | town
    code: str  # the place's code
    start: dt.date
    end: dt.date | None = None


@dataclass
class Staff:
    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    party: list[bool] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    # Codes of the grids left without an active holder of each role.
    gaps: dict[str, list[str]] = field(default_factory=dict)
    overloaded: list[int] = field(default_factory=list)


def synthesise_staff(plan: BoundaryPlan, seed: int) -> Staff:
    """Workers and their role assignments for ``plan`` (see the module docstring)."""
    rng = rng_for(seed, 90)
    staff = Staff()
    span = (LAST_START - FIRST_START).days

    def start() -> dt.date:
        return FIRST_START + dt.timedelta(days=int(rng.integers(0, span)))

    def hire(party_p: float) -> int:
        staff.party.append(bool(rng.random() < party_p))
        return len(staff.party) - 1

    def assign(worker: int, role: str, scope: str, code: str, end: dt.date | None = None) -> None:
        staff.assignments.append(Assignment(worker, role, scope, code, start(), end))

    # Deliberate gaps on distinct grids.
    n = len(plan.grids)
    order = rng.permutation(n)
    counts = [max(1, round(share * n)) for share in (LEADER_GAP_SHARE, GUIDE_GAP_SHARE)]
    counts.append(max(1, round(MEMBER_GAP_SHARE * n)))
    cut = np.cumsum([0, *counts])
    gap_of: dict[int, str] = {}
    for role, (a, b) in zip(
        ("grid_leader", "party_guide", "grid_member"),
        zip(cut[:-1], cut[1:], strict=True),
        strict=True,
    ):
        for g in order[a:b]:
            gap_of[int(g)] = role
        staff.gaps[role] = sorted(plan.grids[int(g)].code for g in order[a:b])

    members_by_town: dict[str, list[int]] = {}
    leader_gaps = 0
    for g, grid in enumerate(plan.grids):
        for role, party_p in (("grid_leader", 0.8), ("grid_member", 0.4), ("party_guide", 1.0)):
            if gap_of.get(g) == role:
                if role == "grid_leader":
                    leader_gaps += 1
                    if leader_gaps % 2:  # the leader left: the post is vacant since then
                        assign(hire(party_p), role, "grid", grid.code, end=ENDED_ON)
                continue
            worker = hire(party_p)
            assign(worker, role, "grid", grid.code)
            if role == "grid_member":
                members_by_town.setdefault(grid.code[:9], []).append(worker)

    for village in plan.villages:
        assign(hire(1.0), "village_secretary", "village", village.code)
        assign(hire(0.6), "mediation_director", "village", village.code)
        for _ in range(int(rng.integers(2, 4))):
            assign(hire(0.5), "mediation_team", "village", village.code)
    for station in plan.stations:
        assign(hire(1.0), "station_head", "station", station.code)
        for _ in range(int(rng.integers(1, 3))):
            assign(hire(1.0), "station_deputy", "station", station.code)
        for _ in range(int(rng.integers(1, 3))):
            assign(hire(1.0), "station_worker", "station", station.code)
    for town in plan.towns:
        assign(hire(1.0), "town_dispatcher", "town", town.code)

    # Overloaded workers: grid members who are also members of 6-9 other grids of their
    # district and on a village mediation team.
    grids_by_district: dict[str, list[str]] = {}
    for g, grid in enumerate(plan.grids):
        if gap_of.get(g) != "grid_member":  # keep the deliberate member gaps
            grids_by_district.setdefault(grid.code[:6], []).append(grid.code)
    villages_by_town: dict[str, list[str]] = {}
    for village in plan.villages:
        villages_by_town.setdefault(village.town_code, []).append(village.code)
    towns = sorted(members_by_town)
    n_over = max(2, round(OVERLOADED_SHARE * n))
    for _ in range(20 * n_over):
        if len(staff.overloaded) == n_over:
            break
        town = towns[int(rng.integers(len(towns)))]
        worker = members_by_town[town][int(rng.integers(len(members_by_town[town])))]
        if worker in staff.overloaded:
            continue
        own = {a.code for a in staff.assignments if a.worker == worker}
        others = [c for c in grids_by_district[town[:6]] if c not in own]
        k = min(len(others), int(rng.integers(6, 10)))
        for code in (others[j] for j in rng.choice(len(others), k, replace=False)):
            assign(worker, "grid_member", "grid", code)
        village = villages_by_town[town][int(rng.integers(len(villages_by_town[town])))]
        assign(worker, "mediation_team", "village", village)
        staff.overloaded.append(worker)

    total = len(staff.party)
    male = rng.random(total) < 0.6
    staff.names = [str(x) for x in person_names(rng, male)]
    staff.phones = [str(x) for x in phones(rng, total)]
    return staff
