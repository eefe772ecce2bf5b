"""GET /api/coverage/uncovered-clusters/: the uncovered households counted per map cell."""

from __future__ import annotations

import pytest

from accounts.models import AccountRole
from coverage import lists
from coverage.clusters import MAX_FEATURES, cell_degrees
from coverage.service_circle import service_circle
from demo.roads import load_demo_roads
from grids.models import Town
from tests.factories import AccountFactory, UserFactory

URL = "/api/coverage/uncovered-clusters/"


def _counts(body: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for feature in body["features"]:
        reason = feature["properties"]["reason"]
        out[reason] = out.get(reason, 0) + feature["properties"]["count"]
    return out


@pytest.mark.parametrize("zoom", [3, 11, 16])
def test_the_counts_of_the_cells_add_up_to_the_lists(demo, db, api_client, zoom):
    load_demo_roads(seed=7)
    circle = service_circle("450700")
    api_client.force_authenticate(UserFactory(is_superuser=True))
    res = api_client.get(URL, {"area": "450700", "zoom": zoom})
    assert res.status_code == 200, res.content
    body = res.json()
    assert not body["truncated"] and len(body["features"]) <= MAX_FEATURES
    counts = _counts(body)
    assert {reason: counts.get(reason, 0) for reason in body["totals"]} == body["totals"]
    expected = {
        "no_grid": lists.household_page(
            lists.NO_GRID, prefix="4507", village=None, visible=False, limit=0
        ).count,
        "no_unit": lists.household_page(
            lists.NO_UNIT, prefix="4507", village=None, visible=False, limit=0
        ).count,
        "beyond_15_minutes": len(circle.uncovered_household_ids),
    }
    assert body["totals"] == expected
    assert expected["beyond_15_minutes"] > 0 and expected["no_unit"] > 0
    if zoom == 3:  # a whole city in a few cells, not one marker per household
        assert len(body["features"]) <= 3 * 4
    assert body["cell_deg"] == pytest.approx(cell_degrees(zoom))


def test_a_box_counts_only_what_lies_in_it(demo, db, api_client):
    api_client.force_authenticate(UserFactory(is_superuser=True))
    whole = api_client.get(URL, {"area": "450700", "zoom": 14}).json()
    nowhere = api_client.get(URL, {"area": "450700", "zoom": 14, "bbox": "0,0,1,1"}).json()
    assert sum(whole["totals"].values()) > 0
    assert nowhere["features"] == [] and sum(nowhere["totals"].values()) == 0


def test_outside_the_jurisdiction_is_404_and_bad_input_400(demo, db, api_client):
    towns = list(Town.objects.current().filter(code__startswith="4507").order_by("code"))
    account = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[towns[0].code])
    api_client.force_authenticate(account.user)
    assert api_client.get(URL, {"area": towns[0].code, "zoom": 12}).status_code == 200
    assert api_client.get(URL, {"area": towns[1].code, "zoom": 12}).status_code == 404
    assert api_client.get(URL, {"area": "450700", "zoom": 12}).status_code == 404
    for query in ({"zoom": "x"}, {"zoom": 99}, {"zoom": 12, "bbox": "1,2,3"},
                  {"zoom": 12, "bbox": "5,0,1,1"}):  # fmt: skip
        res = api_client.get(URL, {"area": towns[0].code, **query})
        assert res.status_code == 400, query
        assert set(res.json()["errors"]) <= {"zoom", "bbox"}
