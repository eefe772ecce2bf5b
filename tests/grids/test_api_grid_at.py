"""GET /api/grids/at: the point lookup, its spatial edges and its input errors."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import AccountRole
from grids.api import MSG_LON_LAT_RANGE, MSG_UNKNOWN_SRID, msg_no_grid
from grids.models import Role
from tests.factories import (
    AccountFactory,
    GridFactory,
    HouseholdFactory,
    RoleAssignmentFactory,
    UserFactory,
    VillageFactory,
    rect,
)

pytestmark = pytest.mark.django_db
URL = reverse("grid-at")


@pytest.fixture
def admin_client(api_client):
    api_client.force_authenticate(UserFactory(username="root", is_superuser=True))
    return api_client


def test_point_inside_a_grid_returns_it_with_lineage_roles_and_figures(admin_client, two_grids):
    west, _ = two_grids
    leader = RoleAssignmentFactory(grid=west, role=Role.GRID_LEADER, worker__name="王磊")
    guide = RoleAssignmentFactory(grid=west, role=Role.PARTY_GUIDE, worker__name="李芳")
    HouseholdFactory(location=Point(100.01, 0.01), grid=west, size=4)
    HouseholdFactory(location=Point(100.02, 0.01), grid=west, size=2)

    res = admin_client.get(URL, {"lon": 100.01, "lat": 0.02})

    assert res.status_code == 200, res.content
    body = res.json()
    assert body["code"] == west.code
    assert body["village"]["code"] == west.village.code
    assert body["town"]["code"] == west.village.town.code
    assert body["district"]["code"] == west.village.town.district.code
    assert body["leader"] == {"name": "王磊", "phone": leader.worker.phone}
    assert body["guide"] == {"name": "李芳", "phone": guide.worker.phone}
    assert body["member"] is None
    assert (body["household_count"], body["population"]) == (2, 6)


def test_point_on_shared_edge_resolves_to_the_smallest_code_every_time(admin_client, two_grids):
    west, east = two_grids
    codes = {admin_client.get(URL, {"lon": 100.05, "lat": 0.05}).json()["code"] for _ in range(5)}
    assert codes == {min(west.code, east.code)}


def test_point_on_shared_vertex_of_four_grids_resolves_deterministically(admin_client):
    village = VillageFactory(geom=rect(100.2, 0.0, 100.4, 0.2))
    grids = [
        GridFactory(
            village=village, code=f"{village.code}{i:03d}", geom=rect(x, y, x + 0.1, y + 0.1)
        )
        for i, (x, y) in enumerate(
            [(100.3, 0.1), (100.2, 0.1), (100.3, 0.0), (100.2, 0.0)], start=1
        )
    ]
    res = admin_client.get(URL, {"lon": 100.3, "lat": 0.1})
    assert res.json()["code"] == min(g.code for g in grids)


def test_point_outside_every_grid_is_404_with_a_message(admin_client, two_grids):
    res = admin_client.get(URL, {"lon": 101.5, "lat": 0.5})
    assert res.status_code == 404
    assert res.json()["detail"] == msg_no_grid(101.5, 0.5)


def test_point_in_another_srid_is_transformed(admin_client, two_grids):
    _, east = two_grids
    # lon 100.07, lat 0.03 in Web Mercator (EPSG:3857).
    x, y = Point(100.07, 0.03, srid=4326).transform(3857, clone=True).coords
    res = admin_client.get(URL, {"lon": x, "lat": y, "srid": 3857})
    assert res.status_code == 200, res.content
    assert res.json()["code"] == east.code


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"lat": 0.1}, "lon", None),
        ({"lon": "east", "lat": 0.1}, "lon", None),
        ({"lon": 200, "lat": 0.1}, "non_field_errors", MSG_LON_LAT_RANGE),
        ({"lon": 100, "lat": 0.1, "srid": 999999}, "srid", (MSG_UNKNOWN_SRID, {"srid": 999999})),
        ({"lon": 100, "lat": 0.1, "generation": 10**9}, "generation", None),
    ],
)
def test_bad_input_is_400_with_field_messages(admin_client, params, field, message):
    res = admin_client.get(URL, params)
    assert res.status_code == 400
    body = res.json()
    assert body["detail"]
    assert field in body["errors"]
    if message:
        # The default language is zh-hans; the constant is the English msgid.
        template, args = message if isinstance(message, tuple) else (message, {})
        assert body["errors"][field] == [gettext(template) % args if args else gettext(template)]


def test_messages_follow_the_requested_language(admin_client, two_grids):
    res = admin_client.get(URL, {"lon": 200, "lat": 0.1}, HTTP_ACCEPT_LANGUAGE="en")
    assert res.json()["errors"]["non_field_errors"] == [MSG_LON_LAT_RANGE]
    res = admin_client.get(URL, {"lon": 200, "lat": 0.1})
    assert res.json()["errors"]["non_field_errors"] == [
        "经度必须在 -180 到 180 之间，纬度必须在 -90 到 90 之间。"
    ]


def test_anonymous_is_refused(api_client, two_grids):
    assert api_client.get(URL, {"lon": 100.01, "lat": 0.01}).status_code in (401, 403)


def test_token_auth_works(api_client, two_grids):
    from rest_framework.authtoken.models import Token

    user = UserFactory(username="tok", is_superuser=True)
    token = Token.objects.create(user=user)
    res = api_client.get(URL, {"lon": 100.01, "lat": 0.01}, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert res.status_code == 200


def test_grid_outside_the_users_jurisdiction_is_not_found(api_client, two_grids):
    west, east = two_grids
    account = AccountFactory(role=AccountRole.GRID_WORKER, codes=[west.code])
    api_client.force_authenticate(account.user)
    assert api_client.get(URL, {"lon": 100.01, "lat": 0.01}).json()["code"] == west.code
    assert api_client.get(URL, {"lon": 100.08, "lat": 0.01}).status_code == 404


def test_lookup_query_count_is_pinned(admin_client, two_grids, django_assert_max_num_queries):
    west, _ = two_grids
    RoleAssignmentFactory(grid=west, role=Role.GRID_LEADER)
    # session/auth + srid check + lookup + display query + roles prefetch
    with django_assert_max_num_queries(5):
        assert admin_client.get(URL, {"lon": 100.01, "lat": 0.01}).status_code == 200
