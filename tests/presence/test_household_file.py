"""The household file (民情档案, issue 14 item 6): its content, masking for two roles, 404
outside the jurisdiction, the search, and the map's building households."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccountRole
from gridmap.personal_data import mask_id_number, mask_phone
from grids.models import Building, Role
from households.models import CentralHousehold, PartyBranch, PartyMember, TenHouseholdUnit
from incidents import services as incident_services
from incidents.models import Category
from presence import household_file
from presence.models import CareCategory, KeyPerson, Visit, VisitHousehold, VisitRequest
from privacy.models import AccessLogEntry
from tests.factories import (
    AccountFactory,
    GridFactory,
    HouseholdFactory,
    RoleAssignmentFactory,
    UserFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
ID_NUMBER = "450702199001011234"
PHONE = "13800001111"
CENTRAL_PHONE = "13900002222"


def log_visit(worker, household, day: dt.date, notes: str = "") -> Visit:
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
    visit = Visit.objects.create(worker=worker, at=at, grid=household.grid,
                                 place_code=household.grid.code, notes=notes)  # fmt: skip
    VisitHousehold.objects.create(visit=visit, household=household)
    return visit


class World:
    def __init__(self) -> None:
        self.village = VillageFactory(geom=rect(100.0, 0.0, 100.1, 0.1), name="幸福村")
        self.grid = GridFactory(village=self.village, code=self.village.code + "001",
                                geom=rect(100.0, 0.0, 100.05, 0.1), name="第一网格")  # fmt: skip
        self.other_grid = GridFactory(village=self.village, code=self.village.code + "002",
                                      geom=rect(100.05, 0.0, 100.1, 0.1))  # fmt: skip
        self.leader = WorkerFactory(name="李网格", phone="13700003333",
                                    user=UserFactory(username="hf-leader"))  # fmt: skip
        RoleAssignmentFactory(worker=self.leader, role=Role.GRID_LEADER, grid=self.grid)
        self.other_leader = WorkerFactory(user=UserFactory(username="hf-other"))
        RoleAssignmentFactory(worker=self.other_leader, role=Role.GRID_LEADER,
                              grid=self.other_grid)  # fmt: skip
        # Town staff see the town but do not visit households: personal fields masked.
        self.town_staff = AccountFactory(
            user=UserFactory(username="hf-town"), role=AccountRole.TOWN_STAFF,
            codes=[self.village.town.code],
        ).user  # fmt: skip
        where = Point(100.01, 0.01, srid=4326)
        self.building = Building.objects.create(
            name="3号楼", code="B3", grid=self.grid, footprint=where.buffer(0.0002)
        )
        self.household = HouseholdFactory(
            code="H100", address="幸福村3组12号", grid=self.grid, building=self.building,
            location=where, size=4, tags=["left_behind_elderly"], head_name="张大山",
            id_number=ID_NUMBER, phone=PHONE,
        )  # fmt: skip
        self.neighbour = HouseholdFactory(
            code="H101", address="幸福村3组13号", grid=self.grid, building=self.building,
            location=Point(100.0101, 0.0101, srid=4326),
        )  # fmt: skip
        self.outside = HouseholdFactory(code="H200", address="幸福村5组1号", grid=self.other_grid,
                                        location=Point(100.07, 0.01, srid=4326))  # fmt: skip
        central_home = HouseholdFactory(code="H102", address="幸福村3组1号", grid=self.grid,
                                        location=Point(100.012, 0.01, srid=4326),
                                        phone=CENTRAL_PHONE)  # fmt: skip
        branch = PartyBranch.objects.create(name="支部", village=self.village)
        member_worker = WorkerFactory(name="赵党员", phone=CENTRAL_PHONE)
        member = PartyMember.objects.create(name="赵党员", branch=branch, household=central_home,
                                            worker=member_worker)  # fmt: skip
        central = CentralHousehold.objects.create(household=central_home, party_member=member,
                                                  designated_on=dt.date(2024, 1, 1))  # fmt: skip
        self.unit = TenHouseholdUnit.objects.create(name="3组联防", grid=self.grid,
                                                    head_household=central_home,
                                                    central_household=central)  # fmt: skip
        for h in (self.household, self.neighbour, central_home):
            h.ten_household_unit = self.unit
            h.save()
        self.key_person = KeyPerson.objects.create(
            household=self.household,
            category=CareCategory.objects.get(code="left_behind_elderly", district=None),
            since=TODAY - dt.timedelta(days=40),
        )


@pytest.fixture
def w() -> World:
    return World()


def file_of(user, key: str):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(f"/api/households/{key}/file/")


def test_the_file_holds_the_household_its_places_people_visits_cases_and_status(w):
    visit = log_visit(w.leader, w.household, TODAY - dt.timedelta(days=5), notes="身体还好")
    VisitRequest.objects.create(visit=visit, household=w.household, text="修路灯")
    log_visit(w.leader, w.neighbour, TODAY)  # not this household's
    root = UserFactory(username="hf-root", is_superuser=True)
    category = Category.objects.filter(is_active=True).order_by("ordering").first()
    near, _ = incident_services.incident_create(
        actor=root, point=Point(100.0101, 0.0100, srid=4326), category=category,
        severity=None, description="楼道堆物",
    )  # fmt: skip
    far, _ = incident_services.incident_create(
        actor=root, point=Point(100.04, 0.05, srid=4326), category=category, severity=None,
        description="far away",
    )  # fmt: skip
    res = file_of(w.leader.user, "H100")
    assert res.status_code == 200 and res["Cache-Control"] == "no-store"
    f = res.json()
    assert f["address"] == "幸福村3组12号" and f["size"] == 4 and f["code"] == "H100"
    assert f["tags"] == [{"code": "left_behind_elderly", "label": "留守老人"}]
    assert f["grid"]["code"] == w.grid.code and f["village"]["name"] == "幸福村"
    assert f["town"]["code"] == w.village.town.code
    assert f["building"]["code"] == "B3"
    unit = f["ten_household_unit"]
    assert unit["name"] == "3组联防" and unit["members"] == 3
    assert unit["central_household"]["party_member"] == "赵党员"
    assert unit["central_household"]["phone"] == CENTRAL_PHONE  # the leader visits
    assert f["grid_people"] == [{"role": "grid_leader", "role_label": "网格长", "name": "李网格",
                                 "phone": "13700003333"}]  # fmt: skip
    (v,) = f["visits"]
    assert v["id"] == visit.pk and v["notes"] == "身体还好" and v["requests"] == ["修路灯"]
    assert [c["id"] for c in f["cases"]] == [near.pk]
    assert far.pk not in [c["id"] for c in f["cases"]]
    (k,) = f["key_persons"]
    # Visited 5 days ago, every 30 days (留守老人): due in 25 days, not overdue.
    assert k["category"] == "留守老人" and k["visit_every_days"] == 30
    assert k["due_on"] == (TODAY + dt.timedelta(days=25)).isoformat() and not k["overdue"]
    assert f["links"]["visit"] == "/field/visit/?household=H100"
    assert f["links"]["map"] == f"/map/?grid={w.grid.code}"


def test_without_a_visit_the_key_person_is_overdue(w):
    f = file_of(w.leader.user, "H100").json()
    (k,) = f["key_persons"]
    assert k["last_visit_at"] is None and k["overdue"] and f["overdue"]
    assert k["due_on"] == (TODAY - dt.timedelta(days=10)).isoformat()


def test_masking_for_two_roles_and_the_access_log(w):
    leader = file_of(w.leader.user, "H100").json()
    assert leader["id_number"] == ID_NUMBER and leader["phone"] == PHONE
    assert AccessLogEntry.objects.filter(path__contains="H100").exists()
    town = file_of(w.town_staff, "H100").json()
    assert town["id_number"] == mask_id_number(ID_NUMBER)
    assert town["phone"] == mask_phone(PHONE)
    assert town["ten_household_unit"]["central_household"]["phone"] == mask_phone(CENTRAL_PHONE)
    # The page masks alike.
    from django.test import Client

    client = Client()
    client.force_login(w.town_staff)
    html = client.get("/households/H100/").content.decode()
    assert mask_phone(PHONE) in html and PHONE not in html and ID_NUMBER not in html
    client.force_login(w.leader.user)
    html = client.get("/households/H100/").content.decode()
    assert PHONE in html and "民情档案" in html and 'href="/field/visit/?household=H100"' in html


def test_a_household_outside_the_jurisdiction_is_404(w):
    assert file_of(w.leader.user, "H200").status_code == 404
    assert file_of(w.other_leader.user, "H100").status_code == 404
    assert file_of(w.other_leader.user, "H200").status_code == 200
    assert file_of(w.leader.user, "NOPE").status_code == 404
    from django.test import Client

    client = Client()
    client.force_login(w.leader.user)
    assert client.get("/households/H200/").status_code == 404
    assert client.get("/households/H100/").status_code == 200
    client.logout()
    assert client.get("/households/H100/").status_code == 302


def test_a_household_without_a_number_has_a_file_by_its_id(w):
    bare = HouseholdFactory(code=None, address="无编号户", grid=w.grid,
                            location=Point(100.02, 0.02, srid=4326))  # fmt: skip
    res = file_of(w.leader.user, f"~{bare.pk}")
    assert res.status_code == 200 and res.json()["key"] == f"~{bare.pk}"
    # A numbered household opens by its id too (a number with a "/" is keyed so).
    assert file_of(w.leader.user, f"~{w.household.pk}").status_code == 200


def test_visits_outside_the_jurisdiction_are_not_shown(w):
    # A visit filed under the other grid (its first household there) that included ours.
    at = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(9)))
    visit = Visit.objects.create(worker=w.other_leader, at=at, grid=w.other_grid,
                                 place_code=w.other_grid.code, notes="secret")  # fmt: skip
    VisitHousehold.objects.create(visit=visit, household=w.household)
    assert file_of(w.leader.user, "H100").json()["visits"] == []
    assert len(file_of(w.town_staff, "H100").json()["visits"]) == 1


def test_search_by_number_or_address_inside_the_jurisdiction(w, django_assert_max_num_queries):
    client = APIClient()
    client.force_authenticate(w.leader.user)
    body = client.get("/api/households/search/", {"q": "H100"}).json()
    assert [r["key"] for r in body["results"]] == ["H100"]
    body = client.get("/api/households/search/", {"q": "幸福村3组"}).json()
    assert [r["key"] for r in body["results"]] == ["H100", "H101", "H102"]
    assert client.get("/api/households/search/", {"q": "幸福村5组"}).json()["count"] == 0
    # Two characters of an address are not enough (no trigram), an exact number is.
    assert client.get("/api/households/search/", {"q": "幸福"}).json()["count"] == 0
    from django.test import Client

    page = Client()
    page.force_login(w.leader.user)
    html = page.get("/households/", {"q": "3组1"}).content.decode()
    assert 'href="/households/H100/"' in html and "H200" not in html
    assert page.get("/households/").status_code == 200
    with django_assert_max_num_queries(9):
        page.get("/households/", {"q": "幸福村3组"})


def test_search_uses_the_trigram_index(w):
    """The search matches the address with LIKE (Django's icontains would be ``UPPER(address)
    LIKE``, which the index does not serve), and such a LIKE is an index scan."""
    from django.db import connection

    from households.models import Household

    root = UserFactory(username="hf-root-plan", is_superuser=True)
    sql = str(household_file.household_search(root, "幸福村3组").query)
    assert "LIKE" in sql and "UPPER" not in sql
    like = Household.objects.filter(address__contains="幸福村3组").values("id")
    sql, params = like.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "household_address_trgm" in plan


def test_the_map_lists_a_buildings_households_with_links(w):
    client = APIClient()
    client.force_authenticate(w.leader.user)
    body = client.get(f"/api/buildings/{w.building.pk}/households/").json()
    assert body["building"]["name"] == "3号楼"
    rows = {r["key"]: r for r in body["households"]}
    assert set(rows) == {"H100", "H101"}
    assert rows["H100"]["url"] == "/households/H100/" and rows["H100"]["key_persons"] == 1
    client.force_authenticate(w.other_leader.user)
    assert client.get(f"/api/buildings/{w.building.pk}/households/").status_code == 404


def test_the_map_page_knows_where_to_fetch_a_buildings_households(w, client):
    client.force_login(w.leader.user)
    html = client.get("/map/").content.decode()
    assert "/api/buildings/ID/households/" in html


def test_the_file_costs_a_bounded_number_of_queries(w, django_assert_max_num_queries):
    for n in range(3):
        log_visit(w.leader, w.household, TODAY - dt.timedelta(days=n))
    user = w.leader.user
    household = household_file.household_for(user, "H100")
    # (15: one of them names the visitors the viewer's jurisdiction holds, as the visits API.)
    with django_assert_max_num_queries(15):
        household_file.household_file(user, household)
