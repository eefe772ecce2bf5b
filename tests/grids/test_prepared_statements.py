"""The hot-path statements are really prepared, on a generic plan (issue 16, point 1).

psycopg ignores ``prepare=True`` on a connection without a ``prepare_threshold``, which is
what Django gives it unless the settings name one: until session 11 the lookup and the
routing statement were parsed and planned on every call although the code asked for
preparing. This reads PostgreSQL's own view of the connection's prepared statements."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from grids import selectors
from grids.models import Grid
from incidents import routing
from incidents.models import Category


def _prepared(sql: str) -> list[tuple[int, int]]:
    """(generic plans, custom plans) of this connection's prepared statements that begin as
    ``sql`` does (up to its first parameter, which PostgreSQL shows as ``$n``)."""
    head = sql.split("%", 1)[0]
    fragment = head.replace("\\", "\\\\").replace("_", "\\_")
    assert len(head) > 40, head
    with connection.cursor() as cur:
        cur.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            [fragment + "%"],
        )
        return cur.fetchall()


def _inside(grid: Grid) -> Point:
    return grid.geom.point_on_surface


def test_the_point_lookup_is_prepared_once_and_runs_on_a_generic_plan(demo, db):
    grids = list(Grid.objects.current().order_by("code")[:3])
    for grid in grids:
        point = _inside(grid)
        assert selectors.grid_at(point.x, point.y, 4326)["code"] == grid.code
    found = _prepared(selectors.grid_at_sql(False))
    assert len(found) == 1, found  # one statement, prepared once for the three calls
    generic, custom = found[0]
    assert generic == 3 and custom == 0


def test_the_routing_statement_is_prepared_once(demo, db):
    category = Category.objects.get(code="dispute")
    now = timezone.now()
    for grid in Grid.objects.current().order_by("code")[:2]:
        routing.route(point=_inside(grid), at=now, category=category, severity="blue")
    found = _prepared(routing.ROUTING_SQL)
    assert len(found) == 1, found
    generic, custom = found[0]
    assert generic == 2 and custom == 0
