"""Propose and Repair (planning.solver) on plain data: boards of square villages.

A board is ``cols`` x ``rows`` villages of one town; village ``k`` sits at column ``k % cols``,
row ``k // cols`` and is adjacent to its rook neighbours. Travel seconds are given by hand or
from the Manhattan distance between cells. Plans are checked by an independent checker built
on networkx, and small boards against brute force.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Hashable

import networkx as nx
import pytest
from django.utils.translation import gettext

from planning import solver
from planning.solver import Problem, StationSpec, evaluate, propose, repair

TOWN = "990101001"
OTHER_TOWN = "990101002"


def code(k: int, town: str = TOWN) -> str:
    return f"{town}{k + 1:03d}"


def board_adjacency(cols: int, rows: int, town: str = TOWN) -> set[frozenset[str]]:
    pairs = set()
    for k in range(cols * rows):
        c, r = k % cols, k // cols
        if c + 1 < cols:
            pairs.add(frozenset((code(k, town), code(k + 1, town))))
        if r + 1 < rows:
            pairs.add(frozenset((code(k, town), code(k + cols, town))))
    return pairs


def manhattan_seconds(
    cols: int, rows: int, cells: dict[Hashable, int], town: str = TOWN
) -> dict[tuple[str, Hashable], float]:
    """60 s per cell of Manhattan distance from the village to the station's cell, plus 60."""
    out = {}
    for k in range(cols * rows):
        for key, cell in cells.items():
            d = abs(k % cols - cell % cols) + abs(k // cols - cell // cols)
            out[code(k, town), key] = 60.0 * d + 60.0
    return out


def problem(
    n: int,
    stations: list[StationSpec],
    seconds: dict[tuple[str, Hashable], float],
    adjacency: set[frozenset[str]],
    current: dict[str, Hashable | None] | None = None,
    published: dict[str, Hashable | None] | None = None,
    households: dict[str, int] | None = None,
    town: str = TOWN,
) -> Problem:
    villages = [code(k, town) for k in range(n)]
    return Problem(
        villages=villages,
        households=households or dict.fromkeys(villages, 1),
        stations=stations,
        seconds=seconds,
        adjacency=adjacency,
        current=current or dict.fromkeys(villages),
        published=published or dict.fromkeys(villages),
    )


def catchment(result_or_assignment, key: Hashable) -> set[str]:
    assignment = getattr(result_or_assignment, "assignment", result_or_assignment)
    return {v for v, k in assignment.items() if k == key}


def check_plan(p: Problem, assignment: dict[str, Hashable]) -> list[str]:
    """Independent checker (networkx): every rule of the module docstring."""
    errors = []
    graph = nx.Graph()
    graph.add_nodes_from(p.villages)
    graph.add_edges_from(tuple(pair) for pair in p.adjacency)
    towns = {s.key: s.town_code for s in p.stations}
    for v in p.villages:
        if v not in assignment:
            errors.append(f"{v} unassigned")
        elif towns[assignment[v]] != v[:9]:
            errors.append(f"{v} other town")
    for s in p.stations:
        members = {v for v in p.villages if assignment.get(v) == s.key}
        if s.locked:
            if members != {v for v in p.villages if p.current.get(v) == s.key}:
                errors.append(f"{s.key} locked changed")
        elif not p.min_villages <= len(members) <= p.max_villages:
            errors.append(f"{s.key} size {len(members)}")
        if members and not nx.is_connected(graph.subgraph(members)):
            errors.append(f"{s.key} not contiguous")
    return errors


def brute_force(p: Problem) -> float | None:
    """The best travel objective over every assignment that passes ``check_plan``."""
    keys = [s.key for s in p.stations if not s.locked]
    fixed = {v: k for v, k in p.current.items() if k in {s.key for s in p.stations if s.locked}}
    free = [v for v in p.villages if v not in fixed]
    best = None
    for combo in itertools.product(keys, repeat=len(free)):
        assignment = {**fixed, **dict(zip(free, combo, strict=True))}
        if check_plan(p, assignment):
            continue
        value = sum(p.households[v] * p.seconds[v, k] for v, k in assignment.items())
        best = value if best is None else min(best, value)
    return best


def test_three_by_three_board_rows_to_their_station():
    """Stations at the left end of each row: every village is cheapest with the station of
    its row, and rows hold exactly 3 villages, so the optimum is the three rows."""
    cells = {"A": 0, "B": 3, "C": 6}
    stations = [StationSpec(k, TOWN, home_village=code(c)) for k, c in cells.items()]
    p = problem(9, stations, manhattan_seconds(3, 3, cells), board_adjacency(3, 3))
    result = propose(p)
    assert result.status == solver.OPTIMAL
    assert catchment(result, "A") == {code(0), code(1), code(2)}
    assert catchment(result, "B") == {code(3), code(4), code(5)}
    assert catchment(result, "C") == {code(6), code(7), code(8)}
    assert result.objective == pytest.approx(3 * (60 + 120 + 180))
    assert result.constraints["violations"] == 0
    assert result.moved == 9  # everything was unassigned


def test_contiguity_is_enforced():
    """A line of 6: station A is cheap at both ends, B in the middle. Without contiguity A
    would take {0, 1, 5}; with it the best is A = {0, 1, 2}, B = {3, 4, 5} (24 s)."""
    a_cheap = {0, 1, 5}
    seconds = {}
    for k in range(6):
        seconds[code(k), "A"] = 1.0 if k in a_cheap else 10.0
        seconds[code(k), "B"] = 10.0 if k in a_cheap else 1.0
    adjacency = board_adjacency(6, 1)
    p = problem(6, [StationSpec("A", TOWN), StationSpec("B", TOWN)], seconds, adjacency)
    result = propose(p)
    assert result.status == solver.OPTIMAL
    assert catchment(result, "A") == {code(0), code(1), code(2)}
    assert result.objective == pytest.approx(24.0)
    assert result.objective == pytest.approx(brute_force(p))
    # The disconnected plan is cheaper but breaks the rule, and evaluate says so.
    loose = {code(k): "A" if k in a_cheap else "B" for k in range(6)}
    ev = evaluate(p, loose)
    assert ev.objective == pytest.approx(6.0)
    assert ev.constraints["contiguous_ok"] is False
    assert ev.constraints["not_contiguous"] == 1  # A = {0, 1, 5}; B = {2, 3, 4} is fine


def test_sizes_three_to_seven():
    """A line of 10 villages; A is the cheaper station for everyone, so A fills up to 7 and
    B keeps the 3 that are left (at the end of the line, contiguous)."""
    seconds = {}
    for k in range(10):
        seconds[code(k), "A"] = 10.0
        seconds[code(k), "B"] = 100.0
    p = problem(
        10, [StationSpec("A", TOWN), StationSpec("B", TOWN)], seconds, board_adjacency(10, 1)
    )
    result = propose(p)
    assert len(catchment(result, "A")) == 7
    assert len(catchment(result, "B")) == 3
    assert check_plan(p, result.assignment) == []


def test_locked_station_is_untouched():
    """C is locked with villages 6, 7, 8 (the top row). It would be cheaper for everyone,
    but it keeps exactly its villages and takes no others."""
    cells = {"A": 0, "B": 3, "C": 4}
    seconds = manhattan_seconds(3, 3, cells)
    for k in range(9):
        seconds[code(k), "C"] = 1.0
    current = {code(k): "C" for k in (6, 7, 8)} | {code(k): "A" for k in range(6)}
    stations = [StationSpec("A", TOWN), StationSpec("B", TOWN), StationSpec("C", TOWN, True)]
    p = problem(9, stations, seconds, board_adjacency(3, 3), current=current)
    result = propose(p)
    assert result.status == solver.OPTIMAL
    assert catchment(result, "C") == {code(6), code(7), code(8)}
    assert result.constraints["locked_ok"] is True
    assert check_plan(p, result.assignment) == []


def test_stay_close_returns_the_published_plan_when_it_keeps_the_rules():
    cells = {"A": 0, "B": 3, "C": 6}
    seconds = manhattan_seconds(3, 3, cells)
    # Columns instead of rows: feasible, but not the shortest travel.
    published = {code(k): ["A", "B", "C"][k % 3] for k in range(9)}
    stations = [StationSpec(k, TOWN) for k in cells]
    p = problem(9, stations, seconds, board_adjacency(3, 3), published=published)
    close = propose(p, stay_close=True)
    assert close.assignment == published
    assert close.changed_from_published == 0
    free = propose(p)
    assert free.objective < close.objective
    assert free.changed_from_published > 0


def test_stay_close_moves_the_fewest_then_shortens_travel():
    """Published has A with 2 villages: one village must move to A; stay_close moves one,
    and of the candidates it takes the one that shortens travel most."""
    seconds = {}
    for k in range(6):
        seconds[code(k), "A"] = 10.0 * k
        seconds[code(k), "B"] = 10.0 * (5 - k)
    published = {code(0): "A", code(1): "A"} | {code(k): "B" for k in range(2, 6)}
    p = problem(
        6,
        [StationSpec("A", TOWN), StationSpec("B", TOWN)],
        seconds,
        board_adjacency(6, 1),
        published=published,
    )
    result = propose(p, stay_close=True)
    assert result.changed_from_published == 1
    assert result.assignment[code(2)] == "A"


def test_repair_moves_exactly_one_from_a_station_of_eight():
    """A line of 11: A holds 0..7 (8 villages), B holds 8..10. Moving 7 to B repairs it."""
    seconds = {}
    for k in range(11):
        seconds[code(k), "A"] = 5.0
        seconds[code(k), "B"] = 50.0
    current = {code(k): "A" for k in range(8)} | {code(k): "B" for k in range(8, 11)}
    p = problem(
        11,
        [StationSpec("A", TOWN), StationSpec("B", TOWN)],
        seconds,
        board_adjacency(11, 1),
        current=current,
    )
    assert evaluate(p, current).constraints["sizes_ok"] is False
    result = repair(p)
    assert result.status == solver.OPTIMAL
    assert result.moved == 1
    assert result.assignment[code(7)] == "B"
    assert check_plan(p, result.assignment) == []


def test_repair_assigns_unassigned_villages_and_keeps_the_others():
    cells = {"A": 0, "B": 3, "C": 6}
    current: dict[str, Hashable | None] = {code(k): ["A", "B", "C"][k // 3] for k in range(9)}
    current[code(4)] = None
    p = problem(
        9,
        [StationSpec(k, TOWN) for k in cells],
        manhattan_seconds(3, 3, cells),
        board_adjacency(3, 3),
        current=current,
    )
    result = repair(p)
    assert result.moved == 1  # village 4 got its station, nobody else moved
    assert result.assignment[code(4)] == "B"
    assert result.constraints["all_assigned"] is True


def test_infeasible_town_is_reported_with_its_counts():
    """The other town has 2 villages and 1 station (needs 3-7); the first town is solved."""
    cells = {"A": 0, "B": 3, "C": 6}
    seconds = manhattan_seconds(3, 3, cells)
    small = [code(0, OTHER_TOWN), code(1, OTHER_TOWN)]
    for v in small:
        seconds[v, "Z"] = 60.0
    p = problem(9, [StationSpec(k, TOWN) for k in cells], seconds, board_adjacency(3, 3))
    p.villages += small
    p.households.update(dict.fromkeys(small, 1))
    p.stations.append(StationSpec("Z", OTHER_TOWN))
    p.adjacency.add(frozenset(small))
    p.current.update(dict.fromkeys(small, "Z"))
    result = propose(p)
    assert result.status == solver.INFEASIBLE
    expected = gettext(solver.MSG_TOWN_CAPACITY) % {
        "town": OTHER_TOWN,
        "villages": 2,
        "stations": 1,
        "min": 3,
        "max": 7,
    }
    assert expected in result.messages
    # The feasible town still got its plan; the infeasible one keeps its current stations.
    assert catchment(result, "A") == {code(0), code(1), code(2)}
    assert catchment(result, "Z") == set(small)


def test_contiguity_makes_a_town_infeasible():
    """A star: village 0 touches the five others, which touch nothing else. Two stations of
    3-7: whichever does not hold the centre holds leaves that do not touch."""
    adjacency = {frozenset((code(0), code(k))) for k in range(1, 6)}
    seconds = {(code(k), key): 1.0 for k in range(6) for key in "AB"}
    p = problem(6, [StationSpec("A", TOWN), StationSpec("B", TOWN)], seconds, adjacency)
    result = propose(p)
    assert result.status == solver.INFEASIBLE
    assert gettext(solver.MSG_TOWN_INFEASIBLE) % {"town": TOWN} in result.messages


def test_an_island_is_placed_without_the_contiguity_rule_and_reported():
    """Villages 0..4 in a line and village 5 on an island (no neighbour, no allowed link).
    No catchment holding the island can be contiguous; rather than give the town up, the
    island goes to the station where it costs least and the message names it."""
    adjacency = board_adjacency(5, 1)
    seconds = {}
    for k in range(6):
        seconds[code(k), "A"] = 10.0 * k
        seconds[code(k), "B"] = 10.0 * (5 - k)
    seconds[code(5), "A"], seconds[code(5), "B"] = 1.0, 100.0  # the ferry lands near A
    p = problem(6, [StationSpec("A", TOWN), StationSpec("B", TOWN)], seconds, adjacency)
    result = propose(p)
    assert result.status == solver.OPTIMAL
    assert gettext(solver.MSG_STRANDED) % {"town": TOWN, "villages": code(5)} in result.messages
    assert catchment(result, "A") == {code(0), code(1), code(5)}
    assert catchment(result, "B") == {code(2), code(3), code(4)}
    # evaluate still counts the broken rule: honest figures.
    assert result.constraints["contiguous_ok"] is False
    assert result.constraints["not_contiguous"] == 1


def test_own_town_only_and_towns_solved_independently():
    """Station Z of the other town is cheaper for the first town's villages; it never gets
    them. Each town is planned with its own stations."""
    cells = {"A": 0, "B": 3, "C": 6}
    seconds = manhattan_seconds(3, 3, cells)
    other = manhattan_seconds(3, 1, {"Z": 0}, town=OTHER_TOWN)
    p = problem(9, [StationSpec(k, TOWN) for k in cells], seconds, board_adjacency(3, 3))
    p.villages += [code(k, OTHER_TOWN) for k in range(3)]
    p.households.update(dict.fromkeys(p.villages, 1))
    p.stations.append(StationSpec("Z", OTHER_TOWN))
    p.seconds.update(other)
    p.seconds.update({(code(k), "Z"): 1.0 for k in range(9)})  # cheap, but another town
    p.adjacency |= board_adjacency(3, 1, town=OTHER_TOWN)
    result = propose(p)
    assert result.status == solver.OPTIMAL
    assert catchment(result, "Z") == {code(k, OTHER_TOWN) for k in range(3)}
    assert check_plan(p, result.assignment) == []


def random_problem(rng: random.Random, cols: int, rows: int, n_stations: int) -> Problem:
    n = cols * rows
    adjacency = board_adjacency(cols, rows)
    # Drop a few edges (rivers) but keep the board connected.
    for pair in rng.sample(sorted(adjacency, key=sorted), k=len(adjacency) // 6):
        graph = nx.Graph(tuple(p) for p in adjacency - {pair})
        if graph.number_of_nodes() == n and nx.is_connected(graph):
            adjacency.discard(pair)
    cells = dict(
        zip([f"S{i}" for i in range(n_stations)], rng.sample(range(n), n_stations), strict=True)
    )
    seconds = {
        key: s * rng.uniform(0.5, 1.5) for key, s in manhattan_seconds(cols, rows, cells).items()
    }
    households = {code(k): rng.randint(0, 400) for k in range(n)}
    stations = [StationSpec(key, TOWN, home_village=code(cell)) for key, cell in cells.items()]
    return problem(n, stations, seconds, adjacency, households=households)


@pytest.mark.parametrize("seed", range(6))
def test_random_small_boards_are_optimal_against_brute_force(seed):
    rng = random.Random(seed)
    p = random_problem(rng, rng.choice([3, 4]), 2, 2)
    result = propose(p)
    best = brute_force(p)
    if best is None:
        assert result.status == solver.INFEASIBLE
        return
    assert result.status == solver.OPTIMAL
    assert check_plan(p, result.assignment) == []
    assert result.objective == pytest.approx(
        best, abs=len(p.villages)
    )  # whole seconds in the model


@pytest.mark.parametrize("seed", range(8))
def test_random_boards_keep_every_rule(seed):
    """Bigger boards (up to 30 villages, up to 7 stations), a locked station on some; every
    returned plan passes the independent checker; repair of a broken plan too."""
    rng = random.Random(100 + seed)
    cols, rows = rng.randint(3, 6), rng.randint(3, 5)
    n = cols * rows
    p = random_problem(rng, cols, rows, max(2, n // rng.randint(4, 6)))
    result = propose(p, time_limit=5)
    assert result.status in (solver.OPTIMAL, solver.FEASIBLE), result.messages
    assert check_plan(p, result.assignment) == []
    assert evaluate(p, result.assignment).constraints["violations"] == 0

    # Lock the first station on that plan, scramble a few villages of the others, repair.
    first = p.stations[0].key
    p.stations[0] = StationSpec(first, TOWN, locked=True)
    current: dict[str, Hashable | None] = dict(result.assignment)
    others = [v for v in p.villages if current[v] != first]
    for v in rng.sample(others, k=min(3, len(others))):
        current[v] = rng.choice([None] + [s.key for s in p.stations[1:]])
    p.current = current
    fixed = repair(p, time_limit=5)
    assert fixed.status in (solver.OPTIMAL, solver.FEASIBLE), fixed.messages
    assert check_plan(p, fixed.assignment) == []
    assert catchment(fixed, first) == catchment(result, first)
    assert fixed.moved <= 3  # going back to the proposed plan moves at most the 3 scrambled


def test_out_of_time_keeps_the_starting_plan_when_it_keeps_the_rules(monkeypatch):
    """With (almost) no time at all, a town whose current plan keeps the rules gets that plan
    back rather than nothing."""
    monkeypatch.setattr(solver, "MIN_TOWN_SECONDS", 1e-6)
    rng = random.Random(7)
    p = random_problem(rng, 6, 5, 6)
    p.current = dict(propose(p).assignment)
    for run in (propose, repair):
        result = run(p, time_limit=1e-6)
        assert result.status in (solver.OPTIMAL, solver.FEASIBLE), result.messages
        assert check_plan(p, result.assignment) == []
        kept = gettext(solver.MSG_TOWN_KEPT_START) % {"town": TOWN}
        assert kept in result.messages or result.status == solver.OPTIMAL
