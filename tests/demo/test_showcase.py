"""A demo that shows it (issue 12, item 10): what ``make demo`` and ``make users`` leave.

- every demo worker with an active role has a login (username = mobile) and none of them a
  known password: ``demo_logins`` hands out one-time passwords on request;
- six months of past cases (``load_demo_cases`` as the Makefile calls it), spread over
  severities, categories and states, each step by the party ``cases.workflow`` names;
- the planner's town has at least three stations of 3-7 villages;
- a grid leader's map opens on their grid.
"""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.db.models import Extent
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from accounts.models import Account, PasswordChangeRequired
from demo.cases import DEMO_REPORTER
from demo.logins import demo_role_workers
from demo.management.commands.create_demo_users import HOW_TO_GET_LOGINS
from grids.models import CatchmentAssignment, Grid, Role, RoleAssignment, Station, Town
from incidents.models import CaseEvent, Category, Incident

pytestmark = pytest.mark.django_db
MAKEFILE = (settings.BASE_DIR / "Makefile").read_text(encoding="utf-8")
END = dt.datetime(2026, 6, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))  # --end 2026-06-01, local


def login(username: str):
    return get_user_model().objects.get(username=username)


@pytest.fixture
def users(demo):
    """``make users``: the showcase logins and a login for every worker with a role."""
    out = StringIO()
    call_command("create_demo_users", stdout=out, stderr=StringIO())
    return out.getvalue()


def make_demo_cases() -> tuple[int, int]:
    """(count, days) of the cases ``make demo`` loads, read from the Makefile."""
    count = int(re.search(r"^DEMO_CASES \?= (\d+)$", MAKEFILE, re.M).group(1))
    line = re.search(r"load_demo_cases --count \$\(DEMO_CASES\) --days (\d+) --if-empty", MAKEFILE)
    return count, int(line.group(1))


@pytest.fixture
def cases(demo):
    count, days = make_demo_cases()
    call_command("load_demo_cases", count=count, days=days, end=END.date(), verbosity=0)
    return Incident.objects.filter(reporter__username=DEMO_REPORTER)


# --- logins ---------------------------------------------------------------------------------
def test_every_worker_with_an_active_role_has_a_login_and_no_known_password(users):
    workers = demo_role_workers()
    assert workers.count() > 150
    assert not workers.filter(user__isnull=True).exists()
    # Logins made before (grid_worker: the README's showcase; a committed browser test's)
    # keep theirs; every other is the worker's mobile, without a usable password.
    linked_before = set(Account.objects.values_list("user_id", flat=True))
    demo_made = [w for w in workers.select_related("user") if w.user_id not in linked_before]
    assert len(demo_made) >= workers.count() - 5
    for worker in demo_made:
        assert worker.user.get_username() == re.sub(r"\D", "", worker.phone)[-11:]
        assert not worker.user.has_usable_password(), worker.user
    assert HOW_TO_GET_LOGINS in users and "demo_logins" in HOW_TO_GET_LOGINS
    # The showcase logins of the README keep working.
    for username in ("grid_worker", "planner"):
        assert login(username).check_password("gridmap-demo")


def test_demo_logins_prints_one_time_passwords_for_a_village_only(users):
    village = (
        Grid.objects.current()
        .filter(code__startswith="4507", role_assignments__role=Role.GRID_LEADER)
        .order_by("-code")  # not the showcase grid_worker's (the first): all new passwords
        .first()
        .village
    )
    out = StringIO()
    call_command("demo_logins", village=village.code, stdout=out)
    lines = [line.split("\t") for line in out.getvalue().splitlines()[1:-1]]
    assert len(lines) >= 6  # the village's own roles, its grids' and its station's staff
    station = CatchmentAssignment.objects.active().get(village=village).station
    asked = set(
        RoleAssignment.objects.active()
        .filter(grid__village=village)
        .values_list("worker__user__username", flat=True)
    ) | set(
        RoleAssignment.objects.active()
        .filter(station=station)
        .values_list("worker__user__username", flat=True)
    )
    printed = {username for _, username, _, _ in lines}
    assert asked <= printed
    issued = 0
    for _, username, password, _ in lines:
        user = login(username)
        if password.startswith("("):  # a login with its own password (a committed test's)
            assert user.has_usable_password()
            continue
        assert user.check_password(password), username
        assert PasswordChangeRequired.objects.filter(user=user).exists()
        issued += 1
    assert issued >= len(lines) - 2
    others = demo_role_workers().exclude(user__username__in=printed).select_related("user")
    assert others.exists()
    assert sum(w.user.has_usable_password() for w in others) <= 3  # showcase and test logins

    # Asked again: listed, no new password unless --reset.
    again = StringIO()
    call_command("demo_logins", village=village.code, stdout=again)
    assert "0 one-time password(s) issued" in again.getvalue()
    username, password = next((u, p) for _, u, p, _ in lines if not p.startswith("("))
    call_command("demo_logins", worker=username, reset=True, stdout=StringIO())
    assert not login(username).check_password(password)


def test_demo_logins_by_role(users):
    out = StringIO()
    call_command("demo_logins", role="town_dispatcher", stdout=out)
    rows = out.getvalue().splitlines()[1:-1]
    assert len(rows) == Town.objects.current().filter(code__startswith="4507").count()


def test_demo_logins_needs_a_filter_and_a_match(users):
    with pytest.raises(CommandError, match="--village"):
        call_command("demo_logins")
    with pytest.raises(CommandError, match="No demo worker"):
        call_command("demo_logins", village="450702999999")


def test_a_replaced_demo_gives_its_workers_their_logins_again(users):
    """load_demo --replace deletes the workers, not their logins; the same mobiles come back."""
    before = demo_role_workers().count()
    call_command("load_demo", scale="small", seed=7, replace=True, verbosity=0)
    call_command("create_demo_users", stdout=StringIO())
    assert demo_role_workers().count() == before
    assert not demo_role_workers().filter(user__isnull=True).exists()


# --- stations -------------------------------------------------------------------------------
def test_the_planners_town_has_at_least_three_stations_of_3_to_7_villages(users):
    (town,) = Account.objects.get(user__username="planner").codes
    stations = Station.objects.filter(town__code=town).order_by("code")
    assert stations.count() >= 3
    for station in stations:
        n = CatchmentAssignment.objects.active().filter(station=station).count()
        assert 3 <= n <= 7, (station.code, n)


# --- cases ----------------------------------------------------------------------------------
def test_six_months_of_cases_through_every_state(cases):
    count, days = make_demo_cases()
    assert days >= 182 and cases.count() == count >= 1000
    reported = list(cases.values_list("reported_at", flat=True))
    assert END - dt.timedelta(days=days) <= min(reported) and max(reported) < END
    months = {timezone.localtime(t).strftime("%Y-%m") for t in reported}
    assert len(months) >= 6
    assert set(cases.values_list("severity", flat=True)) == {"blue", "yellow", "red"}
    categories = set(Category.objects.filter(is_active=True).values_list("pk", flat=True))
    assert set(cases.values_list("category", flat=True)) == categories
    statuses = dict(cases.values_list("status").annotate(n=Count("id")))
    for status in ("reported", "in_progress", "resolved", "verified", "closed", "cancelled"):
        assert statuses.get(status, 0) > 0, status
    assert statuses["closed"] > count / 2
    open_ = cases.exclude(status__in=["closed", "cancelled"])
    assert open_.filter(resolve_due_at__lt=END).count() > 10  # overdue
    assert cases.filter(escalation_count__gt=0).count() > 20
    assert cases.filter(satisfaction__isnull=False).count() > count / 2
    assert cases.filter(closed_on_time=False).exists() and cases.filter(closed_on_time=True)


def test_each_step_is_taken_by_its_party_under_their_own_login(cases):
    """Handlers act under the routed worker's login; for grid and village cases a station
    deputy or worker verifies and the station head closes out, signing as its head: never
    the verifier, never the handler (separation of duties, cases.workflow)."""
    events = CaseEvent.objects.filter(incident__in=cases)
    station_roles = {}
    for station_id, role, user_id in (
        RoleAssignment.objects.active()
        .filter(station__isnull=False)
        .values_list("station_id", "role", "worker__user_id")
    ):
        station_roles.setdefault(station_id, {}).setdefault(role, set()).add(user_id)
    checked = 0
    closes = events.filter(action="close_out", from_level__in=["grid", "village"])
    for close in closes.select_related("incident")[:400]:
        verify = events.filter(incident=close.incident_id, action="verify").latest("seq")
        resolve = events.filter(incident=close.incident_id, action="resolve").latest("seq")
        staff = station_roles[close.incident.station_id]
        assert close.actor_id in staff[Role.STATION_HEAD]
        assert close.data == {"signed_as": "station_head"}
        assert verify.actor_id is not None and verify.actor_id != close.actor_id
        assert verify.actor_id in staff.get(Role.STATION_DEPUTY, set()) | staff.get(
            Role.STATION_WORKER, set()
        )
        assert resolve.actor_id not in (close.actor_id, verify.actor_id)
        assert resolve.note.strip()
        checked += 1
    assert checked >= 300
    handled = events.filter(action="acknowledge", incident__responsible_level="grid")
    leaders = set(
        RoleAssignment.objects.active()
        .filter(role=Role.GRID_LEADER)
        .values_list("worker__user_id", flat=True)
    )
    assert handled.exists()
    share = handled.filter(actor_id__in=leaders).count() / handled.count()
    assert share > 0.8  # the rest: grids without a leader, the village secretary stands in
    reporter = get_user_model().objects.get(username=DEMO_REPORTER)
    assert set(
        events.filter(action__in=["report", "callback"]).values_list("actor", flat=True)
    ) == {reporter.pk}


def test_make_demo_loads_the_cases_once(cases):
    out = StringIO()
    call_command("load_demo_cases", if_empty=True, stdout=out)
    assert "nothing to do" in out.getvalue()
    assert cases.count() == make_demo_cases()[0]


# --- the map ----------------------------------------------------------------------------------
def test_a_grid_leaders_map_opens_on_their_grid(users, client):
    leader = (
        RoleAssignment.objects.active()
        .filter(role=Role.GRID_LEADER, grid__code__startswith="4507")
        .select_related("worker__user", "grid")
        .order_by("grid__code")
        .first()
    )
    client.force_login(leader.worker.user)
    res = client.get("/map/")
    assert res.status_code == 200
    home = res.context["map_config"]["home"]
    box = Grid.objects.filter(pk=leader.grid.pk).aggregate(box=Extent("geom"))["box"]
    assert home == pytest.approx(list(box), abs=1e-6)
    district = leader.grid.village.town.district.geom.extent
    assert (home[2] - home[0]) < (district[2] - district[0]) / 3  # not the whole district
    assert f'"home": [{home[0]}' in res.content.decode()


def test_a_superusers_map_opens_on_everything(users, client):
    client.force_login(get_user_model().objects.get(username="admin"))
    assert client.get("/map/").context["map_config"]["home"] is None
