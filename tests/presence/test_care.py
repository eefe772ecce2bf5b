"""Key persons (issue 14, item 5; acceptance 4): the due rule, who is responsible, the to do
(page, API, badge), the coverage check, the services and the tag mapping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from coverage.checks import check_key_persons
from gridmap.personal_data import mask_name
from grids.models import Role
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    TenHouseholdUnit,
)
from presence import care
from presence.models import CareCategory, KeyPerson, Visit, VisitHousehold
from tests.factories import (
    DistrictFactory,
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


def category(code: str) -> CareCategory:
    """A default category (presence migration 0002)."""
    return CareCategory.objects.get(code=code, district=None)


def log_visit(worker, household, day: dt.date, hour: int = 10) -> Visit:
    """A visit to ``household`` at ``hour`` local time on ``day`` (written directly: the visits
    service is helper B's)."""
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
    visit = Visit.objects.create(
        worker=worker, at=at, grid=household.grid, place_code=household.grid.code
    )
    VisitHousehold.objects.create(visit=visit, household=household)
    return visit


class World:
    """One village with two grids; a leader on each, a village assistant and secretary, a
    central household serving a unit in G1, and each person's login."""

    def __init__(self) -> None:
        self.village = VillageFactory(geom=rect(100.0, 0.0, 100.1, 0.1))
        self.g1 = GridFactory(village=self.village, code=self.village.code + "001",
                              geom=rect(100.0, 0.0, 100.05, 0.1))  # fmt: skip
        self.g2 = GridFactory(village=self.village, code=self.village.code + "002",
                              geom=rect(100.05, 0.0, 100.1, 0.1))  # fmt: skip
        self.users = {}
        self.workers = {}
        for name, role, place in (
            ("leader1", Role.GRID_LEADER, {"grid": self.g1}),
            ("leader2", Role.GRID_LEADER, {"grid": self.g2}),
            ("assistant", Role.VILLAGE_ASSISTANT, {"village": self.village}),
            ("secretary", Role.VILLAGE_SECRETARY, {"village": self.village}),
        ):
            user = UserFactory(username=f"care-{name}")
            worker = WorkerFactory(name=f"care {name}", user=user)
            RoleAssignmentFactory(worker=worker, role=role, **place)
            self.users[name], self.workers[name] = user, worker
        # A central household (a party member's household, its worker a login with no role).
        self.h_central = HouseholdFactory(grid=self.g1, address="G1 central",
                                          location=Point(100.01, 0.01, srid=4326))  # fmt: skip
        branch = PartyBranch.objects.create(name="branch", village=self.village)
        central_user = UserFactory(username="care-central")
        central_worker = WorkerFactory(name="care central", user=central_user)
        member = PartyMember.objects.create(
            name="member", branch=branch, household=self.h_central, worker=central_worker
        )
        self.central = CentralHousehold.objects.create(
            household=self.h_central, party_member=member, designated_on=dt.date(2024, 1, 1)
        )
        self.users["central"], self.workers["central"] = central_user, central_worker
        # h1 in the central household's unit, h2 in G1 in no unit, h3 in G2.
        self.h1 = HouseholdFactory(grid=self.g1, address="G1 road 1", head_name="王小明",
                                   code="H1", location=Point(100.011, 0.01, srid=4326))  # fmt: skip
        self.unit = TenHouseholdUnit.objects.create(
            name="unit", grid=self.g1, head_household=self.h1, central_household=self.central
        )
        self.h1.ten_household_unit = self.unit
        self.h1.save()
        self.h2 = HouseholdFactory(grid=self.g1, address="G1 road 2", code="H2",
                                   location=Point(100.02, 0.01, srid=4326))  # fmt: skip
        self.h3 = HouseholdFactory(grid=self.g2, address="G2 road 3", code="H3",
                                   location=Point(100.07, 0.01, srid=4326))  # fmt: skip

    def key_person(self, household, code: str, due_on: dt.date, **extra) -> KeyPerson:
        """A key person whose first visit is due on ``due_on`` (``since`` = due - interval)."""
        cat = category(code)
        since = due_on - dt.timedelta(days=cat.visit_every_days)
        return KeyPerson.objects.create(household=household, category=cat, since=since, **extra)


@pytest.fixture
def w() -> World:
    return World()


def ids(items: list[dict]) -> list[int]:
    return [i["id"] for i in items]


# --- acceptance 4 -----------------------------------------------------------------------------
def test_a_household_due_appears_in_the_right_persons_to_do_on_the_right_day_and_leaves(w):
    kp = w.key_person(w.h2, "low_income", TODAY)  # grid leader, every 30 days
    day_before = TODAY - dt.timedelta(days=1)
    assert care.due_for_user(w.users["leader1"], day_before) == []
    (item,) = care.due_for_user(w.users["leader1"], TODAY)
    assert item["id"] == kp.pk and item["due_on"] == TODAY and not item["overdue"]
    assert item["url"] == "/households/H2/" and item["visit_url"] == "/field/visit/?household=H2"
    assert item["text"] == f"走访重点人员：低保户，{w.h2.head_name}，G1 road 2，应于{TODAY}前走访"
    # Not for anyone else: the other grid's leader, the village staff, the central household.
    for other in ("leader2", "assistant", "secretary", "central"):
        assert care.due_for_user(w.users[other], TODAY) == [], other
    # A visit logged for the household today removes it, and it is due again in 30 days.
    log_visit(w.workers["leader1"], w.h2, TODAY)
    assert care.due_for_user(w.users["leader1"], TODAY) == []
    later = TODAY + dt.timedelta(days=30)
    assert ids(care.due_for_user(w.users["leader1"], later)) == [kp.pk]
    assert care.due_for_user(w.users["leader1"], later - dt.timedelta(days=1)) == []


def test_the_to_do_page_the_api_and_the_badge_show_it_to_the_responsible_person_only(w, client):
    kp = w.key_person(w.h2, "low_income", TODAY)
    w.key_person(w.h3, "low_income", TODAY + dt.timedelta(days=1))  # leader2's, tomorrow
    client.force_login(w.users["leader1"])
    html = client.get("/todo/").content.decode()
    assert 'data-extra="visit_key_person"' in html and f'data-household="{w.h2.code}"' in html
    assert 'href="/households/H2/"' in html and 'href="/field/visit/?household=H2"' in html
    assert "走访重点人员：低保户" in html and f"应于{TODAY.isoformat()}前走访" in html
    assert 'data-todo-count="1"' in html
    # Another page's badge (the context processor: one UNION ALL count).
    assert 'data-todo-count="1"' in client.get("/map/").content.decode().split("<main")[0]
    api = APIClient()
    api.force_authenticate(w.users["leader1"])
    body = api.get("/api/todo/").json()
    assert body["counts"]["visit_key_person"] == 1 and body["counts"]["total"] == 1
    (section,) = body["extra"]
    assert section["key"] == "visit_key_person" and ids(section["items"]) == [kp.pk]
    assert body["results"] == []
    # leader2's key person is due tomorrow: nothing today.
    client.force_login(w.users["leader2"])
    html = client.get("/todo/").content.decode()
    assert "visit_key_person" not in html and "gm-badge" not in html.split("<main")[0]
    # Logged: it leaves the to do and the badge.
    log_visit(w.workers["leader1"], w.h2, TODAY)
    client.force_login(w.users["leader1"])
    html = client.get("/todo/").content.decode()
    assert "visit_key_person" not in html and 'data-todo-count="' not in html


def test_the_badge_stays_one_query_with_key_persons(w, django_assert_num_queries):
    from accounts.selectors import granted_account, jurisdiction_prefixes, today_assignments
    from incidents.context_processors import TodoBadge

    w.key_person(w.h2, "low_income", TODAY)
    user = type(w.users["leader1"]).objects.get(pk=w.users["leader1"].pk)
    jurisdiction_prefixes(user), today_assignments(user), granted_account(user)
    with django_assert_num_queries(1):
        assert TodoBadge(user).count == 1


# --- who is responsible -----------------------------------------------------------------------
def test_grid_leader_rule_follows_the_households_grid_and_the_day(w):
    a = w.key_person(w.h1, "low_income", TODAY)
    b = w.key_person(w.h3, "low_income", TODAY)
    assert ids(care.due_for_user(w.users["leader1"], TODAY)) == [a.pk]
    assert ids(care.due_for_user(w.users["leader2"], TODAY)) == [b.pk]
    # A handover: leader1's assignment ends today, a new leader takes G1 from today.
    from psycopg.types.range import Range

    assignment = w.workers["leader1"].assignments.get()
    assignment.period = Range(assignment.period.lower, TODAY, "[)")
    assignment.save()
    newcomer = WorkerFactory(user=UserFactory(username="care-new"))
    RoleAssignmentFactory(worker=newcomer, role=Role.GRID_LEADER, grid=w.g1,
                          period=Range(TODAY, None, "[)"))  # fmt: skip
    assert care.due_for_user(w.users["leader1"], TODAY) == []
    assert ids(care.due_for_user(newcomer.user, TODAY)) == [a.pk]


def test_central_household_rule_and_its_fallback_to_the_grid_leader(w):
    served = w.key_person(w.h1, "left_behind_elderly", TODAY)  # h1 is in the central's unit
    unserved = w.key_person(w.h2, "left_behind_elderly", TODAY)  # h2 in no unit
    assert ids(care.due_for_user(w.users["central"], TODAY)) == [served.pk]
    assert ids(care.due_for_user(w.users["leader1"], TODAY)) == [unserved.pk]
    # The unit loses its central household: the grid leader takes it.
    w.unit.central_household = None
    w.unit.save()
    assert care.due_for_user(w.users["central"], TODAY) == []
    assert sorted(ids(care.due_for_user(w.users["leader1"], TODAY))) == sorted(
        [served.pk, unserved.pk]
    )


def test_village_staff_rule_reaches_the_assistant_and_the_secretary(w):
    kp = w.key_person(w.h3, "petitioner", TODAY)  # every 7 days, village staff
    assert ids(care.due_for_user(w.users["assistant"], TODAY)) == [kp.pk]
    assert ids(care.due_for_user(w.users["secretary"], TODAY)) == [kp.pk]
    assert care.due_for_user(w.users["leader2"], TODAY) == []
    other = VillageFactory()
    stranger = WorkerFactory(user=UserFactory(username="care-stranger"))
    RoleAssignmentFactory(worker=stranger, role=Role.VILLAGE_ASSISTANT, village=other)
    assert care.due_for_user(stranger.user, TODAY) == []


def test_a_visit_before_since_or_after_the_day_does_not_count(w):
    kp = w.key_person(w.h2, "low_income", TODAY)
    log_visit(w.workers["leader1"], w.h2, kp.since - dt.timedelta(days=1))
    log_visit(w.workers["leader1"], w.h2, TODAY + dt.timedelta(days=2))
    (row,) = care.due_key_persons(TODAY).filter(household__grid__village=w.village)
    assert row.pk == kp.pk and row.last_visit_at is None and row.due_on == TODAY


def test_an_ended_key_person_or_a_category_out_of_use_is_not_due(w):
    kp = w.key_person(w.h2, "low_income", TODAY - dt.timedelta(days=3))
    assert care.due_for_user(w.users["leader1"], TODAY)[0]["days_overdue"] == 3
    care.key_person_end(kp, until=TODAY - dt.timedelta(days=1))
    assert care.due_key_persons(TODAY).filter(household__grid__village=w.village).count() == 0
    with pytest.raises(ValidationError):
        care.key_person_end(kp)
    again, created = care.key_person_add(household=w.h2, category=category("low_income"),
                                         since=TODAY - dt.timedelta(days=30))  # fmt: skip
    assert (
        created
        and care.due_key_persons(TODAY).filter(household__grid__village=w.village).get().pk
        == again.pk
    )
    assert care.key_person_add(household=w.h2, category=category("low_income")) == (again, False)
    CareCategory.objects.filter(pk=again.category_id).update(active=False)
    assert care.due_key_persons(TODAY).filter(household__grid__village=w.village).count() == 0


def test_the_name_is_masked_for_a_login_that_does_not_visit_households(w):
    w.key_person(w.h1, "left_behind_elderly", TODAY)
    (item,) = care.due_for_user(w.users["central"], TODAY)  # no role: names masked
    assert item["who"] == mask_name("王小明") == "王**"
    w.unit.central_household = None
    w.unit.save()
    (item,) = care.due_for_user(w.users["leader1"], TODAY)
    assert item["who"] == "王小明"


# --- the report's and the coverage check's figures -------------------------------------------
def test_overdue_count_by_worker(w):
    w.key_person(w.h1, "low_income", TODAY - dt.timedelta(days=2))  # leader1, overdue
    w.key_person(w.h2, "low_income", TODAY)  # leader1, due today: not overdue
    w.key_person(w.h2, "left_behind_elderly", TODAY - dt.timedelta(days=1))  # no unit: leader1
    w.key_person(w.h1, "left_behind_elderly", TODAY - dt.timedelta(days=5))  # central
    w.key_person(w.h3, "petitioner", TODAY - dt.timedelta(days=1))  # assistant and secretary
    w.key_person(w.h3, "low_income", TODAY - dt.timedelta(days=9))  # leader2
    wid = {k: v.pk for k, v in w.workers.items()}
    counts = care.overdue_count_by_worker(list(wid.values()), TODAY)
    assert counts == {wid["leader1"]: 2, wid["leader2"]: 1, wid["assistant"]: 1,
                      wid["secretary"]: 1, wid["central"]: 1}  # fmt: skip
    assert care.overdue_count_by_worker([], TODAY) == {}


def test_the_coverage_check_lists_key_persons_not_visited_within_their_interval(w):
    w.key_person(w.h1, "low_income", TODAY - dt.timedelta(days=4))
    w.key_person(w.h3, "petitioner", TODAY - dt.timedelta(days=1))
    w.key_person(w.h2, "low_income", TODAY)  # due today: not yet overdue
    visited = w.key_person(w.h2, "left_behind_child", TODAY - dt.timedelta(days=2))
    log_visit(w.workers["leader1"], visited.household, TODAY - dt.timedelta(days=1))
    figures = check_key_persons(w.village.code)
    assert figures["key_persons"] == 4 and figures["key_persons_overdue"] == 2
    assert [r["household"] for r in figures["key_persons_not_visited"]] == ["H1", "H3"]
    assert figures["key_persons_not_visited"][0] == {
        "household": "H1", "category": "低保户", "grid": w.g1.code,
        "due_on": (TODAY - dt.timedelta(days=4)).isoformat(), "days_overdue": 4,
    }  # fmt: skip
    assert {r["category"]: r["overdue"] for r in figures["overdue_by_category"]} == {
        "低保户": 1, "信访人员": 1}  # fmt: skip
    assert check_key_persons(w.g2.code)["key_persons_overdue"] == 1
    assert list(
        care.overdue_in_area(w.g1.code, TODAY).values_list("household__code", flat=True)
    ) == ["H1"]


def test_the_coverage_report_labels_the_new_check(w):
    from coverage.export import labelled

    figures = check_key_persons(w.village.code)
    for key, value in figures.items():
        assert labelled(key), key
        if isinstance(value, list):
            for row in value:
                assert all(labelled(k) for k in row), row


# --- tags to categories -----------------------------------------------------------------------
def test_tags_become_key_persons_once_with_the_districts_own_category(w):
    w.h1.tags = ["left_behind_elderly", "military_family"]
    w.h1.save()
    w.h2.tags = ["low_income", "disability"]
    w.h2.save()
    district = w.village.town.district
    own = CareCategory.objects.create(code="low_income", name="本区低保", visit_every_days=20,
                                      visitor="grid_leader", district=district)  # fmt: skip
    # (Every household when no ids are given; here ours only: the test database may hold
    # the committed demo.)
    mine = [w.h1.pk, w.h2.pk, w.h3.pk]
    made = care.key_persons_from_tags(household_ids=mine, since=TODAY)
    assert made == 3
    rows = set(
        KeyPerson.objects.filter(household_id__in=mine).values_list(
            "household__code", "category__code", "category__district_id"
        )
    )
    assert rows == {("H1", "left_behind_elderly", None), ("H2", "low_income", district.pk),
                    ("H2", "disability", None)}  # fmt: skip
    assert KeyPerson.objects.get(household=w.h2, category__code="low_income").category == own
    assert care.key_persons_from_tags(household_ids=mine, since=TODAY) == 0  # idempotent
    w.h3.tags = ["special_hardship"]
    w.h3.save()
    assert care.key_persons_from_tags(household_ids=[w.h3.pk]) == 1


def test_the_default_categories_are_there():
    got = {c.code: (c.name, c.visit_every_days, c.visitor)
           for c in CareCategory.objects.filter(district=None)}  # fmt: skip
    assert got["low_income"] == ("低保户", 30, "grid_leader")
    assert got["petitioner"] == ("信访人员", 7, "village_staff")
    assert got["living_alone_elderly"] == ("独居老人", 14, "central_household")
    assert len(got) == 8


def test_the_coverage_pages_list_leads_to_each_households_file(w):
    from coverage.export import sections
    from coverage.links import link_sections

    w.key_person(w.h1, "low_income", TODAY - dt.timedelta(days=4))
    (section,) = sections({"checks": {"key_persons": check_key_persons(w.village.code)}})
    link_sections([section], area_code=w.village.code, user=w.users["leader1"])
    (figure,) = [f for f in section.figures if f.name == "key_persons_not_visited"]
    assert figure.value == 1 and figure.href == f"#items-{figure.key}"
    assert figure.cell_links[0]["household"] == "/households/H1/"
    assert figure.cell_links[0]["grid"] == f"/map/?grid={w.g1.code}"
    # A county number with a "/" is keyed by the household's id (one path segment).
    Household.objects.filter(pk=w.h1.pk).update(code="12/3")
    (section,) = sections({"checks": {"key_persons": check_key_persons(w.village.code)}})
    link_sections([section], area_code=w.village.code, user=w.users["leader1"])
    (figure,) = [f for f in section.figures if f.name == "key_persons_not_visited"]
    assert figure.cell_links[0]["household"] == f"/households/~{w.h1.pk}/"


# --- the admin ---------------------------------------------------------------------------------
def test_a_district_admin_edits_their_districts_categories_and_reads_the_global_ones(w, client):
    from django.contrib.auth.models import Permission

    from accounts.models import AccountRole
    from accounts.services import account_upsert

    district = w.village.town.district
    account = account_upsert(username="care-district", password="pass-word-1",
                             role=AccountRole.DISTRICT_ADMIN, codes=[district.code])  # fmt: skip
    account.user.user_permissions.set(Permission.objects.filter(content_type__app_label="presence"))
    client.force_login(account.user)
    glob = category("low_income")
    form = {"code": "low_income", "name": "本区低保", "visit_every_days": 20,
            "visitor": "grid_leader", "active": "on"}  # fmt: skip
    # A global category: read, not changed.
    assert client.get(f"/admin/presence/carecategory/{glob.pk}/change/").status_code == 200
    res = client.post(f"/admin/presence/carecategory/{glob.pk}/change/", form)
    assert res.status_code == 403
    glob.refresh_from_db()
    assert glob.visit_every_days == 30
    # No global category from a district admin; their district's own, yes.
    res = client.post("/admin/presence/carecategory/add/", form)
    assert res.status_code == 200 and not CareCategory.objects.filter(name="本区低保").exists()
    res = client.post("/admin/presence/carecategory/add/", {**form, "district": district.pk})
    assert res.status_code == 302
    own = CareCategory.objects.get(name="本区低保")
    assert own.district == district
    # Another district's category is not theirs to see.
    other = CareCategory.objects.create(
        code="x", name="他区", visit_every_days=9, visitor="grid_leader", district=DistrictFactory()
    )
    assert client.get(f"/admin/presence/carecategory/{other.pk}/change/").status_code == 302
    html = client.get("/admin/presence/carecategory/").content.decode()
    assert "本区低保" in html and "低保户" in html and "他区" not in html
