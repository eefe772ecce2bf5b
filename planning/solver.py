"""Propose and Repair: station catchments as a CP-SAT model (OR-Tools), over plain data.

Nothing here touches the database: callers build a ``Problem`` (villages, household weights,
stations, travel seconds, adjacency, the current and the published assignment) and get a
``Result`` back. ``evaluate`` checks any assignment against the same rules, independently of
the model, and is what every ``Result``'s figures come from.

The rules
---------
- every village goes to exactly one station of its own town (the first 9 digits of its code);
- a station that is not locked holds ``min_villages``..``max_villages`` villages (3-7);
- a locked station keeps exactly the villages it has in ``current`` and takes no others;
- a catchment is contiguous under ``adjacency`` (rook adjacency of the polygons plus the
  allowed links, as ``planning.selectors.adjacency`` gives it).

Decomposition
-------------
Villages never cross towns, so each town is an independent model, solved one after the other
(smallest first) with a share of the time limit; time a town does not use passes on to the
towns after it. A town whose free stations cannot hold its free villages (fewer than
``min * S`` or more than ``max * S``) is reported infeasible without building a model.

The model of a town
-------------------
- ``x[v, s]`` (bool): village ``v`` goes to free station ``s``; one per village.
- sizes: ``min <= sum_v x[v, s] <= max`` for each free station.
- contiguity, single-commodity flow per station: ``r[v, s]`` (bool) marks the root of the
  catchment of ``s``, one per catchment, inside the catchment. The root supplies as
  many units as the catchment has villages, every village of the catchment consumes one, and
  flow ``f[u, w, s]`` (0..max-1) runs only along adjacent pairs with both ends in the
  catchment. Every village can only be fed through villages of its own catchment, so a
  feasible flow exists exactly when the catchment is connected. Symmetry: the root is the
  first village of the catchment in a fixed order that starts with the station's
  ``home_village`` (the village it stands in) when it has one.
- stranded villages: a piece of the town's adjacency with fewer than ``min`` villages (an
  island without an allowed link) can never be part of a contiguous catchment, which would
  make the whole town infeasible. Its villages are placed without the contiguity rule (they
  take no part in the flow), a message names them, and ``evaluate`` still counts the broken
  contiguity: the rest of the town is planned rather than given up.
- objectives, all integers: travel = ``sum households[v] * seconds[v, s] * x[v, s]``
  (each product rounded to a whole household-second); moves = villages whose station
  differs from a reference assignment.

Objectives
----------
- ``propose``: minimise travel (household-weighted seconds).
- ``propose(stay_close=True)``: lexicographic, in two solves per town: first minimise the
  villages moved from ``published``; then, with moves held at that number, minimise travel.
  Two solves rather than one weighted sum because the weight would have to exceed the whole
  travel objective (about 10^8 here), which weakens CP-SAT's bounds; the lexicographic order
  is then exact whenever the first solve is proved optimal (``messages`` say when it is not).
- ``repair``: the same two stages with ``current`` as the reference: keep every village that
  can stay, move the fewest, and among those plans take the shortest travel.

``status`` is about the search (optimal, feasible, infeasible, unknown: no plan found in the
time); whether the plan keeps the rules is in ``constraints`` and ``violations``.

Hints: every solve starts from a complete feasible solution when one is known (``current`` or
``published`` when they satisfy the rules in that town, with the flows of a BFS tree), else
from the nearest-station assignment (partial hint). When the time runs out before CP-SAT
finds a plan of its own, a starting plan that keeps the rules is returned (status
``feasible``, with a message), never nothing. CP-SAT runs with ``num_workers`` workers
(2 by default, the machine's cores) and without probing in presolve (faster here).

Measured on the city-scale demo (66 towns, 1,030 villages, 244 stations, 2 cores): propose
1.8 s, every town proved optimal (``bench/run.py propose``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ortools.sat.python import cp_model

from gridmap.codes import Level, code_at

MIN_VILLAGES = 3
MAX_VILLAGES = 7
NUM_WORKERS = 2
# Time per town: its fair share of what is left (by villages x stations) times
# BUDGET_STRETCH, at least MIN_TOWN_SECONDS and at most what is left once every later town is
# kept MIN_TOWN_SECONDS. Most towns are solved to optimality in well under their share, and
# what they leave goes to the towns after them.
MIN_TOWN_SECONDS = 0.1
BUDGET_STRETCH = 4.0

OPTIMAL = "optimal"
FEASIBLE = "feasible"
INFEASIBLE = "infeasible"
UNKNOWN = "unknown"  # the time ran out before any plan that keeps the rules was found

MSG_TOWN_CAPACITY = gettext_noop(
    "Town %(town)s: %(villages)s villages cannot be shared among %(stations)s stations "
    "holding %(min)s-%(max)s villages each."
)
MSG_TOWN_INFEASIBLE = gettext_noop(
    "Town %(town)s: no plan keeps every rule (sizes, contiguity, locked stations); its "
    "villages keep their current stations."
)
MSG_TOWN_UNKNOWN = gettext_noop(
    "Town %(town)s: no plan found within the time limit; its villages keep their current stations."
)
MSG_TOWN_NOT_PROVEN = gettext_noop(
    "Town %(town)s: the time limit stopped the search; the plan keeps every rule but is not "
    "proved best (travel at most %(gap)s%% above the best possible)."
)
MSG_TOWN_KEPT_START = gettext_noop(
    "Town %(town)s: the time limit stopped the search before it found a better plan than the "
    "one it started from, which keeps every rule and is kept."
)
MSG_TOWN_MOVES_NOT_PROVEN = gettext_noop(
    "Town %(town)s: the fewest villages moved (%(moved)s) is not proved minimal within the "
    "time limit."
)
MSG_STRANDED = gettext_noop(
    "Town %(town)s: villages %(villages)s touch too few other villages of the town for any "
    "contiguous catchment (an island, or touching only at corners); they were placed without "
    "the contiguity rule. An allowed link (a bridge, a ferry) makes them adjacent."
)
MSG_MISSING_TIMES = gettext_noop(
    "%(count)s village-station pairs have no travel time; they count as the longest time of "
    "their town."
)
MSG_SUMMARY = gettext_noop(
    "%(towns)s towns: %(optimal)s solved to optimality, %(feasible)s stopped at the time "
    "limit, %(infeasible)s without a plan."
)
MSG_STAY_CLOSE = gettext_noop(
    "Fewest villages moved from the published plan first (%(moved)s), then the shortest "
    "household-weighted travel time."
)
MSG_REPAIR = gettext_noop(
    "Fewest villages moved from the current plan first (%(moved)s), then the shortest "
    "household-weighted travel time."
)
MSG_PROPOSE = gettext_noop("Shortest household-weighted travel time to the stations.")

# Violations found by ``evaluate``.
MSG_V_UNASSIGNED = gettext_noop("Village %(village)s has no station.")
MSG_V_UNKNOWN_STATION = gettext_noop("Village %(village)s is with an unknown station %(station)s.")
MSG_V_OTHER_TOWN = gettext_noop("Village %(village)s is with station %(station)s of another town.")
MSG_V_SIZE = gettext_noop(
    "Station %(station)s has %(count)s villages; a station holds %(min)s-%(max)s."
)
MSG_V_NOT_CONTIGUOUS = gettext_noop(
    "The catchment of station %(station)s falls apart into pieces that do not touch."
)
MSG_V_LOCKED = gettext_noop("Locked station %(station)s does not keep exactly its villages.")


@dataclass(frozen=True)
class StationSpec:
    key: Hashable
    town_code: str
    locked: bool = False
    home_village: str | None = None  # the village the station stands in, when known


@dataclass
class Problem:
    villages: list[str]
    households: dict[str, int]
    stations: list[StationSpec]
    seconds: dict[tuple[str, Hashable], float]  # village -> station, same-town pairs
    adjacency: set[frozenset[str]]
    current: dict[str, Hashable | None]
    published: dict[str, Hashable | None]
    min_villages: int = MIN_VILLAGES
    max_villages: int = MAX_VILLAGES


@dataclass
class Evaluation:
    objective: float  # sum of households x travel seconds
    households: int
    mean_seconds: float | None  # household-weighted mean travel time
    moved: int  # villages whose station differs from problem.current
    changed_from_published: int
    constraints: dict[str, bool | int]
    violations: list[str]


@dataclass
class Result:
    assignment: dict[str, Hashable]
    objective: float
    moved: int
    changed_from_published: int
    constraints: dict[str, bool | int]
    seconds_taken: float
    status: str  # OPTIMAL | FEASIBLE | INFEASIBLE | UNKNOWN
    messages: list[str]
    violations: list[str] = field(default_factory=list)
    mean_seconds: float | None = None


def town_of(village: str) -> str:
    return code_at(Level.TOWN, village)


def _neighbours(adjacency: Iterable[frozenset[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for pair in adjacency:
        if len(pair) != 2:
            continue
        a, b = tuple(pair)
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def _connected(codes: set[str], neighbours: Mapping[str, set[str]]) -> bool:
    if len(codes) < 2:
        return True
    start = next(iter(codes))
    seen, todo = {start}, [start]
    while todo:
        for other in neighbours.get(todo.pop(), ()):
            if other in codes and other not in seen:
                seen.add(other)
                todo.append(other)
    return seen == codes


def _pieces(codes: Iterable[str], neighbours: Mapping[str, set[str]]) -> list[set[str]]:
    """Connected pieces of ``codes`` under ``neighbours``."""
    left, pieces = set(codes), []
    while left:
        start = left.pop()
        piece, todo = {start}, [start]
        while todo:
            for other in neighbours.get(todo.pop(), ()):
                if other in left:
                    left.discard(other)
                    piece.add(other)
                    todo.append(other)
        pieces.append(piece)
    return pieces


# Evaluation
# ----------


def evaluate(problem: Problem, assignment: Mapping[str, Hashable | None]) -> Evaluation:
    """Figures and rule checks of ``assignment`` for ``problem``, independent of any model."""
    stations = {s.key: s for s in problem.stations}
    neighbours = _neighbours(problem.adjacency)
    violations: list[str] = []
    catchments: dict[Hashable, set[str]] = {s.key: set() for s in problem.stations}
    unassigned = other_town = unknown = 0
    objective = 0.0
    weight = 0
    for v in problem.villages:
        key = assignment.get(v)
        if key is None:
            unassigned += 1
            violations.append(_(MSG_V_UNASSIGNED) % {"village": v})
            continue
        station = stations.get(key)
        if station is None:
            unknown += 1
            violations.append(_(MSG_V_UNKNOWN_STATION) % {"village": v, "station": key})
            continue
        catchments[key].add(v)
        if station.town_code != town_of(v):
            other_town += 1
            violations.append(_(MSG_V_OTHER_TOWN) % {"village": v, "station": key})
        hh = problem.households.get(v, 0)
        seconds = problem.seconds.get((v, key))
        if seconds is not None:
            objective += hh * seconds
            weight += hh
    bad_size = not_contiguous = locked_changed = 0
    for s in problem.stations:
        members = catchments[s.key]
        if s.locked:
            kept = {v for v in problem.villages if problem.current.get(v) == s.key}
            if members != kept:
                locked_changed += 1
                violations.append(_(MSG_V_LOCKED) % {"station": s.key})
        if not problem.min_villages <= len(members) <= problem.max_villages:
            bad_size += 1
            violations.append(
                _(MSG_V_SIZE)
                % {
                    "station": s.key,
                    "count": len(members),
                    "min": problem.min_villages,
                    "max": problem.max_villages,
                }
            )
        if not _connected(members, neighbours):
            not_contiguous += 1
            violations.append(_(MSG_V_NOT_CONTIGUOUS) % {"station": s.key})
    moved = sum(1 for v in problem.villages if assignment.get(v) != problem.current.get(v))
    changed = sum(1 for v in problem.villages if assignment.get(v) != problem.published.get(v))
    constraints: dict[str, bool | int] = {
        "all_assigned": unassigned == 0 and unknown == 0,
        "own_town_ok": other_town == 0,
        "sizes_ok": bad_size == 0,
        "contiguous_ok": not_contiguous == 0,
        "locked_ok": locked_changed == 0,
        "unassigned": unassigned + unknown,
        "other_town": other_town,
        "bad_sizes": bad_size,
        "not_contiguous": not_contiguous,
        "locked_changed": locked_changed,
        "violations": len(violations),
    }
    return Evaluation(
        objective=objective,
        households=weight,
        mean_seconds=objective / weight if weight else None,
        moved=moved,
        changed_from_published=changed,
        constraints=constraints,
        violations=violations,
    )


# One town
# --------


@dataclass
class _Town:
    code: str
    villages: list[str]  # free villages (not held by a locked station), sorted
    stations: list[StationSpec]  # free stations, by key order of the problem
    fixed: dict[str, Hashable]  # village -> locked station
    cost: dict[tuple[str, Hashable], int]  # households x seconds, integer
    neighbours: dict[str, set[str]]  # among the free villages
    lo: int
    hi: int
    # Free villages in a piece of the town's adjacency smaller than ``lo`` (an island):
    # placed without the contiguity rule, see the module docstring.
    stranded: set[str] = field(default_factory=set)


@dataclass
class _Solved:
    assignment: dict[str, Hashable]
    status: str
    messages: list[str]


class _Model:
    """The CP-SAT model of one town (see the module docstring)."""

    def __init__(self, town: _Town) -> None:
        self.town = town
        m = self.m = cp_model.CpModel()
        vs, ss = town.villages, town.stations
        self.x = {(v, s.key): m.new_bool_var("") for v in vs for s in ss}
        for v in vs:
            m.add_exactly_one(self.x[v, s.key] for s in ss)
        self.order: dict[Hashable, list[str]] = {}
        self.r: dict[tuple[str, Hashable], cp_model.IntVar] = {}
        self.supply: dict[tuple[str, Hashable], cp_model.IntVar] = {}
        self.f: dict[tuple[str, str, Hashable], cp_model.IntVar] = {}
        # Flow runs among the linked villages only (stranded ones are outside the rule).
        linked = [v for v in vs if v not in town.stranded]
        arcs = [(u, w) for u in linked for w in sorted(town.neighbours[u]) if w in linked]
        for s in ss:
            k = s.key
            size = sum(self.x[v, k] for v in vs)
            m.add(size >= town.lo)
            m.add(size <= town.hi)
            home = s.home_village if s.home_village in linked else None
            order = ([home] if home else []) + [v for v in linked if v != home]
            self.order[k] = order
            for i, v in enumerate(order):
                r = self.r[v, k] = m.new_bool_var("")
                m.add_implication(r, self.x[v, k])
                for u in order[:i]:  # the root is the first village of the catchment
                    m.add_implication(r, self.x[u, k].Not())
                sup = self.supply[v, k] = m.new_int_var(0, town.hi, "")
                m.add(sup == 0).only_enforce_if(r.Not())
            roots = [self.r[v, k] for v in linked]
            m.add_at_most_one(roots)
            for v in linked:  # a catchment with a linked village has a root
                m.add_bool_or(roots).only_enforce_if(self.x[v, k])
            m.add(sum(self.supply[v, k] for v in linked) == sum(self.x[v, k] for v in linked))
            for u, w in arcs:
                f = self.f[u, w, k] = m.new_int_var(0, town.hi - 1, "")
                m.add(f == 0).only_enforce_if(self.x[u, k].Not())
                m.add(f == 0).only_enforce_if(self.x[w, k].Not())
            inflow: dict[str, list] = {v: [] for v in linked}
            outflow: dict[str, list] = {v: [] for v in linked}
            for u, w in arcs:
                outflow[u].append(self.f[u, w, k])
                inflow[w].append(self.f[u, w, k])
            for v in linked:
                m.add(sum(inflow[v]) - sum(outflow[v]) == self.x[v, k] - self.supply[v, k])
        self.travel = sum(c * self.x[v, k] for (v, k), c in town.cost.items() if c)

    def moves(self, reference: Mapping[str, Hashable | None]) -> cp_model.LinearExpr:
        """Villages whose station differs from ``reference`` (a constant 1 where the
        reference station is not a free station of the town)."""
        keys = {s.key for s in self.town.stations}
        total = 0
        for v in self.town.villages:
            ref = reference.get(v)
            total += (1 - self.x[v, ref]) if ref in keys else 1
        return total

    def hint(self, assignment: Mapping[str, Hashable]) -> None:
        """Hint ``assignment``; with the root, supplies and BFS-tree flows when it keeps the
        rules, so the hint is a complete solution."""
        m, town = self.m, self.town
        m.clear_hints()
        for (v, k), var in self.x.items():
            m.add_hint(var, assignment.get(v) == k)
        if not _town_feasible(town, assignment):
            return
        for s in town.stations:
            k = s.key
            members = {
                v for v in town.villages if assignment.get(v) == k and v not in town.stranded
            }
            root = next(v for v in self.order[k] if v in members)
            parent: dict[str, str] = {}
            seen, queue, bfs = {root}, deque([root]), []
            while queue:
                here = queue.popleft()
                bfs.append(here)
                for w in sorted(town.neighbours.get(here, ())):
                    if w in members and w not in seen:
                        seen.add(w)
                        parent[w] = here
                        queue.append(w)
            below = dict.fromkeys(members, 1)
            for v in reversed(bfs[1:]):
                below[parent[v]] += below[v]
            for v in self.order[k]:
                m.add_hint(self.r[v, k], v == root)
                m.add_hint(self.supply[v, k], len(members) if v == root else 0)
            for (u, w, kk), var in self.f.items():
                if kk == k:
                    m.add_hint(var, below[w] if parent.get(w) == u else 0)

    def solve(self, seconds: float) -> tuple[int, cp_model.CpSolver]:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(seconds, MIN_TOWN_SECONDS)
        solver.parameters.num_workers = NUM_WORKERS
        # Probing in presolve costs more than it gains on these small models (measured on
        # the city-scale demo: 3.2 s -> 1.3 s for the 66 towns, the same optima).
        solver.parameters.cp_model_probing_level = 0
        return solver.solve(self.m), solver

    def assignment(self, solver: cp_model.CpSolver) -> dict[str, Hashable]:
        out: dict[str, Hashable] = dict(self.town.fixed)
        for (v, k), var in self.x.items():
            if solver.boolean_value(var):
                out[v] = k
        return out


def _town_feasible(town: _Town, assignment: Mapping[str, Hashable | None]) -> bool:
    """Whether ``assignment`` keeps the rules on the town's free villages and stations."""
    keys = {s.key for s in town.stations}
    members: dict[Hashable, set[str]] = {k: set() for k in keys}
    for v in town.villages:
        k = assignment.get(v)
        if k not in keys:
            return False
        members[k].add(v)
    return all(
        town.lo <= len(vs) <= town.hi
        and vs - town.stranded
        and _connected(vs - town.stranded, town.neighbours)
        for vs in members.values()
    )


def _nearest(town: _Town) -> dict[str, Hashable]:
    """Each free village to the free station with the least cost (a hint only)."""
    return {
        v: min(town.stations, key=lambda s: (town.cost.get((v, s.key), 0), str(s.key))).key
        for v in town.villages
    }


def _towns(problem: Problem, messages: list[str]) -> list[_Town]:
    """Split the problem by town; integer costs; fixed villages of locked stations."""
    by_town: dict[str, list[str]] = {}
    for v in sorted(set(problem.villages)):
        by_town.setdefault(town_of(v), []).append(v)
    stations_of: dict[str, list[StationSpec]] = {}
    for s in problem.stations:
        stations_of.setdefault(s.town_code, []).append(s)
    locked = {s.key for s in problem.stations if s.locked}
    neighbours = _neighbours(problem.adjacency)
    missing = 0
    towns = []
    for code, villages in by_town.items():
        fixed = {v: problem.current[v] for v in villages if problem.current.get(v) in locked}
        free = [v for v in villages if v not in fixed]
        stations = [s for s in stations_of.get(code, []) if not s.locked]
        cost: dict[tuple[str, Hashable], int] = {}
        known = [
            problem.seconds[v, s.key]
            for v in free
            for s in stations
            if (v, s.key) in problem.seconds
        ]
        worst = max(known, default=0.0)
        for v in free:
            hh = problem.households.get(v, 0)
            for s in stations:
                seconds = problem.seconds.get((v, s.key))
                if seconds is None:
                    missing += 1
                    seconds = worst
                cost[v, s.key] = round(hh * seconds)
        linked = {v: neighbours.get(v, set()) & set(free) for v in free}
        stranded = {
            v for piece in _pieces(free, linked) if len(piece) < problem.min_villages for v in piece
        }
        if stranded:
            messages.append(
                _(MSG_STRANDED) % {"town": code, "villages": ", ".join(sorted(stranded))}
            )
        towns.append(
            _Town(
                code=code,
                villages=free,
                stations=stations,
                fixed=fixed,
                cost=cost,
                neighbours=linked,
                lo=problem.min_villages,
                hi=problem.max_villages,
                stranded=stranded,
            )
        )
    if missing:
        messages.append(_(MSG_MISSING_TIMES) % {"count": missing})
    return towns


def _solve_town(
    town: _Town,
    budget: float,
    hints: list[Mapping[str, Hashable | None]],
    reference: Mapping[str, Hashable | None] | None,
    fallback: Mapping[str, Hashable | None],
) -> _Solved:
    """Solve one town within ``budget`` seconds: travel only (``reference`` None), or moves
    from ``reference`` first and then travel."""
    n_v, n_s = len(town.villages), len(town.stations)
    params = {"town": town.code}
    kept = {v: k for v in town.villages if (k := fallback.get(v)) is not None}
    if not town.villages:
        return _Solved(dict(town.fixed), OPTIMAL, [])
    if not town.lo * n_s <= n_v <= town.hi * n_s:
        msg = _(MSG_TOWN_CAPACITY) % {
            **params,
            "villages": n_v,
            "stations": n_s,
            "min": town.lo,
            "max": town.hi,
        }
        return _Solved({**kept, **town.fixed}, INFEASIBLE, [msg])
    model = _Model(town)
    # Start from a plan that keeps the rules: the reference itself when it does (moves
    # first), else the cheapest of the hints; the nearest stations when none keeps them.
    feasible = [h for h in hints if _town_feasible(town, h)]
    if feasible and reference is None:
        feasible.sort(key=lambda h: _cost(town, h))
    start = feasible[0] if feasible else _nearest(town)
    model.hint(start)
    # A plan known to keep the rules: what is returned if the time runs out before CP-SAT
    # finds one of its own.
    known = {**town.fixed, **{v: start[v] for v in town.villages}} if feasible else None
    t0 = time.perf_counter()
    messages: list[str] = []
    if reference is not None:
        moves = model.moves(reference)
        model.m.minimize(moves)
        status, solver = model.solve(budget / 2)  # the rest, and what is left, for travel
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            known = model.assignment(solver)
            best = round(solver.objective_value)
        elif status == cp_model.INFEASIBLE or known is None:
            return _unsolved(town, status, kept)
        else:
            best = sum(1 for v in town.villages if known[v] != reference.get(v))
        if status != cp_model.OPTIMAL:
            messages.append(_(MSG_TOWN_MOVES_NOT_PROVEN) % {**params, "moved": best})
        model.hint(known)
        model.m.add(moves <= best)
    model.m.minimize(model.travel)
    status, solver = model.solve(budget - (time.perf_counter() - t0))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status != cp_model.INFEASIBLE and known is not None:
            messages.append(_(MSG_TOWN_KEPT_START) % params)
            return _Solved(known, FEASIBLE, messages)
        return _unsolved(town, status, kept)
    if status == cp_model.OPTIMAL:
        return _Solved(model.assignment(solver), OPTIMAL, messages)
    value, bound = solver.objective_value, solver.best_objective_bound
    gap = 100 * (value - bound) / value if value else 0.0
    messages.append(_(MSG_TOWN_NOT_PROVEN) % {**params, "gap": f"{gap:.1f}"})
    return _Solved(model.assignment(solver), FEASIBLE, messages)


def _unsolved(town: _Town, status: int, kept: dict[str, Hashable]) -> _Solved:
    if status == cp_model.INFEASIBLE:
        return _Solved(
            {**kept, **town.fixed}, INFEASIBLE, [_(MSG_TOWN_INFEASIBLE) % {"town": town.code}]
        )
    return _Solved({**kept, **town.fixed}, UNKNOWN, [_(MSG_TOWN_UNKNOWN) % {"town": town.code}])


def _cost(town: _Town, assignment: Mapping[str, Hashable | None]) -> int:
    return sum(town.cost.get((v, assignment.get(v)), 0) for v in town.villages)


# The whole problem
# -----------------


def _run(
    problem: Problem,
    *,
    time_limit: float,
    reference: Mapping[str, Hashable | None] | None,
    hints: list[Mapping[str, Hashable | None]],
    summary: Callable[[dict[str, Hashable]], str],
) -> Result:
    t0 = time.perf_counter()
    messages: list[str] = []
    towns = _towns(problem, messages)
    # Smallest towns first: the time they leave over goes to the big ones at the end.
    towns.sort(key=lambda t: (len(t.villages) * max(len(t.stations), 1), t.code))
    weights = [max(len(t.villages) * len(t.stations), 1) for t in towns]
    assignment: dict[str, Hashable] = {}
    counts = {OPTIMAL: 0, FEASIBLE: 0, INFEASIBLE: 0, UNKNOWN: 0}
    town_messages: list[str] = []
    for i, town in enumerate(towns):
        left = time_limit - (time.perf_counter() - t0)
        fair = left * weights[i] / sum(weights[i:])
        keep = MIN_TOWN_SECONDS * (len(towns) - i - 1)
        budget = max(min(BUDGET_STRETCH * fair, left - keep), MIN_TOWN_SECONDS)
        solved = _solve_town(town, budget, hints, reference, problem.current)
        assignment.update(solved.assignment)
        counts[solved.status] += 1
        town_messages.extend(solved.messages)
    if counts[INFEASIBLE]:
        status = INFEASIBLE
    elif counts[UNKNOWN]:
        status = UNKNOWN
    elif counts[FEASIBLE]:
        status = FEASIBLE
    else:
        status = OPTIMAL
    ev = evaluate(problem, assignment)
    messages.insert(0, summary(assignment))
    messages.insert(
        1,
        _(MSG_SUMMARY)
        % {
            "towns": len(towns),
            "optimal": counts[OPTIMAL],
            "feasible": counts[FEASIBLE],
            "infeasible": counts[INFEASIBLE] + counts[UNKNOWN],
        },
    )
    messages.extend(town_messages)
    return Result(
        assignment=assignment,
        objective=ev.objective,
        moved=ev.moved,
        changed_from_published=ev.changed_from_published,
        constraints=ev.constraints,
        seconds_taken=time.perf_counter() - t0,
        status=status,
        messages=messages,
        violations=ev.violations,
        mean_seconds=ev.mean_seconds,
    )


def _moved_from(problem: Problem, reference: Mapping[str, Hashable | None]) -> Callable:
    def count(assignment: dict[str, Hashable]) -> int:
        return sum(1 for v in problem.villages if assignment.get(v) != reference.get(v))

    return count


def propose(problem: Problem, *, stay_close: bool = False, time_limit: float = 8.0) -> Result:
    """The shortest household-weighted travel under the rules; with ``stay_close``, the
    fewest villages moved from the published plan first (see the module docstring)."""
    hints = [problem.current, problem.published]
    if stay_close:
        moved = _moved_from(problem, problem.published)
        return _run(
            problem,
            time_limit=time_limit,
            reference=problem.published,
            hints=[problem.published, problem.current],
            summary=lambda a: _(MSG_STAY_CLOSE) % {"moved": moved(a)},
        )
    return _run(
        problem,
        time_limit=time_limit,
        reference=None,
        hints=hints,
        summary=lambda a: _(MSG_PROPOSE),
    )


def repair(problem: Problem, *, time_limit: float = 8.0) -> Result:
    """Make the current plan keep the rules moving the fewest villages (then the shortest
    travel among those plans)."""
    moved = _moved_from(problem, problem.current)
    return _run(
        problem,
        time_limit=time_limit,
        reference=problem.current,
        hints=[problem.current, problem.published],
        summary=lambda a: _(MSG_REPAIR) % {"moved": moved(a)},
    )


def nearest_assignment(problem: Problem) -> dict[str, Hashable]:
    """Each village to the station of its town with the shortest travel time (rules ignored):
    the naive plan, a baseline for the bench."""
    out: dict[str, Hashable] = {}
    stations_of: dict[str, list[StationSpec]] = {}
    for s in problem.stations:
        stations_of.setdefault(s.town_code, []).append(s)
    for v in problem.villages:
        options = [
            (problem.seconds.get((v, s.key), math.inf), str(s.key), s.key)
            for s in stations_of.get(town_of(v), [])
        ]
        if options:
            out[v] = min(options)[2]
    return out
