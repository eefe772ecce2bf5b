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


RAW_INCIDENT_SQL = """
INSERT INTO incidents_incident
       (location, category_id, severity, description, reporter_id, reported_at, status,
        generation_id, grid_id, village_id, town_id, place_code, responsible_level, explanation)
VALUES (ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, %s, %s, 'reported',
        %s, %s, %s, %s, %s, %s, %s)
RETURNING id
"""
RAW_REPORT_SQL = """
INSERT INTO incidents_incidentreport
       (incident_id, reporter_id, reported_at, location, description, client_uuid)
VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, NULL)
"""


@scenario
def incident_create() -> None:
    """POST /api/incidents/ (full Django + DRF stack, in process, a logged-in grid worker) vs
    raw SQL doing the same lookup and inserts: the same routing statement, then INSERTs of the
    incident, its report, its recipients and their inbox entries, in one transaction."""
    import json
    import random

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Account, AccountRole
    from grids.models import Grid, Worker
    from incidents.models import Category, Incident
    from incidents.routing import ROUTING_SQL, routing_params

    n = 300
    rng = random.Random(2)
    with connection.cursor() as cur:
        cur.execute(
            """SELECT ST_X(p), ST_Y(p) FROM (
                 SELECT (ST_Dump(ST_GeneratePoints(geom, 3, 43))).geom AS p
                   FROM grids_grid WHERE generation_high_id IS NULL ORDER BY code) s"""
        )
        points = cur.fetchall()
    if not points:
        print("incident_create: no grids loaded; run 'make run' or 'python manage.py load_demo'")
        return
    points = [rng.choice(points) for _ in range(n)]
    grid = Grid.objects.current().order_by("code").first()
    category = Category.objects.get(code="dispute")

    user, _ = get_user_model().objects.get_or_create(username="bench-worker")
    Account.objects.get_or_create(
        user=user, defaults={"role": AccountRole.GRID_WORKER, "codes": [grid.code]}
    )
    Worker.objects.get_or_create(user=user, defaults={"name": "bench worker"})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    started = timezone.now()

    def ours(p: tuple[float, float]) -> None:
        body = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(p)},
            "properties": {"category": "dispute", "description": "bench"},
        }
        res = client.post("/api/incidents/", json.dumps(body), content_type="application/json")
        assert res.status_code == 201, res.content

    def baseline(p: tuple[float, float]) -> None:
        from django.contrib.gis.geos import Point

        now = timezone.now()
        params = routing_params(
            point=Point(*p, srid=4326), at=now, category_id=category.pk, severity="blue"
        )
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(ROUTING_SQL, params)
            (raw,) = cur.fetchone()
            row = json.loads(raw) if isinstance(raw, str) else raw
            g, v, t = row["grid"], row["village"], row["town"]
            place = g or v or t
            people = [
                h
                for h in row["holders"]
                if (g and h["place"] == g["code"] and h["role"] in ("grid_leader", "party_guide"))
                or (v and h["place"] == v["code"] and h["role"] == "mediation_director")
            ]
            cur.execute(
                RAW_INCIDENT_SQL,
                [
                    *p, category.pk, "blue", "bench", user.pk, now, row["generation"],
                    g and g["id"], v and v["id"], t and t["id"], place["code"], "grid", "[]",
                ],
            )  # fmt: skip
            (incident_id,) = cur.fetchone()
            cur.execute(RAW_REPORT_SQL, [incident_id, user.pk, now, *p, "bench"])
            if people:
                values = ", ".join(["(%s, %s, 'routed', %s, %s, %s, %s)"] * len(people))
                cur.execute(
                    "INSERT INTO incidents_incidentrecipient "
                    "(incident_id, worker_id, kind, responder, role, name, phone) "
                    f"VALUES {values}",
                    [
                        x
                        for h in people
                        for x in (incident_id, h["worker_id"], h["role"], h["role"],
                                  h["name"], h["phone"])
                    ],
                )  # fmt: skip
                values = ", ".join(["(%s, %s, 'routed', '{}'::jsonb, now())"] * len(people))
                cur.execute(
                    "INSERT INTO incidents_notification (worker_id, incident_id, kind, message, "
                    f"created_at) VALUES {values}",
                    [x for h in people for x in (h["worker_id"], incident_id)],
                )

    try:
        report(
            "incident creation: POST /api/incidents/ vs raw SQL",
            time_each("ours: POST /api/incidents/ (Django client)", ours, points),
            time_each("baseline: raw SQL routing + 4 INSERTs", baseline, points),
            note=f"{n} points over the current grids; ours adds auth, validation, the "
            "routing decisions and explanation, notifications and the JSON result",
        )
    finally:
        # The demo does not grow: everything the scenario created goes (reports, recipients
        # and inbox entries cascade).
        Incident.objects.filter(reporter=user, reported_at__gte=started).delete()
