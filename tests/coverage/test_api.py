"""GET /api/coverage/ and /api/coverage/uncovered-households/."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext as _

from accounts.models import AccountRole
from coverage import api, checks, report
from tests.coverage.test_checks import town  # noqa: F401  (fixture)
from tests.factories import AccountFactory, HouseholdFactory, TownFactory, UserFactory

URL = "/api/coverage/"
UNCOVERED = "/api/coverage/uncovered-households/"


@pytest.fixture
def town_staff(town):  # noqa: F811
    account = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[town["town"].code])
    return account.user


def test_report_has_every_check_with_timings(api_client, town, town_staff):  # noqa: F811
    api_client.force_authenticate(town_staff)
    res = api_client.get(URL, {"area": town["town"].code})
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["area"] == {
        "code": town["town"].code,
        "name": town["town"].name,
        "level": "town",
        "prefix": town["town"].code,
    }
    assert list(body["checks"]) == [*checks.CHECKS, "service_circle"]
    assert set(body["timings"]) == {*checks.CHECKS, "service_circle", "total"}
    assert body["checks"]["tiling"]["villages_with_gaps"] == [town["villages"][0].code]
    assert body["checks"]["stations"]["villages_in_no_station"] == [town["villages"][4].code]
    assert "seconds" in body["checks"]["roles"]
    circle = body["checks"]["service_circle"]
    assert circle["available"] is report.service_circle_available()


def test_district_code_covers_its_towns(api_client, town):  # noqa: F811
    api_client.force_authenticate(UserFactory(is_superuser=True))
    res = api_client.get(URL, {"area": town["town"].district.code})
    assert res.status_code == 200
    assert res.json()["area"]["level"] == "district"
    assert res.json()["checks"]["tiling"]["villages"] == 5


@pytest.mark.parametrize("code", ["12345", "abcdefghi", "4507020011"])
def test_a_malformed_code_is_400(api_client, town_staff, code):
    api_client.force_authenticate(town_staff)
    res = api_client.get(URL, {"area": code})
    assert res.status_code == 400
    assert res.json()["errors"]["area"] == [
        _(api.MSG_BAD_CODE) % {"code": code, "level": _("area")}
    ]


def test_a_missing_area_is_400(api_client, town_staff):
    api_client.force_authenticate(town_staff)
    assert api_client.get(URL).status_code == 400


def test_an_unknown_area_is_404(api_client, town_staff):
    api_client.force_authenticate(UserFactory(is_superuser=True))
    res = api_client.get(URL, {"area": "990199999"})
    assert res.status_code == 404
    assert res.json()["detail"] == _(api.MSG_NOT_FOUND) % {"level": _("town"), "code": "990199999"}


def test_an_area_outside_the_jurisdiction_is_not_there(api_client, town_staff):
    other = TownFactory()
    api_client.force_authenticate(town_staff)
    res = api_client.get(URL, {"area": other.code})
    assert res.status_code == 404
    assert res.json()["detail"] == _(api.MSG_NOT_FOUND) % {"level": _("town"), "code": other.code}
    assert api_client.get(UNCOVERED, {"area": other.code}).status_code == 404
    district = town_staff.account.codes[0][:6]
    assert api_client.get(URL, {"area": district}).status_code == 404


def test_anonymous_is_refused(api_client, town):  # noqa: F811
    assert api_client.get(URL, {"area": town["town"].code}).status_code in (401, 403)


def test_uncovered_households_geojson(api_client, town, town_staff, django_assert_max_num_queries):  # noqa: F811
    no_grid = HouseholdFactory(location=Point(100.00995, 0.005, srid=4326), grid=None)
    no_unit = HouseholdFactory(location=Point(100.001, 0.001, srid=4326), grid=town["grids"]["A1"])
    HouseholdFactory(location=Point(101.5, 1.5, srid=4326), grid=None)  # outside the town
    api_client.force_authenticate(town_staff)
    # Reasons no grid and no unit, plus the service circle's few set-based statements (and
    # its check: whether an input changed since, what this refresh saw, its record).
    with django_assert_max_num_queries(23):
        res = api_client.get(UNCOVERED, {"area": town["town"].code})
    assert res.status_code == 200
    # Again, with nothing changed: the check alone, no fingerprint.
    with CaptureQueriesContext(connection) as again:
        assert api_client.get(UNCOVERED, {"area": town["town"].code}).json() == res.json()
    assert not any("_sc_fp" in query["sql"] for query in again.captured_queries)
    body = res.json()
    assert body["type"] == "FeatureCollection"
    got = {(f["id"], f["properties"]["reason"]) for f in body["features"]}
    # The hand-built town has no service centre, so its household in a grid is also beyond
    # the 15-minute circle (by straight line: the town has no roads either).
    assert got == {
        (no_grid.id, "no_grid"),
        (no_unit.id, "no_unit"),
        (no_unit.id, "beyond_15_minutes"),
    }
    feature = next(f for f in body["features"] if f["id"] == no_grid.id)
    assert feature["geometry"] == {"type": "Point", "coordinates": [100.00995, 0.005]}
    assert feature["properties"]["grid"] is None

    only = api_client.get(UNCOVERED, {"area": town["town"].code, "reason": "no_grid"}).json()
    assert [f["id"] for f in only["features"]] == [no_grid.id]
    assert api_client.get(UNCOVERED, {"area": town["town"].code, "reason": "x"}).status_code == 400
