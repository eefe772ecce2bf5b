"""The admin: map widgets, search, town filters, figures, jurisdiction limits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AccountRole
from accounts.services import account_upsert
from tests.factories import GridFactory, HouseholdFactory, TownFactory, UserFactory, VillageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_towns():
    a, b = TownFactory(), TownFactory()
    ga = GridFactory(village=VillageFactory(town=a))
    gb = GridFactory(village=VillageFactory(town=b))
    HouseholdFactory(grid=ga, size=4, id_number="450702199001011234")
    HouseholdFactory(grid=gb)
    return ga, gb


def test_superuser_sees_every_changelist_and_the_map_widget(client, two_towns):
    ga, _ = two_towns
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    for name in ("grid", "village", "town", "district", "building", "station", "roleassignment"):
        assert client.get(reverse(f"admin:grids_{name}_changelist")).status_code == 200, name
    for name in ("household", "tenhouseholdunit", "partymember"):
        assert client.get(reverse(f"admin:households_{name}_changelist")).status_code == 200
    page = client.get(reverse("admin:grids_grid_change", args=[ga.pk])).content.decode()
    assert "leaflet" in page.lower()


def test_grid_changelist_searches_filters_by_town_and_shows_figures(client, two_towns):
    ga, gb = two_towns
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    url = reverse("admin:grids_grid_changelist")
    page = client.get(url, {"q": ga.code}).content.decode()
    assert ga.code in page and gb.code not in page
    page = client.get(url, {"town": gb.village.town.code}).content.decode()
    assert gb.code in page and ga.code not in page
    rows = client.get(url, {"q": ga.code}).context["cl"].result_list
    assert [(r.household_count, r.population) for r in rows] == [(1, 4)]


def test_district_admin_sees_only_their_district_and_no_personal_data(client, two_towns):
    ga, gb = two_towns
    account = account_upsert(
        username="dadmin",
        password="pass-word-1",
        role=AccountRole.DISTRICT_ADMIN,
        codes=[ga.village.town.district.code],
    )
    client.force_login(account.user)
    page = client.get(reverse("admin:grids_grid_changelist")).content.decode()
    assert ga.code in page and gb.code not in page
    household = ga.households.get()
    form = client.get(reverse("admin:households_household_change", args=[household.pk]))
    assert form.status_code == 200
    assert "450702199001011234" not in form.content.decode()
    other = gb.households.get()
    assert (
        client.get(reverse("admin:households_household_change", args=[other.pk])).status_code == 302
    )
