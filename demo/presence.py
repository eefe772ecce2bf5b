"""Demo field presence (issue 14): three months of duty, sign-ins, visits and patrols over the
loaded demo, so a newcomer sees the presence pages working (``load_demo_presence``).

Same seed, same data (relative to ``end``, today by default). What is made, over ``days``
days before ``end`` (92 by default):

- **village assistants** (驻村助理), one per demo village that has none, hired ``days`` + 30
  days before ``end``; Long'an's five-day schedule for them (``presence.schedule``); the
  seeds' presence rules come with the migrations;
- **key persons**: tagged households put in their care categories (``presence.care``);
- **duty rosters**: each working day one village cadre on duty at each village (secretary,
  mediation director, assistant in turn), one station member at each station; the towns'
  rosters follow their on-duty officers' dated assignments (``demo.emergency``);
- **sign-ins**: each worker of a grid, a village (secretary, mediation director, assistant)
  or a station has a diligence drawn once: most sign in on 93-99 % of working days, about
  one in eight on 75-90 % (they fall short of the rules: the presence report flags them);
  morning sign-ins at 08:00-09:30, afternoon ones on about half the days; weekends rarely.
  Positions are random points in the worker's place (station staff: one of the station's
  villages, on two or three days a week, one in eight of them less); about 2 % are made
  outside, 1.5-3 km beyond the place, with a reason; a cadre on duty signs in on 97 % of duty days;
- **visits**: every key person is visited by the person responsible for their category
  (the grid leader, the central household's worker, the village assistant or secretary) at
  70-100 % of their interval, a tenth of the time late, so a few are overdue today; grid
  members visit two households on about half the working days; village assistants hold a
  group meeting twice a month. Notes, requests raised (4 %) and follow-ups (3 %) come from
  short Chinese lists;
- **patrols**: grid members walk their grid on two working days a week: a loop through six
  random points of the grid at about 1.1 m/s (``presence.patrols`` derives the areas
  covered).

Everything goes in with ``COPY`` into temporary tables and one ``INSERT ... SELECT`` per
table, in one transaction; random points come from ``ST_GeneratePoints`` (seeded).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.range import Range

from grids.models import Role, RoleAssignment, Village, Worker
from households.models import Household
from presence.care import key_persons_from_tags
from presence.models import DutyShift, KeyPerson, Patrol, SignIn, Visit
from presence.patrols import refresh_patrol_coverage
from presence.schedule import load_longan_schedule

from .loader import CITY_PREFIX, StepClock
from .names import person_names, phones
from .plan import rng_for

DEFAULT_DAYS = 92
HIRED_BEFORE_DAYS = 30
LOCAL = ZoneInfo(settings.TIME_ZONE)  # the day and half-day of a record are the server's

GRID_ROLES = [Role.GRID_LEADER, Role.GRID_MEMBER, Role.PARTY_GUIDE]
VILLAGE_CADRES = [Role.VILLAGE_SECRETARY, Role.MEDIATION_DIRECTOR, Role.VILLAGE_ASSISTANT]
STATION_ROLES = [Role.STATION_HEAD, Role.STATION_DEPUTY, Role.STATION_WORKER]
OUTSIDE_REASONS = ["到乡镇开会", "到县里办事", "陪同群众就医", "参加培训", "入户途中定位偏移"]
VISIT_NOTES = [
    "了解家庭近况，生活基本正常。",
    "老人身体状况良好，叮嘱注意防寒保暖。",
    "宣传防诈骗知识，发放宣传资料。",
    "核实家庭人口信息，无变化。",
    "询问低保发放情况，已按时到账。",
    "孩子在校表现良好，监护人按时接送。",
    "了解务工返乡情况，已登记就业意向。",
    "检查用电用气安全，提醒及时更换老旧线路。",
    "宣传医保缴费政策，户主表示按时缴纳。",
    "邻里关系和睦，无矛盾纠纷。",
]
REQUESTS = [
    "希望村里修缮门前排水沟。",
    "反映路灯损坏，夜间出行不便。",
    "咨询残疾人补贴申请办法。",
    "希望帮忙联系家庭医生上门服务。",
    "反映邻居装修噪音扰民。",
    "咨询小孩入学办理手续。",
]
FOLLOW_UPS = ["下周再次上门了解办理进度。", "联系村委会协调处理。", "帮助准备申请材料。"]
PRESENCE_TABLES = [
    "presence_signin",
    "presence_visit",
    "presence_visithousehold",
    "presence_patrol",
    "presence_patrolcoverage",
    "presence_dutyshift",
]
GROUP_NOTES = ["召开屯级群众会，通报近期村务工作。", "组织党员群众学习防汛知识。"]


def _local(day: dt.date, hours: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL) + dt.timedelta(hours=float(hours))


def _copy(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """COPY ``rows`` into the temporary ``table``; the number of rows."""
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _drop(cur, *tables: str) -> None:
    """Drop temporary tables left by an earlier load in the same transaction (a test's)."""
    for table in tables:
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def demo_presence_count() -> int:
    """Sign-ins on demo places (the marker that the presence demo is loaded)."""
    return SignIn.objects.filter(place_code__startswith=CITY_PREFIX).count()


def delete_demo_presence() -> dict[str, int]:
    """Delete everything presence holds on the demo's places (the village assistants it hired
    stay: they are demo workers, deleted with the demo); counts by kind."""
    demo = Q(place_code__startswith=CITY_PREFIX)
    out: dict[str, int] = {}
    with transaction.atomic():
        out["patrols"] = Patrol.objects.filter(demo).delete()[0]
        out["visits"] = Visit.objects.filter(demo).delete()[0]
        out["sign_ins"] = SignIn.objects.filter(demo).delete()[0]
        out["duty_shifts"] = DutyShift.objects.filter(
            Q(village__code__startswith=CITY_PREFIX)
            | Q(station__code__startswith=CITY_PREFIX)
            | Q(town__code__startswith=CITY_PREFIX)
        ).delete()[0]
        out["key_persons"] = KeyPerson.objects.filter(
            household__grid__code__startswith=CITY_PREFIX
        ).delete()[0]
    return out


def _hire_assistants(villages: list[Village], start: dt.date, seed: int) -> int:
    """A village assistant for each of ``villages`` without one from ``start`` on."""
    have = set(
        RoleAssignment.objects.filter(
            role=Role.VILLAGE_ASSISTANT, village__in=villages
        ).values_list("village_id", flat=True)
    )
    todo = [v for v in villages if v.pk not in have]
    if not todo:
        return 0
    rng = rng_for(seed, 140)
    names = person_names(rng, rng.random(len(todo)) < 0.5)
    numbers = phones(rng, len(todo))
    workers = Worker.objects.bulk_create(
        Worker(name=str(n), phone=str(p), is_party_member=True)
        for n, p in zip(names, numbers, strict=True)
    )
    RoleAssignment.objects.bulk_create(
        RoleAssignment(
            worker=w, role=Role.VILLAGE_ASSISTANT, village=v, period=Range(start, None, "[)")
        )
        for w, v in zip(workers, todo, strict=True)
    )
    return len(todo)


def _held(first: dt.date, end: dt.date) -> list[tuple[int, str, str, str]]:
    """(worker, role, level, place code) of the demo's roles of interest held throughout the
    window (a role that ended or started inside it is left out: the demo stays simple)."""
    qs = (
        RoleAssignment.objects.filter(period__contains=first)
        .filter(period__contains=end)
        .filter(
            Q(grid__code__startswith=CITY_PREFIX, role__in=GRID_ROLES)
            | Q(village__code__startswith=CITY_PREFIX, role__in=VILLAGE_CADRES)
            | Q(station__code__startswith=CITY_PREFIX, role__in=STATION_ROLES)
        )
        .values_list("worker_id", "role", "grid__code", "village__code", "station__code")
        .order_by("pk")
    )
    out = []
    for worker, role, grid, village, station in qs:
        level = "grid" if grid else "village" if village else "station"
        out.append((worker, role, level, grid or village or station))
    return out


def load_demo_presence(
    *,
    days: int = DEFAULT_DAYS,
    seed: int = 7,
    end: dt.date | None = None,
    out: TextIO | None = None,
) -> dict[str, int]:
    """Make the presence demo (see the module docstring) in one transaction; counts."""
    end = end or timezone.localdate()
    first = end - dt.timedelta(days=days - 1)
    say: Callable[[str], None] = (lambda m: out.write(m + "\n")) if out else (lambda m: None)
    clock = StepClock()
    counts: dict[str, int] = {}
    with transaction.atomic():
        villages = list(
            Village.objects.current().filter(code__startswith=CITY_PREFIX).order_by("code")
        )
        counts["village_assistants"] = _hire_assistants(
            villages, first - dt.timedelta(days=HIRED_BEFORE_DAYS), seed
        )
        load_longan_schedule()
        counts["key_persons"] = key_persons_from_tags(
            household_ids=list(
                Household.objects.filter(grid__code__startswith=CITY_PREFIX).values_list(
                    "pk", flat=True
                )
            ),
            since=first,
        )
        clock.tick("people")
        held = _held(first, end)
        dates = [first + dt.timedelta(days=i) for i in range(days)]
        with connection.cursor() as cur:
            cur.execute("SELECT setseed(%s)", [((seed * 7919) % 1000) / 1000.0])
            duty = _duty(cur, held, dates, seed)
            counts["duty_shifts"] = duty
            clock.tick("duty")
            counts["sign_ins"] = _sign_ins(cur, held, dates, seed)
            clock.tick("sign_ins")
            counts["visits"] = _visits(cur, held, dates, end, seed)
            clock.tick("visits")
            patrol_ids = _patrols(cur, held, dates, seed)
            counts["patrols"] = len(patrol_ids)
        refresh_patrol_coverage(patrol_ids)
        clock.tick("patrols")
    with connection.cursor() as cur:
        for table in PRESENCE_TABLES:
            cur.execute(f"ANALYZE {table}")
    say(", ".join(f"{k} {v:.1f}s" for k, v in clock.steps.items()))
    return counts


# --- duty --------------------------------------------------------------------------------------
def _duty(cur, held: list[tuple[int, str, str, str]], dates: list[dt.date], seed: int) -> int:
    """Village and station rosters (working days, in turn) and the towns' (from their on-duty
    officers' dated assignments). Stored in the temp table ``_demo_duty`` too (who is on duty
    when) for the sign-ins."""
    rng = rng_for(seed, 141)
    by_place: dict[tuple[str, str], list[int]] = {}
    for worker, _role, level, code in held:
        if level == "village" or level == "station":
            by_place.setdefault((level, code), []).append(worker)
    rows = []
    for (level, code), workers in sorted(by_place.items()):
        workers = sorted(set(workers))
        offset = int(rng.integers(len(workers)))
        for i, day in enumerate(d for d in dates if d.weekday() < 5):
            rows.append((level, code, workers[(i + offset) % len(workers)], day))
    _drop(cur, "_demo_duty")
    cur.execute(
        "CREATE TEMP TABLE _demo_duty (level text, code text, worker_id bigint, day date)"
        " ON COMMIT DROP"
    )
    _copy(cur, "_demo_duty", ["level", "code", "worker_id", "day"], rows)
    cur.execute(
        """
        INSERT INTO presence_dutyshift (worker_id, date, span, village_id, station_id, town_id,
                                        note, created_at)
        SELECT d.worker_id, d.day, 'day', v.id, s.id, NULL, '', now()
          FROM _demo_duty d
          LEFT JOIN grids_village v ON d.level = 'village' AND v.code = d.code
                                   AND v.generation_high_id IS NULL
          LEFT JOIN grids_station s ON d.level = 'station' AND s.code = d.code
        ON CONFLICT DO NOTHING
        """
    )
    n = cur.rowcount
    cur.execute(
        """
        INSERT INTO presence_dutyshift (worker_id, date, span, village_id, station_id, town_id,
                                        note, created_at)
        SELECT ra.worker_id, lower(ra.period), 'day', NULL, NULL, ra.town_id, '', now()
          FROM grids_roleassignment ra JOIN grids_town t ON t.id = ra.town_id
         WHERE ra.role = 'town_duty_officer' AND t.code LIKE %s
           AND lower(ra.period) BETWEEN %s AND %s
        ON CONFLICT DO NOTHING
        """,
        [CITY_PREFIX + "%", dates[0], dates[-1]],
    )
    return n + cur.rowcount


# --- sign-ins ----------------------------------------------------------------------------------
def _sign_ins(cur, held: list[tuple[int, str, str, str]], dates: list[dt.date], seed: int) -> int:
    rng = rng_for(seed, 142)
    cur.execute(
        "SELECT v.code, array_agg(c.code ORDER BY c.code) FROM grids_catchmentassignment ca"
        " JOIN grids_station v ON v.id = ca.station_id JOIN grids_village c ON c.id = ca.village_id"
        " WHERE upper_inf(ca.period) AND v.code LIKE %s GROUP BY v.code",
        [CITY_PREFIX + "%"],
    )
    catchment = dict(cur.fetchall())
    cur.execute("SELECT worker_id, day FROM _demo_duty")
    on_duty = set(cur.fetchall())
    # One sign-in per (worker, day, half): the first role a worker holds decides their place.
    seen: set[int] = set()
    rows = []
    for worker, role, level, code in held:
        if worker in seen:
            continue
        seen.add(worker)
        low = rng.random() < 0.125
        p = rng.uniform(0.75, 0.90) if low else rng.uniform(0.93, 0.99)
        villages_a_week = (1 if rng.random() < 0.5 else 2) if low else int(rng.integers(2, 4))
        week_days: dict[int, set[int]] = {}
        for day in dates:
            duty = (worker, day) in on_duty
            if level == "station":
                week = day.isocalendar()[1]
                if week not in week_days:
                    week_days[week] = set(rng.choice(5, villages_a_week, replace=False).tolist())
                if day.weekday() not in week_days[week]:
                    continue
                villages = catchment.get(code) or []
                if not villages:
                    continue
                geo = villages[int(rng.integers(len(villages)))]
                chance = 0.97
            else:
                geo = code
                chance = 0.97 if duty else (p if day.weekday() < 5 else 0.12)
            for half, (lo, hi), share in ((0, (8.0, 9.5), 1.0), (1, (14.0, 15.0), 0.5)):
                if rng.random() >= chance * share:
                    continue
                at = _local(day, rng.uniform(lo, hi))
                outside = rng.random() < 0.02
                note = OUTSIDE_REASONS[int(rng.integers(len(OUTSIDE_REASONS)))] if outside else ""
                rows.append((worker, role, level, code, geo, at, day, half, outside, note,
                             float(rng.uniform(0, 360)), float(rng.uniform(1500, 3000)),
                             float(rng.uniform(5, 40))))  # fmt: skip
    _drop(cur, "_demo_sign")
    cur.execute(
        """CREATE TEMP TABLE _demo_sign (worker_id bigint, role text, level text, code text,
             geo text, at timestamptz, day date, half int, outside boolean, note text,
             azimuth float8, metres float8, accuracy float8) ON COMMIT DROP"""
    )
    columns = ["worker_id", "role", "level", "code", "geo", "at", "day", "half", "outside",
               "note", "azimuth", "metres", "accuracy"]  # fmt: skip
    _copy(cur, "_demo_sign", columns, rows)
    # A random point of the polygon per sign-in: n points per polygon at once, matched by
    # row number.
    cur.execute(
        f"""
        WITH shapes AS (
            SELECT code, geom FROM grids_grid
             WHERE generation_high_id IS NULL AND code LIKE %(p)s
            UNION ALL
            SELECT code, geom FROM grids_village
             WHERE generation_high_id IS NULL AND code LIKE %(p)s
        ), numbered AS (
            SELECT s.*, row_number() OVER (PARTITION BY geo ORDER BY at, worker_id) AS rn
              FROM _demo_sign s
        ), wanted AS (
            SELECT geo, count(*) AS n FROM _demo_sign GROUP BY geo
        ), points AS (
            SELECT w.geo, row_number() OVER (PARTITION BY w.geo) AS rn, d.geom AS p
              FROM wanted w JOIN shapes sh ON sh.code = w.geo,
                   LATERAL ST_Dump(ST_GeneratePoints(sh.geom, w.n::int, {seed})) d
        ), placed AS (
            -- Outside: from the place's centre, beyond its farthest point by ``metres``.
            SELECT n.*, CASE WHEN n.outside
                             THEN ST_Project(ST_Centroid(sh.geom)::geography,
                                             n.metres + ST_Length(ST_LongestLine(
                                                 ST_Centroid(sh.geom), sh.geom)::geography),
                                             radians(n.azimuth))::geometry
                             ELSE pt.p END AS point
              FROM numbered n JOIN points pt ON pt.geo = n.geo AND pt.rn = n.rn
              JOIN shapes sh ON sh.code = n.geo
        )
        INSERT INTO presence_signin (worker_id, at, received_at, day, half, location, accuracy_m,
                                     place_level, place_code, role, verdict, distance_m, note,
                                     client_uuid)
        SELECT p.worker_id, p.at, p.at, p.day, p.half, ST_SetSRID(p.point, 4326), p.accuracy,
               p.level, p.code, p.role,
               CASE WHEN p.outside THEN 'outside' ELSE 'inside' END,
               CASE WHEN p.outside
                    THEN ST_Distance(p.point::geography, sh.geom::geography) ELSE 0 END,
               p.note, gen_random_uuid()
          FROM placed p JOIN shapes sh ON sh.code = p.geo
        ON CONFLICT DO NOTHING
        """,
        {"p": CITY_PREFIX + "%"},
    )
    return cur.rowcount


# --- visits ------------------------------------------------------------------------------------
def _visits(
    cur, held: list[tuple[int, str, str, str]], dates: list[dt.date], end: dt.date, seed: int
) -> int:
    rng = rng_for(seed, 143)
    leaders = {code: w for w, role, level, code in held if role == Role.GRID_LEADER}
    members: dict[str, list[int]] = {}
    for w, role, _level, code in held:
        if role == Role.GRID_MEMBER:
            members.setdefault(code, []).append(w)
    staff = {}
    for w, role, _level, code in held:
        if role in (Role.VILLAGE_ASSISTANT, Role.VILLAGE_SECRETARY):
            staff.setdefault(code, w)  # the assistant when hired before the secretary's row
    cur.execute(
        """SELECT kp.household_id, h.location, g.code, v.code, c.visit_every_days, c.visitor,
                  kp.since, (SELECT pm.worker_id FROM households_centralhousehold ch
                               JOIN households_partymember pm ON pm.id = ch.party_member_id
                               JOIN households_tenhouseholdunit u ON u.central_household_id = ch.id
                              WHERE u.id = h.ten_household_unit_id)
             FROM presence_keyperson kp
             JOIN presence_carecategory c ON c.id = kp.category_id
             JOIN households_household h ON h.id = kp.household_id
             JOIN grids_grid g ON g.id = h.grid_id JOIN grids_village v ON v.id = g.village_id
            WHERE kp.until IS NULL AND g.code LIKE %s ORDER BY kp.id""",
        [CITY_PREFIX + "%"],
    )
    keyed = cur.fetchall()
    visits = []  # (key, worker, at, grid code, kind, notes, request, follow_up, attendees)
    links = []  # (key, household id)

    def add(worker: int, at: dt.datetime, grid: str, households: list[int], kind: str = "household",
            notes: str | None = None, attendees: int | None = None) -> None:  # fmt: skip
        key = len(visits)
        request = REQUESTS[int(rng.integers(len(REQUESTS)))] if rng.random() < 0.04 else ""
        follow = FOLLOW_UPS[int(rng.integers(len(FOLLOW_UPS)))] if rng.random() < 0.03 else ""
        text = notes or VISIT_NOTES[int(rng.integers(len(VISIT_NOTES)))]
        visits.append((key, worker, at, grid, kind, text, request, follow, attendees))
        links.extend((key, h) for h in households)

    for household, _loc, grid, village, every, visitor, since, central in keyed:
        if visitor == "central_household":
            worker = central or leaders.get(grid)
        elif visitor == "village_staff":
            worker = staff.get(village) or leaders.get(grid)
        else:
            worker = leaders.get(grid) or (members.get(grid) or [None])[0]
        if worker is None:
            continue
        day = max(since, dates[0]) + dt.timedelta(days=int(rng.integers(0, every)))
        while day <= end:
            add(worker, _local(day, rng.uniform(9, 17)), grid, [household])
            step = every * rng.uniform(0.7, 1.0)
            if rng.random() < 0.1:
                step += every * rng.uniform(0.3, 1.0)
            day += dt.timedelta(days=max(1, int(step)))
    cur.execute(
        "SELECT g.code, array_agg(h.id ORDER BY h.id) FROM households_household h"
        " JOIN grids_grid g ON g.id = h.grid_id WHERE g.code LIKE %s GROUP BY g.code",
        [CITY_PREFIX + "%"],
    )
    homes = dict(cur.fetchall())
    for grid, workers in sorted(members.items()):
        pool = homes.get(grid) or []
        if not pool:
            continue
        for worker in workers:
            for day in dates:
                if day.weekday() < 5 and rng.random() < 0.5:
                    picked = rng.choice(len(pool), min(2, len(pool)), replace=False)
                    add(worker, _local(day, rng.uniform(9, 17)), grid,
                        [pool[int(i)] for i in picked])  # fmt: skip
    grid_of_village = {}
    for grid in sorted(homes):
        grid_of_village.setdefault(grid[:12], grid)
    for village, worker in sorted(staff.items()):
        grid = grid_of_village.get(village)
        if grid is None:
            continue
        for day in dates:
            if day.day in (5, 20):
                note = GROUP_NOTES[int(rng.integers(len(GROUP_NOTES)))]
                add(worker, _local(day, 15), grid, [], "group", note, int(rng.integers(12, 40)))
    _drop(cur, "_demo_visit", "_demo_visit_hh", "_demo_visit_ids")
    cur.execute(
        """CREATE TEMP TABLE _demo_visit (key int, worker_id bigint, at timestamptz, grid text,
             kind text, notes text, request text, follow_up text, attendees int) ON COMMIT DROP"""
    )
    _copy(cur, "_demo_visit", ["key", "worker_id", "at", "grid", "kind", "notes", "request",
                               "follow_up", "attendees"], visits)  # fmt: skip
    cur.execute("CREATE TEMP TABLE _demo_visit_hh (key int, household_id bigint) ON COMMIT DROP")
    _copy(cur, "_demo_visit_hh", ["key", "household_id"], links)
    cur.execute(
        """
        CREATE TEMP TABLE _demo_visit_ids ON COMMIT DROP AS
        WITH first_home AS (
            SELECT DISTINCT ON (key) key, household_id
              FROM _demo_visit_hh ORDER BY key, household_id
        ), ins AS (
            INSERT INTO presence_visit (worker_id, kind, at, received_at, location, grid_id,
                                        place_code, attendees, notes, follow_up, follow_up_due,
                                        follow_up_done_at, client_uuid)
            SELECT v.worker_id, v.kind, v.at, v.at,
                   CASE WHEN h.id IS NOT NULL
                        THEN ST_Project(h.location::geography, 3 + 10 * random(),
                                        radians(360 * random()))::geometry
                        ELSE ST_PointOnSurface(g.geom) END,
                   g.id, g.code, v.attendees, v.notes, v.follow_up,
                   CASE WHEN v.follow_up <> ''
                        THEN (v.at AT TIME ZONE %(tz)s)::date + 7 END,
                   CASE WHEN v.follow_up <> '' AND v.at < now() - interval '10 days'
                        THEN v.at + interval '6 days' END,
                   md5(v.key::text || v.at::text)::uuid
              FROM _demo_visit v
              JOIN grids_grid g ON g.code = v.grid AND g.generation_high_id IS NULL
              LEFT JOIN first_home f ON f.key = v.key
              LEFT JOIN households_household h ON h.id = f.household_id
             ORDER BY v.key
            RETURNING id, client_uuid
        )
        SELECT v.key, ins.id
          FROM ins JOIN _demo_visit v ON md5(v.key::text || v.at::text)::uuid = ins.client_uuid
        """,
        {"tz": settings.TIME_ZONE},
    )
    cur.execute(
        """INSERT INTO presence_visithousehold (visit_id, household_id)
           SELECT i.id, l.household_id FROM _demo_visit_hh l JOIN _demo_visit_ids i USING (key)
           ON CONFLICT DO NOTHING"""
    )
    cur.execute(
        """INSERT INTO presence_visitrequest (visit_id, household_id, text, incident_id)
           SELECT i.id, (SELECT min(household_id) FROM _demo_visit_hh l WHERE l.key = v.key),
                  v.request, NULL
             FROM _demo_visit v JOIN _demo_visit_ids i USING (key) WHERE v.request <> ''"""
    )
    cur.execute("SELECT count(*) FROM _demo_visit_ids")
    return cur.fetchone()[0]


# --- patrols -----------------------------------------------------------------------------------
def _patrols(
    cur, held: list[tuple[int, str, str, str]], dates: list[dt.date], seed: int
) -> list[int]:
    rng = rng_for(seed, 144)
    rows = []
    for worker, role, _level, code in held:
        if role != Role.GRID_MEMBER:
            continue
        weeks: dict[int, set[int]] = {}
        for day in dates:
            week = day.isocalendar()[1]
            if week not in weeks:
                weeks[week] = set(rng.choice(5, 2, replace=False).tolist())
            if day.weekday() in weeks[week]:
                start = _local(day, rng.uniform(9, 16))
                rows.append((len(rows), worker, code, start, day, int(rng.integers(1, 2**31 - 1))))
    _drop(cur, "_demo_patrol")
    cur.execute(
        """CREATE TEMP TABLE _demo_patrol (key int, worker_id bigint, grid text,
             started_at timestamptz, day date, seed int) ON COMMIT DROP"""
    )
    _copy(cur, "_demo_patrol", ["key", "worker_id", "grid", "started_at", "day", "seed"], rows)
    # A loop through six random points of the grid in order of bearing from its centre,
    # walked at 1.1 m/s: the offsets are the running length / 1.1. (Straight legs keep only
    # their ends, as a simplified track does.)
    cur.execute(
        """
        WITH loops AS (
            SELECT p.key, g.id AS grid_id, g.code,
                   ST_MakeLine(array_agg(d.geom ORDER BY
                        ST_Azimuth(ST_Centroid(g.geom), d.geom)) ||
                        (array_agg(d.geom ORDER BY ST_Azimuth(ST_Centroid(g.geom), d.geom)))[1:1]
                   ) AS line
              FROM _demo_patrol p
              JOIN grids_grid g ON g.code = p.grid AND g.generation_high_id IS NULL,
                   LATERAL ST_Dump(ST_GeneratePoints(g.geom, 6, p.seed)) d
             GROUP BY p.key, g.id, g.code, g.geom
        ), timed AS (
            SELECT l.key, array_agg(coalesce(sum_m, 0) / 1.1 ORDER BY n) AS offsets
              FROM loops l, LATERAL (
                  SELECT dp.path[1] AS n,
                         sum(ST_Distance(dp.geom::geography,
                                         ST_PointN(l.line, greatest(dp.path[1] - 1, 1))::geography))
                             OVER (ORDER BY dp.path[1]) AS sum_m
                    FROM ST_DumpPoints(l.line) dp
              ) s
             GROUP BY l.key
        )
        INSERT INTO presence_patrol (worker_id, started_at, ended_at, day, received_at, track,
                                     offsets, length_m, points_received, points_dropped,
                                     grid_id, place_code, client_uuid)
        SELECT p.worker_id, p.started_at,
               p.started_at + make_interval(secs => t.offsets[array_upper(t.offsets, 1)]),
               p.day, p.started_at, ST_SetSRID(l.line, 4326), t.offsets,
               ST_Length(l.line::geography), array_length(t.offsets, 1), 0, l.grid_id, l.code,
               gen_random_uuid()
          FROM _demo_patrol p JOIN loops l USING (key) JOIN timed t USING (key)
         ORDER BY p.key
        RETURNING id
        """
    )
    return [r[0] for r in cur.fetchall()]
