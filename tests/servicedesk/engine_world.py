"""A small world for the service kind's tests: a village with a grid and a household, its
station, town and district, the people who may act for the village and some who may not,
and a catalogue item promising 5 working days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.range import Range

from accounts.models import AccountRole
from cases.models import Status
from grids.models import Role
from servicedesk.models import ApprovingLevel, ServiceItem, ServiceKind, ServiceRequest
from servicedesk.services import service_request_act, service_request_create
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    DistrictFactory,
    GenerationFactory,
    GridFactory,
    HouseholdFactory,
    RoleAssignmentFactory,
    StationFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Friday 26 September 2025, 10:00: the last working day before the National Day week-end
# (Saturday 27 off, Sunday 28 a make-up working day, Monday 29 and Tuesday 30 working,
# 1-8 October the National Day and Mid-Autumn holiday, Saturday 11 October made up).
FRIDAY = dt.datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)
HELD = Range(dt.date(2025, 1, 1), None, "[)")


def holder(role: str, name: str, **place: Any) -> Any:
    user = UserFactory(username=name)
    RoleAssignmentFactory(
        worker=WorkerFactory(user=user, name=name), role=role, period=HELD, **place
    )
    return user


@dataclass
class World:
    district: Any
    town: Any
    village: Any
    grid: Any
    other_village: Any
    station: Any
    household: Any
    item: Any
    users: dict[str, Any] = field(default_factory=dict)


def build_world() -> World:
    generation = GenerationFactory()
    district = DistrictFactory(geom=rect(100.0, 0.0, 100.4, 0.1), generation_low=generation)
    town = TownFactory(district=district, geom=rect(100.0, 0.0, 100.2, 0.1))
    village = VillageFactory(town=town, geom=rect(100.0, 0.0, 100.1, 0.1), name="Willow village")
    other = VillageFactory(town=town, geom=rect(100.1, 0.0, 100.2, 0.1), name="Pine village")
    grid = GridFactory(village=village, code=village.code + "001", geom=village.geom)
    station = StationFactory(town=town)
    CatchmentAssignmentFactory(village=village, station=station, period=HELD)
    CatchmentAssignmentFactory(village=other, station=station, period=HELD)
    household = HouseholdFactory(grid=grid, head_name="Wang Fang", phone="13812345678")
    item = ServiceItem.objects.create(
        code="MZ-001",
        name="Minimum living allowance",
        kind=ServiceKind.GOVERNMENT,
        approving_level=ApprovingLevel.COUNTY,
        promised_days=5,
    )
    w = World(district, town, village, grid, other, station, household, item)
    w.users = {
        "assistant": holder(Role.VILLAGE_ASSISTANT, "assistant", village=village),
        "secretary": holder(Role.VILLAGE_SECRETARY, "secretary", village=village),
        "other_assistant": holder(Role.VILLAGE_ASSISTANT, "other_assistant", village=other),
        "leader": holder(Role.GRID_LEADER, "leader", grid=grid),
        "head": holder(Role.STATION_HEAD, "head", station=station),
        "station_staff": AccountFactory(
            user=UserFactory(username="station_staff"),
            role=AccountRole.STATION_STAFF,
            codes=[station.code],
        ).user,
        "town_staff": AccountFactory(
            user=UserFactory(username="town_staff"), role=AccountRole.TOWN_STAFF, codes=[town.code]
        ).user,
        "dispatcher": holder(Role.TOWN_DISPATCHER, "dispatcher", town=town),
        "district_admin": AccountFactory(
            user=UserFactory(username="district_admin"),
            role=AccountRole.DISTRICT_ADMIN,
            codes=[district.code],
        ).user,
        "stranger": UserFactory(username="stranger"),
        "superuser": UserFactory(username="root", is_superuser=True),
    }
    return w


def take(
    w: World, who: str = "assistant", *, at: dt.datetime = FRIDAY, **kw: Any
) -> ServiceRequest:
    """A request for the world's household taken by ``who`` at ``at``."""
    kw.setdefault("household", w.household)
    kw.setdefault("applicant_name", "Wang Fang")
    kw.setdefault("applicant_phone", "13812345678")
    kw.setdefault("matter", "Apply for the minimum living allowance")
    return service_request_create(actor=w.users[who], item=w.item, at=at, **kw)


def act(
    w: World, who: str | None, request: ServiceRequest, action: str, **kw: Any
) -> ServiceRequest:
    """``who`` (None: the system) takes ``action`` on the request as it now is."""
    request.refresh_from_db()
    # A minute after its last event, unless told.
    last = request.events.order_by("-seq").values_list("at", flat=True).first()
    kw.setdefault("at", last + dt.timedelta(minutes=1))
    return service_request_act(
        actor=w.users[who] if who else None,
        request_id=request.pk,
        action=action,
        version=request.version,
        **kw,
    )


OPEN_WORK = [Status.ACKNOWLEDGED, Status.IN_PROGRESS]
