"""Threat: a leader who hands over a grid keeps reading its households, cases and inbox
(issue 12, item 1; acceptance 1).

A login's jurisdiction was ``accounts.Account.codes``, typed by hand and not tied to the dated
role assignments that routing uses, so a handover moved the routing but not the access: the
old leader's token kept the grid's households (with ID numbers and phones), its cases and the
inbox entries about them, and the new leader saw nothing until someone edited an account.

Fixed: ``accounts.selectors.jurisdiction_prefixes`` (the one policy) derives a person's places
from their worker's *active* role assignments on the day; a place-level account of a person's
login counts for nothing (``granted_account``: only office grants and logins that are nobody's
worker keep theirs); masking (``can_see_personal_data``) and the case parties
(``cases.workflow``) follow the same assignments; the inbox shows an entry only while its
subject is visible (``inbox.selectors.register_subject_scope``). The test hands a grid over
today, with no ``Account`` edit (the old leader even keeps a hand-typed account for the grid).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import timezone
from psycopg.types.range import Range
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account, AccountRole
from accounts.selectors import can_see_personal_data, jurisdiction_prefixes
from cases.workflow import Action, allowed_actions
from grids.models import Role
from incidents.models import Category
from incidents.services import incident_create
from reports.kpi_views import default_unit
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    GridFactory,
    HouseholdFactory,
    RoleAssignmentFactory,
    StationFactory,
    UserFactory,
    WorkerFactory,
    since,
)
from weekly.services import may_publish, may_submit_station_summary, may_submit_village_report

pytestmark = pytest.mark.django_db

ADDRESS = "HANDOVERMARK road 1"
WHERE = Point(100.01, 0.01, srid=4326)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def handover():
    """A grid with a household and a case routed to its leader; then, today, the leader hands
    the grid over to a successor (the old assignment ends today, the new one starts today)."""
    grid = GridFactory()
    HouseholdFactory(grid=grid, address=ADDRESS)
    old = WorkerFactory(name="旧网格长", user=UserFactory(username="old-leader"))
    new = WorkerFactory(name="新网格长", user=UserFactory(username="new-leader"))
    held = RoleAssignmentFactory(worker=old, role=Role.GRID_LEADER, grid=grid, period=since(90))
    # A hand-typed place-level account for the grid: it must not keep the access alive.
    AccountFactory(user=old.user, role=AccountRole.GRID_WORKER, codes=[grid.code])
    reporter = UserFactory(username="reporter")
    category = Category.objects.filter(is_active=True).order_by("ordering").first()
    before, _ = incident_create(
        actor=reporter, point=WHERE, category=category, severity=None,
        description="HANDOVERMARK before",
    )  # fmt: skip
    assert old.notifications.filter(subject_id=before.pk).exists()  # routed to the old leader
    clients = {"old": token_client(old.user), "new": token_client(new.user)}
    assert ADDRESS in clients["old"].get(reverse("household-list")).content.decode()
    today = timezone.localdate()
    held.period = Range(held.period.lower, today, "[)")
    held.save()
    RoleAssignmentFactory(
        worker=new, role=Role.GRID_LEADER, grid=grid, period=Range(today, None, "[)")
    )
    accounts = list(Account.objects.values())
    return {"grid": grid, "old": old, "new": new, "case": before, "clients": clients,
            "reporter": reporter, "category": category, "accounts": accounts}  # fmt: skip


def test_after_a_handover_the_old_leader_gets_nothing_and_the_new_leader_everything(handover):
    grid, case = handover["grid"], handover["case"]
    after, _ = incident_create(
        actor=handover["reporter"], point=WHERE, category=handover["category"], severity=None,
        description="HANDOVERMARK after",
    )  # fmt: skip
    old, new = handover["clients"]["old"], handover["clients"]["new"]

    households = reverse("household-list")
    assert ADDRESS not in old.get(households).content.decode()
    assert ADDRESS in new.get(households).content.decode()

    cases = reverse("incident-list")
    assert "HANDOVERMARK" not in old.get(cases).content.decode()
    body = new.get(cases).content.decode()
    assert "HANDOVERMARK before" in body and "HANDOVERMARK after" in body
    for pk in (case.pk, after.pk):
        assert old.get(reverse("incident-detail", args=[pk])).status_code == 404
        assert new.get(reverse("incident-detail", args=[pk])).status_code == 200

    inbox = reverse("inbox")
    # The old leader's entry about the grid's case is gone from their inbox (it stays stored).
    assert handover["old"].notifications.filter(subject_id=case.pk).exists()
    assert old.get(inbox).json()["count"] == 0
    assert old.get(inbox).json()["unread"]["total"] == 0
    # The case reported after the handover is routed to the new leader's inbox.
    entries = new.get(inbox).json()["results"]
    assert [e["incident"] for e in entries] == [after.pk]

    assert jurisdiction_prefixes(handover["old"].user) == []
    assert jurisdiction_prefixes(handover["new"].user) == [grid.code]
    # No account was created or edited on the way.
    assert list(Account.objects.values()) == handover["accounts"]


def test_masking_and_case_actions_follow_the_assignments(handover):
    old, new, case = handover["old"].user, handover["new"].user, handover["case"]
    assert not can_see_personal_data(old)
    assert can_see_personal_data(new)
    assert allowed_actions(user=old, case=case) == []
    assert Action.ACKNOWLEDGE in allowed_actions(user=new, case=case)


def test_an_assignment_ending_tomorrow_still_gives_access_today(handover):
    """The handover moves access on its date, not before: the successor of a handover dated
    tomorrow does not see the grid yet."""
    grid = handover["grid"]
    later = WorkerFactory(user=UserFactory(username="later-leader"))
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    RoleAssignmentFactory(
        worker=later, role=Role.GRID_MEMBER, grid=grid, period=Range(tomorrow, None, "[)")
    )
    assert jurisdiction_prefixes(later.user) == []
    assert ADDRESS not in token_client(later.user).get(reverse("household-list")).content.decode()


def test_a_station_role_sees_the_catchment_and_an_office_grant_keeps_its_codes(handover):
    grid = handover["grid"]
    station = StationFactory(town=grid.village.town)
    CatchmentAssignmentFactory(station=station, village=grid.village)
    head = WorkerFactory(user=UserFactory(username="station-head"))
    RoleAssignmentFactory(worker=head, role=Role.STATION_HEAD, station=station, period=since(9))
    assert jurisdiction_prefixes(head.user) == [grid.village.code]
    assert not can_see_personal_data(head.user)
    planner = AccountFactory(role=AccountRole.PLANNER, codes=[grid.village.town.code])
    WorkerFactory(user=planner.user)  # a person, but planners hold no place role
    assert jurisdiction_prefixes(planner.user) == [grid.village.town.code]


def test_weekly_reports_and_home_pages_follow_the_assignments(handover):
    """Acting for a place (submitting the village's weekly report, the station's summary,
    publishing the town's task list) and the place a person's own pages open on (weekly, the
    dashboard) come from the same assignments, not from an account's codes."""
    grid = handover["grid"]
    village, town = grid.village, grid.village.town
    secretary = WorkerFactory(user=UserFactory(username="village-secretary"))
    held = RoleAssignmentFactory(
        worker=secretary, role=Role.VILLAGE_SECRETARY, village=village, period=since(30)
    )
    station = StationFactory(town=town)
    CatchmentAssignmentFactory(station=station, village=village)
    deputy = WorkerFactory(user=UserFactory(username="station-deputy"))
    RoleAssignmentFactory(worker=deputy, role=Role.STATION_DEPUTY, station=station, period=since(9))
    # A hand-typed town account on a person's login counts for nothing.
    AccountFactory(user=secretary.user, role=AccountRole.TOWN_STAFF, codes=[town.code])

    assert may_submit_village_report(secretary.user, village.code)
    assert not may_publish(secretary.user, town.code)
    assert may_submit_station_summary(deputy.user, station.code)
    assert not may_submit_village_report(deputy.user, village.code)
    assert default_unit(secretary.user) == ("village", village.code)
    assert default_unit(deputy.user) == ("station", station.code)
    assert default_unit(handover["new"].user) == ("grid", grid.code)

    client = APIClient()
    client.force_login(secretary.user)
    home = client.get(reverse("weekly"))
    assert home.status_code == 302 and village.code in home["Location"]

    # The secretary hands the village over today: the right goes with the assignment.
    held.period = Range(held.period.lower, timezone.localdate(), "[)")
    held.save()
    fresh = type(secretary.user).objects.get(pk=secretary.user.pk)
    assert not may_submit_village_report(fresh, village.code)


def test_after_a_handover_the_to_do_moves_to_the_new_leader(handover, client):
    """The to do (issue 12, item 2) lists what waits on the person by the same assignments:
    the old leader, though still a recipient of the case routed to them and still holding a
    hand-typed grid account, has nothing; the new leader has both cases to acknowledge."""
    after, _ = incident_create(
        actor=handover["reporter"], point=WHERE, category=handover["category"], severity=None,
        description="HANDOVERMARK after",
    )  # fmt: skip
    old, new = handover["clients"]["old"], handover["clients"]["new"]
    todo = reverse("todo-api")
    assert old.get(todo).json()["count"] == 0
    assert "HANDOVERMARK" not in old.get(todo).content.decode()
    items = {r["id"]: r["action"] for r in new.get(todo).json()["results"]}
    assert items == {handover["case"].pk: "acknowledge", after.pk: "acknowledge"}
    client.force_login(handover["old"].user)
    assert "gm-badge" not in client.get(reverse("todo")).content.decode()
    assert list(Account.objects.values()) == handover["accounts"]
