"""The weekly world: ``tests.incidents.test_routing``'s places (town T1 with villages V1 and
V2 in station S1's catchment, town T2 without villages) and a login for each role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from accounts.models import AccountRole
from incidents.models import Category, Incident
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_routing import World, build_world, world_generation
from weekly.selectors import current_week

TZ = timezone.get_default_timezone()


@dataclass
class WeeklyWorld:
    world: World
    users: dict[str, Any]
    week: dt.date  # a Monday three weeks ago: every deadline of it has passed

    def at(self, day: int, hh_mm: str) -> dt.datetime:
        """Local time on day ``day`` (0 = Monday) of the week."""
        return dt.datetime.combine(
            self.week + dt.timedelta(days=day), dt.time.fromisoformat(hh_mm), tzinfo=TZ
        )


def _login(username: str, role: str, code: str) -> Any:
    return AccountFactory(user=UserFactory(username=username), role=role, codes=[code]).user


@pytest.fixture
def ww(db) -> WeeklyWorld:
    world = build_world(world_generation())
    users = {
        "town": _login("t1-staff", AccountRole.TOWN_STAFF, world.t1.code),
        "other_town": _login("t2-staff", AccountRole.TOWN_STAFF, world.t2.code),
        "v1": _login("v1-staff", AccountRole.VILLAGE_STAFF, world.v1.code),
        "v2": _login("v2-staff", AccountRole.VILLAGE_STAFF, world.v2.code),
        "station": _login("s1-staff", AccountRole.STATION_STAFF, world.station.code),
        "grid": _login("w-worker", AccountRole.GRID_WORKER, world.west.code),
        "district": _login("d-admin", AccountRole.DISTRICT_ADMIN, world.district.code),
        "planner": _login("t1-planner", AccountRole.PLANNER, world.t1.code),
        "root": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    return WeeklyWorld(world, users, current_week() - dt.timedelta(weeks=3))


def incident(ww: WeeklyWorld, code: str, reported_at: dt.datetime, **fields: Any) -> Incident:
    """An incident at place ``code`` with its case fields set directly."""
    return Incident.objects.create(
        location=Point(100.02, 0.05, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="blue",
        description="x",
        reporter=ww.users["root"],
        reported_at=reported_at,
        generation=ww.world.generation,
        place_code=code,
        responsible_level="grid",
        owner_code=code,
        **fields,
    )
