"""A small world for the assessments: one district, one town, three villages (A, B, C) with a
grid each, a station over A and B, and a helper making cases with their KPI fields set by
hand (the KPIs read those fields: reports.kpis)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from accounts.models import AccountRole
from assessments.models import Cycle, CycleKind, Indicator, Scheme
from grids.models import District, Grid, Role, Station, Town, Village
from incidents.models import Category, Incident
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    DistrictFactory,
    GridFactory,
    RoleAssignmentFactory,
    StationFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    WorkerFactory,
    current_generation,
)

TZ = timezone.get_default_timezone()
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
FEBRUARY = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


@dataclass
class World:
    district: District
    town: Town
    a: Village
    b: Village
    c: Village
    grids: dict[str, Grid]
    station: Station
    root: Any


@pytest.fixture
def world(db) -> World:
    district = DistrictFactory(code="990150")
    town = TownFactory(district=district, code="990150001")
    a = VillageFactory(town=town, code="990150001001", name="Village A")
    b = VillageFactory(town=town, code="990150001002", name="Village B")
    c = VillageFactory(town=town, code="990150001003", name="Village C")
    grids = {v.name[-1]: GridFactory(village=v, code=v.code + "001") for v in (a, b, c)}
    station = StationFactory(town=town, code="990150001S01", name="Station 1")
    for v in (a, b):
        CatchmentAssignmentFactory(village=v, station=station)
    root = UserFactory(username="assess-root", is_superuser=True, is_staff=True)
    return World(district, town, a, b, c, grids, station, root)


def case(code: str, reported: dt.datetime, *, closed: bool = False, on_time: bool = True,
         rework: int = 0, satisfaction: int | None = None) -> Incident:  # fmt: skip
    """A case of place ``code`` with its KPI fields set: closed (on time or not) a day after
    it was reported, reopened ``rework`` times, rated ``satisfaction``."""
    closed_at = reported + dt.timedelta(days=1) if closed else None
    return Incident.objects.create(
        location=Point(100.02, 0.05, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="blue",
        description="x",
        reporter=UserFactory(),
        reported_at=reported,
        generation=current_generation(),
        place_code=code,
        responsible_level="grid",
        owner_code=code,
        status="closed" if closed else "acknowledged",
        resolved_at=closed_at,
        closed_at=closed_at,
        closed_on_time=on_time if closed else None,
        rework_count=rework,
        satisfaction=satisfaction,
    )


def village_scheme(name: str = "Three indicators") -> Scheme:
    """The small scheme of acceptance 3: three indicators over the case KPIs."""
    scheme = Scheme.objects.create(name=name, level="village", kind=CycleKind.MONTHLY)
    Indicator.objects.create(
        scheme=scheme, key="closure", name="Closure", weight=Decimal(50),
        formula="100 * case_closure_rate", min_samples=4, order=0,
    )  # fmt: skip
    Indicator.objects.create(
        scheme=scheme, key="on_time", name="On time", weight=Decimal(30),
        formula="100 * case_on_time_rate", min_samples=2, order=1,
    )  # fmt: skip
    Indicator.objects.create(
        scheme=scheme, key="rework", name="Rework", weight=Decimal(20),
        formula="100 * case_rework_rate", direction="lower", min_samples=4, order=2,
    )  # fmt: skip
    return scheme


def cycle_of(scheme: Scheme, period: tuple[dt.date, dt.date], district: Any = None) -> Cycle:
    return Cycle.objects.create(
        scheme=scheme, kind=scheme.kind, starts_on=period[0], ends_on=period[1],
        district=district,
    )  # fmt: skip


def person_login(role: str, **place: Any) -> Any:
    """A login whose worker holds ``role`` on ``place`` (village=..., station=..., ...)."""
    user = UserFactory()
    worker = WorkerFactory(user=user)
    RoleAssignmentFactory(worker=worker, role=role, **place)
    return user


def admin_login(district: District, role: str = AccountRole.DISTRICT_ADMIN) -> Any:
    user = UserFactory(is_staff=True)
    AccountFactory(user=user, role=role, codes=[district.code])
    return user


__all__ = ["Role"]
