"""Shared by the planning API and page tests: the 5 x 3 board of test_plans.py (village k at
column k % 5, row k // 5) with a planner of its town, a third station and households."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import AccountRole
from planning import services
from planning.models import Plan
from tests.factories import AccountFactory, GridFactory, HouseholdFactory, StationFactory
from tests.planning.test_plans import Board

# Every village of the town with a station: A 4, B 7 (full), D 4.
FULL = {"a": [0, 5, 10, 1], "b": [2, 3, 4, 7, 8, 9, 6], "d": [11, 12, 13, 14]}


class PlannerBoard(Board):
    """The board with a planner of its town, a third station, households in village 1 and
    the town's plan (A: 0 5 10 1; B: 2 3 4 7 8 9 6; D: 11 12 13 14)."""

    def __init__(self) -> None:
        super().__init__()
        self.d = StationFactory(town=self.town, code=f"{self.town.code}S03")
        self.planner = AccountFactory(role=AccountRole.PLANNER, codes=[self.town.code]).user
        grid = GridFactory(village=self.villages[1], geom=self.villages[1].geom)
        for size in (2, 3, 4):
            HouseholdFactory(grid=grid, size=size)

    def town_plan(self, **catchments: list[int]) -> Plan:
        self.publish(**catchments)
        return services.plan_create(actor=self.planner, name="2026", area_code=self.town.code)


@pytest.fixture
def town(db) -> PlannerBoard:
    return PlannerBoard()


@pytest.fixture
def client_for():
    """``client_for(user)``: an API client authenticated as ``user``."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
