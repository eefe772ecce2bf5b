"""Benchmark scenarios. Each is a function registered in ALL."""

from __future__ import annotations

from collections.abc import Callable

from bench.common import report, time_each

ALL: dict[str, Callable[[], None]] = {}


def scenario(fn: Callable[[], None]) -> Callable[[], None]:
    ALL[fn.__name__] = fn
    return fn


RAW_LOOKUP_SQL = """
SELECT g.id, g.code FROM grids_grid g
 WHERE g.generation_high_id IS NULL
   AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
 ORDER BY g.code LIMIT 1
"""


@scenario
def grid_at() -> None:
    """GET /api/grids/at (full Django + DRF stack, in process) vs the raw SQL lookup it wraps."""
    import random

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from grids.models import Grid

    n = 500
    rng = random.Random(1)
    with connection.cursor() as cur:
        # Points spread over the current grids (and a few outside any grid).
        cur.execute(
            """SELECT ST_X(p), ST_Y(p) FROM (
                 SELECT (ST_Dump(ST_GeneratePoints(geom, 3, 42))).geom AS p
                   FROM grids_grid WHERE generation_high_id IS NULL ORDER BY code) s"""
        )
        points = cur.fetchall()
    if not points:
        print("grid_at: no grids loaded; run 'make run' or 'python manage.py load_demo' first")
        return
    points = [rng.choice(points) for _ in range(n)]
    grids = Grid.objects.current().count()

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    def ours(p: tuple[float, float]) -> None:
        res = client.get("/api/grids/at", {"lon": p[0], "lat": p[1]})
        assert res.status_code == 200, res.content

    def baseline(p: tuple[float, float]) -> None:
        with connection.cursor() as cur:
            cur.execute(RAW_LOOKUP_SQL, p)
            assert cur.fetchone() is not None

    report(
        "point lookup: GET /api/grids/at vs raw SQL",
        time_each("ours: GET /api/grids/at (Django client)", ours, points),
        time_each("baseline: raw SQL ST_Covers lookup", baseline, points),
        note=f"{n} points inside {grids} current grids; ours adds roles, lineage, figures, JSON",
    )
