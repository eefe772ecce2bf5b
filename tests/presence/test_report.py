"""The presence report (issue 14, item 7; acceptance 2): a month of sign-ins, rosters, visits
and patrols built by hand, every figure and every flag checked against a hand count.

June 2026 starts on a Monday: its ISO weeks are W23 (1-7 June) ... W27 (29 June - 5 July,
counted in full for June as its Monday is in June).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import LineString, Point
from django.utils import timezone, translation
from openpyxl import load_workbook
from psycopg.types.range import Range

from accounts.models import AccountRole
from grids.models import Grid, Role, Station, Town, Village, Worker
from presence import report
from presence.care import key_person_add
from presence.models import (
    CareCategory,
    DutyShift,
    Half,
    Patrol,
    PlaceLevel,
    PresenceRule,
    ScheduleDay,
    SignIn,
    Visit,
    VisitHousehold,
)
from presence.schedule import activity_for, load_longan_schedule
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    DistrictFactory,
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

pytestmark = pytest.mark.django_db

MONTH = "2026-06"
FROM = Range(dt.date(2026, 1, 1), None, "[)")
TZ = timezone.get_default_timezone()


def june(day: int) -> dt.date:
    return dt.date(2026, 6, 1) + dt.timedelta(days=day - 1)


def sign(
    worker: Worker, day: dt.date, *, half: int = Half.MORNING, verdict: str = "inside", code: str
) -> SignIn:
    hour = 9 if half == Half.MORNING else 15
    return SignIn.objects.create(
        worker=worker,
        at=dt.datetime.combine(day, dt.time(hour), tzinfo=TZ),
        day=day,
        half=half,
        location=Point(100.01, 0.01, srid=4326),
        accuracy_m=10,
        place_level=PlaceLevel.VILLAGE,
        place_code=code,
        role=Role.VILLAGE_ASSISTANT,
        verdict=verdict,
        note="在镇里开会" if verdict == "outside" else "",
    )


@dataclass
class Month:
    town: Town
    village: Village
    grid: Grid
    station: Station
    nineteen: Worker  # a village assistant 19 days in the village
    twenty: Worker  # a village assistant 20 days
    station_worker: Worker
    secretary: Worker
    elsewhere: Worker


@pytest.fixture
def month(db) -> Month:
    for role, kind, minimum in [
        (Role.VILLAGE_ASSISTANT, PresenceRule.Kind.DAYS_IN_PLACE_PER_MONTH, 20),
        (Role.STATION_WORKER, PresenceRule.Kind.DAYS_IN_VILLAGES_PER_WEEK, 2),
        (Role.VILLAGE_SECRETARY, PresenceRule.Kind.DUTY_DAYS_SIGNED, 0),
    ]:
        PresenceRule.objects.update_or_create(
            role=role, kind=kind, district=None, defaults={"minimum": minimum, "active": True}
        )
    district = DistrictFactory(geom=rect(100.0, 0.0, 100.2, 0.1))
    town = TownFactory(district=district, geom=rect(100.0, 0.0, 100.1, 0.1))
    village = VillageFactory(town=town, geom=town.geom)
    grid = GridFactory(village=village, geom=village.geom)
    other_town = TownFactory(district=district, geom=rect(100.1, 0.0, 100.2, 0.1))
    other_village = VillageFactory(town=other_town, geom=other_town.geom)
    station = StationFactory(town=town)
    CatchmentAssignmentFactory(village=village, station=station, period=FROM)

    def hire(name: str, role: str, **place: object) -> Worker:
        worker = WorkerFactory(name=name)
        RoleAssignmentFactory(worker=worker, role=role, period=FROM, **place)
        return worker

    m = Month(
        town=town,
        village=village,
        grid=grid,
        station=station,
        nineteen=hire("一九助理", Role.VILLAGE_ASSISTANT, village=village),
        twenty=hire("二十助理", Role.VILLAGE_ASSISTANT, village=village),
        station_worker=hire("站干部", Role.STATION_WORKER, station=station),
        secretary=hire("村书记", Role.VILLAGE_SECRETARY, village=village),
        elsewhere=hire("邻村助理", Role.VILLAGE_ASSISTANT, village=other_village),
    )
    code = village.code
    # 19 days: 1-19 June; the 1st and 3rd twice (morning and afternoon: one day each);
    # the 25th outside with a reason; May 31 and July 1 are other months.
    for day in range(1, 20):
        sign(m.nineteen, june(day), code=code)
    sign(m.nineteen, june(1), half=Half.AFTERNOON, code=code)
    sign(m.nineteen, june(3), half=Half.AFTERNOON, verdict="near", code=code)
    sign(m.nineteen, june(25), verdict="outside", code=code)
    sign(m.nineteen, dt.date(2026, 5, 31), code=code)
    sign(m.nineteen, dt.date(2026, 7, 1), code=code)
    # 20 days: 1-18 inside, 19 and 20 near.
    for day in range(1, 19):
        sign(m.twenty, june(day), code=code)
    sign(m.twenty, june(19), verdict="near", code=code)
    sign(m.twenty, june(20), verdict="near", code=code)
    # The station worker's days in the villages, week by week: W23 2, W24 1, W25 3, W26 2,
    # W27 2 (30 June and 2 July).
    for day in (1, 3, 10, 15, 16, 17, 22, 24, 30):
        sign(m.station_worker, june(day), code=code)
    sign(m.station_worker, dt.date(2026, 7, 2), code=code)
    # The secretary: on duty 2-6 June, signed in on all but the 5th (and on the 8th, no duty).
    for day in (2, 3, 4, 5, 6):
        DutyShift.objects.create(worker=m.secretary, date=june(day), village=village)
    for day in (2, 3, 4, 6, 8):
        sign(m.secretary, june(day), code=code)
    # Someone in the next town: not in this village's or town's report.
    sign(m.elsewhere, june(2), code=other_village.code)
    # Visits of the 19-day assistant: two on Tuesday 2 June (households h1, h2 and h2), one
    # on Tuesday 9 June (h3); one in May.
    h1, h2, h3 = (HouseholdFactory(grid=grid) for _ in range(3))
    for day, hour, households in ((2, 9, [h1, h2]), (2, 15, [h2]), (9, 10, [h3]), (-3, 10, [h1])):
        at = dt.datetime.combine(june(day), dt.time(hour), tzinfo=TZ)
        visit = Visit.objects.create(
            worker=m.nineteen, at=at, grid=grid, place_code=grid.code, notes="走访"
        )
        for h in households:
            VisitHousehold.objects.create(visit=visit, household=h)
    # Patrols of the 20-day assistant: 1.5 km and 2.25 km in June, 9 km in July.
    for day, metres in ((5, 1500.0), (12, 2250.0), (31, 9000.0)):
        start = dt.datetime.combine(june(day), dt.time(8), tzinfo=TZ)
        Patrol.objects.create(
            worker=m.twenty, started_at=start, ended_at=start + dt.timedelta(hours=1),
            day=june(day), track=LineString((100.01, 0.01), (100.02, 0.01), srid=4326),
            offsets=[0.0, 3600.0], length_m=metres, points_received=2, grid=grid,
            place_code=grid.code,
        )  # fmt: skip
    # Long'an's schedule: Tuesdays are for visits (2, 9, 16, 23, 30 June).
    load_longan_schedule()
    return m


def by_name(rows: list[report.WorkerFigures]) -> dict[str, report.WorkerFigures]:
    return {r.name: r for r in rows}


def test_every_figure_and_flag_against_a_hand_count(month, django_assert_max_num_queries):
    with translation.override("en"), django_assert_max_num_queries(7):
        rows = by_name(report.presence_figures(month.village.code, MONTH))
    # The village's people; the station worker's station is not inside the village's code.
    assert set(rows) == {"一九助理", "二十助理", "村书记"}

    nineteen = rows["一九助理"]
    assert nineteen.days_present == 19
    assert nineteen.present_days == [june(d) for d in range(1, 20)]
    assert (nineteen.days_outside, nineteen.outside_days) == (1, [june(25)])
    assert (nineteen.visits, nineteen.households_visited) == (3, 3)
    assert nineteen.visit_days == [june(2), june(9)]
    assert (nineteen.scheduled_visit_days, nineteen.scheduled_visit_days_done) == (5, 2)
    assert nineteen.patrol_km == 0
    assert (nineteen.duty_days, nineteen.duty_days_signed) == (0, 0)
    (verdict,) = nineteen.verdicts
    assert (verdict.kind, verdict.value, verdict.minimum) == ("days_in_place_per_month", 19, 20)
    assert verdict.text == "19/20 days"
    assert verdict.short and verdict.flagged and nineteen.flagged

    twenty = rows["二十助理"]
    assert twenty.days_present == 20 and twenty.days_outside == 0
    assert twenty.patrol_km == 3.75
    assert (twenty.visits, twenty.households_visited) == (0, 0)
    assert (twenty.scheduled_visit_days, twenty.scheduled_visit_days_done) == (5, 0)
    (verdict,) = twenty.verdicts
    assert (verdict.value, verdict.text, verdict.short, verdict.flagged) == (
        20, "20/20 days", False, False,
    )  # fmt: skip
    assert not twenty.flagged

    secretary = rows["村书记"]
    assert secretary.days_present == 5
    assert secretary.duty_dates == [june(d) for d in (2, 3, 4, 5, 6)]
    assert (secretary.duty_days, secretary.duty_days_signed) == (5, 4)
    assert secretary.duty_days_missed == [june(5)]
    (verdict,) = secretary.verdicts
    assert (verdict.kind, verdict.text, verdict.flagged) == ("duty_days_signed", "4/5 days", True)
    assert secretary.village_weeks == []


def test_key_persons_overdue_count_for_the_people_responsible(month):
    """A key person of a weekly village-staff category, visited on 9 June by the 19-day
    assistant, is due again on 16 June: at the month's end it is overdue for the village's
    staff (both assistants and the secretary), not for the station worker; before the 16th it
    is not overdue for anyone."""
    category = CareCategory.objects.create(
        code="weekly-test", name="每周走访", visit_every_days=7,
        visitor=CareCategory.Visitor.VILLAGE_STAFF,
    )  # fmt: skip
    household = VisitHousehold.objects.get(visit__at__day=9).household
    key_person_add(household=household, category=category, since=june(1))
    rows = by_name(report.presence_figures(month.village.code, MONTH, today=june(28)))
    assert {n: r.key_persons_overdue for n, r in rows.items()} == {
        "一九助理": 1, "二十助理": 1, "村书记": 1,
    }  # fmt: skip
    rows = by_name(report.presence_figures(month.village.code, MONTH, today=june(15)))
    assert {r.key_persons_overdue for r in rows.values()} == {0}


def test_station_staff_are_judged_week_by_week(month):
    with translation.override("en"):
        rows = by_name(report.presence_figures(month.town.code, MONTH))
    assert set(rows) == {"一九助理", "二十助理", "村书记", "站干部"}
    member = rows["站干部"]
    # June only: 1, 3, 10, 15, 16, 17, 22, 24, 30 (2 July belongs to July).
    assert member.days_present == 9
    weeks = [(w.week, [d.day for d in w.days]) for w in member.village_weeks]
    assert weeks == [
        ("2026-W23", [1, 3]),
        ("2026-W24", [10]),
        ("2026-W25", [15, 16, 17]),
        ("2026-W26", [22, 24]),
        ("2026-W27", [30, 2]),
    ]
    flagged = [(v.week, v.text) for v in member.verdicts if v.flagged]
    assert flagged == [("2026-W24", "1/2 days")]
    assert [v.short for v in member.verdicts] == [False, True, False, False, False]
    assert member.flagged


def test_a_month_in_progress_shows_shortfalls_without_flagging_them(month):
    rows = by_name(report.presence_figures(month.village.code, MONTH, today=june(20)))
    verdict = rows["一九助理"].verdicts[0]
    assert verdict.short and not verdict.flagged
    # Only the days before today count for the schedule (Tuesdays 2, 9, 16).
    assert rows["一九助理"].scheduled_visit_days == 3


def test_a_district_rule_replaces_the_global_one(month):
    PresenceRule.objects.create(
        role=Role.VILLAGE_ASSISTANT,
        kind=PresenceRule.Kind.DAYS_IN_PLACE_PER_MONTH,
        minimum=18,
        district=month.town.district,
    )
    rows = by_name(report.presence_figures(month.village.code, MONTH))
    assert not rows["一九助理"].flagged
    PresenceRule.objects.filter(district=month.town.district).update(active=False)
    rows = by_name(report.presence_figures(month.village.code, MONTH))
    assert rows["一九助理"].verdicts == []


def test_the_shortfall_in_chinese():
    with translation.override("zh-hans"):
        assert report._days_text(19, 20) == "19/20 天"


def test_bad_month_and_area_are_refused():
    with pytest.raises(ValueError):
        report.presence_figures("990101", "2026-13")
    with pytest.raises(ValueError):
        report.presence_figures("abc", "2026-06")


def test_the_seeds_rules_are_data():
    rules = set(
        PresenceRule.objects.filter(district__isnull=True).values_list("role", "kind", "minimum")
    )
    assert (Role.VILLAGE_ASSISTANT, "days_in_place_per_month", 20) in rules
    for role in (Role.STATION_HEAD, Role.STATION_DEPUTY, Role.STATION_WORKER):
        assert (role, "days_in_villages_per_week", 2) in rules
    assert (Role.VILLAGE_SECRETARY, "duty_days_signed", 0) in rules


# --- the API and the page -----------------------------------------------------------------------
def admin_of(district_code: str) -> object:
    account = AccountFactory(
        user=UserFactory(), role=AccountRole.DISTRICT_ADMIN, codes=[district_code]
    )
    return account.user


def test_the_api_lists_the_area_inside_the_jurisdiction(client, month):
    client.force_login(admin_of(month.town.district.code))
    answer = client.get("/api/presence/", {"month": MONTH, "area": month.village.code})
    assert answer.status_code == 200
    body = answer.json()
    names = {w["name"]: w for w in body["workers"]}
    assert set(names) == {"一九助理", "二十助理", "村书记"}
    assert names["一九助理"]["flagged"] is True
    assert names["一九助理"]["present_days"][0] == "2026-06-01"
    assert body["flagged"] == 2


def test_the_api_answers_404_outside_and_400_for_bad_input(client, month):
    other = DistrictFactory(geom=rect(100.3, 0.0, 100.4, 0.1))
    client.force_login(admin_of(other.code))
    assert (
        client.get("/api/presence/", {"month": MONTH, "area": month.village.code}).status_code
        == 404
    )
    assert (
        client.get("/api/presence/", {"month": "June", "area": month.village.code}).status_code
        == 400
    )
    assert client.get("/api/presence/", {"month": MONTH, "area": "x"}).status_code == 400
    client.logout()
    assert client.get(
        "/api/presence/", {"month": MONTH, "area": month.village.code}
    ).status_code in (401, 403)


def test_the_page_highlights_shortfalls_and_exports(client, month):
    client.force_login(admin_of(month.town.district.code))
    page = client.get("/presence/", {"month": MONTH, "area": month.town.code})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-flagged="3"' in text
    assert "pr-short" in text and "2026-W24" in text
    csv = client.get("/presence/", {"month": MONTH, "area": month.town.code, "format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 5 and any(line.startswith("一九助理,") for line in lines)
    xlsx = client.get("/presence/", {"month": MONTH, "area": month.town.code, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    # Those with a shortfall first (19 days, a missed duty day, a week of one village day).
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "一九助理", "村书记", "站干部", "二十助理",
    ]  # fmt: skip
    other = DistrictFactory(geom=rect(100.3, 0.0, 100.4, 0.1))
    assert client.get("/presence/", {"area": other.code}).status_code == 404


# --- the weekly schedule and the rules' admin -----------------------------------------------------
def test_activity_for_reads_the_district_schedule_before_the_global_one(month):
    assistant = month.nineteen
    tuesday, thursday, saturday = june(2), june(4), june(6)
    assert activity_for(assistant, tuesday).activity == "visits"
    assert activity_for(assistant, thursday).in_place is False
    assert activity_for(assistant, saturday) is None
    ScheduleDay.objects.create(
        role=Role.VILLAGE_ASSISTANT, weekday=1, activity="patrol", district=month.town.district
    )
    assert activity_for(assistant, tuesday).activity == "patrol"
    # Nobody's schedule: a worker without a scheduled role.
    assert activity_for(month.secretary, tuesday) is None


def test_district_admins_edit_their_districts_rules_and_read_the_global_ones(client, month):
    user = admin_of(month.town.district.code)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="presence"))
    client.force_login(user)
    global_rule = PresenceRule.objects.get(
        role=Role.VILLAGE_ASSISTANT, kind="days_in_place_per_month", district=None
    )
    listing = client.get("/admin/presence/presencerule/")
    assert listing.status_code == 200
    page = client.get(f"/admin/presence/presencerule/{global_rule.pk}/change/")
    assert page.status_code == 200 and 'name="minimum"' not in page.content.decode()
    form = {"role": Role.VILLAGE_ASSISTANT, "kind": "days_in_place_per_month", "minimum": 18,
            "active": "on"}  # fmt: skip
    refused = client.post("/admin/presence/presencerule/add/", form)
    assert refused.status_code == 200  # the form again: a district is required
    assert not PresenceRule.objects.filter(minimum=18).exists()
    form["district"] = month.town.district.pk
    added = client.post("/admin/presence/presencerule/add/", form)
    assert added.status_code == 302
    assert PresenceRule.objects.get(minimum=18).district == month.town.district


def test_a_role_taken_up_mid_month_owes_its_share_of_the_days(month):
    """A village assistant from 20 June (11 of 30 days) owes ceil(20 x 11/30) = 8 days."""
    late = WorkerFactory(name="新助理")
    RoleAssignmentFactory(
        worker=late, role=Role.VILLAGE_ASSISTANT, village=month.village,
        period=Range(june(20), None, "[)"),
    )  # fmt: skip
    for day in range(20, 28):
        sign(late, june(day), code=month.village.code)
    rows = by_name(report.presence_figures(month.village.code, MONTH))
    (verdict,) = rows["新助理"].verdicts
    assert (verdict.value, verdict.minimum, verdict.short) == (8, 8, False)
    SignIn.objects.filter(worker=late, day=june(27)).delete()
    (verdict,) = by_name(report.presence_figures(month.village.code, MONTH))["新助理"].verdicts
    assert (verdict.value, verdict.minimum, verdict.flagged) == (7, 8, True)
