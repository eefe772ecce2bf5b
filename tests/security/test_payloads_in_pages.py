"""Threat: script from stored data, on every page that draws it. A name or a note is stored
by one user (a place renamed in the admin, a worker's name, a category, a plan, a case note,
an attachment's file name) and drawn for another: if any page or script inserts it as HTML,
or puts it into an attribute or a link unescaped, it runs in the session of whoever looks.

This test stores script payloads (``<img onerror>``, ``<script>``, ``"><svg onload>``,
attribute breakers with either quote, ``javascript:`` in a phone number that becomes a link)
in every place name of one demo grid's chain (city, district, town, village, grid, station,
service centre, building), in the names of the grid's workers and the station's head, in a
category, in two plans and a plan station, in a case's description, its second report, its
action notes and its callback, and in an attachment's file name; an HTML upload is refused.
It then loads every page that draws these (map, coverage, plan editor and comparison, the
field page's "my work" and report form with its duplicates nearby, the case page and the lists
also in English, dashboard, weekly pages, the public notice board and village page, the
admin's lists and forms) as a grid worker, a town's staff and a district administrator (and
the admin models only a superuser opens, as a superuser), opens the tooltips and popups that
draw the names, and asserts that no dialog opened, no payload ran (``window.__xss``), no
event-handler attribute or ``javascript:`` link appeared, and no Content-Security-Policy
violation or console error happened other than the one each browser context provokes on
purpose (to prove the listener hears). And the payloads are on the page as text, so the test
notices if the names stopped being drawn at all.

What fixed the holes this test finds: names inserted with ``el``/``textTooltip``
(gridmap/static/gridmap/common.js, commit e2c843b), django-csp's policy with nonces, uploads
checked by content (gridmap.uploads). With the page scripts as they were before e2c843b it
fails on /map/, the plan editor and both comparisons (Leaflet labels, tooltips and popups as
HTML: ``IMG[onerror]``, ``svg[onload]``, CSP ``script-src-attr`` violations) for every role
that opens them, and on /coverage/ (a ``<script>`` element built in the layer control); with
the content check of attachments removed, the HTML upload is not refused for what it is.

The data is committed (the server is another process) and restored afterwards: names
renamed back, the plans and the case removed; the test logins stay, without their payload
names (as the other browser tests' logins do).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP

# django_db: pytest-django sets the test database up only for a session with such a test; a
# module run alone would otherwise write its payloads into the development database.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CITY_PREFIX = "4507"
PASSWORD = "payload-pass-4507"

# Each payload, if it ever ran, would set window.__xss and open a dialog. All fit the
# shortest field they go in (a worker's or a category's name: 50 characters).
IMG = "<img src=x onerror=alert(__xss=1)>"
SCRIPT = "<script>alert(__xss=2)</script>"
SVG = '"><svg onload=alert(__xss=3)>'
DOUBLE_QUOTED = 'x" onfocus="alert(__xss=4)" autofocus="'
SINGLE_QUOTED = "x' onfocus='alert(__xss=5)' autofocus='"
JAVASCRIPT = "javascript:__xss=6"  # a phone number (20 characters): it becomes a tel: link
PAYLOADS = (IMG, SCRIPT, SVG, DOUBLE_QUOTED, SINGLE_QUOTED)
CATEGORY_EN = f"{IMG}kind"  # a category's English name: shown in English only
FIELD_WORK = "/field/ (my work, case opened, inbox)"
FIELD_REPORT = "/field/ (report at the case's place: categories, duplicates nearby)"

# What the browser records in every page: CSP violations, before any page script runs.
INIT_SCRIPT = """
(() => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push([e.violatedDirective, e.blockedURI, (e.sample || "").slice(0, 80)].join(" "));
  }, true);
  // Every Leaflet map the page makes, so the test can open its tooltips and popups.
  window.__maps = [];
  let leaflet;
  Object.defineProperty(window, "L", {
    configurable: true,
    get() { return leaflet; },
    set(value) {
      leaflet = value;
      if (value && value.Map && !value.__payloadHook) {
        value.__payloadHook = true;
        value.Map.addInitHook(function () { window.__maps.push(this); });
      }
    },
  });
})();
"""

# Opens what draws names: every tooltip of a feature that carries a payload, then each such
# feature's popup (a click, as a user would; the map page loads a grid's popup on click).
OPEN_FEATURES = """
async (marker) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const carries = (layer) => {
    try { return JSON.stringify(layer.feature && layer.feature.properties).includes(marker); }
    catch (e) { return false; }
  };
  let opened = 0;
  for (const map of window.__maps || []) {
    const layers = [];
    map.eachLayer((layer) => { if (carries(layer)) layers.push(layer); });
    for (const layer of layers) {
      const centre = layer.getBounds ? layer.getBounds().getCenter() : layer.getLatLng();
      if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(centre); opened++; }
    }
    for (const layer of layers.slice(0, 6)) {
      const centre = layer.getBounds ? layer.getBounds().getCenter() : layer.getLatLng();
      layer.fire("mouseover", { latlng: centre });
      layer.fire("click", { latlng: centre, originalEvent: new MouseEvent("click") });
      if (layer.getPopup && layer.getPopup()) layer.openPopup(centre);
      opened++;
      await sleep(200);
    }
  }
  return opened;
}
"""

# What a payload leaves in the DOM if it was inserted as markup.
INJECTED = """
() => {
  const found = [];
  for (const node of document.querySelectorAll("*")) {
    for (const attribute of node.attributes) {
      if (/^on/i.test(attribute.name)) found.push(node.tagName + "[" + attribute.name + "]");
    }
    if (node.tagName === "A" && /^\\s*javascript:/i.test(node.getAttribute("href") || "")) {
      found.push("a[href=" + node.getAttribute("href") + "]");
    }
    if (node.tagName === "SCRIPT" && node.type !== "application/json" &&
        (node.textContent || "").includes("__xss")) {
      found.push("script " + (node.id || node.type || "") + ": " + node.textContent.slice(0, 120));
    }
    if (node.tagName === "IMG" && node.getAttribute("src") === "x") found.push("img[src=x]");
  }
  return found;
}
"""

PROVOKED = "provoked-by-the-test"
PROVOKE = f"""
() => {{
  const img = document.createElement("img");
  img.setAttribute("onerror", "window.__provoked = 1 /* {PROVOKED} */");
  img.src = "data:,";
  document.body.appendChild(img);
}}
"""


# --- the payload data ----------------------------------------------------------------------
def _place() -> dict[str, Any]:
    """A demo grid from the middle of the list (the other browser tests take the first and
    the last), with a leader with a phone, a station with a head, a service centre and
    buildings."""
    from grids.models import (
        Building,
        CatchmentAssignment,
        Grid,
        Role,
        RoleAssignment,
        ServiceCentre,
    )

    active = RoleAssignment.objects.active().select_related("worker")
    grids = list(
        Grid.objects.current()
        .filter(code__startswith=CITY_PREFIX)
        .select_related("village__town__district__city")
        .order_by("code")
    )
    middle = len(grids) // 2
    for grid in grids[middle:] + grids[:middle]:
        leader = active.filter(grid=grid, role=Role.GRID_LEADER).first()
        if leader is None or not leader.worker.phone:
            continue
        catchment = (
            CatchmentAssignment.objects.active()
            .filter(village__code=grid.village.code)
            .select_related("station")
            .first()
        )
        if catchment is None:
            continue
        head = active.filter(station=catchment.station, role=Role.STATION_HEAD).first()
        centre = ServiceCentre.objects.filter(village__code=grid.village.code).first()
        building = Building.objects.filter(grid=grid).first()
        if head is None or centre is None or building is None:
            continue
        if head.worker_id == leader.worker_id:
            continue
        inner = grid.geom.buffer(-0.0005)
        if inner.empty:
            continue
        return {
            "grid": grid,
            "village": grid.village,
            "town": grid.village.town,
            "district": grid.village.town.district,
            "city": grid.village.town.district.city,
            "station": catchment.station,
            "centre": centre,
            "building": building,
            "workers": [a.worker for a in active.filter(grid=grid)] + [head.worker],
            "leader": leader.worker,
            "point": inner.point_on_surface,
        }
    raise AssertionError("the demo has no grid with a leader, station head, centre and building")


@dataclass
class World:
    place: dict[str, Any]
    logins: dict[str, dict[str, str]]
    incident: Any
    plans: list[Any]
    attachment_names: list[str]
    superuser: dict[str, str]
    category_code: str
    restore: list[Any] = field(default_factory=list)


def _rename(restore: list[Any], model: Any, pk: int, **values: str) -> None:
    """Set fields of one row and remember the old values."""
    old = model.objects.filter(pk=pk).values(*values).get()
    restore.append((model, pk, old))
    model.objects.filter(pk=pk).update(**values)


def _png(name: str) -> Any:
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _purge(usernames: list[str]) -> None:
    from django.contrib.auth import get_user_model

    from inbox.models import Notification
    from incidents.models import Incident
    from planning.models import Plan, PlanAssignment, PlanChange, PlanStation
    from tests.incidents.case_history import purge_incidents

    users = get_user_model().objects.filter(username__in=usernames)
    ids = list(Incident.objects.filter(reporter__in=users).values_list("pk", flat=True))
    Notification.objects.filter(subject_type="incident", subject_id__in=ids).delete()
    purge_incidents(ids)
    plans = Plan.objects.filter(author__in=users)
    for model in (PlanChange, PlanAssignment, PlanStation):
        model.objects.filter(plan__in=plans).delete()
    plans.delete()


SUPERUSER = {"username": "payload-superuser", "password": PASSWORD}
LOGINS = {
    "grid_worker": {"username": "payload-grid-worker", "password": PASSWORD},
    "town_staff": {"username": "payload-town-staff", "password": PASSWORD},
    "district_admin": {"username": "payload-district-admin", "password": PASSWORD},
}


@pytest.fixture(scope="module")
def world(demo, django_db_blocker) -> Iterator[World]:
    """The payloads, committed: names of one grid's places and people, a category, plans, a
    case with notes and an attachment; the three logins. Everything is put back afterwards."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max

    from accounts.models import AccountRole
    from accounts.services import account_upsert
    from grids.models import (
        Building,
        City,
        District,
        Grid,
        ServiceCentre,
        Station,
        Town,
        Village,
        Worker,
    )
    from incidents import workflow
    from incidents.models import CaseAttachment, Category, Incident
    from incidents.services import incident_create
    from planning.models import TravelTime
    from planning.services import plan_create, plan_station_add

    usernames = [login["username"] for login in LOGINS.values()] + [SUPERUSER["username"]]
    restore: list[Any] = []
    with django_db_blocker.unblock():
        _purge(usernames)  # after an interrupted run
        _refuse_leftovers()
        # The plan editor's page fills the travel-time cache of the plans' town (committed
        # by the server): what it adds goes again afterwards (tests/planning counts rows).
        travel_before = TravelTime.objects.aggregate(last=Max("id"))["last"] or 0
        place = _place()
        leader = place["leader"]
        previous_login = leader.user_id
        grid_worker = account_upsert(
            username=LOGINS["grid_worker"]["username"],
            password=PASSWORD,
            role=AccountRole.GRID_WORKER,
            codes=[place["grid"].code],
            worker=leader,
            first_name=IMG,
        ).user
        account_upsert(
            username=LOGINS["town_staff"]["username"],
            password=PASSWORD,
            role=AccountRole.TOWN_STAFF,
            codes=[place["town"].code],
            first_name=SVG,
        )
        admin = account_upsert(
            username=LOGINS["district_admin"]["username"],
            password=PASSWORD,
            role=AccountRole.DISTRICT_ADMIN,
            codes=[place["district"].code],
            first_name=DOUBLE_QUOTED,
        ).user
        superuser, _created = get_user_model().objects.get_or_create(username=SUPERUSER["username"])
        superuser.is_staff = superuser.is_superuser = True
        superuser.first_name = SINGLE_QUOTED
        superuser.set_password(PASSWORD)
        superuser.save()
        try:
            category = Category.objects.filter(is_active=True).order_by("ordering", "code")[0]
            # The case and the plans first: their services read names the payloads replace.
            incident, _created = incident_create(
                actor=grid_worker,
                point=place["point"],
                category=category,
                severity="blue",
                description=f"{IMG} {SCRIPT} 排水沟堵塞",
            )
            incident_create(
                actor=grid_worker,
                point=place["point"],
                category=category,
                severity="blue",
                description=f"{SVG} 又一次报告",
                attach_to=incident,
            )
            plans = [
                plan_create(actor=admin, name=f"{SCRIPT}方案", area_code=place["town"].code),
                plan_create(actor=admin, name=f"{SINGLE_QUOTED}方案", area_code=place["town"].code),
            ]
            plan_station_add(
                actor=admin,
                plan=plans[0],
                town_code=place["town"].code,
                name=f"{DOUBLE_QUOTED}新站",
                location=place["point"],
                override_reason=IMG,
            )

            # Names: a different payload in each field, so a hole shows which one it is.
            names = {
                City: (place["city"], IMG),
                District: (place["district"], SVG),
                Town: (place["town"], DOUBLE_QUOTED),
                Village: (place["village"], IMG),
                Grid: (place["grid"], SINGLE_QUOTED),
                Station: (place["station"], SVG),
                ServiceCentre: (place["centre"], SCRIPT),
                Building: (place["building"], DOUBLE_QUOTED),
            }
            for model, (row, payload) in names.items():
                _rename(restore, model, row.pk, name=payload + "地")
            _rename(restore, Station, place["station"].pk, address=JAVASCRIPT)
            workers = {w.pk: w for w in place["workers"]}
            for i, worker in enumerate(workers.values()):
                _rename(restore, Worker, worker.pk, name=PAYLOADS[i % len(PAYLOADS)] + "员")
            _rename(restore, Worker, leader.pk, phone=JAVASCRIPT)
            _rename(restore, Category, category.pk, name_zh=f"{SVG}类", name_en=CATEGORY_EN)

            # The case's history: notes, an attachment with a payload name, the callback.
            def act(action: str, note: str, **extra: Any) -> None:
                version = Incident.objects.get(pk=incident.pk).version
                workflow.case_act(
                    actor=grid_worker,
                    incident_id=incident.pk,
                    action=action,
                    version=version,
                    note=note,
                    **extra,
                )

            act("acknowledge", SINGLE_QUOTED)
            act("start", DOUBLE_QUOTED)
            act("resolve", f"{SVG} 已疏通", attachments=[_png(f"{IMG}.png")])
            act("callback", f"{SCRIPT} 满意", data={"rating": 5})
            names_shown = [
                a.file.name.rsplit("/", 1)[-1].split("-", 1)[-1]
                for a in CaseAttachment.objects.filter(event__incident=incident)
            ]
        except BaseException:
            _restore(restore)
            _purge(usernames)
            raise
    yield World(
        place=place,
        logins=LOGINS,
        incident=incident,
        plans=plans,
        attachment_names=names_shown,
        superuser=SUPERUSER,
        category_code=category.code,
        restore=restore,
    )
    with django_db_blocker.unblock():
        _restore(restore)
        _purge(usernames)
        TravelTime.objects.filter(id__gt=travel_before).delete()
        Worker.objects.filter(pk=leader.pk).update(user_id=previous_login)
        # The logins stay (as the other browser tests' do), without their payload names.
        get_user_model().objects.filter(username__in=usernames).update(first_name="")


def _refuse_leftovers() -> None:
    """A run killed before its teardown leaves payload names behind, which this run would
    then take for the names to restore: say so instead of making them permanent."""
    from grids.models import (
        Building,
        City,
        District,
        Grid,
        ServiceCentre,
        Station,
        Town,
        Village,
        Worker,
    )
    from incidents.models import Category

    left = [
        model.__name__
        for model, column in [
            *[(m, "name") for m in (City, District, Town, Village, Grid, Building, Station)],
            (ServiceCentre, "name"),
            (Worker, "name"),
            (Category, "name_zh"),
        ]
        if model.objects.filter(**{f"{column}__contains": "__xss"}).exists()
    ]
    assert left == [], (
        f"payload names left in {left} by an interrupted run: recreate the test database "
        "(pytest --create-db)"
    )


def _restore(restore: list[Any]) -> None:
    for model, pk, old in reversed(restore):
        model.objects.filter(pk=pk).update(**old)


# --- the browser side ----------------------------------------------------------------------
@dataclass
class Visit:
    role: str
    path: str
    status: int
    dialogs: list[str]
    csp: list[str]
    errors: list[str]
    injected: list[str]
    xss: Any
    shown: list[str]
    opened: int = 0  # tooltips and popups of payload-carrying features the test opened

    def problems(self) -> list[str]:
        found = [f"dialog {d}" for d in self.dialogs]
        found += [f"csp {c}" for c in self.csp if PROVOKED not in c]
        # A page refused to this role: the browser reports the document's own status.
        refused = f"the server responded with a status of {self.status}"
        found += [
            f"console {e}"
            for e in self.errors
            if PROVOKED not in e and not (self.status >= 400 and refused in e)
        ]
        found += [f"injected {i}" for i in self.injected]
        if self.xss is not None:
            found.append(f"window.__xss = {self.xss!r}")
        return found


class Session:
    """One role's browser context: logs in once, then visits pages."""

    def __init__(self, browser: Any, server_url: str, role: str, login: dict[str, str]) -> None:
        self.role = role
        self.context = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=server_url)
        self.context.set_default_timeout(20_000)
        self.context.add_init_script(INIT_SCRIPT)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on(
            "console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}")
        )
        self.page.goto("/accounts/login/")
        self.page.fill("input[name=username]", login["username"])
        self.page.fill("input[name=password]", login["password"])
        self.page.click(".gm-login-card button[type=submit]")
        self.page.wait_for_load_state("networkidle")
        self.provoked = self._provoke()

    def _provoke(self) -> list[str]:
        """One violation on purpose: the listener must hear it, or the test proves nothing."""
        self.page.evaluate(PROVOKE)
        self.page.wait_for_timeout(200)
        heard = self.page.evaluate("window.__csp")
        self.page.evaluate("window.__csp = []")
        self.errors.clear()
        return heard

    def visit(self, path: str, ready: str | None = None, marker: str = "__xss") -> Visit:
        self.dialogs.clear()
        self.errors.clear()
        answer = self.page.goto(path)
        status = answer.status if answer else 0
        opened = 0
        if status == 200 and ready:  # a page its script draws: until it says it has drawn
            self.page.wait_for_selector(ready, state="attached")
            self.page.wait_for_load_state("networkidle")
            opened = self.page.evaluate(OPEN_FEATURES, marker)
            self.page.wait_for_timeout(300)
        elif status == 200:  # a page drawn on the server
            self.page.wait_for_load_state("load")
            self.page.wait_for_timeout(100)
        return self.snapshot(path, status, opened)

    def snapshot(self, path: str, status: int = 200, opened: int = 0) -> Visit:
        """What the page holds now, and what happened since the last ``visit`` began."""
        text = self.page.evaluate("document.body ? document.body.innerText : ''")
        return Visit(
            role=self.role,
            path=path,
            status=status,
            dialogs=list(self.dialogs),
            csp=self.page.evaluate("window.__csp || []"),
            errors=list(self.errors),
            injected=self.page.evaluate(INJECTED),
            xss=self.page.evaluate("window.__xss === undefined ? null : window.__xss"),
            shown=[p for p in PAYLOADS + (CATEGORY_EN,) if p in text],
            opened=opened,
        )

    def close(self) -> None:
        self.context.close()


def _pages(world: World) -> list[tuple[str, str | None]]:
    """(path, selector that says the page has drawn), for every page that draws the names."""
    place = world.place
    plan = world.plans[0].pk
    other = world.plans[1].pk
    case = world.incident.pk
    return [
        ("/map/", '#gridmap[data-loaded="true"]'),
        (f"/coverage/?area={place['town'].code}", '#coverage-map[data-loaded="true"]'),
        (f"/plans/{plan}/", '#plan-map[data-loaded="true"]'),
        (f"/plans/{plan}/compare/", '#compare-map[data-loaded="true"]'),
        (f"/plans/{plan}/compare/?with={other}", '#compare-map[data-loaded="true"]'),
        ("/plans/", None),
        (f"/cases/{case}/", '#case[data-ready="true"]'),
        ("/lists/", None),
        # Service requests' lists: the village and town names in their filters (issue 15).
        ("/lists/?case=service", None),
        ("/dashboard/", 'html[data-charts="ready"]'),
        ("/weekly/", None),
        (f"/weekly/towns/{place['town'].code}/", None),
        (f"/weekly/stations/{place['station'].code}/", None),
        (f"/weekly/villages/{place['village'].code}/", None),
        ("/public/", None),
        (f"/public/villages/{place['village'].code}/", None),
    ]


def _admin_pages(world: World) -> list[tuple[str, str | None]]:
    """The admin's lists and forms that show the names (a district admin's: places, people)."""
    place = world.place
    return [
        (f"/admin/grids/{model}/?q=__xss", None)
        for model in ("town", "village", "grid", "building", "servicecentre", "station", "worker")
    ] + [
        (f"/admin/grids/roleassignment/?q={place['grid'].code}", None),
        (f"/admin/grids/grid/{place['grid'].pk}/change/", None),
        (f"/admin/grids/station/{place['station'].pk}/change/", None),
        (f"/admin/grids/worker/{place['leader'].pk}/change/", None),
    ]


def _superuser_pages(world: World) -> list[tuple[str, str | None]]:
    """The admin models only a superuser opens: categories, plans, cases, their history."""
    case = world.incident.pk
    return [
        ("/admin/incidents/category/?q=__xss", None),
        ("/admin/planning/plan/?q=__xss", None),
        (f"/admin/planning/planchange/?q={world.plans[0].name}", None),
        (f"/admin/incidents/incident/?q={case}", None),
        (f"/admin/incidents/incident/{case}/change/", None),
        (f"/admin/incidents/caseevent/?q={case}", None),
        ("/admin/incidents/caseattachment/", None),
        ("/admin/auth/user/?q=payload", None),
    ]


@pytest.fixture(scope="module")
def visits(world, browser_module, server_url) -> dict[str, list[Visit]]:
    """Every page as each of the three roles (one browser context per role)."""
    found: dict[str, list[Visit]] = {}
    for role, login in world.logins.items():
        session = Session(browser_module, server_url, role, login)
        try:
            PROVOKED_HEARD[role] = session.provoked
            pages = _pages(world)
            if role == "district_admin":
                pages += _admin_pages(world)
            if role == "grid_worker":  # the case waits on the grid: it is in their to do
                pages += [("/todo/", None)]
            found[role] = [session.visit(path, ready) for path, ready in pages]
            found[role].append(_field_work(session, world))
            found[role].append(_field_report(session, world))
            found[role] += _in_english(session, world, server_url)
        finally:
            session.close()
    # The admin models a district admin may not open, as a superuser.
    session = Session(browser_module, server_url, "superuser", world.superuser)
    try:
        PROVOKED_HEARD["superuser"] = session.provoked
        found["superuser"] = [session.visit(path, ready) for path, ready in _superuser_pages(world)]
    finally:
        session.close()
    for role, pages in found.items():  # the figures for the lead's note (pytest -s)
        for v in pages:
            figures = f"shown={len(v.shown)} opened={v.opened}"
            print(f"{role:15} {v.status} {v.path:45} {figures} {v.problems()}")
    return found


# What each role's context heard of the violation it provoked (filled by ``visits``).
PROVOKED_HEARD: dict[str, list[str]] = {}


def _field_work(session: Session, world: World) -> Visit:
    """The field page's "my work": the case in the list and opened."""
    page = session.page
    visit = session.visit("/field/", '#field[data-ready="true"]')
    if visit.status != 200:
        return visit
    page.click('[data-tab="work"]')
    page.wait_for_timeout(800)
    item = page.locator(f'.fd-item[data-incident-id="{world.incident.pk}"] .fd-item-main')
    if item.count():
        item.first.click()
        page.wait_for_selector(f'.fd-detail .fd-result[data-incident-id="{world.incident.pk}"]')
    inbox = page.locator('[data-worktab="inbox"]')
    if inbox.count() and inbox.is_visible():
        inbox.click()
    page.wait_for_timeout(500)
    return session.snapshot(FIELD_WORK, opened=visit.opened)


def _field_report(session: Session, world: World) -> Visit:
    """The field page's report form at the case's place: its categories and the duplicates
    nearby (the case's description) are drawn by the page's script."""
    from tests.browser.test_field import click_map_at

    page = session.page
    visit = session.visit("/field/", '#field[data-ready="true"]')
    if visit.status != 200:
        return visit
    point = world.place["point"]
    click_map_at(page, point.x, point.y)
    with page.expect_response(lambda r: "/api/incidents/duplicates/?" in r.url):
        page.click(f'label.fd-chip:has(input[value="{world.category_code}"])')
    page.wait_for_selector(f'.fd-duplicate[data-incident-id="{world.incident.pk}"]')
    page.wait_for_timeout(300)
    return session.snapshot(FIELD_REPORT, opened=visit.opened)


def _in_english(session: Session, world: World, server_url: str) -> list[Visit]:
    """The case page and the lists in English (the category's English name)."""
    session.context.add_cookies([{"name": "django_language", "value": "en", "url": server_url}])
    case = world.incident.pk
    found = [session.visit(f"/cases/{case}/", '#case[data-ready="true"]'), session.visit("/lists/")]
    for v in found:
        v.path += " (en)"
    session.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": server_url}]
    )
    return found


@pytest.fixture(scope="module")
def browser_module(server_url, browser_user) -> Iterator[Any]:
    """One Chromium for the module (the ``browser`` fixture is per test)."""
    import os

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- the tests -----------------------------------------------------------------------------
def test_no_payload_runs_on_any_page_for_any_role(visits):
    report = {
        f"{v.role} {v.path}": v.problems() for role in visits.values() for v in role if v.problems()
    }
    assert report == {}, json.dumps(report, ensure_ascii=False, indent=1)


def test_each_context_hears_the_violation_it_provokes(visits):
    """The listener works: an inline handler added on purpose is refused and reported."""
    assert set(PROVOKED_HEARD) == set(visits)
    for role, heard in PROVOKED_HEARD.items():
        assert any(v.startswith("script-src") for v in heard), (role, heard)


def test_the_payloads_are_shown_as_text(visits):
    """Each role sees the literal payloads on the pages it may open: names are drawn."""
    for role, pages in visits.items():
        opened = [v for v in pages if v.status == 200]
        assert opened, role
        # The attachments' list shows their stored names, which keep no markup (tested below).
        silent = [v.path for v in opened if not v.shown and "caseattachment" not in v.path]
        assert silent == [], (role, silent)
        for v in opened:
            if v.path.startswith("/cases/") and v.path.endswith("(en)"):
                assert CATEGORY_EN in v.shown, (role, v.path, v.shown)


def test_the_maps_opened_the_tooltips_and_popups_of_the_named_features(visits):
    """The names on a map are drawn when a user points at them: the test opened them."""
    for role, pages in visits.items():
        for v in pages:
            if v.status == 200 and re.match(r"^/(map|coverage|plans/\d+)/", v.path):
                assert v.opened > 0, (role, v.path)


def test_every_role_opened_the_core_pages(visits, world):
    """The roles reach the pages the acceptance names (a page refused is not a page tested)."""
    case = f"/cases/{world.incident.pk}/"
    for role in LOGINS:
        status = {v.path: v.status for v in visits[role]}
        for path in ("/map/", FIELD_WORK, FIELD_REPORT, case, "/lists/", case + " (en)"):
            assert status[path] == 200, (role, path, status[path])
    admin = {v.path: v.status for v in visits["district_admin"]}
    town = {v.path: v.status for v in visits["town_staff"]}
    plan = f"/plans/{world.plans[0].pk}/"
    for status in (admin, town):
        assert status[plan] == 200 and status[plan + "compare/"] == 200
        assert status[f"/coverage/?area={world.place['town'].code}"] == 200


def test_an_attachment_keeps_no_markup_in_its_name(world):
    assert world.attachment_names
    for name in world.attachment_names:
        assert re.fullmatch(r"[\w.]+", name), name


def test_an_html_attachment_is_refused(world, browser_module, server_url, django_db_blocker):
    from incidents.models import Incident

    with django_db_blocker.unblock():
        version = Incident.objects.get(pk=world.incident.pk).version
    session = Session(browser_module, server_url, "grid_worker", world.logins["grid_worker"])
    try:
        cookies = {c["name"]: c["value"] for c in session.context.cookies()}
        answer = session.context.request.post(
            f"/api/incidents/{world.incident.pk}/actions/",
            headers={"X-CSRFToken": cookies.get("csrftoken", "")},
            multipart={
                "action": "reopen",
                "version": str(version),
                "note": IMG,
                "attachments": {
                    "name": "notes.html",
                    "mimeType": "image/png",
                    "buffer": b"<html><script>alert(__xss=7)</script></html>",
                },
            },
        )
        assert answer.status == 400, (answer.status, answer.text()[:300])
        assert "attachments" in answer.json()["errors"]
    finally:
        session.close()
