"""Issue 16 item 4: the lists at city scale. Page 1 and a deep page (page 1,000, or as deep as
the data goes) of the three incident lists on ``/lists/`` and of ``GET /api/incidents/?bbox=``
(the deep page by its cursor), ours through Django's WSGI handler (the full stack in process:
filter, count, page, names, template or JSON) against raw SQL reading the same page with the
same names in one statement (what an engineer would write by hand; no count), as a superuser
(no jurisdiction filter) so both read the same rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench.common import InProcess, report, time_pair
from cases.models import OPEN_STATUSES

PAGE = 50
OPEN = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
DEEP_PAGE = 1000
RUNS = 40
# The API's pages cost a few ms a side: more pairs, so that the median is the machine's and
# not one slow spell's (its ratio moved from 1.35x to 1.65x between processes at 40 pairs).
API_RUNS = 300
API_WARMUP = 30

OWNER_NAME_SQL = """COALESCE(
  (SELECT name FROM grids_grid WHERE code = i.owner_code AND generation_high_id IS NULL LIMIT 1),
  (SELECT name FROM grids_village WHERE code = i.owner_code AND generation_high_id IS NULL
    LIMIT 1),
  (SELECT name FROM grids_station WHERE code = i.owner_code LIMIT 1),
  (SELECT name FROM grids_town WHERE code = i.owner_code AND generation_high_id IS NULL LIMIT 1),
  (SELECT name FROM grids_district WHERE code = i.owner_code AND generation_high_id IS NULL
    LIMIT 1),
  (SELECT name FROM grids_city WHERE code = i.owner_code AND generation_high_id IS NULL LIMIT 1)
)"""

# The page's rows and the names of their category and places.
PAGE_JOINS = """JOIN incidents_incident i ON i.id = p.id
  JOIN incidents_category c ON c.id = i.category_id
  LEFT JOIN grids_town t ON t.id = i.town_id
  LEFT JOIN grids_village v ON v.id = i.village_id
  LEFT JOIN grids_grid g ON g.id = i.grid_id"""

# The page's keys by offset, then the page's rows with their names (for those rows only).
RAW_LIST_SQL = {
    "problems": f"""
SELECT i.id, i.reported_at, i.status, i.severity, i.place_code, i.description, i.owner_level,
       i.resolve_due_at, c.name_zh, t.name, v.name, g.name, {OWNER_NAME_SQL}
  FROM (SELECT id FROM incidents_incident ORDER BY reported_at DESC, id DESC
         LIMIT {PAGE} OFFSET %s) p
  {PAGE_JOINS}
 ORDER BY i.reported_at DESC, i.id DESC""",
    "responsibility": f"""
SELECT i.id, i.status, i.severity, i.place_code, i.description, i.owner_level,
       i.acknowledge_due_at, i.resolve_due_at, c.name_zh, t.name, v.name, g.name,
       {OWNER_NAME_SQL},
       ARRAY(SELECT r.name FROM incidents_incidentrecipient r
              WHERE r.incident_id = i.id AND r.kind = 'routed' ORDER BY r.id)
  FROM (SELECT id FROM incidents_incident
         WHERE status IN ({OPEN})
         ORDER BY COALESCE(resolve_due_at, acknowledge_due_at) ASC NULLS LAST, id
         LIMIT {PAGE} OFFSET %s) p
  {PAGE_JOINS}
 ORDER BY COALESCE(i.resolve_due_at, i.acknowledge_due_at) ASC NULLS LAST, i.id""",
    "closeout": f"""
SELECT i.id, i.reported_at, i.resolved_at, i.place_code, i.description, i.satisfaction,
       i.rework_count, i.extension_count, i.closed_on_time, c.name_zh, t.name, v.name, g.name,
       s.actor_name, s.at
  FROM (SELECT id FROM incidents_incident WHERE status = 'closed'
         ORDER BY closed_at DESC NULLS LAST, id DESC LIMIT {PAGE} OFFSET %s) p
  {PAGE_JOINS}
  LEFT JOIN LATERAL (SELECT e.actor_name, e.at FROM incidents_caseevent e
                      WHERE e.incident_id = i.id AND e.action = 'close_out'
                      ORDER BY e.seq DESC LIMIT 1) s ON true
 ORDER BY i.closed_at DESC NULLS LAST, i.id DESC""",
}

# The problem list's page after a row (its Next link's cursor): the keyset, then the names.
RAW_PROBLEMS_AFTER_SQL = f"""
SELECT i.id, i.reported_at, i.status, i.severity, i.place_code, i.description, i.owner_level,
       i.resolve_due_at, c.name_zh, t.name, v.name, g.name, {OWNER_NAME_SQL}
  FROM (SELECT id FROM incidents_incident WHERE (reported_at, id) < (%s, %s)
         ORDER BY reported_at DESC, id DESC LIMIT {PAGE}) p
  {PAGE_JOINS}
 ORDER BY i.reported_at DESC, i.id DESC"""

# The API's page: the keyset after a row, the same properties built as GeoJSON in SQL.
RAW_API_SQL = f"""
SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(
  json_build_object('type', 'Feature', 'id', i.id,
    'geometry', ST_AsGeoJSON(i.location, 7, 0)::json,
    'properties', json_build_object('id', i.id, 'category', c.code, 'category_name', c.name_zh,
      'severity', i.severity, 'status', i.status, 'description', i.description,
      'reported_at', i.reported_at, 'grid_code', g.code,
      'reporter_count', (SELECT count(*) FROM incidents_incidentreport r
                          WHERE r.incident_id = i.id),
      'responsible_level', i.responsible_level, 'owner_level', i.owner_level,
      'owner_code', i.owner_code, 'acknowledge_due_at', i.acknowledge_due_at,
      'resolve_due_at', i.resolve_due_at))
  ORDER BY i.reported_at DESC, i.id DESC), '[]'::json))
  FROM (SELECT id FROM incidents_incident
         WHERE location && ST_MakeEnvelope(%s, %s, %s, %s, 4326)
           AND ST_Intersects(location, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
           AND (reported_at, id) < (%s, %s)
         ORDER BY reported_at DESC, id DESC LIMIT {PAGE}) p
  JOIN incidents_incident i ON i.id = p.id
  JOIN incidents_category c ON c.id = i.category_id
  LEFT JOIN grids_grid g ON g.id = i.grid_id
"""


# The keyset bound of a first page: after every row.
AFTER_EVERY_ROW = (dt.datetime.max.replace(tzinfo=dt.UTC), 2**62)
# The map's list: boxes of this many degrees (about 2 km) around points of the demo's town.
SMALL_BOX = 0.02
SMALL_BOXES = 60


def box_around(lon: float, lat: float) -> tuple[float, float, float, float]:
    """The ``SMALL_BOX`` around a point: what a phone's map asks the list for."""
    half = SMALL_BOX / 2
    return (lon - half, lat - half, lon + half, lat + half)


def _deepest(total: int) -> int:
    """Page 1,000, or the last full page of a smaller set."""
    return max(1, min(DEEP_PAGE, total // PAGE))


def lists() -> None:
    """Page 1 and a deep page of each incident list and of the API's bbox list, ours vs raw."""
    from django.conf import settings
    from django.test import override_settings

    # Pages link static files: without collectstatic, by name (not the hashed manifest).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        _lists()


def _lists() -> None:
    import psycopg
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from cases.paging import Keyset
    from gridmap.sql import session_options
    from incidents.api import LIST_KEYSET
    from incidents.models import Incident

    total = Incident.objects.count()
    if total < 2 * PAGE:
        print("lists: too few incidents; run 'python manage.py load_demo_cases' first")
        return
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    # Requests through Django's WSGI handler, as gunicorn makes them, with the session.
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    app = InProcess(HTTP_COOKIE=cookie)
    # The baseline's own connection (on Django's, each request of ours would leave it a
    # health check, SELECT 1, to pay on its next statement), binding values on the client as
    # Django does, so both are planned for the same literal values.
    raw_db = psycopg.connect(
        settings.DATABASE_URL.replace("postgis://", "postgresql://", 1),
        autocommit=True,
        application_name="bench-raw",
        cursor_factory=psycopg.ClientCursor,
        options=session_options(),  # the same session settings as ours
    )
    counts = {
        "problems": total,
        "responsibility": Incident.objects.filter(status__in=OPEN_STATUSES).count(),  # fmt: skip
        "closeout": Incident.objects.filter(status="closed").count(),
    }
    for kind, sql in RAW_LIST_SQL.items():
        for page in sorted({1, _deepest(counts[kind])}):
            offset = (page - 1) * PAGE

            def ours(_: Any, kind: str = kind, page: int = page) -> None:
                status, _content = app.get("/lists/", {"list": kind, "page": page})
                assert status == 200, status

            def raw(_: Any, sql: str = sql, offset: int = offset) -> None:
                raw_db.execute(sql, [offset]).fetchall()

            report(
                f"/lists/ {kind} page {page} vs raw SQL",
                *time_pair(
                    (f"ours: GET /lists/?list={kind}&page={page}", ours),
                    ("baseline: raw SQL, the page's keys then names", raw),
                    [0] * RUNS,
                    3,
                ),
                note=f"{counts[kind]} rows in the list, {PAGE} a page; ours counts (capped or "
                "estimated) and renders the page",
            )

    # The problem list's deep page as its Next link reaches it (by cursor, nothing skipped).
    deep = _deepest(total)
    after = Incident.objects.order_by("-reported_at", "-id").values_list("reported_at", "pk")[
        (deep - 1) * PAGE - 1
    ]
    cursor = Keyset("reported_at").cursor(*after)

    def ours_after(_: Any) -> None:
        status, _content = app.get("/lists/", {"list": "problems", "page": deep, "cursor": cursor})
        assert status == 200, status

    def raw_after(_: Any) -> None:
        raw_db.execute(RAW_PROBLEMS_AFTER_SQL, list(after)).fetchall()

    report(
        f"/lists/ problems page {deep} by its Next link's cursor vs raw SQL",
        *time_pair(
            (f"ours: GET /lists/?list=problems&page={deep}&cursor=…", ours_after),
            ("baseline: raw SQL, the keys after the row, then names", raw_after),
            [0] * RUNS,
            3,
        ),
        note=f"{total} rows in the list, {PAGE} a page, the page reached by Next (keyset)",
    )

    # The API: the bbox of the incidents' middle half (most of a city), page 1 and deep.
    with connection.cursor() as cur:
        cur.execute(
            """SELECT percentile_disc(ARRAY[0.25, 0.75]) WITHIN GROUP (ORDER BY ST_X(location)),
                      percentile_disc(ARRAY[0.25, 0.75]) WITHIN GROUP (ORDER BY ST_Y(location))
                 FROM incidents_incident"""
        )
        xs, ys = cur.fetchone()
    bbox = (xs[0], ys[0], xs[1], ys[1])
    in_box = Incident.objects.filter(location__intersects=_envelope(bbox)).order_by(
        *LIST_KEYSET.order()
    )
    inside = in_box.count()
    deep = _deepest(inside)
    bbox_text = ",".join(f"{v:.6f}" for v in bbox)
    for page in sorted({1, deep}):
        if page == 1:
            params: dict[str, Any] = {"bbox": bbox_text}
            after: tuple[Any, Any] = AFTER_EVERY_ROW
        else:
            after = in_box.values_list("reported_at", "pk")[(page - 1) * PAGE - 1]
            params = {"bbox": bbox_text, "cursor": LIST_KEYSET.cursor(*after)}

        def api(_: Any, params: dict[str, Any] = params) -> None:
            status, content = app.get("/api/incidents/", params)
            assert status == 200, content[:300]

        def api_raw(_: Any, after: tuple[Any, Any] = after) -> None:
            raw_db.execute(RAW_API_SQL, [*bbox, *bbox, *after]).fetchone()

        report(
            f"GET /api/incidents/?bbox= page {page} vs raw SQL",
            *time_pair(
                (f"ours: GET /api/incidents/?bbox=…{'&cursor=…' if page > 1 else ''}", api),
                ("baseline: raw SQL keyset page as GeoJSON", api_raw),
                [0] * API_RUNS,
                API_WARMUP,
            ),
            note=f"{inside} incidents in the bbox (middle half of x and y), page {page} by "
            "cursor; ours counts (capped or estimated)",
        )
    _small_boxes(app, raw_db)
    raw_db.close()


def _small_boxes(app: InProcess, raw_db: Any) -> None:
    """Page 1 of ``GET /api/incidents/?bbox=`` for small boxes, as a phone's map asks for
    them (a few thousand cases in each), against the raw statement for the same box."""
    from django.contrib.auth import get_user_model

    from bench.lookup_bench import LOGIN, _points

    staff = get_user_model().objects.filter(username=LOGIN).first()
    if staff is None:
        return
    points = _points(45, list(staff.account.codes))[:SMALL_BOXES]
    boxes = [box_around(lon, lat) for lon, lat in points]

    def ours(box: tuple[float, ...]) -> None:
        status, content = app.get("/api/incidents/", {"bbox": ",".join(f"{v:.6f}" for v in box)})
        assert status == 200, content[:300]

    def raw(box: tuple[float, ...]) -> None:
        raw_db.execute(RAW_API_SQL, [*box, *box, *AFTER_EVERY_ROW]).fetchone()

    report(
        f"GET /api/incidents/?bbox= page 1 of {SMALL_BOXES} {SMALL_BOX:g}-degree boxes vs raw SQL",
        *time_pair(
            ("ours: GET /api/incidents/?bbox=<a town's box>", ours),
            ("baseline: raw SQL page as GeoJSON", raw),
            boxes,
            len(boxes),  # every box read once by both first
        ),
        note="boxes around points of the demo town's grids, as a phone's map asks; ours "
        "counts (estimated from 1,000) and lights each case",
    )


def _envelope(bbox: tuple[float, float, float, float]) -> Any:
    from django.contrib.gis.geos import Polygon

    polygon = Polygon.from_bbox(bbox)
    polygon.srid = 4326
    return polygon
