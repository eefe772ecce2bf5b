"""Threat: any URL lets a role cross into an area outside its jurisdiction (issue 11, item 3;
acceptance 3).

The hand-made attack found 98 crossings: the admin's workers and role assignments, the person
KPI, coverage's worker list, the answer to a report made next door. Each was fixed at its
root (``gridmap.admin.JurisdictionAdminMixin``, ``grids.selectors.workers_within``,
``incidents.selectors.sees_people_of``; see ``test_admin_jurisdiction.py``); this test keeps
the rule on EVERY URL, including the ones added later.

How: the world below holds an inside chain (grid G1 in village V1 in town T1 in district D1
in city C1) and, next to each level, an area outside the roles of that level: grid G2 (in V1),
village V2 (in T1), town T2 (in D1), district D2 (in C1) and a second city C2. Every name of
every place, case, plan, report, worker, resident and login carries a marker with the code of
its area: ``OUTSIDEMARK_<code>_`` on places and cases, ``PERSONMARK_<code>_`` on people.

The URL resolver is walked (``get_resolver()``, nested resolvers and the admin's included);
every pattern needs a rule in ``RULES`` (pages and API, by route) or is an admin URL of a
registered model (by model, ``ADMIN_OBJECTS``), or is listed in ``EXCLUDED`` with its
reason. A pattern without a rule fails the test, saying to add one. Each pattern is requested
as every role (each ``AccountRole``, anonymous, a worker with a login but no account, and
the holders of a village, station and town role whose access comes only from their role
assignment: issue 12's one identity),
with its parameters filled from the role's inside area and from the nearest outside area that
has such an object. A crossing is a marker, in any answer, of an area outside the role's
jurisdiction (public pages may name places and cases, never people), or a 2xx answer for an
outside object's detail or action URL. Staff roles are given every admin permission (the worst
case). Superusers see everything and are not checked.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import LineString, Point
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from django.utils.regex_helper import normalize
from PIL import Image
from psycopg.types.range import Range
from rest_framework.authtoken.models import Token

from accounts.models import AccountRole
from accounts.selectors import jurisdiction_prefixes
from accounts.services import account_upsert
from assessments.models import Appeal, Cycle, EvaluationEntry, Scheme, Score
from gridmap.codes import covers, prefix_of
from grids.models import (
    CatchmentAssignment,
    City,
    District,
    Generation,
    Grid,
    Role,
    RoleAssignment,
    ServiceCentre,
    Station,
    Town,
    Village,
    Worker,
)
from households.models import (
    CentralHousehold,
    Household,
    PartyBranch,
    PartyMember,
    TenHouseholdUnit,
)
from imports.models import ImportJob, JobState
from inbox.models import Delivery, Notification
from incidents import services as incident_services
from incidents.api import LIST_KEYSET
from incidents.models import CaseAttachment, CaseEvent, Category, IncidentPhoto
from ogcapi.collections import COLLECTIONS as OGC_COLLECTIONS
from open311.models import ApiKey, Open311Request
from open311.services import api_key_issue
from planning import services as planning_services
from presence import visits as presence_visits
from presence.models import CareCategory, DutyShift, KeyPerson, Patrol, SignIn, VisitPhoto
from presence.patrols import refresh_patrol_coverage
from servicedesk.models import ServiceItem
from servicedesk.services import service_request_create
from tests.factories import UserFactory, rect
from tiles.layers import tile_of
from weekly.models import StationWeeklySummary, VillageWeeklyReport, WeeklyTaskList

MARK = re.compile(r"(OUTSIDEMARK|PERSONMARK)_(\d+)_")


def mark(code: str, what: str) -> str:
    return f"OUTSIDEMARK_{code}_{what}"


def person(code: str, what: str) -> str:
    return f"PERSONMARK_{code}_{what}"


# --- the world ----------------------------------------------------------------------------------
@dataclass
class Area:
    """One area and an object of each kind in it (None where the area has no such object)."""

    tag: str
    code: str  # the prefix a jurisdiction must cover to see it
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class World:
    areas: list[Area]  # inside first, then outward: G2, V2, T2, D2, C2
    clients: dict[str, Client]
    allowed: dict[str, list[str] | None]

    def inside(self) -> Area:
        return self.areas[0]

    def outside_for(self, role: str, kind: str) -> Area | None:
        """The nearest area outside ``role``'s jurisdiction that has an object ``kind``."""
        mine = self.inside().objects.get(kind)
        for area in self.areas[1:]:
            obj = area.objects.get(kind)
            if obj is None or (mine is not None and obj.pk == mine.pk):
                continue  # G2's village is the inside village: not an outside one
            if not covers(self.allowed[role], area.code):
                return area
        return None


WEEK = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 7)
SINCE = Range(dt.date(2024, 1, 1), None, "[)")
X0 = 101.0  # far from the demo (lon 108) and from the factories (lon 100)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, format="JPEG")
    return buf.getvalue()


class Builder:
    def __init__(self) -> None:
        self.generation = Generation.objects.create(description="jurisdiction matrix")
        self.root = UserFactory(username="matrix-root", is_superuser=True, is_staff=True)
        self.category = Category.objects.filter(is_active=True).order_by("ordering").first()

    def boundary(self, model: type, code: str, x0: float, x1: float, **parent: Any) -> Any:
        return model.objects.create(
            code=code,
            name=mark(code, model.__name__.lower()),
            geom=rect(x0, 0.0, x1, 0.1),
            generation_low=self.generation,
            **parent,
        )

    def fill(self, area: Area, grid: Grid, station: Station | None, with_town: bool) -> None:
        """People, residents, a case, and (for a town or wider area) a plan in ``area``."""
        code = area.code
        o = area.objects
        o["grid"], o["village"], o["town"] = grid, grid.village, grid.village.town
        o["district"], o["city"] = grid.village.town.district, grid.village.town.district.city
        o["station"] = station
        worker = Worker.objects.create(name=person(code, "worker"), phone="13911112222")
        o["worker"] = worker
        o["roleassignment"] = RoleAssignment.objects.create(
            worker=worker, role=Role.GRID_LEADER, grid=grid, period=SINCE
        )
        cx = (grid.geom.extent[0] + grid.geom.extent[2]) / 2
        where = Point(cx, 0.05, srid=4326)
        o["building"] = grid.buildings.create(
            name=mark(code, "building"), footprint=where.buffer(0.0001)
        )
        o["servicecentre"] = ServiceCentre.objects.create(
            name=mark(code, "centre"), village=grid.village, location=where
        )
        household = Household.objects.create(
            address=mark(code, "address"), head_name=person(code, "head"), location=where,
            grid=grid, size=2, id_number="450702199001019999", phone="13822223333",
        )  # fmt: skip
        o["household"] = household
        branch = PartyBranch.objects.create(name=mark(code, "branch"), village=grid.village)
        member = PartyMember.objects.create(
            name=person(code, "member"), branch=branch, household=household
        )
        o["partybranch"], o["partymember"] = branch, member
        o["centralhousehold"] = CentralHousehold.objects.create(
            household=household, party_member=member, designated_on=dt.date(2024, 1, 1)
        )
        o["tenhouseholdunit"] = TenHouseholdUnit.objects.create(
            name=mark(code, "unit"), grid=grid, head_household=household
        )
        incident, _ = incident_services.incident_create(
            actor=self.root, point=where, category=self.category, severity=None,
            description=mark(code, "case"),
        )  # fmt: skip
        o["incident"] = incident
        report = incident.reports.order_by("id").first()
        photo = IncidentPhoto(report=report, content_type="image/jpeg", size=10)
        photo.image.save("p.jpg", ContentFile(_jpeg()), save=True)
        o["incidentphoto"] = photo
        event = CaseEvent.objects.filter(incident=incident).order_by("seq").first()
        o["caseevent"] = event
        attachment = CaseAttachment(event=event, content_type="application/pdf", size=10)
        attachment.file.save("a.pdf", ContentFile(b"%PDF-1.4 " + code.encode()), save=True)
        o["caseattachment"] = attachment
        o["notification"] = Notification.objects.filter(subject_id=incident.pk).first()
        # Its delivery records (one per channel, written with it; e-mail or "channel off").
        o["delivery"] = Delivery.objects.filter(notification=o["notification"]).first()
        # A visit of the area's grid leader to its household (presence, issue 14): its notes,
        # request and follow-up carry the area's marker; a photo served through the check.
        visit, _ = presence_visits.log_visit(
            worker, households=[household], notes=mark(code, "visit"),
            requests=[presence_visits.RequestRaised(text=mark(code, "request"))],
            follow_up=mark(code, "follow-up"),
        )  # fmt: skip
        o["visit"] = visit
        visit_photo = VisitPhoto(visit=visit, content_type="image/jpeg", size=10)
        visit_photo.image.save("v.jpg", ContentFile(_jpeg()), save=True)
        o["visitphoto"] = visit_photo
        login = account_upsert(
            username=person(code, "login"), password="pass-word-1",
            role=AccountRole.GRID_WORKER, codes=[grid.code],
        )  # fmt: skip
        o["account"], o["user"] = login, login.user
        o["token"] = Token.objects.create(user=login.user)
        # An import job of the area's login, its result naming a resident: only its uploader
        # (and superusers) may open it, whatever their jurisdiction.
        o["importjob"] = ImportJob.objects.create(
            user=login.user, kind="households", original_name=mark(code, "import.xlsx"),
            size=1, state=JobState.CHECKED,
            result={"rows": 1, "new": 1, "refused": 1, "points": [[X0, 0.05, "new"]],
                    "refusals": [{"sheet": "Sheet1", "row": 2, "column": "head_name",
                                  "message": person(code, "refused")}]},
        )  # fmt: skip
        # Duty shifts (issue 14): the area's worker on its village's roster, its station's
        # and (for a town or wider area) its town's.
        o["dutyshift"] = DutyShift.objects.create(
            worker=worker, village=grid.village, date=WEEK, note=mark(code, "duty")
        )
        if station is not None:
            DutyShift.objects.create(
                worker=worker, station=station, date=WEEK, note=mark(code, "station-duty")
            )
        if with_town:
            DutyShift.objects.create(
                worker=worker, town=grid.village.town, date=WEEK, note=mark(code, "town-duty")
            )
        # Presence (issue 14): the worker's sign-in and patrol today in the grid.
        x0, y0, x1, y1 = grid.geom.extent
        now = timezone.now()
        o["signin"] = SignIn.objects.create(
            worker=worker, at=now, day=timezone.localdate(), half=0, location=where,
            accuracy_m=10, place_level="grid", place_code=grid.code, role=Role.GRID_LEADER,
            verdict="outside", distance_m=300, note=mark(code, "signin"),
        )  # fmt: skip
        o["patrol"] = Patrol.objects.create(
            worker=worker, started_at=now, ended_at=now, day=timezone.localdate(),
            track=LineString((x0 + 0.01, 0.05), (x1 - 0.01, 0.05), srid=4326), offsets=[0, 60],
            length_m=100, points_received=2, grid=grid, place_code=grid.code,
        )  # fmt: skip
        refresh_patrol_coverage([o["patrol"].pk])
        if station is not None:
            o["villageweeklyreport"] = VillageWeeklyReport.objects.create(
                village_code=grid.village.code, station_code=station.code, week=WEEK,
                text=mark(code, "report"),
            )  # fmt: skip
            o["stationweeklysummary"] = StationWeeklySummary.objects.create(
                station_code=station.code, town_code=grid.village.town.code, week=WEEK,
                text=mark(code, "summary"),
            )  # fmt: skip
        if with_town:
            o["weeklytasklist"] = WeeklyTaskList.objects.create(
                town_code=grid.village.town.code, week=WEEK, items=[mark(code, "task")],
                note=mark(code, "note"),
            )  # fmt: skip
            o["plan"] = planning_services.plan_create(
                actor=self.root, name=mark(code, "plan"), area_code=grid.village.town.code
            )
            o["planstation"] = o["plan"].stations.order_by("code").first()
        # presence, care (issue 14): the household's number (its file's key), the district's
        # care category and a key person (village staff visit them: the village secretary's
        # to do lists it).
        household.code = f"H{code}"
        household.save(update_fields=["code"])
        district = grid.village.town.district
        o["carecategory"], _ = CareCategory.objects.get_or_create(
            code="matrix", district=district,
            defaults={"name": mark(district.code, "category"), "visit_every_days": 7,
                      "visitor": CareCategory.Visitor.VILLAGE_STAFF},
        )  # fmt: skip
        o["keyperson"] = KeyPerson.objects.create(
            household=household, category=o["carecategory"], since=dt.date(2024, 1, 1),
            person_name=person(code, "keyperson"),
        )  # fmt: skip
        # The service catalogue (issue 15): an item of the district (the catalogue page of
        # every village of it lists it; the admin edits it within the district).
        o["serviceitem"], _ = ServiceItem.objects.get_or_create(
            code="matrix", district=district,
            defaults={"name": mark(district.code, "item"), "kind": "government",
                      "approving_level": "county", "promised_days": 5,
                      "office": mark(district.code, "office")},
        )  # fmt: skip
        # A service request (issue 15) for the household, taken at its village, for the
        # district's item (the catalogue the village offers).
        o["servicerequest"] = service_request_create(
            actor=self.root, item=o["serviceitem"], household=household,
            applicant_name=person(code, "applicant"), applicant_phone="13833334444",
            matter=mark(code, "matter"),
        )  # fmt: skip
        o["servicerequestevent"] = o["servicerequest"].events.order_by("seq").first()
        # assessments (issue 15): the area's grid's score in the one open cycle, with an
        # evaluation and an appeal naming its people.
        if not AREA_CYCLE:
            scheme = Scheme.objects.create(name="matrix scheme", level="grid")
            AREA_CYCLE.append(
                Cycle.objects.create(
                    scheme=scheme,
                    kind="monthly",
                    starts_on=dt.date(2026, 3, 1),
                    ends_on=dt.date(2026, 3, 31),
                )  # fmt: skip
            )
        score = Score.objects.create(
            cycle=AREA_CYCLE[0], level="grid", code=grid.code, name=mark(code, "score"),
            computed_at=timezone.now(),
        )  # fmt: skip
        EvaluationEntry.objects.create(
            score=score, source="party_org", value=80, note=person(code, "evaluation"),
            by=self.root, at=timezone.now(),
        )  # fmt: skip
        Appeal.objects.create(
            score=score, reason=person(code, "appeal"), by=self.root, at=timezone.now()
        )
        o["assessmentscore"] = score
        # Open311 (issue 16): the district's client system and its key (one per district,
        # shared by its areas), and the area's incident as a request it sent, with the
        # reporter's details (which no GET answer shows).
        if district.code not in OPEN311_KEYS:
            key = ApiKey(name=mark(district.code, "apikey"), scope_code=district.code)
            OPEN311_KEYS[district.code] = (key, api_key_issue(api_key=key, actor=self.root))
        o["apikey"] = OPEN311_KEYS[district.code][0]
        o["open311request"] = Open311Request.objects.create(
            incident=incident, api_key=o["apikey"], email="matrix@example.org",
            first_name=person(code, "reporter"), phone="13844445555",
        )  # fmt: skip


# The one assessment cycle of the world (made with the first area, emptied with the world).
AREA_CYCLE: list[Cycle] = []
# The Open311 key of each district, with the key itself (shown once, kept for the client).
OPEN311_KEYS: dict[str, tuple[ApiKey, str]] = {}


class KeyClient(Client):
    """An Open311 client system: no login, its api_key on every request."""

    def __init__(self, key: str) -> None:
        super().__init__(raise_request_exception=False)
        self.key = key

    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        return super().get(path, {**(data or {}), "api_key": self.key}, **extra)

    def post(self, path: str, data: Any = None, *args: Any, **extra: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, "api_key": self.key}
        return super().post(path, data, *args, **extra)


def build_world() -> tuple[list[Area], dict[str, Any]]:
    AREA_CYCLE.clear()
    OPEN311_KEYS.clear()
    b = Builder()
    c1 = b.boundary(City, "980100", X0, X0 + 0.5)
    d1 = b.boundary(District, "980101", X0, X0 + 0.4, city=c1)
    t1 = b.boundary(Town, "980101001", X0, X0 + 0.3, district=d1)
    v1 = b.boundary(Village, "980101001001", X0, X0 + 0.2, town=t1)
    g1 = b.boundary(Grid, "980101001001001", X0, X0 + 0.1, village=v1)
    g2 = b.boundary(Grid, "980101001001002", X0 + 0.1, X0 + 0.2, village=v1)
    v2 = b.boundary(Village, "980101001002", X0 + 0.2, X0 + 0.3, town=t1)
    g3 = b.boundary(Grid, "980101001002001", X0 + 0.2, X0 + 0.3, village=v2)
    t2 = b.boundary(Town, "980101002", X0 + 0.3, X0 + 0.4, district=d1)
    v3 = b.boundary(Village, "980101002001", X0 + 0.3, X0 + 0.4, town=t2)
    g4 = b.boundary(Grid, "980101002001001", X0 + 0.3, X0 + 0.4, village=v3)
    d2 = b.boundary(District, "980102", X0 + 0.4, X0 + 0.5, city=c1)
    t3 = b.boundary(Town, "980102001", X0 + 0.4, X0 + 0.5, district=d2)
    v4 = b.boundary(Village, "980102001001", X0 + 0.4, X0 + 0.5, town=t3)
    g5 = b.boundary(Grid, "980102001001001", X0 + 0.4, X0 + 0.5, village=v4)
    c2 = b.boundary(City, "980200", X0 + 0.5, X0 + 0.6)
    d3 = b.boundary(District, "980201", X0 + 0.5, X0 + 0.6, city=c2)
    t4 = b.boundary(Town, "980201001", X0 + 0.5, X0 + 0.6, district=d3)
    v5 = b.boundary(Village, "980201001001", X0 + 0.5, X0 + 0.6, town=t4)
    g6 = b.boundary(Grid, "980201001001001", X0 + 0.5, X0 + 0.6, village=v5)

    def station(town: Town, village: Village, n: int) -> Station:
        s = Station.objects.create(
            code=f"{town.code}S{n:02d}", name=mark(town.code, "station"), town=town,
            location=Point(X0, 0.05, srid=4326),
        )  # fmt: skip
        CatchmentAssignment.objects.create(village=village, station=s, period=SINCE)
        return s

    s1, s2 = station(t1, v1, 1), station(t1, v2, 2)
    s3, s4, s5 = station(t2, v3, 1), station(t3, v4, 1), station(t4, v5, 1)
    areas = [
        Area("inside", g1.code),
        Area("grid", g2.code),
        Area("village", v2.code),
        Area("town", t2.code),
        Area("district", d2.code),
        Area("city", "9802"),
    ]
    # The station of S1 covers V1, so the inside station and G2's are S1.
    for area, grid, st, with_town in (
        (areas[0], g1, s1, True),
        (areas[1], g2, None, False),
        (areas[2], g3, s2, False),
        (areas[3], g4, s3, True),
        (areas[4], g5, s4, True),
        (areas[5], g6, s5, True),
    ):
        b.fill(area, grid, st, with_town)
    # S1's name is V1's: the station area of G2 is S1 (inside V1).
    areas[1].objects["station"] = None
    return areas, {"root": b.root, "g1": g1, "v1": v1, "t1": t1, "d1": d1, "c1": c1, "s1": s1}


ROLE_CODES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    AccountRole.GRID_WORKER: lambda p: [p["g1"].code],
    AccountRole.VILLAGE_STAFF: lambda p: [p["v1"].code],
    AccountRole.STATION_STAFF: lambda p: [p["s1"].code],
    AccountRole.TOWN_STAFF: lambda p: [p["t1"].code],
    AccountRole.PLANNER: lambda p: [p["t1"].code],
    AccountRole.DISTRICT_ADMIN: lambda p: [p["d1"].code],
    AccountRole.CITY_ADMIN: lambda p: [p["c1"].code],
}
ANONYMOUS, NO_ACCOUNT = "anonymous", "worker_without_account"
# People whose access comes only from a role assignment (issue 12, one identity): a login
# linked to a worker holding the role on V1, S1 or T1 today, and no account at all.
PERSON_ROLES: dict[str, tuple[str, str]] = {
    "person_village_secretary": (Role.VILLAGE_SECRETARY, "v1"),
    "person_station_head": (Role.STATION_HEAD, "s1"),
    "person_town_dispatcher": (Role.TOWN_DISPATCHER, "t1"),
}
ROLE_FOR_PERSON = {
    "person_village_secretary": AccountRole.VILLAGE_STAFF.value,
    "person_station_head": AccountRole.STATION_STAFF.value,
    "person_town_dispatcher": AccountRole.TOWN_STAFF.value,
}
# Every role: each AccountRole (a new one without codes above fails the fixture), anonymous,
# a worker of G1 with a login but no account, and the role holders above. Superusers see
# everything: not checked.
ROLES = [*(r.value for r in AccountRole), ANONYMOUS, NO_ACCOUNT, *PERSON_ROLES]
# On the Open311 URLs, one more "role": D1's client system with its key (allowed: D1). The
# rules below send it to the inside area and to the nearest area outside D1, reading and
# creating (a POST of a report at the outside incident's place must not be accepted).
OPEN311_KEY = "open311_key_of_d1"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """The world, in one transaction rolled back after the module (nothing is left behind),
    with files under a temporary MEDIA_ROOT."""
    with (
        django_db_blocker.unblock(),
        tempfile.TemporaryDirectory() as media,
        override_settings(MEDIA_ROOT=media),
        transaction.atomic(),
    ):
        areas, places = build_world()
        clients: dict[str, Client] = {}
        allowed: dict[str, list[str] | None] = {}
        every_permission = list(Permission.objects.all())
        for role in AccountRole:
            account = account_upsert(
                username=f"matrix-{role.value}", password="pass-word-1", role=role,
                codes=ROLE_CODES[role](places),
            )  # fmt: skip
            if account.user.is_staff:
                account.user.user_permissions.set(every_permission)
            clients[role.value] = Client(raise_request_exception=False)
            clients[role.value].force_login(account.user)
            allowed[role.value] = jurisdiction_prefixes(account.user)
        clients[ANONYMOUS] = Client(raise_request_exception=False)
        allowed[ANONYMOUS] = []
        clients[OPEN311_KEY] = KeyClient(OPEN311_KEYS[places["d1"].code][1])
        allowed[OPEN311_KEY] = [places["d1"].code]
        lone = UserFactory(username="matrix-lone-worker")
        areas[0].worker.user = lone
        areas[0].worker.save()
        clients[NO_ACCOUNT] = Client(raise_request_exception=False)
        clients[NO_ACCOUNT].force_login(lone)
        allowed[NO_ACCOUNT] = [places["g1"].code]  # where their worker holds a role
        for name, (role, key) in PERSON_ROLES.items():
            place = places[key]
            holder = Worker.objects.create(
                name=person(place.code, name), phone="13911113333",
                user=UserFactory(username=f"matrix-{name}"),
            )  # fmt: skip
            field = {"v1": "village", "s1": "station", "t1": "town"}[key]
            RoleAssignment.objects.create(worker=holder, role=role, period=SINCE, **{field: place})
            clients[name] = Client(raise_request_exception=False)
            clients[name].force_login(holder.user)
            # The same prefixes as the account of that level (a station: its catchment).
            allowed[name] = allowed[ROLE_FOR_PERSON[name]]
        yield World(areas, clients, allowed)
        transaction.set_rollback(True)


# --- the rules: how to fill each URL pattern -----------------------------------------------------
# A rule gives, for an area, the path parameters and the query of one request; ``kind`` names
# the object the request is about (None: a list or page about no one object, requested once).
# ``strict``: an outside object must not answer 2xx (a detail or an action). ``post``: an
# action, sent as POST {} for the outside object only (the inside one is not changed).
Fill = Callable[[Area], dict[str, Any]]


@dataclass
class Rule:
    kind: str | None = None
    path: Fill = lambda a: {}  # noqa: E731
    query: Fill = lambda a: {}  # noqa: E731
    strict: bool = True
    post: bool = False
    public: bool = False
    # For a POST: the form it sends (form-encoded) instead of an empty JSON object.
    form: Fill | None = None


def bbox(a: Area) -> str:
    x0, y0, x1, y1 = a.grid.geom.extent
    return f"{x0},{y0},{x1},{y1}"


def lonlat(a: Area) -> dict[str, Any]:
    return {"lon": a.incident.location.x, "lat": a.incident.location.y}


def after_incident(a: Area) -> str:
    """The API list's cursor of the page that starts with the area's case."""
    return LIST_KEYSET.cursor(a.incident.reported_at + dt.timedelta(seconds=1), a.incident.pk)


def incident_pk(a: Area) -> dict[str, Any]:
    return {"pk": a.incident.pk}


def service_request_pk(a: Area) -> dict[str, Any]:
    return {"pk": a.servicerequest.pk}


def import_job_pk(a: Area) -> dict[str, Any]:
    return {"pk": a.importjob.pk}


def plan_pk(a: Area) -> dict[str, Any]:
    return {"pk": a.plan.pk}


def plan_station(a: Area) -> dict[str, Any]:
    return {"pk": a.plan.pk, "code": a.planstation.code}


def tile(layer: str, where: Any, z: int) -> dict[str, Any]:
    """The path of ``layer``'s tile at zoom ``z`` holding ``where`` (a point or a polygon)."""
    point = where if where.geom_type == "Point" else where.point_on_surface
    _, x, y = tile_of(point.x, point.y, z)
    return {"layer": layer, "z": z, "x": x, "y": y}


def _today() -> str:
    return timezone.localdate().isoformat()


def open311(kind: str | None = None, path: Fill = lambda a: {}, **rule: Any) -> list[Rule]:
    """A rule for each format of an Open311 resource (``.xml`` and ``.json``)."""
    return [
        Rule(kind, path=lambda a, f=fmt: {**path(a), "fmt": f}, **rule) for fmt in ("xml", "json")
    ]


def open311_ids(a: Area) -> dict[str, Any]:
    return {"service_request_id": a.incident.pk}


def open311_report(a: Area) -> dict[str, Any]:
    """An Open311 POST of a report at the area's incident's place."""
    where = a.incident.location
    return {"service_code": a.incident.category.code, "lat": where.y, "long": where.x,
            "description": "matrix", "email": "x@example.org"}  # fmt: skip


PLAIN = Rule()
RULES: dict[str, list[Rule]] = {
    "": [PLAIN],
    "accounts/login/": [PLAIN],
    "accounts/password_change/": [PLAIN],
    "accounts/password_change/done/": [PLAIN],
    "accounts/password_reset/": [PLAIN],
    "accounts/password_reset/done/": [PLAIN],
    "accounts/reset/<uidb64>/<token>/": [Rule(path=lambda a: {"uidb64": "x", "token": "y"})],
    "accounts/reset/done/": [PLAIN],
    "i18n/setlang/": [PLAIN],
    "api/docs/": [PLAIN],
    "api/auth/token/": [PLAIN],
    "api/grids/at": [Rule("grid", query=lonlat)],
    "api/grids/<str:code>/": [Rule("grid", path=lambda a: {"code": a.grid.code})],
    "api/layers/<str:level>/": [
        Rule(None, path=lambda a, lv=lv: {"level": lv})
        for lv in ("city", "district", "town", "village", "grid", "station")
    ]
    + [
        Rule(
            "grid",
            path=lambda a: {"level": "building"},
            query=lambda a: {"bbox": bbox(a)},
            strict=False,
        )
    ],  # fmt: skip
    "api/households/": [PLAIN, Rule("grid", query=lambda a: {"grid": a.grid.code}, strict=False)],
    # OGC API - Features (ogcapi): every collection listed, paged and each feature by id.
    "ogc/": [PLAIN],
    "ogc/api": [PLAIN],
    "ogc/api.html": [PLAIN],
    "ogc/conformance": [PLAIN],
    "ogc/collections": [PLAIN],
    "ogc/collections/<str:collection_id>": [
        Rule(None, path=lambda a, c=c: {"collection_id": c}) for c in OGC_COLLECTIONS
    ],
    "ogc/collections/<str:collection_id>/items": [
        Rule(None, path=lambda a, c=c: {"collection_id": c}, query=lambda a: {"limit": 10000})
        for c in OGC_COLLECTIONS
    ]
    + [
        Rule(
            "grid",
            path=lambda a, c=c: {"collection_id": c},
            query=lambda a: {"bbox": bbox(a)},
            strict=False,
        )
        for c in ("households", "buildings", "incidents")
    ],  # fmt: skip
    "ogc/collections/<str:collection_id>/items/<str:feature_id>": [
        # The stations of the viewer's towns, as the map's station layer (api/layers/station/)
        # shows them: a grid worker sees the station next door by name, never its people.
        Rule(
            kind,
            path=lambda a, c=c, k=kind, f=f: {"collection_id": c, "feature_id": f(a.objects[k])},
            strict=kind != "station",
        )
        for c, kind, f in (
            ("districts", "district", lambda o: o.code),
            ("towns", "town", lambda o: o.code),
            ("villages", "village", lambda o: o.code),
            ("grids", "grid", lambda o: o.code),
            ("stations", "station", lambda o: o.code),
            ("service-centres", "servicecentre", lambda o: o.pk),
            ("buildings", "building", lambda o: o.pk),
            ("households", "household", lambda o: o.pk),
            ("incidents", "incident", lambda o: o.pk),
        )
    ],  # fmt: skip
    "api/ten-household-units/": [PLAIN],
    "api/incidents/": [
        PLAIN,
        # A cursor just after the area's case (made as the next link makes one): the page
        # from there holds the case if the jurisdiction did not apply (issue 16 point 4).
        Rule("incident", query=lambda a: {"cursor": after_incident(a)}, strict=False),
    ],
    "api/incidents/duplicates/": [Rule("incident", query=lonlat, strict=False)],
    "api/incidents/<int:pk>/": [Rule("incident", path=incident_pk)],
    "api/incidents/<int:pk>/case/": [Rule("incident", path=incident_pk)],
    "api/incidents/<int:pk>/actions/": [Rule("incident", path=incident_pk, post=True)],
    "api/incidents/<int:pk>/public-text/": [Rule("incident", path=incident_pk, post=True)],
    "api/incident-categories/": [PLAIN],
    "api/service-requests/": [PLAIN],
    "api/service-requests/<int:pk>/": [Rule("servicerequest", path=service_request_pk)],
    "api/service-requests/<int:pk>/actions/": [
        Rule("servicerequest", path=service_request_pk, post=True)
    ],
    # The service desk's pages (issue 15): the desk and the new request list or prefill only
    # what the jurisdiction holds; a request and its receipt are 404 outside.
    "services/": [
        PLAIN,
        Rule("village", query=lambda a: {"village": a.village.code}, strict=False),
        Rule("servicerequest", query=lambda a: {"item": a.servicerequest.item_id}, strict=False),
        # The desk's export (CSV) of what its filters show, an outside village's included.
        Rule(None, query=lambda a: {"format": "csv"}),
        Rule("village", query=lambda a: {"village": a.village.code, "format": "csv"}, strict=False),
    ],
    "services/new/": [
        PLAIN,
        Rule("household", query=lambda a: {"household": a.household.code}, strict=False),
        Rule("visit", query=lambda a: {"visit": a.visit.pk}, strict=False),
    ],
    "services/<int:pk>/": [
        Rule("servicerequest", path=service_request_pk),
        Rule("servicerequest", path=service_request_pk, post=True),
    ],
    "services/<int:pk>/receipt.pdf": [Rule("servicerequest", path=service_request_pk)],
    # The resident's status page: public by design (the item, the village, the dates), any
    # request by its code; never a person.
    "service/": [
        Rule(public=True),
        Rule(
            "servicerequest",
            query=lambda a: {"code": a.servicerequest.short_code},
            public=True,
            strict=False,
        ),
    ],
    "service/<str:short_code>/": [
        Rule(
            "servicerequest",
            path=lambda a: {"short_code": a.servicerequest.short_code},
            public=True,
            strict=False,
        )
    ],
    "api/inbox/": [PLAIN],
    # The to do lists only the visible cases waiting on the login (incidents.todo).
    "api/todo/": [PLAIN],
    "todo/": [PLAIN],
    "api/inbox/read-all/": [PLAIN],
    "api/inbox/<int:pk>/read/": [
        Rule("notification", path=lambda a: {"pk": a.notification.pk}, post=True)
    ],
    "api/kpis/": [
        Rule("worker", query=lambda a: {"level": "person", "code": a.worker.pk}),
        Rule("grid", query=lambda a: {"level": "grid", "code": a.grid.code}),
        Rule("village", query=lambda a: {"level": "village", "code": a.village.code}),
        Rule("station", query=lambda a: {"level": "station", "code": a.station.code}),
        Rule("town", query=lambda a: {"level": "town", "code": a.town.code}),
        Rule("district", query=lambda a: {"level": "district", "code": a.district.code}),
    ],
    "map/": [PLAIN],
    # Vector tiles (issue 16): each layer's tile holding the area's object; an outside tile
    # is empty (204), and no name of an outside place may be in the bytes.
    "tiles/<str:layer>/<int:z>/<int:x>/<int:y>.mvt": [
        Rule("district", path=lambda a: tile("districts", a.district.geom, 12), strict=False),
        Rule("town", path=lambda a: tile("towns", a.town.geom, 12), strict=False),
        Rule("village", path=lambda a: tile("villages", a.village.geom, 12), strict=False),
        Rule("grid", path=lambda a: tile("grids", a.grid.geom, 12), strict=False),
        Rule("station", path=lambda a: tile("stations", a.station.location, 12), strict=False),
        Rule("building", path=lambda a: tile("buildings", a.building.footprint, 16), strict=False),
        Rule(
            "household", path=lambda a: tile("households", a.household.location, 16), strict=False
        ),
        Rule("grid", path=lambda a: tile("roads", a.grid.geom, 14), strict=False),
        Rule("incident", path=lambda a: tile("incidents", a.incident.location, 11), strict=False),
        Rule("incident", path=lambda a: tile("incidents", a.incident.location, 16), strict=False),
    ],
    "field/": [PLAIN],
    "field/sw.js": [PLAIN],
    "api/coverage/": [
        Rule("village", query=lambda a: {"area": a.village.code}),
        Rule("town", query=lambda a: {"area": a.town.code}),
    ],
    "api/coverage/uncovered-households/": [
        Rule("village", query=lambda a: {"area": a.village.code})
    ],
    "api/coverage/uncovered-clusters/": [
        Rule("village", query=lambda a: {"area": a.village.code, "zoom": 12})
    ],
    "coverage/": [PLAIN, Rule("town", query=lambda a: {"area": a.town.code}, strict=False)],
    "coverage/export.csv": [Rule("town", query=lambda a: {"area": a.town.code})],
    "coverage/export.pdf": [Rule("town", query=lambda a: {"area": a.town.code})],
    "coverage/households/": [
        Rule("town", query=lambda a: {"area": a.town.code, "list": "no_unit"}),
        Rule("town", query=lambda a: {"area": a.town.code, "list": "no_unit", "format": "csv"}),
        Rule(
            "village",
            query=lambda a: {"area": a.town.code, "list": "beyond", "village": a.village.code},
        ),
        Rule(
            "village",
            query=lambda a: {
                "area": a.town.code,
                "list": "beyond",
                "village": a.village.code,
                "format": "csv",
            },
        ),
    ],
    "cases/<int:pk>/": [Rule("incident", path=incident_pk)],
    "cases/<int:pk>/photos/<int:photo>/": [
        Rule("incidentphoto", path=lambda a: {"pk": a.incident.pk, "photo": a.incidentphoto.pk})
    ],
    "cases/<int:pk>/attachments/<int:attachment>/": [
        Rule(
            "caseattachment",
            path=lambda a: {"pk": a.incident.pk, "attachment": a.caseattachment.pk},
        )
    ],
    "lists/": [
        PLAIN,
        Rule(None, query=lambda a: {"format": "csv"}),
        # The service requests' lists (issue 15): each list, on the page and as CSV, and an
        # outside village or area chosen (nothing of it shows).
        *[
            Rule(None, query=lambda a, kind=kind: {"case": "service", "list": kind})
            for kind in ("problems", "responsibility", "closeout")
        ],
        *[
            Rule(
                None, query=lambda a, kind=kind: {"case": "service", "list": kind, "format": "csv"}
            )
            for kind in ("problems", "responsibility", "closeout")
        ],
        Rule(
            "village",
            query=lambda a: {"case": "service", "village": a.village.code, "format": "csv"},
            strict=False,
        ),
        Rule("town", query=lambda a: {"case": "service", "code": a.town.code}, strict=False),
    ],
    "dashboard/": [
        PLAIN,
        Rule("worker", query=lambda a: {"level": "person", "code": a.worker.pk}, strict=False),
        Rule("town", query=lambda a: {"level": "town", "code": a.town.code}, strict=False),
    ],
    # Public notices are public by design (places and masked cases); never people.
    "public/": [Rule(public=True)],
    "public/villages/<str:village_code>/": [
        Rule("village", path=lambda a: {"village_code": a.village.code}, public=True)
    ],
    # The service catalogue (issue 15): what can be done at a village, public by design.
    "public/<str:village_code>/services/": [
        Rule("village", path=lambda a: {"village_code": a.village.code}, public=True)
    ],
    "weekly/": [PLAIN],
    "weekly/towns/<str:code>/": [Rule("town", path=lambda a: {"code": a.town.code})],
    "weekly/villages/<str:code>/": [Rule("village", path=lambda a: {"code": a.village.code})],
    "weekly/stations/<str:code>/": [Rule("station", path=lambda a: {"code": a.station.code})],
    "api/weekly/towns/<str:code>/": [Rule("town", path=lambda a: {"code": a.town.code})],
    "api/weekly/towns/<str:code>/task-list/": [
        Rule("town", path=lambda a: {"code": a.town.code}),
        Rule("town", path=lambda a: {"code": a.town.code}, post=True),
    ],
    "api/weekly/villages/<str:code>/report/": [
        Rule("village", path=lambda a: {"code": a.village.code}),
        Rule("village", path=lambda a: {"code": a.village.code}, post=True),
    ],
    "api/weekly/stations/<str:code>/summary/": [
        Rule("station", path=lambda a: {"code": a.station.code}),
        Rule("station", path=lambda a: {"code": a.station.code}, post=True),
    ],
    "api/catchments/": [
        PLAIN,
        Rule("town", query=lambda a: {"town": a.town.code}, strict=False),
    ],
    "api/plans/": [PLAIN],
    "api/plans/<int:pk>/": [Rule("plan", path=plan_pk)],
    "api/plans/<int:pk>/villages/": [Rule("plan", path=plan_pk)],
    "api/plans/<int:pk>/assign/": [Rule("plan", path=plan_pk, post=True)],
    "api/plans/<int:pk>/undo/": [Rule("plan", path=plan_pk, post=True)],
    "api/plans/<int:pk>/redo/": [Rule("plan", path=plan_pk, post=True)],
    "api/plans/<int:pk>/stations/": [Rule("plan", path=plan_pk, post=True)],
    "api/plans/<int:pk>/stations/<str:code>/move/": [
        Rule("planstation", path=plan_station, post=True)
    ],
    "api/plans/<int:pk>/stations/<str:code>/retire/": [
        Rule("planstation", path=plan_station, post=True)
    ],
    "api/plans/<int:pk>/stations/<str:code>/lock/": [
        Rule("planstation", path=plan_station, post=True)
    ],
    "api/plans/<int:pk>/solve/": [Rule("plan", path=plan_pk, post=True)],
    "api/plans/<int:pk>/publish/": [Rule("plan", path=plan_pk, post=True)],
    "api/plans/<int:pk>/export.csv": [Rule("plan", path=plan_pk)],
    "api/plans/<int:pk>/import/": [Rule("plan", path=plan_pk, post=True)],
    "api/plans/<int:pk>/catchments.geojson": [Rule("plan", path=plan_pk)],
    "api/plans/<int:pk>/diff/": [Rule("plan", path=plan_pk)],
    # Visits and the diary (presence, issue 14): a visit's place code or its own worker.
    "api/visits/": [
        PLAIN,
        Rule("worker", query=lambda a: {"worker": a.worker.pk}, strict=False),
        Rule("household", query=lambda a: {"household": a.household.pk}, strict=False),
    ],
    "api/visits/households/": [
        Rule("household", query=lambda a: {"q": a.household.address}, strict=False)
    ],
    "api/visits/<int:pk>/": [Rule("visit", path=lambda a: {"pk": a.visit.pk})],
    "api/visits/<int:pk>/follow-up-done/": [
        Rule("visit", path=lambda a: {"pk": a.visit.pk}, post=True)
    ],
    "visits/<int:pk>/photos/<int:photo>/": [
        Rule("visitphoto", path=lambda a: {"pk": a.visit.pk, "photo": a.visitphoto.pk})
    ],
    "field/visit/": [PLAIN],
    "diary/": [
        PLAIN,
        Rule("worker", query=lambda a: {"worker": a.worker.pk}),
        Rule("village", query=lambda a: {"area": a.village.code}),
        Rule("station", query=lambda a: {"area": a.station.code}),
    ],
    # Presence, the field area (issue 14): the phone page, the tracks map, their API.
    "field/today/": [PLAIN],
    "patrols/": [PLAIN, Rule("worker", query=lambda a: {"worker": a.worker.pk}, strict=False)],
    "api/presence/sign-ins/": [
        PLAIN,
        Rule("worker", query=lambda a: {"worker": a.worker.pk, "day": _today()}),
    ],
    "api/patrols/": [
        PLAIN,
        Rule(None, query=lambda a: {"area": a.town.code}),
        Rule("worker", query=lambda a: {"worker": a.worker.pk}),
    ],
    "api/patrols/coverage/": [
        PLAIN,
        Rule("worker", query=lambda a: {"worker": a.worker.pk}),
    ],
    "api/patrols/<int:pk>/": [Rule("patrol", path=lambda a: {"pk": a.patrol.pk})],
    "privacy/access-log/": [PLAIN, Rule(None, query=lambda a: {"format": "csv"})],
    # The import page: an administrator's own jobs only (a job's file may hold any district).
    "imports/": [PLAIN],
    "imports/templates/<str:kind>/": [Rule(None, path=lambda a: {"kind": "households"})],
    "imports/export/": [
        Rule(None, query=lambda a: {"kind": "households", "format": "csv"}),
        Rule(
            "district",
            query=lambda a: {"kind": "households", "format": "csv", "area": a.district.code},
        ),
        Rule("town", query=lambda a: {"kind": "workers", "format": "csv", "area": a.town.code}),
    ],
    "imports/<int:pk>/": [Rule("importjob", path=import_job_pk)],
    "imports/<int:pk>/status/": [Rule("importjob", path=import_job_pk)],
    "imports/<int:pk>/report/": [Rule("importjob", path=import_job_pk)],
    "imports/<int:pk>/confirm/": [Rule("importjob", path=import_job_pk, post=True)],
    "imports/<int:pk>/cancel/": [Rule("importjob", path=import_job_pk, post=True)],
    # Issue 14: duty rosters (a place's roster, 404 outside) and the presence report.
    "duty/": [
        PLAIN,
        Rule("village", query=lambda a: {"place": a.village.code, "month": f"{WEEK:%Y-%m}"}),
        Rule("station", query=lambda a: {"place": a.station.code, "month": f"{WEEK:%Y-%m}"}),
        Rule("town", query=lambda a: {"place": a.town.code, "month": f"{WEEK:%Y-%m}"}),
    ],
    "presence/": [
        PLAIN,
        *(
            Rule(
                kind, query=lambda a, k=kind: {"area": a.objects[k].code, "month": f"{WEEK:%Y-%m}"}
            )
            for kind in ("grid", "village", "station", "town", "district")
        ),
        Rule("town", query=lambda a: {"area": a.town.code, "format": "csv"}),
        Rule("village", query=lambda a: {"area": a.village.code, "format": "xlsx"}),
    ],  # fmt: skip
    "api/presence/": [
        Rule(kind, query=lambda a, k=kind: {"area": a.objects[k].code, "month": f"{WEEK:%Y-%m}"})
        for kind in ("grid", "village", "station", "town", "district")
    ],
    "plans/": [PLAIN],
    "plans/<int:pk>/": [Rule("plan", path=plan_pk)],
    "plans/<int:pk>/compare/": [Rule("plan", path=plan_pk)],
    # presence, care (issue 14): the household file, the search, the map's building click.
    "households/": [
        PLAIN,
        Rule("household", query=lambda a: {"q": a.household.code}, strict=False),
    ],  # fmt: skip
    "households/<str:key>/": [Rule("household", path=lambda a: {"key": a.household.code})],
    "api/households/search/": [
        PLAIN,
        Rule("household", query=lambda a: {"q": a.household.code}, strict=False),
        Rule("household", query=lambda a: {"q": "OUTSIDEMARK"}, strict=False),
    ],
    "api/households/<str:key>/file/": [Rule("household", path=lambda a: {"key": a.household.code})],
    "api/buildings/<int:pk>/households/": [Rule("building", path=lambda a: {"pk": a.building.pk})],
    # assessments (issue 15): one cycle of every district (visible to all), a score per area
    # (its unit's name, an appeal and an evaluation carry the area's markers).
    "assessments/": [PLAIN],
    "assessments/<int:pk>/": [
        Rule(None, path=lambda a: {"pk": AREA_CYCLE[0].pk}, strict=False),
        Rule(
            None,
            path=lambda a: {"pk": AREA_CYCLE[0].pk},
            query=lambda a: {"level": "grid"},
            strict=False,
        ),
    ],  # fmt: skip
    "assessments/<int:pk>/export.xlsx": [
        Rule(None, path=lambda a: {"pk": AREA_CYCLE[0].pk}, strict=False)
    ],
    "assessments/<int:pk>/<int:score>/": [
        Rule(
            "assessmentscore",
            path=lambda a: {"pk": a.assessmentscore.cycle_id, "score": a.assessmentscore.pk},
        ),
        Rule(
            "assessmentscore",
            path=lambda a: {"pk": a.assessmentscore.cycle_id, "score": a.assessmentscore.pk},
            post=True,
        ),
    ],
    # The admin's own pages (the per-model ones come from ADMIN_OBJECTS).
    # Open311 (issue 16): the categories are public; requests and tokens need a key and stay
    # in its district (the OPEN311_KEY role; the others have no key and are refused).
    "open311/v2/discovery.<open311fmt:fmt>": open311(),
    "open311/v2/services.<open311fmt:fmt>": open311(),
    "open311/v2/services/<str:code>.<open311fmt:fmt>": open311(
        "incident", path=lambda a: {"code": a.incident.category.code}, strict=False
    ),
    "open311/v2/requests.<open311fmt:fmt>": [
        *open311(),
        *open311("incident", query=open311_ids, strict=False),
        *open311("district", query=lambda a: {"jurisdiction_id": a.district.code}),
        *open311("incident", post=True, form=open311_report),
    ],
    "open311/v2/requests/<str:request_id>.<open311fmt:fmt>": open311(
        "incident", path=lambda a: {"request_id": a.incident.pk}
    ),
    "open311/v2/tokens/<str:token>.<open311fmt:fmt>": open311(
        "open311request", path=lambda a: {"token": a.open311request.token}
    ),
    "admin/": [PLAIN],
    "admin/login/": [PLAIN],
    "admin/password_change/": [PLAIN],
    "admin/password_change/done/": [PLAIN],
    "admin/jsi18n/": [PLAIN],
    # Filled per app below.
    "admin/^(?P<app_label>auth|authtoken|grids|inbox|households|incidents|presence|servicedesk|"
    "accounts|weekly|planning|open311|assessments|procrastinate|axes)/$": [],
    "admin/r/<path:content_type_id>/<path:object_id>/": [],  # filled below
    "admin/autocomplete/": [],  # filled per autocomplete field below
}

# Patterns not requested, each with its reason.
EXCLUDED = {
    "accounts/logout/": "logs the client out; shows no data",
    "admin/logout/": "logs the client out; shows no data",
    "api/schema/": "the OpenAPI document: endpoints, no data (tests/security schema tests)",
    "admin/(?P<url>.*)$": "the admin's catch-all: redirects an unknown admin URL",
}

# Admin models: the object of an area each one's change, delete and history pages are about.
# A model without an area (None) is global or for superusers only; the reason is given.
ADMIN_OBJECTS: dict[str, str | None] = {
    "auth.user": "user",
    "grids.city": "city",
    "grids.district": "district",
    "grids.town": "town",
    "grids.village": "village",
    "grids.grid": "grid",
    "grids.building": "building",
    "grids.servicecentre": "servicecentre",
    "grids.station": "station",
    "grids.worker": "worker",
    "grids.roleassignment": "roleassignment",
    "inbox.notification": "notification",
    "inbox.delivery": "delivery",
    "households.tenhouseholdunit": "tenhouseholdunit",
    "households.household": "household",
    "households.partybranch": "partybranch",
    "households.partymember": "partymember",
    "households.centralhousehold": "centralhousehold",
    "incidents.incident": "incident",
    # Open311 client systems' keys, by the district or city they serve.
    "open311.apikey": "apikey",
    "incidents.incidentphoto": "incidentphoto",
    "incidents.caseevent": "caseevent",
    "incidents.caseattachment": "caseattachment",
    "accounts.account": "account",
    "presence.signin": "signin",
    "presence.patrol": "patrol",
    "weekly.weeklytasklist": "weeklytasklist",
    "weekly.villageweeklyreport": "villageweeklyreport",
    "weekly.stationweeklysummary": "stationweeklysummary",
    "planning.plan": "plan",
    "presence.dutyshift": "dutyshift",
    "authtoken.tokenproxy": "token",
    # presence, care: a district's categories (the global ones are read by all, edited by
    # superusers), key persons by their household's grid.
    "presence.carecategory": "carecategory",
    "presence.keyperson": "keyperson",
    "presence.visit": "visit",
    # The service catalogue: a district's items (the global ones are read by all, edited by
    # superusers); requests and their history by the request's place (read-only).
    "servicedesk.serviceitem": "serviceitem",
    "servicedesk.servicerequest": "servicerequest",
    "servicedesk.servicerequestevent": "servicerequestevent",
    "servicedesk.servicestep": None,  # none in this world (a hand-off's admin is the request's)
    # assessments (issue 15): schemes are global or a district's (none in this world).
    "assessments.scheme": None,
    # Global data or superuser-only admins (gridmap.admin.superuser_only_unless_scoped):
    # their changelists and add forms are checked, their objects belong to no area.
    "auth.group": None,
    "grids.generation": None,
    "incidents.category": None,
    "planning.planchange": None,  # rows of a plan, written by the editor; listed by plan
    "planning.allowedlink": None,
    "planning.traveltime": None,
    # The seeds' rules and the weekly schedule: global rows, or a district's (their admin
    # limits them to the jurisdiction; none in this world).
    "presence.presencerule": None,
    "presence.scheduleday": None,
    "procrastinate.procrastinatejob": None,
    "axes.accessattempt": None,
    "axes.accessfailurelog": None,
    "axes.accesslog": None,
}


# --- walking the resolver ---------------------------------------------------------------------
_CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")


def leaves(resolver: URLResolver, prefix: tuple = ()) -> Iterator[tuple[tuple, URLPattern]]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from leaves(pattern, (*prefix, pattern.pattern))
        else:
            yield (*prefix, pattern.pattern), pattern


def render(parts: tuple, values: dict[str, Any]) -> str:
    out = []
    for part in parts:
        if isinstance(part, RoutePattern):
            out.append(_CONVERTER.sub(lambda m: str(values[m["name"]]), str(part)))
        elif isinstance(part, RegexPattern):
            template, params = normalize(str(part.regex.pattern))[0]
            out.append(template % {p: values[p] for p in params})
        else:  # pragma: no cover - Django has no other kind
            raise TypeError(part)
    return "/" + "".join(out)


def params_of(parts: tuple) -> set[str]:
    names = set()
    for part in parts:
        if isinstance(part, RoutePattern):
            names |= {m["name"] for m in _CONVERTER.finditer(str(part))}
        else:
            names |= set(normalize(str(part.regex.pattern))[0][1])
    return names


@dataclass
class Check:
    route: str
    parts: tuple
    rule: Rule
    model_label: str = ""


def registered() -> list[tuple[Any, Any]]:
    """Every model of the admin site with its admin."""
    return [
        (m, admin.site.get_model_admin(m)) for m in apps.get_models() if admin.site.is_registered(m)
    ]


def admin_model_rules() -> tuple[dict[str, list[Rule]], list[str]]:
    """Rules for the admin's per-model URLs, and the models without an entry."""
    rules: dict[str, list[Rule]] = {}
    unknown = []
    for model, _model_admin in registered():
        label = model._meta.label_lower
        if label not in ADMIN_OBJECTS:
            unknown.append(label)
            continue
        kind = ADMIN_OBJECTS[label]
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        rules[base] = [PLAIN, Rule(query=lambda a: {"q": "MARK"})]
        rules[base + "add/"] = [PLAIN]
        for view in ("<path:object_id>/", "<path:object_id>/change/",
                     "<path:object_id>/delete/", "<path:object_id>/history/"):  # fmt: skip
            rules[base + view] = [
                Rule(kind, path=lambda a, k=kind: {"object_id": getattr(a, k).pk})
                if kind
                else Rule(path=lambda a: {"object_id": 0})
            ]
        if label == "auth.user":
            rules[base + "<id>/password/"] = [Rule(kind, path=lambda a: {"id": a.user.pk})]
    return rules, unknown


def autocomplete_rules() -> list[Rule]:
    """A search for every autocomplete field of every admin (the choices of foreign keys)."""
    rules = []
    for model, model_admin in registered():
        inlines = [i(model, admin.site) for i in model_admin.inlines]
        for owner in (model_admin, *inlines):
            for name in owner.autocomplete_fields:
                query = {"app_label": owner.model._meta.app_label,
                         "model_name": owner.model._meta.model_name,
                         "field_name": name, "term": ""}  # fmt: skip
                rules.append(Rule(query=lambda a, q=query: q))
    return rules


def app_rules() -> list[Rule]:
    labels = sorted({m._meta.app_label for m, _ in registered()})
    return [Rule(path=lambda a, label=label: {"app_label": label}) for label in labels]


def all_rules() -> dict[str, list[Rule]]:
    rules = dict(RULES)
    model_rules, _ = admin_model_rules()
    rules.update(model_rules)
    rules["admin/autocomplete/"] = autocomplete_rules()
    app_pattern = next(r for r in RULES if r.startswith("admin/^(?P<app_label>"))
    rules[app_pattern] = app_rules()
    rules["admin/r/<path:content_type_id>/<path:object_id>/"] = [
        Rule(
            "incident",
            path=lambda a: {
                "content_type_id": _content_type_id("incidents", "incident"),
                "object_id": a.incident.pk,
            },
        )
    ]
    return rules


def _content_type_id(app_label: str, model: str) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_by_natural_key(app_label, model).pk


def route_of(parts: tuple) -> str:
    return "".join(str(p) for p in parts)


# --- the test -------------------------------------------------------------------------------------
def request(client: Client, url: str, rule: Rule, area: Area) -> Any:
    """One request in a savepoint that is always rolled back: an action changes nothing for
    the next check, and a database error does not abort the module's transaction."""
    sid = transaction.savepoint()
    try:
        if rule.post and rule.form is not None:
            response = client.post(url, rule.form(area))
        elif rule.post:
            response = client.post(url, json.dumps({}), content_type="application/json")
        else:
            response = client.get(url, rule.query(area))
        body_of(response)  # read a streamed body inside the savepoint
        return response
    finally:
        transaction.savepoint_rollback(sid)
        transaction.set_rollback(False)


def body_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        response.content_read = b"".join(response.streaming_content)
        response.streaming = False
    content = getattr(response, "content_read", None)
    if content is None:
        content = response.content
    return content.decode("utf-8", errors="replace")


def crossings_in(text: str, allowed: list[str] | None, *, public: bool) -> set[str]:
    """The markers in ``text`` of areas outside ``allowed``. The places that contain the
    jurisdiction are not outside it (a grid worker sees the name and outline of their
    village, town and district: ``gridmap.jurisdiction.boundary_scope_q``)."""
    found = set()
    for kind, code in MARK.findall(text):
        if public and kind == "OUTSIDEMARK":
            continue
        if covers(allowed, code):
            continue
        if kind == "OUTSIDEMARK" and any(p.startswith(prefix_of(code)) for p in allowed or []):
            continue  # an ancestor's name
        found.add(f"{kind}_{code}")
    return found


def test_every_url_pattern_has_a_rule():
    """A pattern the matrix does not know fails here: add a rule for it (RULES, ADMIN_OBJECTS)
    or exclude it with a reason (EXCLUDED)."""
    rules = all_rules()
    _, unknown_models = admin_model_rules()
    missing = []
    for parts, _pattern in leaves(get_resolver()):
        route = route_of(parts)
        if route in EXCLUDED or route in rules:
            continue
        missing.append(route)
    assert not unknown_models, (
        f"Admin models without a rule: {unknown_models}. Add each to ADMIN_OBJECTS in "
        f"{__name__} (the object of an area its pages are about, or None with a reason)."
    )
    assert not missing, (
        f"URL patterns without a jurisdiction rule: {missing}. Add a rule to RULES in "
        f"{__name__} (how to fill its parameters from an area), or exclude it with a reason."
    )


def test_no_role_crosses_its_jurisdiction_on_any_url(world: World, capsys):
    rules = all_rules()
    inside = world.inside()
    # The markers show: the inside area's worker is on the district admin's worker list.
    page = world.clients[AccountRole.DISTRICT_ADMIN].get("/admin/grids/worker/")
    assert person(inside.code, "worker") in body_of(page)

    crossings: list[str] = []
    errors: list[str] = []
    unused_params: list[str] = []
    checks = 0
    for parts, _pattern in leaves(get_resolver()):
        route = route_of(parts)
        if route in EXCLUDED:
            continue
        needed = params_of(parts)
        roles = [*ROLES, OPEN311_KEY] if route.startswith("open311/") else ROLES
        for rule in rules[route]:
            for role in roles:
                client, allowed = world.clients[role], world.allowed[role]
                targets: list[tuple[str, Area]] = [("inside", inside)]
                if rule.kind is not None:
                    outside = world.outside_for(role, rule.kind)
                    if outside is not None:
                        targets.append(("outside", outside))
                for where, area in targets:
                    if rule.kind is not None and area.objects.get(rule.kind) is None:
                        continue
                    values = rule.path(area)
                    if set(values) != needed:
                        unused_params.append(f"{route}: {sorted(needed)} vs {sorted(values)}")
                        continue
                    url = render(parts, values)
                    if rule.post and where != "outside":
                        continue
                    response = request(client, url, rule, area)
                    checks += 1
                    if response.status_code >= 500:
                        errors.append(f"{url} {rule.query(area)} as {role}")
                    text = body_of(response)
                    found = crossings_in(text, allowed, public=rule.public)
                    label = f"{'POST' if rule.post else 'GET'} {url} {rule.query(area)} as {role}"
                    if found:
                        crossings.append(f"{label}: {response.status_code} shows {sorted(found)}")
                    if (
                        where == "outside"
                        and rule.strict
                        and not rule.public
                        and 200 <= response.status_code < 300
                    ):
                        crossings.append(f"{label}: {response.status_code} for an outside object")
    with capsys.disabled():
        print(f"\njurisdiction matrix: {checks} (URL, role, object) checks, "
              f"{len(crossings)} crossings")  # fmt: skip
    assert not unused_params, "Rules that do not fill the pattern's parameters: " + "\n".join(
        unused_params
    )
    assert not crossings, f"{len(crossings)} crossings:\n" + "\n".join(crossings[:200])
    # A server error hides whether the answer would cross: none is allowed.
    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors[:100])


def test_the_open311_key_works_inside_its_district(world: World):
    """The OPEN311_KEY role is not refused across the board (which would make its checks
    above pass for nothing): inside D1 it lists and reads the inside incident and creates a
    report, while the same report at D2's incident is refused."""
    inside, client = world.inside(), world.clients[OPEN311_KEY]
    listed = request(client, "/open311/v2/requests.json", Rule(), inside)
    assert listed.status_code == 200 and mark(inside.code, "case") in body_of(listed)
    one = request(client, f"/open311/v2/requests/{inside.incident.pk}.xml", Rule(), inside)
    assert one.status_code == 200 and mark(inside.code, "case") in body_of(one)
    create = Rule(post=True, form=open311_report)
    assert request(client, "/open311/v2/requests.xml", create, inside).status_code == 201
    outside = world.outside_for(OPEN311_KEY, "incident")
    assert outside is not None and outside.tag == "district"
    assert request(client, "/open311/v2/requests.xml", create, outside).status_code == 403


# --- public pages draw stored text as text ------------------------------------------------------
XSS_PAYLOAD = "<img src=x onerror=alert(1)>"
# Fields that are keys, codes or secrets, not text a person writes: left as they are.
NOT_TEXT = re.compile(r"(^|_)(code|key|slug|username|password|uuid|hash|token)$")


def _payload_fields(obj: Any) -> dict[str, str]:
    """The free-text fields of ``obj`` (CharField and TextField without choices, not keys,
    not encrypted) with the payload appended (within the column's length)."""
    from django.db import models as dj

    changes = {}
    for f in obj._meta.concrete_fields:
        if not isinstance(f, dj.CharField | dj.TextField) or f.choices or NOT_TEXT.search(f.name):
            continue
        if type(f).__module__.startswith("gridmap.crypto"):
            continue
        value = getattr(obj, f.attname) or ""
        room = (f.max_length or 10_000) - len(XSS_PAYLOAD)
        if room < 1:
            continue
        changes[f.attname] = value[:room] + XSS_PAYLOAD
    return changes


def test_public_pages_draw_stored_text_as_text(world: World):
    """Every public page (a route with a ``public`` rule, found by walking the resolver, so a
    page added later is covered without being named here) is requested by an anonymous
    visitor after every free-text field of the inside area's objects (place names, a service
    item's materials and steps, a request's matter, a case's description, ...) got a script
    payload: the HTML it answers never holds the payload as markup, and at least one public
    page draws the (escaped) text, so the check cannot pass by drawing nothing."""
    rules = all_rules()
    inside = world.inside()
    client = world.clients[ANONYMOUS]
    escaped = XSS_PAYLOAD.replace("<", "&lt;").replace(">", "&gt;")
    sid = transaction.savepoint()
    try:
        for obj in inside.objects.values():
            if obj is None or not hasattr(obj, "_meta"):
                continue
            changes = _payload_fields(obj)
            if not changes:
                continue
            try:
                with transaction.atomic():
                    type(obj)._default_manager.filter(pk=obj.pk).update(**changes)
            except IntegrityError:
                pass  # append-only (a case's history) or frozen (a closed score): as written
        pages, drawn, markup = 0, [], []
        for parts, _pattern in leaves(get_resolver()):
            route = route_of(parts)
            if route in EXCLUDED:
                continue
            for rule in rules[route]:
                if not rule.public or rule.post:
                    continue
                if rule.kind is not None and inside.objects.get(rule.kind) is None:
                    continue
                url = render(parts, rule.path(inside))
                response = request(client, url, rule, inside)
                if "html" not in response.get("Content-Type", ""):
                    continue
                pages += 1
                text = body_of(response)
                if XSS_PAYLOAD in text:
                    markup.append(url)
                if escaped in text:
                    drawn.append(url)
        assert pages >= 4, pages
        assert not markup, f"public pages with stored text as markup: {markup}"
        assert drawn, "no public page drew the stored text"
    finally:
        transaction.savepoint_rollback(sid)
        transaction.set_rollback(False)
