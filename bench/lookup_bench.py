"""Issue 16 point 1: the point lookup (P1, ``GET /api/grids/at``) and incident creation (P2,
``POST /api/incidents/``) against raw SQL doing the same work.

- ``lookups``: in process. Ours through Django's WSGI handler (``bench.common.InProcess``:
  what gunicorn calls) with an API token (as the phones call), the baseline the same
  statements on a plain psycopg connection (the lookup prepared, as ours; the routing
  statement prepared and the same inserts as ``bench.scenarios.incident_create``'s
  baseline), the two interleaved (``bench.common.time_pair``). Targets: P1 <= 3x, P2 <= 3x.
- ``lookups_http``: under HTTP load. gunicorn as `make run` serves it (gunicorn.conf.py)
  against a minimal WSGI app doing the same SQL (``bench/rawapp.py``) under the same
  gunicorn configuration; BENCH_LOOKUP_CLIENTS (default 8) keep-alive clients on loopback
  for BENCH_LOOKUP_SECONDS (default 15) per server and request. Target: P1 >= 1/3 of the
  raw app's throughput.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

from bench.common import InProcess, channels, report, time_pair
from bench.lists_bench import SMALL_BOX, box_around

LOGIN = "town_staff"  # the demo's town staff: their town's grids (bench.scenarios.SERVE_LOGIN)
WORKER_LOGIN = "bench-worker"
ADMIN_LOGIN = "bench"  # a superuser, as bench/lists_bench.py reads the lists


def _points(seed: int, codes: list[str] | None = None) -> list[tuple[float, float]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT ST_X(p), ST_Y(p) FROM (
                 SELECT (ST_Dump(ST_GeneratePoints(geom, 3, %s))).geom AS p
                   FROM grids_grid
                  WHERE generation_high_id IS NULL AND (%s::text[] IS NULL OR code LIKE ANY(%s))
                  ORDER BY code) s""",
            [seed, codes and [f"{c}%" for c in codes], codes and [f"{c}%" for c in codes]],
        )
        points = cur.fetchall()
    random.Random(seed).shuffle(points)
    return points


def _fixture() -> dict[str, Any] | None:
    """Tokens of the demo's town staff (lookups in their town) and of a reporting worker,
    the points, and the raw app's configuration (the SQL texts ours runs)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from accounts.models import Account, AccountRole
    from bench import scenarios
    from bench.lists_bench import RAW_API_SQL
    from gridmap.authentication import token_expired
    from gridmap.jurisdiction import prefixes_of
    from gridmap.sql import session_options
    from grids.models import Grid, Worker
    from grids.selectors import grid_at_sql
    from households.routing import EDGE_METRES
    from incidents.models import Category
    from incidents.routing import ROUTING_SQL

    User = get_user_model()
    staff = User.objects.filter(username=LOGIN).first()
    grid = Grid.objects.current().order_by("code").first()
    if staff is None or grid is None:
        print("lookups: no demo; run 'make run' or 'python manage.py load_demo' first")
        return None
    worker, _ = User.objects.get_or_create(username=WORKER_LOGIN)
    Account.objects.get_or_create(
        user=worker, defaults={"role": AccountRole.GRID_WORKER, "codes": [grid.code]}
    )
    Worker.objects.get_or_create(user=worker, defaults={"name": "bench worker"})

    def token(user: Any) -> str:
        found = Token.objects.filter(user=user).first()
        if found is None or token_expired(found):
            Token.objects.filter(user=user).delete()
            found = Token.objects.create(user=user)
        return found.key

    category = Category.objects.get(code="dispute")
    # The bbox list as a superuser on both sides: no jurisdiction filter on either.
    admin, _ = User.objects.get_or_create(
        username=ADMIN_LOGIN, defaults={"is_superuser": True, "is_staff": True}
    )
    config = {
        "dsn": settings.DATABASE_URL.replace("postgis://", "postgresql://", 1),
        # The same session settings as ours (gridmap.sql.session_settings: the prepared
        # statements' plan mode, no parallel plans).
        "options": session_options(),
        "time_zone": settings.TIME_ZONE,
        "lookup_sql": grid_at_sql(False),
        # The staff's jurisdiction, as ours filters by it (codes are digits: nothing to escape).
        "lookup_patterns": None
        if (prefixes := prefixes_of(staff)) is None
        else [f"{code}%" for code in prefixes],
        "routing_sql": ROUTING_SQL,
        # The list's page as JSON text (bench.lists_bench: what an engineer would write).
        "list_sql": f"SELECT ({RAW_API_SQL})::text",
        "incident_sql": scenarios.RAW_INCIDENT_SQL,
        "report_sql": scenarios.RAW_REPORT_SQL,
        "event_sql": scenarios.RAW_EVENT_SQL,
        "channels": channels(),
        "edge_metres": EDGE_METRES,
        "category_id": category.pk,
        "user_id": worker.pk,
        "username": worker.get_username(),
    }
    return {
        "staff_token": token(staff),
        "admin_token": token(admin),
        "worker": worker,
        "worker_token": token(worker),
        "lookup_points": _points(45, list(staff.account.codes)),
        "report_points": _points(46),
        "config": config,
    }


def _purge(user: Any, since: Any) -> int:
    from incidents.models import Incident
    from incidents.services import incidents_purge

    return incidents_purge(
        ids=Incident.objects.filter(reporter=user, reported_at__gte=since).values_list(
            "id", flat=True
        )
    )


def _report_body(p: tuple[float, float]) -> str:
    return json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(p)},
            "properties": {"category": "dispute", "description": "bench"},
        }
    )


def lookups() -> None:
    """P1 and P2 in process against raw SQL doing the same work."""
    import psycopg
    from django.utils import timezone

    from bench import rawapp

    fixture = _fixture()
    if fixture is None:
        return
    config = fixture["config"]
    staff = InProcess(HTTP_AUTHORIZATION=f"Token {fixture['staff_token']}")
    worker = InProcess(HTTP_AUTHORIZATION=f"Token {fixture['worker_token']}")
    n = 500
    points = (fixture["lookup_points"] * (n // len(fixture["lookup_points"]) + 1))[:n]
    raw = psycopg.connect(
        config["dsn"], autocommit=True, application_name="bench-raw", options=config["options"]
    )

    def ours(p: tuple[float, float]) -> None:
        status, content = staff.get("/api/grids/at", {"lon": p[0], "lat": p[1]})
        assert status == 200, content

    def baseline(p: tuple[float, float]) -> None:
        assert rawapp.lookup(p[0], p[1], raw, config) is not None

    report(
        "P1 point lookup in process: GET /api/grids/at vs the same statement raw",
        *time_pair(
            ("ours: GET /api/grids/at (WSGI, token)", ours),
            ("baseline: psycopg, the same statement", baseline),
            points,
        ),
        note=f"{n} points in the town of the demo's {LOGIN}; target ratio <= 3",
    )

    m = 300
    reports = (fixture["report_points"] * (m // len(fixture["report_points"]) + 1))[:m]
    started = timezone.now()

    def ours_create(p: tuple[float, float]) -> None:
        status, content = worker.post("/api/incidents/", _report_body(p), "application/json")
        assert status == 201, content

    def baseline_create(p: tuple[float, float]) -> None:
        rawapp.create(p[0], p[1], raw, config)

    try:
        report(
            "P2 incident creation in process: POST /api/incidents/ vs the same work raw",
            *time_pair(
                ("ours: POST /api/incidents/ (WSGI, token)", ours_create),
                ("baseline: psycopg routing + INSERTs", baseline_create),
                reports,
            ),
            note=f"{m} points over the current grids; target ratio <= 3; ours adds validation, "
            "deadlines, the explanation, notifications (deferred) and the JSON result",
        )
    finally:
        raw.close()
        _purge(fixture["worker"], started)


def _http_load(port: int, token: str, kind: str, points: list, seconds: float) -> tuple:
    """BENCH_LOOKUP_CLIENTS keep-alive clients doing ``kind`` for ``seconds``: (requests per
    second, p50 ms, non-2xx)."""
    import http.client
    import statistics
    import threading
    import time

    clients = int(os.environ.get("BENCH_LOOKUP_CLIENTS", "8"))
    headers = {"Authorization": f"Token {token}", "Host": "127.0.0.1"}
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        rng = random.Random(200 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.monotonic() < stop:
            lon, lat = rng.choice(points)
            if kind == "lookup":
                args = ("GET", f"/api/grids/at?lon={lon:.7f}&lat={lat:.7f}", None, headers)
            elif kind == "list":
                box = ",".join(f"{v:.6f}" for v in box_around(lon, lat))
                args = ("GET", f"/api/incidents/?bbox={box}", None, headers)
            else:
                body = _report_body((lon, lat))
                args = (
                    "POST",
                    "/api/incidents/",
                    body,
                    {**headers, "Content-Type": "application/json"},
                )
            t0 = time.perf_counter()
            try:
                conn.request(*args)
                res = conn.getresponse()
                res.read()
                status = res.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
            mine.append((status, time.perf_counter() - t0))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    bad = sum(1 for s, _ in results if not 200 <= s < 300)
    p50 = statistics.median(t for _, t in results) * 1000 if results else float("nan")
    return len(results) / elapsed, p50, bad, len(results)


def lookups_http() -> None:
    """P1, P2 and the API's bbox list under HTTP load: gunicorn (gunicorn.conf.py, as
    `make run`) against a minimal WSGI app doing the same SQL under the same configuration."""
    import runpy
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from django.conf import settings
    from django.utils import timezone

    from bench.scenarios import _free_port

    fixture = _fixture()
    if fixture is None:
        return
    seconds = float(os.environ.get("BENCH_LOOKUP_SECONDS", "15"))
    root = Path(settings.BASE_DIR)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    logs = Path(tempfile.mkdtemp(prefix="bench-lookups-"))
    config_file = logs / "raw.json"
    config_file.write_text(json.dumps(fixture["config"]))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gridmap.settings.dev",
        "DATABASE_URL": settings.DATABASE_URL,
        "BENCH_RAW_CONFIG": str(config_file),
        "PYTHONUNBUFFERED": "1",
        "GRIDMAP_WEB_LOG_LEVEL": "warning",
    }
    conf = runpy.run_path(str(root / "gunicorn.conf.py"))

    def serve(app: list[str], name: str) -> dict[str, tuple]:
        port = _free_port()
        log = logs / f"{name}.log"
        with open(log, "wb") as out:
            server = subprocess.Popen(
                [gunicorn, "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", *app],
                cwd=root,
                env={**env, "GRIDMAP_WEB_HOST": "127.0.0.1", "GRIDMAP_WEB_PORT": str(port)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/accounts/login/", timeout=5
                    ):
                        break
                except (urllib.error.URLError, OSError):
                    time.sleep(0.5)
            # Warm every worker and thread (imports, connections, prepared statements).
            _http_load(port, fixture["staff_token"], "lookup", fixture["lookup_points"], 2)
            return {
                "lookup": _http_load(
                    port, fixture["staff_token"], "lookup", fixture["lookup_points"], seconds
                ),
                "create": _http_load(
                    port, fixture["worker_token"], "create", fixture["report_points"], seconds
                ),
                "list": _http_load(
                    port, fixture["admin_token"], "list", fixture["lookup_points"], seconds
                ),
            }
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    started = timezone.now()
    try:
        ours = serve([], "gunicorn")
        raw = serve(["bench.rawapp:application"], "rawapp")
    finally:
        purged = _purge(fixture["worker"], started)
    clients = int(os.environ.get("BENCH_LOOKUP_CLIENTS", "8"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n== P1, P2 and the bbox list under HTTP load: {clients} clients x {seconds:g} s "
        "each, loopback"
    )
    print(
        f"   gunicorn {conf['workers']} workers x {conf['threads']} threads for both; load "
        f"average after (1, 5, 15 min) {load} on {os.cpu_count()} cores; logs in {logs}; "
        f"{purged} reported incidents (ours and the raw app's) deleted afterwards"
    )
    for kind, label in (
        ("lookup", "P1 GET /api/grids/at"),
        ("create", "P2 POST /api/incidents/"),
        ("list", f"list GET /api/incidents/?bbox= (page 1, {SMALL_BOX:g} degrees square)"),
    ):
        o, r = ours[kind], raw[kind]
        print(f"   {label}")
        for who, (rps, p50, bad, n) in (("ours", o), ("raw app", r)):
            print(f"     {who:<8} {rps:8.1f} req/s   p50 {p50:7.1f} ms   n={n}   non-2xx {bad}")
        print(f"     ratio ours/raw (throughput): {o[0] / r[0]:.2f}")
