"""Households API: jurisdiction limits and personal-data masking."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AccountRole
from tests.factories import (
    AccountFactory,
    GridFactory,
    HouseholdFactory,
    TownFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db
URL = reverse("household-list")


@pytest.fixture
def two_towns():
    town_a, town_b = TownFactory(), TownFactory()
    grid_a = GridFactory(village=VillageFactory(town=town_a))
    grid_b = GridFactory(village=VillageFactory(town=town_b))
    ha = HouseholdFactory(grid=grid_a, id_number="450702199001011234", phone="13812345678")
    hb = HouseholdFactory(grid=grid_b)
    return grid_a, grid_b, ha, hb


def _ids(res) -> set[int]:
    return {f["id"] for f in res.json()["features"]}


def test_grid_worker_cannot_read_another_towns_households(api_client, two_towns):
    grid_a, grid_b, ha, hb = two_towns
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[grid_a.code])
    api_client.force_authenticate(worker.user)

    assert _ids(api_client.get(URL)) == {ha.id}
    assert _ids(api_client.get(URL, {"grid": grid_b.code})) == set()


def test_town_staff_sees_only_their_town(api_client, two_towns):
    grid_a, grid_b, ha, hb = two_towns
    staff = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[grid_b.village.town.code])
    api_client.force_authenticate(staff.user)
    assert _ids(api_client.get(URL)) == {hb.id}


def test_user_without_account_sees_nothing(api_client, two_towns):
    from tests.factories import UserFactory

    api_client.force_authenticate(UserFactory())
    assert _ids(api_client.get(URL)) == set()


def test_personal_fields_visible_to_grid_worker_masked_for_town_staff(api_client, two_towns):
    grid_a, _, ha, _ = two_towns
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[grid_a.code])
    api_client.force_authenticate(worker.user)
    props = api_client.get(URL).json()["features"][0]["properties"]
    assert (props["id_number"], props["phone"]) == ("450702199001011234", "13812345678")

    staff = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[grid_a.village.town.code])
    api_client.force_authenticate(staff.user)
    props = api_client.get(URL).json()["features"][0]["properties"]
    assert props["id_number"] == "450702********1234"
    assert props["phone"] == "138****5678"


def test_list_query_count_does_not_grow_with_rows(
    api_client, two_towns, django_assert_max_num_queries
):
    grid_a, *_ = two_towns
    HouseholdFactory.create_batch(30, grid=grid_a)
    worker = AccountFactory(role=AccountRole.GRID_WORKER, codes=[grid_a.code])
    api_client.force_authenticate(worker.user)
    # role assignments today + account + its login's worker + count + page
    with django_assert_max_num_queries(5):
        res = api_client.get(URL)
    assert res.json()["count"] == 31
