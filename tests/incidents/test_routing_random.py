"""Acceptance: for 1,000 random points over the demo, the API's grid equals the grid an
independent shapely computation finds, and the leader and guide equal the active assignments.

The API is the subject: every point is POSTed to /api/incidents/ (inside this test's
transaction, rolled back at the end) and the grid and people are read from the response.
The reference is computed without PostGIS: the current grid polygons loaded as WKB into
shapely, an STRtree, ``covers`` and the documented tie-break (smallest code); the people are
RoleAssignment rows queried on their own.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
import shapely
from django.urls import reverse
from django.utils.translation import gettext
from shapely.strtree import STRtree

from grids.models import Grid, Role, RoleAssignment
from incidents import routing
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

N_POINTS = 1000
SEED = 20240607
LIST = reverse("incident-list")


def demo_grids() -> tuple[list[str], list[shapely.Geometry]]:
    rows = (
        Grid.objects.current()
        .filter(code__startswith="4507")
        .order_by("code")
        .values_list("code", "geom")
    )
    codes = [code for code, _ in rows]
    geoms = [shapely.from_wkb(bytes(geom.wkb)) for _, geom in rows]
    return codes, geoms


def random_points(codes: list[str], geoms: list[shapely.Geometry]) -> list[tuple[float, float]]:
    """Mostly inside grids (uniform in a random grid's bounding box, so some land in a
    neighbour or in no grid), some anywhere in the demo's bounding box, and some exactly on
    grid vertices (points on shared edges and corners)."""
    rng = random.Random(SEED)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    points = []
    for _ in range(int(N_POINTS * 0.8)):
        gx0, gy0, gx1, gy1 = geoms[rng.randrange(len(geoms))].bounds
        points.append((rng.uniform(gx0, gx1), rng.uniform(gy0, gy1)))
    # Vertices shared by two or more grids: exactly on a common edge or corner.
    seen = Counter(
        xy for g in geoms for xy in {tuple(c) for c in shapely.get_coordinates(g).tolist()}
    )
    shared = sorted(xy for xy, n in seen.items() if n > 1)
    points += rng.sample(shared, min(len(shared), int(N_POINTS * 0.05)))
    while len(points) < N_POINTS:
        points.append((rng.uniform(x0, x1), rng.uniform(y0, y1)))
    return points


def covering(
    tree: STRtree, codes: list[str], geoms: list[shapely.Geometry], xy: tuple[float, float]
) -> list[str]:
    """Codes of the grids covering the point (boundary included), smallest first: the first
    is the expected grid (EDGE_TIE_BREAK)."""
    point = shapely.Point(xy)
    return sorted(codes[i] for i in tree.query(point) if geoms[i].covers(point))


def active_people(on: dt.date) -> dict[tuple[str, str], str]:
    """{(grid code, role): worker name} of the leaders and guides active on ``on``."""
    rows = (
        RoleAssignment.objects.active(on)
        .filter(role__in=[Role.GRID_LEADER, Role.PARTY_GUIDE], grid__code__startswith="4507")
        .values_list("grid__code", "role", "worker__name")
    )
    people: dict[tuple[str, str], str] = {}
    for code, role, name in rows:
        assert (code, role) not in people, f"two active {role} on {code}"
        people[(code, role)] = name
    return people


def test_api_grid_and_people_match_an_independent_computation_for_1000_random_points(
    demo, api_client
):
    codes, geoms = demo_grids()
    assert len(codes) >= 10, "the demo has grids"
    tree = STRtree(geoms)
    points = random_points(codes, geoms)
    people = active_people(dt.date.today())
    api_client.force_authenticate(UserFactory(username="random-routing", is_superuser=True))

    outside = gettext(routing.MSG_OUTSIDE_EVERY_DISTRICT)
    tally = {"in a grid": 0, "in no grid": 0, "outside every district": 0, "vertex ties": 0}
    mismatches = []
    for lon, lat in points:
        found = covering(tree, codes, geoms, (lon, lat))
        expected = found[0] if found else None
        res = api_client.post(
            LIST,
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"category": "dispute", "description": "random"},
            },
            format="json",
        )
        if res.status_code == 400:
            assert res.json()["detail"] == outside, res.content
            tally["outside every district"] += 1
            if expected is not None:
                mismatches.append(((lon, lat), expected, "400"))
            continue
        assert res.status_code == 201, res.content
        body = res.json()
        got = body["grid"]["code"] if body["grid"] else None
        if got != expected:
            mismatches.append(((lon, lat), expected, got))
            continue
        if got is None:
            tally["in no grid"] += 1
            continue
        tally["in a grid"] += 1
        tally["vertex ties"] += len(found) > 1
        by_responder = {r["responder"]: r for r in body["recipients"] if r["kind"] != "watching"}
        for role in (Role.GRID_LEADER, Role.PARTY_GUIDE):
            person = by_responder.get(role)
            holder = people.get((got, role))
            if holder is not None:
                assert person is not None, (got, role, body["recipients"])
                assert (person["role"], person["name"]) == (role, holder), (got, role)
            else:
                # A vacancy: somebody up the chain took it, never a holder of the role.
                assert person is None or person["role"] != role, (got, role, person)

    assert mismatches == [], f"{len(mismatches)} of {N_POINTS} differ, e.g. {mismatches[:5]}"
    # The sample exercises every case it claims to.
    assert tally["in a grid"] > N_POINTS * 0.6, tally
    assert tally["in no grid"] + tally["outside every district"] > 20, tally
    assert tally["vertex ties"] >= N_POINTS * 0.04, tally
