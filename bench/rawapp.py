"""The baseline of ``bench/lookup_bench.py``'s HTTP load: a minimal WSGI app doing the same
SQL as ``GET /api/grids/at``, ``POST /api/incidents/`` and the first page of
``GET /api/incidents/?bbox=``, with psycopg and nothing else (no
Django, no authentication, no validation beyond parsing), served by the same gunicorn
configuration. The bench writes the SQL texts and constants into a JSON file named by
``BENCH_RAW_CONFIG`` (taken from the models, so they are the statements ours runs).

    BENCH_RAW_CONFIG=... gunicorn -c gunicorn.conf.py bench.rawapp:application
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import psycopg

_PATH = os.environ.get("BENCH_RAW_CONFIG")
CONFIG: dict[str, Any] = json.loads(Path(_PATH).read_text()) if _PATH else {}
ZONE = ZoneInfo(CONFIG.get("time_zone", "UTC"))
_local = threading.local()


def _db() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(
            CONFIG["dsn"],
            autocommit=True,
            application_name="bench-raw",
            options=CONFIG.get("options", ""),
        )
        _local.conn = conn
    return conn


def _json(start_response: Any, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def lookup(
    lon: float, lat: float, conn: psycopg.Connection | None = None, config: dict | None = None
) -> dict[str, Any] | None:
    """The point lookup: the same statement as ``grids.selectors.grid_at``, prepared, with the
    same jurisdiction as ours (``lookup_patterns``: the signed-in staff's code prefixes as
    LIKE patterns; the in-process baseline passes its connection and configuration)."""
    config = config or CONFIG
    patterns = config.get("lookup_patterns")
    params = {
        "x": lon,
        "y": lat,
        "srid": 4326,
        "day": dt.datetime.now(ZONE).date(),
        "everything": patterns is None,
        "patterns": patterns or [],
        "generation": None,
    }
    conn = conn or _db()
    row = conn.execute(config["lookup_sql"], params, prepare=True).fetchone()
    if row is None:
        return None
    code, name, generation, current, *lineage, households, population, raw = row
    holders = json.loads(raw)
    return {
        "code": code,
        "name": name,
        "generation": generation,
        "current": current,
        "village": {"code": lineage[0], "name": lineage[1]},
        "town": {"code": lineage[2], "name": lineage[3]},
        "district": {"code": lineage[4], "name": lineage[5]},
        "household_count": households,
        "population": population,
        "holders": holders,
    }


def create(
    lon: float, lat: float, conn: psycopg.Connection | None = None, config: dict | None = None
) -> int:
    """The incident: the routing statement, then the incident, its report, its history event,
    its recipients and their inbox entries, in one transaction (``bench.scenarios``)."""
    config = config or CONFIG
    now = dt.datetime.now(ZoneInfo(config["time_zone"]))
    params = {
        "x": lon,
        "y": lat,
        "at": now,
        "day": now.date(),
        "deg": 1.5 * config["edge_metres"] / (111_000.0 * max(math.cos(math.radians(lat)), 0.01)),
        "metres": config["edge_metres"],
        "kx": math.cos(math.radians(lat)),
        "category": config["category_id"],
        "severity": "blue",
    }
    conn = conn or _db()
    with conn.transaction(), conn.cursor() as route, psycopg.ClientCursor(conn) as cur:
        route.execute(config["routing_sql"], params, prepare=True)
        (raw,) = route.fetchone()
        return raw_incident(cur, config, raw, (lon, lat), now)


def raw_incident(cur: Any, sql: dict[str, Any], raw: Any, p: tuple, now: Any) -> int:
    """The inserts of a raw incident creation after its routing statement (``raw``, its one
    value), on a client-binding cursor inside a transaction (the in-process baseline runs it
    too): returns the new incident's id. ``sql["channels"]`` is ``bench.common.channels``'
    ``[name, off]`` per outbound channel. Simpler than ours: addresses are not encrypted, SMS
    channels (off in the bench) have none, quiet hours are not applied."""
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
        sql["incident_sql"],
        [
            *p, sql["category_id"], "blue", "bench", sql["user_id"], now, row["generation"],
            g and g["id"], v and v["id"], t and t["id"], place["code"], "grid", "[]",
            place["code"], now, now, sql["category_id"], "blue",
        ],
    )  # fmt: skip
    (incident_id,) = cur.fetchone()
    cur.execute(sql["report_sql"], [incident_id, sql["user_id"], now, *p, "bench"])
    cur.execute(sql["event_sql"], [incident_id, sql["user_id"], sql["username"], now])
    if people:
        values = ", ".join(["(%s, %s, 'routed', %s, %s, %s, %s)"] * len(people))
        cur.execute(
            "INSERT INTO incidents_incidentrecipient "
            "(incident_id, worker_id, kind, responder, role, name, phone) "
            f"VALUES {values}",
            [
                x
                for h in people
                for x in (incident_id, h["worker_id"], h["role"], h["role"], h["name"], h["phone"])
            ],
        )
        # The inbox entries and their delivery records (one per channel: skipped where the
        # channel is off or the worker has no address on it), as ours writes them.
        values = ", ".join(
            ["(%s, 'routed', '{}'::jsonb, %s, 'incident', %s, now(), false)"] * len(people)
        )
        names = [c[0] for c in sql["channels"]]
        off = [c[1] for c in sql["channels"]]
        cur.execute(
            "WITH n AS (INSERT INTO incidents_notification (worker_id, kind, message, link, "
            f"subject_type, subject_id, created_at, urgent) VALUES {values} "
            "RETURNING id, worker_id) "
            "INSERT INTO inbox_delivery (notification_id, channel, address, state, reason, "
            "attempts, last_error, provider_id, created_at, updated_at) "
            "SELECT n.id, c.name, a.address, "
            "CASE WHEN c.off OR a.address = '' THEN 'skipped' ELSE 'queued' END, "
            "CASE WHEN c.off THEN 'channel_off' WHEN a.address = '' THEN 'no_address' "
            "ELSE '' END, 0, '', '', now(), now() "
            "FROM n JOIN grids_worker w ON w.id = n.worker_id "
            "CROSS JOIN unnest(%s::text[], %s::bool[]) AS c(name, off) "
            "CROSS JOIN LATERAL (SELECT CASE WHEN c.off THEN '' "
            "WHEN c.name = 'email' THEN w.email WHEN c.name = 'wecom' THEN btrim(w.wecom_userid) "
            "ELSE '' END AS address) a",
            [
                *(
                    x
                    for h in people
                    for x in (h["worker_id"], f"/field/#incident-{incident_id}", incident_id)
                ),
                names,
                off,
            ],
        )
    return incident_id


# The list's first page has no cursor: the keyset bound is after every row.
_FAR = (dt.datetime.max.replace(tzinfo=dt.UTC), 2**62)


def incident_list(bbox: list[float], conn: psycopg.Connection | None = None) -> bytes:
    """The first page of incidents in ``bbox`` as a GeoJSON FeatureCollection, the JSON text
    PostgreSQL writes (``bench.lists_bench.RAW_API_SQL``)."""
    conn = conn or _db()
    row = conn.execute(CONFIG["list_sql"], [*bbox, *bbox, *_FAR]).fetchone()
    return row[0].encode()


def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    try:
        if path == "/api/grids/at":
            q = parse_qs(environ.get("QUERY_STRING", ""))
            found = lookup(float(q["lon"][0]), float(q["lat"][0]))
            if found is None:
                return _json(start_response, "404 Not Found", {"detail": "no grid"})
            return _json(start_response, "200 OK", found)
        if path == "/api/incidents/" and environ["REQUEST_METHOD"] == "GET":
            q = parse_qs(environ.get("QUERY_STRING", ""))
            data = incident_list([float(v) for v in q["bbox"][0].split(",")])
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            )
            return [data]
        if path == "/api/incidents/" and environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size))
            lon, lat = body["geometry"]["coordinates"]
            return _json(start_response, "201 Created", {"id": create(float(lon), float(lat))})
        if path == "/accounts/login/":
            return _json(start_response, "200 OK", {})
        return _json(start_response, "404 Not Found", {"detail": "unknown path"})
    except (KeyError, ValueError) as exc:
        return _json(start_response, "400 Bad Request", {"detail": str(exc)})
