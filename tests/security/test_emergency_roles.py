"""Threat: the new emergency roles and the re-grading step open a way around jurisdiction
(issue 12, items 4 and 5).

- A town's on-duty officer is given the town's red cases for a day. If the access of that
  role did not end with the day, yesterday's officer would keep reading and acting on the
  town's cases; if it were not tied to the town, an officer would see another town's.
- The village team (legal adviser, auxiliary police) reads its village's cases, not the
  neighbouring village's.
- Re-grading (研判) re-routes a case: someone who did not receive it (a neighbour, the
  supervising station, or the handler after acknowledging) could divert it to another level
  or quietly downgrade an emergency.

Fixed: the roles are dated ``grids.RoleAssignment`` rows on their place
(``Role.TOWN_DUTY_OFFICER`` is a town role, one holder a day; the village team are village
roles), so ``accounts.selectors.jurisdiction_prefixes`` and the case parties of
``cases.workflow`` follow them on the day; ``assess`` is a transition of the one rule, for
the owning level's handlers while the case is ``reported``, through ``case_act`` (row lock,
version, one history event).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from psycopg.types.range import Range

from accounts.selectors import jurisdiction_prefixes
from cases.workflow import Action, allowed_actions
from grids.models import Role
from incidents.models import CaseEvent, Incident
from incidents.selectors import incidents_visible_to
from tests.factories import RoleAssignmentFactory, UserFactory, WorkerFactory
from tests.incidents.test_routing import build_world, world_generation
from tests.incidents.test_workflow import CaseWorld, actions_url, build_case_world, new_case

DAY = dt.timedelta(days=1)


@pytest.fixture
def cw(db) -> CaseWorld:
    return build_case_world(build_world(world_generation()))


def officer(cw: CaseWorld, first: dt.date, *, town=None, name: str = "duty") -> object:
    user = UserFactory(username=f"{name}-{first.isoformat()}")
    RoleAssignmentFactory(
        role=Role.TOWN_DUTY_OFFICER,
        worker=WorkerFactory(name=name, user=user),
        town=town or cw.world.t1,
        period=Range(first, first + DAY, "[)"),
    )
    return user


def test_the_on_duty_officer_has_the_town_for_their_day_only(cw):
    today = timezone.localdate()
    red = new_case(cw, "red")  # owned by town T1
    yesterday = officer(cw, today - DAY, name="yesterday")
    on_duty = officer(cw, today, name="today")
    elsewhere = officer(cw, today, town=cw.world.t2, name="t2")

    assert jurisdiction_prefixes(on_duty) == [cw.t1]
    assert incidents_visible_to(on_duty).filter(pk=red.pk).exists()
    assert Action.ACKNOWLEDGE in allowed_actions(user=on_duty, case=red)

    for user in (yesterday, elsewhere):
        assert cw.t1 not in (jurisdiction_prefixes(user) or [])
        assert not incidents_visible_to(user).filter(pk=red.pk).exists()
        assert allowed_actions(user=user, case=red) == []


def test_the_village_team_reads_its_own_village_only(cw):
    lawyer = UserFactory(username="v2-lawyer")
    RoleAssignmentFactory(
        role=Role.VILLAGE_LAWYER,
        worker=WorkerFactory(name="V2 lawyer", user=lawyer),
        village=cw.world.v2,
        period=Range(timezone.localdate() - 30 * DAY, None, "[)"),
    )
    yellow_in_v1 = new_case(cw, "yellow")
    assert jurisdiction_prefixes(lawyer) == [cw.world.v2.code]
    assert not incidents_visible_to(lawyer).filter(pk=yellow_in_v1.pk).exists()


@pytest.mark.parametrize(
    ("who", "acknowledged", "status"),
    [
        ("other_grid_leader", False, 404),  # cannot see the case at all
        ("station_head", False, 403),  # supervises it, did not receive it
        ("reporter", False, 403),
        ("grid_leader", True, 403),  # received it, but has acknowledged it already
    ],
)
def test_only_the_receiving_level_regrades_a_case_and_only_before_acknowledging(
    api_client, cw, who, acknowledged, status
):
    incident = new_case(cw, "blue")
    if acknowledged:
        api_client.force_authenticate(cw.users["grid_leader"])
        api_client.post(
            actions_url(incident),
            {"action": "acknowledge", "version": incident.version},
            format="json",
        )
    before = Incident.objects.get(pk=incident.pk)
    api_client.force_authenticate(cw.users[who])
    response = api_client.post(
        actions_url(incident),
        {
            "action": "assess",
            "version": before.version,
            "note": "downgrade it",
            "data": {"severity": "red"},
        },
        format="json",
    )
    assert response.status_code == status
    after = Incident.objects.get(pk=incident.pk)
    assert (after.version, after.severity, after.owner_level, after.owner_code) == (
        before.version,
        before.severity,
        before.owner_level,
        before.owner_code,
    )
    assert not CaseEvent.objects.filter(incident=incident, action="assess").exists()
