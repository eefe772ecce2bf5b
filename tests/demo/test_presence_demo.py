"""load_demo_presence: three months of duty, sign-ins, visits and patrols that obey the
platform's own rules (one sign-in per half-day, inside the place unless a reason is given,
visits in the visitor's grid, patrols with their covered areas) and show a few shortfalls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from demo.loader import CITY_CODE
from demo.presence import delete_demo_presence, demo_presence_count, load_demo_presence
from grids.models import Role, RoleAssignment
from presence.models import (
    DutyShift,
    KeyPerson,
    Patrol,
    PatrolCoverage,
    ScheduleDay,
    SignIn,
    Visit,
)
from presence.report import presence_figures

pytestmark = pytest.mark.django_db

END = dt.date(2026, 11, 30)
DAYS = 30


@pytest.fixture
def loaded(demo):
    return load_demo_presence(days=DAYS, seed=3, end=END)


def test_it_makes_every_kind_of_record(loaded):
    for kind in ("duty_shifts", "sign_ins", "visits", "patrols", "key_persons"):
        assert loaded[kind] > 0, kind
    assert demo_presence_count() == loaded["sign_ins"] == SignIn.objects.count()
    assert Visit.objects.count() == loaded["visits"]
    assert Patrol.objects.count() == loaded["patrols"]
    assert KeyPerson.objects.filter(until__isnull=True).count() >= loaded["key_persons"]
    # Every village has an assistant, on Long'an's five-day schedule.
    assert RoleAssignment.objects.filter(role=Role.VILLAGE_ASSISTANT).count() >= 1
    assert ScheduleDay.objects.filter(role=Role.VILLAGE_ASSISTANT).count() >= 5


def test_sign_ins_keep_the_rules(loaded):
    first = END - dt.timedelta(days=DAYS - 1)
    assert not SignIn.objects.exclude(day__range=(first, END)).exists()
    with connection.cursor() as cur:
        # Inside: the point lies in the place (a station's: one of its villages).
        cur.execute(
            """SELECT count(*) FROM presence_signin s
                WHERE s.verdict = 'inside' AND s.place_level IN ('grid', 'village')
                  AND NOT EXISTS (
                      SELECT 1 FROM grids_grid g WHERE g.code = s.place_code
                         AND g.generation_high_id IS NULL AND ST_Covers(g.geom, s.location)
                      UNION ALL
                      SELECT 1 FROM grids_village v WHERE v.code = s.place_code
                         AND v.generation_high_id IS NULL AND ST_Covers(v.geom, s.location))"""
        )
        assert cur.fetchone()[0] == 0
        # The day and half-day are the local time's.
        cur.execute(
            """SELECT count(*) FROM presence_signin
                WHERE day <> (at AT TIME ZONE 'Asia/Shanghai')::date
                   OR half <> (extract(hour FROM at AT TIME ZONE 'Asia/Shanghai') >= 12)::int"""
        )
        assert cur.fetchone()[0] == 0
    outside = SignIn.objects.filter(verdict="outside")
    assert outside.exists()
    assert not outside.filter(note="").exists()
    assert all(s.distance_m > 1000 for s in outside)


def test_visits_and_patrols_belong_to_their_grid(loaded):
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*) FROM presence_visithousehold vh
                 JOIN presence_visit v ON v.id = vh.visit_id
                 JOIN households_household h ON h.id = vh.household_id
                WHERE h.grid_id <> v.grid_id"""
        )
        assert cur.fetchone()[0] == 0
    assert Visit.objects.filter(kind="group").exists()
    patrol = Patrol.objects.order_by("pk").first()
    assert len(patrol.offsets) == len(patrol.track.coords)
    assert patrol.offsets == sorted(patrol.offsets)
    assert patrol.length_m > 0 and patrol.ended_at > patrol.started_at
    assert PatrolCoverage.objects.filter(patrol=patrol, grid_id=patrol.grid_id).exists()


def test_duty_and_the_report_show_shortfalls(loaded):
    assert DutyShift.objects.filter(village__isnull=False).exists()
    assert DutyShift.objects.filter(station__isnull=False).exists()
    rows = presence_figures(CITY_CODE, END.strftime("%Y-%m"), today=END + dt.timedelta(days=1))
    assert rows, "the demo's workers are in the report"
    flagged = [r for r in rows if r.flagged]
    assert flagged, "a few workers fall short of the rules"
    assert len(flagged) < len(rows) / 2, "most do not"


def test_same_seed_same_data_and_delete(demo):
    load_demo_presence(days=7, seed=5, end=END)
    first = list(SignIn.objects.order_by("worker_id", "day", "half").values_list(
        "worker_id", "day", "half", "verdict"))  # fmt: skip
    delete_demo_presence()
    assert demo_presence_count() == 0 and not Visit.objects.exists()
    load_demo_presence(days=7, seed=5, end=END)
    again = list(SignIn.objects.order_by("worker_id", "day", "half").values_list(
        "worker_id", "day", "half", "verdict"))  # fmt: skip
    assert again == first


def test_the_command_refuses_twice_without_replace(demo):
    call_command("load_demo_presence", days=3, verbosity=0)
    with pytest.raises(CommandError):
        call_command("load_demo_presence", days=3, verbosity=0)
    call_command("load_demo_presence", days=3, if_empty=True, verbosity=0)
    call_command("load_demo_presence", days=3, replace=True, verbosity=0)
