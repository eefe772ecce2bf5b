"""GET /api/grids/at in one prepared statement (issue 16, point 1): the same bytes as the
ORM lookup it replaced, for points inside, on edges and vertices, outside, in another SRID
and in an earlier generation, as a superuser and as a town's staff; and its statement count."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer

from accounts.models import AccountRole
from grids import selectors
from grids.api import _grids_for_display, grid_summary, msg_no_grid
from grids.models import Generation, Grid, Role
from tests.factories import AccountFactory, RoleAssignmentFactory, UserFactory

URL = reverse("grid-at")


def _old_answer(user, lon: float, lat: float, srid: int = 4326, generation=None) -> bytes:
    """What the endpoint answered before: the ORM lookup, its prefetch and ``grid_summary``."""
    grid = selectors.grid_at_point(
        Point(lon, lat, srid=srid), generation=generation, queryset=_grids_for_display(user)
    )
    if grid is None:
        return JSONRenderer().render({"detail": msg_no_grid(lon, lat)})
    return JSONRenderer().render(grid_summary(grid))


def _points() -> list[tuple[float, float]]:
    """Points inside grids, every grid's first vertex (on edges shared by several grids) and
    points outside every grid."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT ST_X(p), ST_Y(p) FROM (
                 SELECT (ST_Dump(ST_GeneratePoints(geom, 2, 5))).geom AS p
                   FROM grids_grid WHERE generation_high_id IS NULL ORDER BY code LIMIT 40) s
               UNION ALL
               SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)),
                      ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1))
                 FROM (SELECT geom FROM grids_grid WHERE generation_high_id IS NULL
                        ORDER BY code LIMIT 20) g"""
        )
        return [*cur.fetchall(), (0.0, 0.0), (179.9, -89.9)]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["superuser", "town_staff"])
def test_the_answer_is_byte_for_byte_the_old_one(demo, api_client, who):
    if who == "superuser":
        user = UserFactory(is_superuser=True)
    else:
        town = Grid.objects.current().order_by("code").first().code[:9]
        user = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[town]).user
    api_client.force_authenticate(user)
    points = _points()
    seen = {200: 0, 404: 0}
    with translation.override("en"):
        for lon, lat in points:
            res = api_client.get(URL, {"lon": lon, "lat": lat}, HTTP_ACCEPT_LANGUAGE="en")
            seen[res.status_code] += 1
            assert res.content == _old_answer(user, lon, lat), (lon, lat)
    assert seen[200] > (20 if who == "superuser" else 5)
    assert seen[404] >= 2


@pytest.mark.django_db
def test_another_srid_and_an_earlier_generation_answer_as_before(demo, api_client):
    user = UserFactory(is_superuser=True)
    api_client.force_authenticate(user)
    lon, lat = _points()[0]
    x, y = Point(lon, lat, srid=4326).transform(3857, clone=True).coords
    res = api_client.get(URL, {"lon": x, "lat": y, "srid": 3857})
    assert res.status_code == 200
    assert res.content == _old_answer(user, x, y, srid=3857)
    first = Generation.objects.order_by("id").first()
    res = api_client.get(URL, {"lon": lon, "lat": lat, "generation": first.pk})
    assert res.content == _old_answer(user, lon, lat, generation=first.pk)


@pytest.mark.django_db
def test_holders_and_figures_match_on_a_grid_with_every_role(api_client, two_grids):
    west, _ = two_grids
    for role in (Role.GRID_LEADER, Role.GRID_MEMBER, Role.GRID_MEMBER, Role.PARTY_GUIDE):
        RoleAssignmentFactory(grid=west, role=role)
    user = UserFactory(is_superuser=True)
    api_client.force_authenticate(user)
    res = api_client.get(URL, {"lon": 100.01, "lat": 0.01})
    assert res.status_code == 200
    assert res.content == _old_answer(user, 100.01, 0.01)
    assert res.json()["member"]["phone"]  # decrypted, as the ORM gave it


@pytest.mark.django_db
def test_a_token_lookup_is_one_statement_once_the_token_is_known(
    api_client, two_grids, django_assert_num_queries, settings
):
    settings.GRIDMAP_AUTH_CACHE_SECONDS = 10
    west, _ = two_grids
    RoleAssignmentFactory(grid=west, role=Role.GRID_LEADER)
    user = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[west.code[:9]]).user
    token = Token.objects.create(user=user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    # First call: the token and login, the one-time-password check, the jurisdiction
    # (account, worker, assignments), then the lookup.
    assert api_client.get(URL, {"lon": 100.01, "lat": 0.01}, **auth).status_code == 200
    with django_assert_num_queries(1):
        res = api_client.get(URL, {"lon": 100.01, "lat": 0.01}, **auth)
    assert res.json()["code"] == west.code


@pytest.mark.django_db
def test_a_session_lookup_is_the_session_login_check_and_one_statement(
    client, two_grids, django_assert_num_queries
):
    client.force_login(UserFactory(is_superuser=True))
    # session, login, one-time-password check (middleware), the lookup.
    with django_assert_num_queries(4):
        assert client.get(URL, {"lon": 100.01, "lat": 0.01}).status_code == 200
