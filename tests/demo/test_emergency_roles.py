"""The demo's on-duty rota and village teams (``demo.emergency``, issue 12 item 4): every demo
town has exactly one officer on duty today, and a red incident in a demo grid reaches them;
a few villages have a legal adviser and an auxiliary police officer."""

from __future__ import annotations

import pytest
from django.contrib.gis.db.models.functions import PointOnSurface
from django.utils import timezone

from demo.emergency import TEAM_VILLAGES_PER_TOWN
from grids.models import Grid, Role, RoleAssignment, Town
from incidents.models import Category, Responder
from incidents.routing import route

PREFIX = "4507"


@pytest.fixture
def loaded(demo, db):
    """The demo, with database access for the test."""


def test_every_demo_town_has_one_officer_on_duty_today(loaded):
    towns = Town.objects.current().filter(code__startswith=PREFIX)
    on_duty = RoleAssignment.objects.active().filter(role=Role.TOWN_DUTY_OFFICER, town__in=towns)
    assert towns.count() > 0
    assert sorted(on_duty.values_list("town__code", flat=True)) == sorted(
        towns.values_list("code", flat=True)
    )


def test_a_few_villages_have_the_village_team(loaded):
    towns = Town.objects.current().filter(code__startswith=PREFIX).count()
    for role in (Role.VILLAGE_LAWYER, Role.AUXILIARY_POLICE):
        held = RoleAssignment.objects.active().filter(role=role, village__code__startswith=PREFIX)
        assert 0 < held.count() <= TEAM_VILLAGES_PER_TOWN * towns


def test_a_red_incident_in_a_demo_grid_reaches_the_officer_on_duty(loaded):
    grid = (
        Grid.objects.current()
        .filter(code__startswith=PREFIX)
        .annotate(inside=PointOnSurface("geom"))
        .order_by("code")
        .first()
    )
    result = route(
        point=grid.inside,
        at=timezone.now(),
        category=Category.objects.get(code="hazard"),
        severity="red",
    )
    officer = RoleAssignment.objects.active().get(
        role=Role.TOWN_DUTY_OFFICER, town__code=grid.code[:9]
    )
    on_duty = [p for p in result.recipients if p.responder == Responder.TOWN_DUTY_OFFICER]
    assert [(p.worker_id, p.role) for p in on_duty] == [(officer.worker_id, Role.TOWN_DUTY_OFFICER)]
