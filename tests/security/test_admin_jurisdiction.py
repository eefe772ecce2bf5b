"""Threat: an administrator crosses into another area's people and places (issue 11, item 3).

A district (or city) administrator used to read and edit workers anywhere in the admin, add
a role on a grid outside their district, add a village under another district's town, link
another area's worker or login to their own, and make accounts of their own rank or above:
after which the case API let them act on the other area's cases. Outside the admin, the
person KPI answered any worker's name, the coverage report named assignments in other towns,
and a case reported next door answered with that grid's people and their phones.

What fixed it: one jurisdiction rule in every admin (``gridmap.admin.JurisdictionAdminMixin``:
querysets, foreign-key and autocomplete choices, and the save), workers placed by their roles
(``grids.selectors.workers_within``), accounts and logins by area and rank
(``accounts.selectors.accounts_within``, ``users_within``, ``rank_errors``); the person KPI
through ``workers_within``; coverage's over-loaded list filtered to the area; and
``incidents.selectors.sees_people_of`` for the answers about a case reported outside one's
area. ``test_jurisdiction_matrix.py`` checks the same rule on every URL.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import Account, AccountRole
from accounts.services import account_upsert
from coverage import checks
from grids.models import Role, RoleAssignment, Village, Worker
from tests.factories import (
    AccountFactory,
    GridFactory,
    RoleAssignmentFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)
from tests.incidents.test_routing import build_world, world_generation

pytestmark = pytest.mark.django_db


@dataclass
class Two:
    """Two districts, each with a town, a village, a grid and a worker holding a role."""

    grid_a: object
    grid_b: object
    worker_a: Worker
    worker_b: Worker
    admin: Client
    admin_user: object


@pytest.fixture
def two() -> Two:
    grid_a = GridFactory(village=VillageFactory(town=TownFactory()))
    grid_b = GridFactory(
        village=VillageFactory(town=TownFactory()), geom=rect(100.5, 0, 100.6, 0.1)
    )
    assert grid_a.village.town.district_id != grid_b.village.town.district_id
    worker_a = RoleAssignmentFactory(grid=grid_a, worker=WorkerFactory(name="Inside A")).worker
    worker_b = RoleAssignmentFactory(grid=grid_b, worker=WorkerFactory(name="OUTSIDEMARK B")).worker
    account = account_upsert(
        username="dadmin",
        password="pass-word-1",
        role=AccountRole.DISTRICT_ADMIN,
        codes=[grid_a.village.town.district.code],
    )
    client = Client()
    client.force_login(account.user)
    return Two(grid_a, grid_b, worker_a, worker_b, client, account.user)


def period_post(**fields: object) -> dict:
    return {"period_0": "2025-01-01", "period_1": "", **fields}


# --- workers and role assignments ------------------------------------------------------------
def test_a_district_admin_lists_and_opens_only_workers_of_their_district(two: Two):
    page = two.admin.get(reverse("admin:grids_worker_changelist")).content.decode()
    assert "Inside A" in page and "OUTSIDEMARK" not in page
    inside = two.admin.get(reverse("admin:grids_worker_change", args=[two.worker_a.pk]))
    assert inside.status_code == 200
    outside = two.admin.get(reverse("admin:grids_worker_change", args=[two.worker_b.pk]))
    assert outside.status_code == 302  # "does not exist", as for a deleted one


def test_a_district_admin_cannot_edit_another_districts_worker(two: Two):
    url = reverse("admin:grids_worker_change", args=[two.worker_b.pk])
    two.admin.post(url, {"name": "taken", "phone": "", "email": "", "user": two.admin_user.pk})
    two.worker_b.refresh_from_db()
    assert two.worker_b.name == "OUTSIDEMARK B" and two.worker_b.user_id is None


def test_role_assignment_choices_offer_only_places_inside(two: Two):
    auto = two.admin.get(
        "/admin/autocomplete/",
        {"app_label": "grids", "model_name": "roleassignment", "field_name": "grid", "term": ""},
    )
    codes = {r["text"].split()[0] for r in auto.json()["results"]}
    assert two.grid_a.code in codes and two.grid_b.code not in codes
    workers = two.admin.get(
        "/admin/autocomplete/",
        {"app_label": "grids", "model_name": "roleassignment", "field_name": "worker", "term": ""},
    )
    names = {r["text"] for r in workers.json()["results"]}
    assert "Inside A" in names and "OUTSIDEMARK B" not in names


def test_a_role_on_an_outside_grid_posted_by_hand_is_refused(two: Two):
    before = RoleAssignment.objects.count()
    answer = two.admin.post(
        reverse("admin:grids_roleassignment_add"),
        period_post(worker=two.worker_a.pk, role=Role.GRID_MEMBER, grid=two.grid_b.pk),
    )
    assert answer.status_code == 200  # the form again, with the error
    assert RoleAssignment.objects.count() == before
    # The same post on the grid inside is accepted (the refusal is the jurisdiction's).
    answer = two.admin.post(
        reverse("admin:grids_roleassignment_add"),
        period_post(worker=two.worker_a.pk, role=Role.GRID_MEMBER, grid=two.grid_a.pk),
    )
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    assert RoleAssignment.objects.count() == before + 1


def test_a_role_for_an_outside_worker_is_refused(two: Two):
    before = RoleAssignment.objects.count()
    two.admin.post(
        reverse("admin:grids_roleassignment_add"),
        period_post(worker=two.worker_b.pk, role=Role.GRID_MEMBER, grid=two.grid_a.pk),
    )
    assert RoleAssignment.objects.count() == before


def test_a_new_worker_comes_with_a_role_inside(two: Two):
    url = reverse("admin:grids_worker_add")
    inline = {
        "assignments-TOTAL_FORMS": "1",
        "assignments-INITIAL_FORMS": "0",
        "assignments-MIN_NUM_FORMS": "1",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    worker = {"name": "New one", "phone": "", "email": ""}
    # No role: refused (they could never reach the worker again).
    two.admin.post(url, {**worker, **inline, "assignments-TOTAL_FORMS": "0"})
    assert not Worker.objects.filter(name="New one").exists()
    # A role outside: refused.
    outside = {"assignments-0-role": Role.GRID_MEMBER, "assignments-0-grid": two.grid_b.pk}
    outside |= {"assignments-0-period_0": "2025-01-01", "assignments-0-period_1": ""}
    two.admin.post(url, {**worker, **inline, **outside})
    assert not Worker.objects.filter(name="New one").exists()
    # A role inside: created, and listed.
    inside = {**outside, "assignments-0-grid": two.grid_a.pk}
    answer = two.admin.post(url, {**worker, **inline, **inside})
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    assert Worker.objects.get(name="New one").assignments.get().grid == two.grid_a


# --- places ----------------------------------------------------------------------------------
def test_a_village_cannot_be_added_under_another_districts_town(two: Two):
    town_b = two.grid_b.village.town
    town_a = two.grid_a.village.town
    geom = rect(100.0, 0.0, 100.01, 0.01).geojson
    url = reverse("admin:grids_village_add")
    for town, code in ((town_b, town_b.code + "900"), (town_a, town_b.code + "901")):
        two.admin.post(
            url,
            {
                "code": code,
                "name": "Annexed",
                "kind": Village.Kind.VILLAGE,
                "town": town.pk,
                "geom": geom,
                "generation_low": two.grid_a.generation_low_id,
            },
        )
    assert not Village.objects.filter(name="Annexed").exists()
    page = two.admin.get(url).content.decode()
    assert town_b.code not in page


# --- logins and accounts ----------------------------------------------------------------------
def test_an_outside_login_cannot_be_linked_to_a_worker(two: Two):
    other = account_upsert(
        username="b-town", password="pass-word-1", role=AccountRole.TOWN_STAFF,
        codes=[two.grid_b.village.town.code],
    )  # fmt: skip
    url = reverse("admin:grids_worker_change", args=[two.worker_a.pk])
    auto = two.admin.get(
        "/admin/autocomplete/",
        {"app_label": "grids", "model_name": "worker", "field_name": "user", "term": "b-"},
    )
    assert auto.status_code in (200, 403)
    if auto.status_code == 200:
        assert "b-town" not in {r["text"] for r in auto.json()["results"]}
    inline = {"assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0"}
    two.admin.post(url, {"name": "Inside A", "phone": "", "email": "", "user": other.user.pk,
                         **inline})  # fmt: skip
    two.worker_a.refresh_from_db()
    assert two.worker_a.user_id is None


@pytest.fixture
def account_manager(two: Two) -> Two:
    """The district admin, given the permissions to manage logins and accounts."""
    perms = Permission.objects.filter(content_type__app_label__in=["accounts", "auth"])
    two.admin_user.user_permissions.add(*perms)
    return two


def account_post(user, role: str, codes: str) -> dict:
    return {"user": user.pk, "role": role, "codes": codes}


def test_a_district_admin_cannot_make_an_administrator(account_manager: Two):
    two = account_manager
    login = UserFactory(username="fresh")
    url = reverse("admin:accounts_account_add")
    district = two.grid_a.village.town.district.code
    answer = two.admin.post(url, account_post(login, AccountRole.DISTRICT_ADMIN, district))
    assert answer.status_code == 200
    refusal = gettext("Only a superuser makes district or city administrators.")
    assert refusal in answer.content.decode()
    assert not Account.objects.filter(user=login).exists()


def test_a_district_admin_makes_town_accounts_inside_only(account_manager: Two):
    two = account_manager
    login = UserFactory(username="fresh")
    url = reverse("admin:accounts_account_add")
    town_b = two.grid_b.village.town.code
    two.admin.post(url, account_post(login, AccountRole.TOWN_STAFF, town_b))
    assert not Account.objects.filter(user=login).exists()
    town_a = two.grid_a.village.town.code
    answer = two.admin.post(url, account_post(login, AccountRole.TOWN_STAFF, town_a))
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    assert Account.objects.get(user=login).codes == [town_a]


def test_a_district_admin_cannot_raise_their_own_account(account_manager: Two):
    two = account_manager
    own = two.admin_user.account
    url = reverse("admin:accounts_account_change", args=[own.pk])
    city = two.grid_a.village.town.district.code[:4] + "00"
    two.admin.post(url, account_post(two.admin_user, AccountRole.CITY_ADMIN, city))
    own.refresh_from_db()
    assert own.role == AccountRole.DISTRICT_ADMIN


def test_outside_accounts_and_logins_are_not_listed(account_manager: Two):
    two = account_manager
    account_upsert(
        username="OUTSIDEMARK-login", password="pass-word-1", role=AccountRole.TOWN_STAFF,
        codes=[two.grid_b.village.town.code],
    )  # fmt: skip
    root = UserFactory(username="OUTSIDEMARK-root", is_superuser=True, is_staff=True)
    for name in ("admin:accounts_account_changelist", "admin:auth_user_changelist"):
        page = two.admin.get(reverse(name)).content.decode()
        assert "OUTSIDEMARK" not in page, name
    # A superuser's login cannot be opened, so its password cannot be changed.
    assert two.admin.get(reverse("admin:auth_user_change", args=[root.pk])).status_code == 302


def test_a_peers_or_superusers_login_is_not_reachable(account_manager: Two):
    """A district admin cannot open (and so reset the password of) another admin's login of
    the same district, or a superuser's login linked to a worker of the district."""
    two = account_manager
    peer = account_upsert(
        username="peer", password="pass-word-1", role=AccountRole.DISTRICT_ADMIN,
        codes=[two.grid_a.village.town.district.code],
    )  # fmt: skip
    root = UserFactory(username="root-worker", is_superuser=True, is_staff=True)
    two.worker_a.user = root
    two.worker_a.save()
    town = account_upsert(
        username="a-town-login", password="pass-word-1", role=AccountRole.TOWN_STAFF,
        codes=[two.grid_a.village.town.code],
    )  # fmt: skip
    for login, reachable in ((peer.user, False), (root, False), (town.user, True)):
        url = reverse("admin:auth_user_password_change", args=[login.pk])
        assert (two.admin.get(url).status_code == 200) is reachable, login.username


# --- the answers outside the admin -----------------------------------------------------------
def test_the_person_kpi_answers_only_for_workers_inside(two: Two):
    api = Client()
    town_a = account_upsert(
        username="a-town", password="pass-word-1", role=AccountRole.TOWN_STAFF,
        codes=[two.grid_a.village.town.code],
    )  # fmt: skip
    api.force_login(town_a.user)
    inside = api.get("/api/kpis/", {"level": "person", "code": two.worker_a.pk})
    assert inside.status_code == 200 and inside.json()["name"] == "Inside A"
    outside = api.get("/api/kpis/", {"level": "person", "code": two.worker_b.pk})
    missing = api.get("/api/kpis/", {"level": "person", "code": 987654321})
    assert outside.status_code == 404 and "OUTSIDEMARK" not in outside.content.decode()
    assert missing.status_code == 404


def test_coverage_names_only_the_assignments_inside_the_area(two: Two, settings):
    settings.GRIDMAP_MAX_ROLES_PER_WORKER = 1
    busy = two.worker_a
    RoleAssignmentFactory(grid=two.grid_b, worker=busy, role=Role.GRID_MEMBER)
    [worker] = checks.check_roles(two.grid_a.village.town.code)["overloaded_workers"]
    assert worker["id"] == busy.pk and worker["roles"] == 2
    assert worker["assignments"] == [f"{Role.GRID_LEADER} {two.grid_a.code}"]


def test_a_report_outside_ones_area_answers_without_that_areas_people():
    """A grid worker of grid E reports a quarrel in grid W next door: accepted, and routed
    there; the answer (and the detail, and the case page) names none of W's people."""
    world = build_world(world_generation())
    reporter = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world.east.code]).user
    client = Client()
    client.force_login(reporter)
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [100.02, 0.05]},  # grid W
        "properties": {"category": "dispute", "description": "Next door"},
    }
    answer = client.post("/api/incidents/", json.dumps(body), content_type="application/json")
    assert answer.status_code == 201, answer.content
    result = answer.json()
    assert result["grid"]["code"] == world.west.code
    assert result["recipients"] == []
    leader = world.people["W leader"].worker
    detail = client.get(f"/api/incidents/{result['id']}/")
    case_page = client.get(f"/cases/{result['id']}/")
    for text in (answer.content.decode(), detail.content.decode(), case_page.content.decode()):
        assert leader.name not in text and leader.phone not in text
    assert detail.status_code == 200 and case_page.status_code == 200
    # Someone of grid W sees the people, as before.
    inside = AccountFactory(role=AccountRole.GRID_WORKER, codes=[world.west.code]).user
    client.force_login(inside)
    detail = client.get(f"/api/incidents/{result['id']}/").json()
    assert leader.name in {r["name"] for r in detail["properties"]["recipients"]}


def test_ended_roles_keep_a_worker_in_the_area(two: Two):
    """The documented choice: a worker is in every area where they hold or held a role."""
    from psycopg.types.range import Range

    old = RoleAssignmentFactory(
        grid=two.grid_a,
        worker=WorkerFactory(name="Retired A"),
        period=Range(dt.date(2020, 1, 1), dt.date(2021, 1, 1), "[)"),
    ).worker
    page = two.admin.get(reverse("admin:grids_worker_changelist")).content.decode()
    assert old.name in page


def test_a_household_is_placed_only_in_a_grid_inside(two: Two):
    """A household's grid is derived from its location: the admin refuses a location in a
    grid outside, and derives the grid of one inside."""
    from households.models import Household

    url = reverse("admin:households_household_add")
    center = two.grid_b.geom.point_on_surface
    post = {"address": "Placed road", "head_name": "Placed", "size": "2"}
    answer = two.admin.post(url, {**post, "location": center.geojson})
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.non_field_errors()
    with translation.override("zh-hans"):  # the admin's language, translated
        assert errors == [gettext("This location lies in no grid of your jurisdiction.")]
    assert not Household.objects.filter(address="Placed road").exists()
    inside = two.grid_a.geom.point_on_surface
    answer = two.admin.post(url, {**post, "location": inside.geojson})
    assert answer.status_code == 302, answer.content.decode()[-3000:]
    assert Household.objects.get(address="Placed road").grid == two.grid_a
