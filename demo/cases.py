"""Demo cases: incidents with realistic case histories over the loaded demo's grids.

For dashboards and the KPI benchmark (``load_demo_cases``; a million cases over the city
demo). Same seed, same cases (relative to ``end``).

How a case is made up (vectorised with numpy, one array per step):

- reported uniformly over ``days`` days before ``end``, mostly in the daytime (local time),
  in grids weighted by a lognormal "busyness"; severity blue 70 %, yellow 22 %, red 8 %;
  routed to the grid leader (blue), the village mediation director (yellow) or the town
  dispatcher (red), the village secretary standing in for a vacant grid leader or director;
- each village has a "quality" that speeds up or slows down its handling and shifts its
  ratings, so units differ on the dashboard;
- the steps, each present for a share of cases, with the action names, states, levels and
  event data of ``cases.workflow``: report (every case; its deadlines in the data);
  cancel (2 %, nothing else follows); return_case (3 %) and redispatch (new deadlines);
  acknowledge (98.5 %) and start; escalate one level (about 5 %; new deadlines) with a
  second acknowledge and start; request_extension before the deadline (about 9 %), granted
  (80 %, the deadline moves by one more time limit) or refused; resolve; callback (80 %)
  with a rating, a rating of 1–2 reopening the case at once; or a failed verification (3 %)
  reopening it; resolve and callback again; verify; close_out (resolve with a written result;
  each step by its party in ``cases.workflow``: the routed worker handles, under their demo
  login (``demo.logins``); the reporter reports and rates; for grid and village cases a
  deputy or worker of the station verifies and its head closes out, signing as station head;
  see ``HANDLER`` ... ``CLOSER``);
- steps later than ``end`` have not happened yet, so recent cases are still open;
- the case fields (``acknowledged_at`` = first acknowledge, ``resolved_at`` = last resolve,
  ``closed_at``, ``closed_on_time`` = last resolve not after the deadline in force,
  ``extension_count``, ``rework_count``, ``escalation_count``, ``satisfaction`` = latest
  rating, status, owner, deadlines, version) are derived from the same steps, so they agree
  with the history exactly as ``cases.workflow`` keeps them.

Time limits are approximated in calendar time (a working day ≈ 1.4 calendar days:
blue 34 h / 9.8 days, yellow 6 h / 4.2 days, red 2 h / 1.4 days to acknowledge / resolve);
the working calendar is not consulted for a million cases.

Rows go in with PostgreSQL COPY (incidents, first reports, routed recipients, events), in one
transaction, then ``VACUUM ANALYZE`` so the KPI aggregate can use index-only scans.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from cases.models import CASE_STATE_FIELDS, EVENT_FIELDS
from grids.models import Generation
from incidents.models import (
    CaseEvent,
    Category,
    Incident,
    IncidentRecipient,
    IncidentReport,
)

from .loader import StepClock
from .logins import demo_logins_ensure

DEMO_REPORTER = "demo-cases"
COPY_CHUNK = 50_000
HOUR = 3600.0
LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai, no daylight saving

SEVERITIES = np.array(["blue", "yellow", "red"])
SEVERITY_P = [0.70, 0.22, 0.08]
ACK_HOURS = np.array([34.0, 6.0, 2.0])
RESOLVE_HOURS = np.array([235.0, 100.0, 34.0])
# Owner levels, in escalation order; the case's base level by severity.
LEVELS = np.array(["grid", "village", "town", "county", "city"])
BASE_LEVEL = np.array([0, 1, 2])
# Local hour of the day a report is made.
HOUR_P = np.array(
    [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 9, 12, 13, 12, 10, 8, 7, 6, 4, 2, 1], float
)
RATING_P = np.array([0.03, 0.04, 0.13, 0.35, 0.45])

DESCRIPTIONS = {
    "dispute": ["邻里宅基地界线纠纷", "噪音扰民引发邻里矛盾", "家庭赡养纠纷", "土地承包纠纷"],
    "hazard": ["路灯损坏，夜间通行有隐患", "危房墙体开裂", "电线私拉乱接", "河堤护栏缺失"],
    "service_request": ["申请代办低保材料", "咨询医保缴费", "老人申请居家养老服务"],
    "opinion": ["群众建议增设公交站点", "反映菜市场秩序问题", "对村务公开提出意见"],
    "environment": ["垃圾堆放未及时清运", "生活污水直排", "道路积水", "焚烧秸秆"],
    "other": ["流浪犬伤人隐患", "其他群众诉求"],
}
NOTES = {
    "cancel": "重复上报，已合并",
    "return": "不属于本级职责，退回上级重新分派",
    "redispatch": "重新分派",
    "escalate": "超出本级处置能力，上报",
    "request_extension": "需协调多部门，申请延期",
    "refuse_extension": "理由不充分，不予延期",
    "reopen_callback": "回访不满意，重新办理",
    "reopen_verify": "核查未通过，重新办理",
    "resolve": "已到现场处置，问题已解决，结果已告知反映人",
}
# Who acts in a step (cases.workflow's parties): the handler (the routed worker, with their
# demo login), the reporter (report, callback and the reopening a bad rating causes), the
# supervisor (verify, extensions, cancel, redispatch, a failed verification) and the closer
# (close-out). For grid- and village-level cases the supervisor is a deputy or full-time
# worker of the village's station and the closer its head, who signs as ``station_head``
# (separation of duties: never the same person, never the handler); above that, the county's
# supervisor and the town's close-out officer, named without a login.
HANDLER, REPORTER, SUPERVISOR, CLOSER = "handler", "reporter", "supervisor", "closer"
REPORTER_NAME = "演示群众"
COUNTY_SUPERVISOR_NAME = "区综治中心核查员"
TOWN_CLOSER_NAME = "镇综治中心主任"
STATION_LEVELS = 2  # grid and village: the first two LEVELS, supervised by the station


class DemoCasesError(Exception):
    """The demo cases cannot be generated as asked; nothing was written."""


@dataclass
class DemoCasesResult:
    count: int
    events: int
    statuses: dict[str, int]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"Loaded {self.count:,} demo cases with {self.events:,} history events."]
        out += [f"  {k:<14} {v:>10,}" for k, v in sorted(self.statuses.items())]
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        out.append(f"Elapsed: {self.seconds:.1f} s ({steps})")
        return out


# --- the places and people cases are made at ------------------------------------------------
@dataclass
class Places:
    grid_id: np.ndarray
    grid_code: np.ndarray
    village_id: np.ndarray
    village_code: np.ndarray
    town_id: np.ndarray
    town_code: np.ndarray
    station_id: list[str | None]  # per grid: its village's station today (COPY text)
    village_index: np.ndarray  # per grid: the index of its village (for its "quality")
    points: list[list[str]]  # per grid: EWKT points inside it
    routed: dict[tuple[int, int], tuple[int, str, str, str, str]]  # (sev, grid) -> recipient
    user_of: dict[int, int]  # worker id -> login id (demo.logins)
    # Per grid: its station's (supervisor, head) as (login id or None, name), or None.
    station_staff: list[tuple[tuple[int | None, str], tuple[int | None, str]] | None]


_GRIDS_SQL = """
SELECT g.id, g.code, v.id, v.code, t.id, t.code,
       (SELECT ca.station_id FROM grids_catchmentassignment ca
         WHERE ca.village_id = v.id AND ca.period @> %s::date)
  FROM grids_grid g
  JOIN grids_village v ON v.id = g.village_id
  JOIN grids_town t ON t.id = v.town_id
 WHERE g.generation_high_id IS NULL
 ORDER BY g.code
"""
_POINTS_SQL = """
SELECT s.id, ST_X(s.p), ST_Y(s.p)
  FROM (SELECT g.id, (ST_Dump(ST_GeneratePoints(g.geom, 6, %s))).geom AS p
          FROM grids_grid g WHERE g.generation_high_id IS NULL) s
"""
_HOLDERS_SQL = """
SELECT ra.role, coalesce(ra.grid_id, ra.village_id, ra.town_id), w.id, w.name, w.phone, w.user_id
  FROM grids_roleassignment ra JOIN grids_worker w ON w.id = ra.worker_id
 WHERE ra.period @> %s::date
   AND ra.role IN ('grid_leader', 'village_secretary', 'mediation_director', 'town_dispatcher')
 ORDER BY ra.id
"""
_STATION_STAFF_SQL = """
SELECT ra.station_id, ra.role, w.user_id, w.name
  FROM grids_roleassignment ra JOIN grids_worker w ON w.id = ra.worker_id
 WHERE ra.period @> %s::date AND ra.station_id IS NOT NULL
   AND ra.role IN ('station_head', 'station_deputy', 'station_worker')
 ORDER BY ra.id
"""


def _places(seed: int, today: dt.date) -> Places:
    with connection.cursor() as cur:
        cur.execute(_GRIDS_SQL, [today])
        rows = cur.fetchall()
        if not rows:
            raise DemoCasesError("No current grids: load a demo first (manage.py load_demo).")
        cur.execute(_POINTS_SQL, [seed])
        pts = cur.fetchall()
        cur.execute(_HOLDERS_SQL, [today])
        holders = cur.fetchall()
        cur.execute(_STATION_STAFF_SQL, [today])
        station_rows = cur.fetchall()
    cols = list(zip(*rows, strict=True))
    grid_id = np.array(cols[0], dtype=np.int64)
    village_codes = np.array(cols[3])
    _, village_index = np.unique(village_codes, return_inverse=True)
    index = {int(g): i for i, g in enumerate(grid_id)}
    points: list[list[str]] = [[] for _ in rows]
    for gid, x, y in pts:
        points[index[gid]].append(f"SRID=4326;POINT({x:.7f} {y:.7f})")
    by_role: dict[tuple[str, int], tuple[int, str, str]] = {}
    user_of: dict[int, int] = {}
    for role, place_id, wid, name, phone, user_id in holders:
        by_role.setdefault((role, place_id), (wid, name, phone))
        if user_id is not None:
            user_of[wid] = user_id
    heads: dict[int, tuple[int | None, str]] = {}
    supervisors: dict[int, tuple[int | None, str]] = {}
    for station, role, user_id, name in station_rows:
        (heads if role == "station_head" else supervisors).setdefault(station, (user_id, name))
    station_staff = [
        (supervisors[sid], heads[sid]) if sid in heads and sid in supervisors else None
        for sid in cols[6]
    ]
    routed: dict[tuple[int, int], tuple[int, str, str, str, str]] = {}
    for i, (gid, _gc, vid, _vc, tid, _tc, _sid) in enumerate(rows):
        secretary = by_role.get(("village_secretary", vid))
        wanted = [
            ("grid_leader", by_role.get(("grid_leader", gid))),
            ("mediation_director", by_role.get(("mediation_director", vid))),
            ("town_dispatcher", by_role.get(("town_dispatcher", tid))),
        ]
        for sev, (responder, holder) in enumerate(wanted):
            role = responder
            if holder is None and sev < 2 and secretary is not None:
                holder, role = secretary, "village_secretary"
            if holder is not None:
                routed[(sev, i)] = (holder[0], responder, role, holder[1], holder[2])
    return Places(
        grid_id=grid_id,
        grid_code=np.array(cols[1]),
        village_id=np.array(cols[2], dtype=np.int64),
        village_code=village_codes,
        town_id=np.array(cols[4], dtype=np.int64),
        town_code=np.array(cols[5]),
        station_id=[None if sid is None else str(sid) for sid in cols[6]],
        village_index=village_index,
        points=points,
        routed=routed,
        user_of=user_of,
        station_staff=station_staff,
    )


# --- the steps ----------------------------------------------------------------------------
@dataclass
class Step:
    action: str
    at: np.ndarray  # epoch seconds (float)
    mask: np.ndarray  # bool: the case takes this step (if it happened before ``end``)
    to_status: str | None  # None: the status does not change
    level_change: int = 0  # +1 one level up, -1 back down
    note: str | np.ndarray = ""
    data: Callable[[np.ndarray], list[str]] | None = None  # rows -> JSON texts
    party: str = HANDLER  # who acts: HANDLER, REPORTER, SUPERVISOR or CLOSER


@dataclass
class Simulation:
    n: int
    grid: np.ndarray
    severity: np.ndarray
    category: np.ndarray
    reported: np.ndarray
    ack_due: np.ndarray
    steps: list[Step]
    # The case fields, as cases.workflow derives them from the history (present steps).
    acknowledged_at: np.ndarray = field(default_factory=lambda: np.empty(0))
    acknowledged: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    resolved_at: np.ndarray = field(default_factory=lambda: np.empty(0))
    resolved: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    closed_at: np.ndarray = field(default_factory=lambda: np.empty(0))
    closed: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    resolve_due: np.ndarray = field(default_factory=lambda: np.empty(0))
    extension_pending: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    extension_count: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    rework_count: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    escalation_count: np.ndarray = field(default_factory=lambda: np.empty(0, int))
    satisfaction: np.ndarray = field(default_factory=lambda: np.empty(0, int))


def _simulate(
    n: int, places: Places, categories: list[str], seed: int, start: float, end: float
) -> Simulation:
    rng = np.random.default_rng(seed)
    n_grids = len(places.grid_id)
    busy = rng.lognormal(0.0, 0.6, n_grids)
    grid = rng.choice(n_grids, size=n, p=busy / busy.sum())
    quality = rng.normal(0.0, 1.0, places.village_index.max() + 1)[places.village_index[grid]]
    sev = rng.choice(3, size=n, p=SEVERITY_P)
    category = rng.integers(0, len(categories), n)

    # Reported: a uniform day in the window, a daytime local hour.
    t = rng.uniform(start, end, n)
    local_midnight = np.floor((t + LOCAL_OFFSET) / 86400) * 86400 - LOCAL_OFFSET
    hour = rng.choice(24, size=n, p=HOUR_P / HOUR_P.sum())
    t0 = local_midnight + hour * HOUR + rng.uniform(0, HOUR, n)
    t0 = np.where(t0 >= end, t0 - 86400, t0)
    t0 = np.where(t0 < start, t0 + 86400 * np.ceil((start - t0) / 86400), t0)
    t0 = np.floor(t0)

    ack_lim = ACK_HOURS[sev] * HOUR
    res_lim = RESOLVE_HOURS[sev] * HOUR
    speed = np.exp(0.3 * quality)  # > 1: slower

    def gap(mean_hours: float) -> np.ndarray:
        """A random delay of at least a minute."""
        return np.floor(60 + rng.exponential(mean_hours * HOUR, n))

    def rating(shift: np.ndarray) -> np.ndarray:
        base = rng.choice(5, size=n, p=RATING_P) + 1
        return np.clip(base - (shift > 1.0) + (shift < -1.0), 1, 5)

    # Deadlines restart when the case is redispatched or escalated (as cases.workflow
    # does: a new owner gets the full time limits from then).
    cancel = rng.random(n) < 0.02
    t_cancel = t0 + gap(6)
    ret = ~cancel & (rng.random(n) < 0.03)
    t_return = t0 + gap(3)
    t_redispatch = t_return + gap(4)
    base = np.where(ret, t_redispatch, t0)

    acked = ~cancel & (rng.random(n) < 0.985)
    t_ack = base + np.floor(60 + ack_lim * rng.lognormal(np.log(0.4), 0.9, n) * speed)
    t_start = t_ack + gap(2)
    esc = acked & (rng.random(n) < 0.04 + 0.03 * (quality > 1))
    t_esc = t_start + np.floor(res_lim * rng.uniform(0.2, 0.9, n))
    t_ack2 = t_esc + np.floor(60 + ack_lim * rng.lognormal(np.log(0.3), 0.5, n))
    t_start2 = t_ack2 + gap(1)
    working = np.where(esc, t_start2, t_start)
    base = np.where(esc, t_esc, base)

    due = base + np.floor(res_lim)
    ext_req = acked & (rng.random(n) < 0.09)
    t_ext = np.maximum(base + np.floor(res_lim * rng.uniform(0.5, 0.95, n)), working + 600)
    ext_req &= t_ext < due  # only before the deadline
    granted = ext_req & (rng.random(n) < 0.8)
    refused = ext_req & ~granted
    t_decide = t_ext + gap(8)
    extended_due = due + np.floor(res_lim)

    d_res = res_lim * rng.lognormal(np.log(0.55), 0.7, n) * speed * np.where(granted, 1.6, 1.0)
    t_res1 = np.maximum(base + np.floor(d_res), np.where(ext_req, t_decide, working) + 3600)
    cb1 = acked & (rng.random(n) < 0.8)
    r1 = rating(quality)
    t_cb1 = t_res1 + gap(20)
    bad_cb = cb1 & (r1 <= 2)  # an unsatisfied callback reopens the case at once
    vfail = acked & ~bad_cb & (rng.random(n) < 0.03)  # verification failed: reopened
    rework = bad_cb | vfail
    after1 = np.where(cb1, t_cb1, t_res1)
    t_reopen = np.where(bad_cb, t_cb1, after1 + gap(12))
    t_res2 = t_reopen + np.floor(60 + res_lim * rng.lognormal(np.log(0.3), 0.6, n))
    cb2 = rework & (rng.random(n) < 0.8)
    r2 = np.maximum(rating(quality - 1.0), 3)
    t_cb2 = t_res2 + gap(20)
    last = np.where(rework, np.where(cb2, t_cb2, t_res2), after1)
    t_verify = last + gap(10)
    t_close = t_verify + gap(24)

    def dues(ack_due: np.ndarray, res_due: np.ndarray) -> Callable[[np.ndarray], list[str]]:
        def data(rows: np.ndarray) -> list[str]:
            return [
                f'{{"acknowledge_due_at": "{a}", "resolve_due_at": "{r}"}}'
                for a, r in zip(_iso(ack_due[rows]), _iso(res_due[rows]), strict=True)
            ]

        return data

    def rating_data(values: np.ndarray, key: str = "") -> Callable[[np.ndarray], list[str]]:
        extra = f'"cause": "{key}", ' if key else ""
        return lambda rows: [f'{{{extra}"rating": {int(v)}}}' for v in values[rows]]

    def grant_data(rows: np.ndarray) -> list[str]:
        return [
            f'{{"resolve_due_at": "{a}", "previous_resolve_due_at": "{b}"}}'
            for a, b in zip(_iso(extended_due[rows]), _iso(due[rows]), strict=True)
        ]

    def until_data(rows: np.ndarray) -> list[str]:
        return [f'{{"until": "{a}"}}' for a in _iso(extended_due[rows])]

    limits = (np.floor(ack_lim), np.floor(res_lim))
    report = Step("report", t0, np.ones(n, bool), "reported",
                  data=dues(t0 + limits[0], t0 + limits[1]), party=REPORTER)  # fmt: skip
    ack = Step("acknowledge", t_ack, acked, "acknowledged")
    request = Step("request_extension", t_ext, ext_req, None,
                   note=NOTES["request_extension"], data=until_data)  # fmt: skip
    grant = Step("grant_extension", t_decide, granted, None, data=grant_data, party=SUPERVISOR)
    refuse = Step("refuse_extension", t_decide, refused, None, note=NOTES["refuse_extension"],
                  party=SUPERVISOR)  # fmt: skip
    res_1 = Step("resolve", t_res1, acked, "resolved", note=NOTES["resolve"])
    callback_1 = Step("callback", t_cb1, cb1, None, data=rating_data(r1), party=REPORTER)
    reopen_by_callback = Step(
        "reopen", t_reopen, bad_cb, "in_progress", note=NOTES["reopen_callback"],
        data=rating_data(r1, "callback"), party=REPORTER,
    )  # fmt: skip
    reopen_by_verify = Step("reopen", t_reopen, vfail, "in_progress",
                            note=NOTES["reopen_verify"], party=SUPERVISOR)  # fmt: skip
    res_2 = Step("resolve", t_res2, rework, "resolved", note=NOTES["resolve"])
    callback_2 = Step("callback", t_cb2, cb2, None, data=rating_data(r2), party=REPORTER)
    escalate = Step("escalate", t_esc, esc, "reported", +1, NOTES["escalate"],
                    data=dues(t_esc + limits[0], t_esc + limits[1]))  # fmt: skip
    close = Step("close_out", t_close, acked, "closed", party=CLOSER)
    steps = [
        report,
        Step("cancel", t_cancel, cancel, "cancelled", note=NOTES["cancel"], party=SUPERVISOR),
        Step("return_case", t_return, ret, "returned", +1, NOTES["return"]),
        Step(
            "redispatch",
            t_redispatch,
            ret,
            "reported",
            -1,
            NOTES["redispatch"],
            data=dues(t_redispatch + limits[0], t_redispatch + limits[1]),
            party=SUPERVISOR,
        ),  # fmt: skip
        ack,
        Step("start", t_start, acked, "in_progress"),
        escalate,
        Step("acknowledge", t_ack2, esc, "acknowledged"),
        Step("start", t_start2, esc, "in_progress"),
        request,
        grant,
        refuse,
        res_1,
        callback_1,
        reopen_by_callback,
        reopen_by_verify,
        res_2,
        callback_2,
        Step("verify", t_verify, acked, "verified", party=SUPERVISOR),
        close,
    ]
    for step in steps:
        step.mask = step.mask & (step.at < end)
    return Simulation(
        n=n,
        grid=grid,
        severity=sev,
        category=category,
        reported=t0,
        ack_due=base + limits[0],
        steps=steps,
        acknowledged_at=ack.at,
        acknowledged=ack.mask,
        resolved_at=np.where(res_2.mask, res_2.at, res_1.at),
        resolved=res_1.mask,
        closed_at=close.at,
        closed=close.mask,
        resolve_due=np.where(grant.mask, extended_due, due),
        extension_pending=request.mask & ~grant.mask & ~refuse.mask,
        extension_count=grant.mask.astype(int),
        rework_count=(reopen_by_callback.mask | reopen_by_verify.mask).astype(int),
        escalation_count=escalate.mask.astype(int),
        satisfaction=np.where(callback_2.mask, r2, np.where(callback_1.mask, r1, 0)),
    )


# --- text for COPY ------------------------------------------------------------------------
def _iso(epoch: np.ndarray) -> list[str]:
    stamps = np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s")
    return [s + "+00" for s in stamps]


def _iso_or_null(epoch: np.ndarray, mask: np.ndarray) -> list[str | None]:
    text = _iso(np.where(mask, epoch, 0))
    return [s if m else None for s, m in zip(text, mask, strict=True)]


_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy(model: type[models.Model], fields: Sequence[str], columns: Sequence[Iterable]) -> int:
    """COPY rows given column by column (text, None = NULL) into ``model``'s table."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
    count = 0
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        buf: list[str] = []
        for row in zip(*columns, strict=True):
            buf.append("\t".join("\\N" if v is None else v.translate(_ESCAPE) for v in row))
            if len(buf) >= COPY_CHUNK:
                copy.write("\n".join(buf) + "\n")
                count += len(buf)
                buf.clear()
        if buf:
            copy.write("\n".join(buf) + "\n")
            count += len(buf)
    return count


def _reserve_ids(model: type[models.Model], n: int) -> np.ndarray:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, n],
        )
        return np.array([r[0] for r in cur.fetchall()], dtype=np.int64)


def _strs(values: Iterable) -> list[str]:
    return [str(v) for v in values]


# --- writing ------------------------------------------------------------------------------
def _write(
    sim: Simulation,
    places: Places,
    categories: list[tuple[int, str]],
    reporter_id: int,
    generation_id: int,
    seed: int,
    events: bool,
    clock: StepClock,
) -> tuple[dict[str, int], int]:
    n = sim.n
    ids = _reserve_ids(Incident, n)
    id_text = _strs(ids)
    rng = np.random.default_rng(seed + 1)

    # Replay the steps: status, level and counters per case, and the event rows.
    status = np.full(n, "reported", dtype=object)
    base_level = BASE_LEVEL[sim.severity]
    level = base_level.copy()
    seq = np.zeros(n, dtype=np.int64)
    n_events = 0
    recipient = [
        places.routed.get((int(s), int(g))) for s, g in zip(sim.severity, sim.grid, strict=True)
    ]
    actor_name = np.array([r[3] if r else "值班员" for r in recipient], dtype=object)
    reporter = str(reporter_id)
    handler_id = np.array(
        [str(places.user_of.get(r[0], reporter_id)) if r else reporter for r in recipient],
        dtype=object,
    )
    staff = [places.station_staff[int(g)] for g in sim.grid]

    def actors(step: Step, rows: np.ndarray, from_level: np.ndarray) -> tuple[list, list]:
        """(login ids as text or None, names) of whoever takes ``step`` in ``rows``."""
        if step.party == HANDLER:
            return list(handler_id[rows]), list(actor_name[rows])
        if step.party == REPORTER:
            return [reporter] * len(rows), [REPORTER_NAME] * len(rows)
        pick = 0 if step.party == SUPERVISOR else 1
        above = COUNTY_SUPERVISOR_NAME if step.party == SUPERVISOR else TOWN_CLOSER_NAME
        ids, names = [], []
        for i, lv in zip(rows, from_level, strict=True):
            who = staff[i][pick] if staff[i] is not None and lv < STATION_LEVELS else None
            ids.append(None if who is None or who[0] is None else str(who[0]))
            names.append(above if who is None else who[1])
        return ids, names

    for step in sim.steps:
        rows = np.flatnonzero(step.mask)
        if not len(rows):
            continue
        seq[rows] += 1
        from_status = status[rows]
        to_status = from_status if step.to_status is None else np.full(len(rows), step.to_status)
        from_level = level[rows]
        level[rows] = np.clip(level[rows] + step.level_change, 0, len(LEVELS) - 1)
        status[rows] = to_status
        if events:
            note = step.note[rows] if isinstance(step.note, np.ndarray) else [step.note] * len(rows)
            data = step.data(rows) if step.data else ["{}"] * len(rows)
            actor_ids, names = actors(step, rows, from_level)
            if step.party == CLOSER:  # the station head signs grid and village close-outs
                data = [
                    '{"signed_as": "station_head"}' if a is not None else d
                    for a, d in zip(actor_ids, data, strict=True)
                ]
            n_events += _copy(
                CaseEvent,
                ["incident", *EVENT_FIELDS],
                [
                    [id_text[i] for i in rows],
                    _strs(seq[rows]),
                    [step.action] * len(rows),
                    actor_ids,
                    names,
                    _iso(step.at[rows]),
                    list(from_status),
                    list(to_status),
                    list(LEVELS[from_level]),
                    list(LEVELS[level[rows]]),
                    list(note),
                    data,
                ],
            )
    clock.tick("events")

    g = sim.grid
    towns = places.town_code[g]
    owner_by_level = [
        places.grid_code[g],
        places.village_code[g],
        towns,
        np.array([t[:6] for t in towns]),
        np.array([t[:4] + "00" for t in towns]),
    ]
    owner = np.choose(level, owner_by_level)
    closed = sim.closed
    on_time = closed & (sim.resolved_at <= sim.resolve_due)
    point_pick = rng.random(n)
    locations = [
        pts[int(p * len(pts))]
        for pts, p in zip((places.points[i] for i in g), point_pick, strict=True)
    ]
    cat_ids = [str(categories[c][0]) for c in sim.category]
    descriptions = [
        DESCRIPTIONS.get(categories[c][1], DESCRIPTIONS["other"])[j % 2] + "（演示）"
        for c, j in zip(sim.category, rng.integers(0, 2, n), strict=True)
    ]
    reported = _iso(sim.reported)
    tf = {True: "t", False: "f"}
    _copy(
        Incident,
        [
            "id",
            "location",
            "category",
            "severity",
            "description",
            "reporter",
            "reported_at",
            "status",
            "generation",
            "grid",
            "village",
            "town",
            "station",
            "place_code",
            "responsible_level",
            "explanation",
            *CASE_STATE_FIELDS,
        ],  # fmt: skip
        [
            id_text,
            locations,
            cat_ids,
            list(SEVERITIES[sim.severity]),
            descriptions,
            [reporter] * n,
            reported,
            list(status),
            [str(generation_id)] * n,
            _strs(places.grid_id[g]),
            _strs(places.village_id[g]),
            _strs(places.town_id[g]),
            [places.station_id[i] for i in g],
            list(places.grid_code[g]),
            list(LEVELS[base_level]),
            ["[]"] * n,
            list(LEVELS[level]),
            list(owner),
            _strs(seq + 1),
            _iso(sim.ack_due),
            _iso(sim.resolve_due),
            _iso_or_null(sim.acknowledged_at, sim.acknowledged),
            _iso_or_null(sim.resolved_at, sim.resolved),
            _iso_or_null(sim.closed_at, closed),
            [tf[bool(o)] if c else None for o, c in zip(on_time, closed, strict=True)],
            [tf[bool(v)] for v in sim.extension_pending],
            _strs(sim.extension_count),
            _strs(sim.rework_count),
            _strs(sim.escalation_count),
            [str(r) if r else None for r in sim.satisfaction],
        ],
    )
    clock.tick("incidents")
    _copy(
        IncidentReport,
        ["incident", "reporter", "reported_at", "location", "description"],
        [id_text, [reporter] * n, reported, locations, descriptions],
    )
    has = [i for i, r in enumerate(recipient) if r is not None]
    _copy(
        IncidentRecipient,
        ["incident", "worker", "kind", "responder", "role", "name", "phone"],
        [
            [id_text[i] for i in has],
            [str(recipient[i][0]) for i in has],
            ["routed"] * len(has),
            [recipient[i][1] for i in has],
            [recipient[i][2] for i in has],
            [recipient[i][3] for i in has],
            [recipient[i][4] for i in has],
        ],
    )
    clock.tick("reports")
    statuses = dict(zip(*np.unique(status.astype(str), return_counts=True), strict=True))
    return {k: int(v) for k, v in statuses.items()}, n_events


# --- the entry point --------------------------------------------------------------------------
def demo_reporter() -> int:
    """The login that reports (and acts on) every demo case; it cannot log in."""
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_REPORTER, defaults={"is_active": False, "first_name": REPORTER_NAME}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user.pk


def demo_case_count() -> int:
    return Incident.objects.filter(reporter__username=DEMO_REPORTER).count()


# Demo cases and everything hanging off them. The history is append-only (a trigger refuses
# DELETE on case events and attachments); removing *demo* cases is the one exception, done
# with the trigger disabled inside this transaction only (DDL is transactional: on any error
# it is enabled again by the rollback).
_DELETE_SQL = [
    "CREATE TEMP TABLE _demo_case ON COMMIT DROP AS SELECT i.id FROM incidents_incident i"
    " JOIN auth_user u ON u.id = i.reporter_id WHERE u.username = %(reporter)s",
    "CREATE INDEX ON _demo_case (id)",
    "ANALYZE _demo_case",
    # Foreign keys are deferred; checked at once here, so no trigger event is pending when
    # the append-only triggers are switched.
    "SET CONSTRAINTS ALL IMMEDIATE",
    "ALTER TABLE incidents_caseevent DISABLE TRIGGER case_event_append_only",
    "ALTER TABLE incidents_caseattachment DISABLE TRIGGER case_attachment_append_only",
    "DELETE FROM incidents_caseattachment WHERE event_id IN (SELECT e.id FROM"
    " incidents_caseevent e WHERE e.incident_id IN (SELECT id FROM _demo_case))",
    "DELETE FROM incidents_caseevent WHERE incident_id IN (SELECT id FROM _demo_case)",
    "ALTER TABLE incidents_caseevent ENABLE TRIGGER case_event_append_only",
    "ALTER TABLE incidents_caseattachment ENABLE TRIGGER case_attachment_append_only",
    # The delivery records of their inbox entries first (inbox.models.Delivery).
    "DELETE FROM inbox_delivery WHERE notification_id IN (SELECT n.id FROM"
    " incidents_notification n WHERE n.subject_type = 'incident'"
    " AND n.subject_id IN (SELECT id FROM _demo_case))",
    "DELETE FROM incidents_notification WHERE subject_type = 'incident'"
    " AND subject_id IN (SELECT id FROM _demo_case)",
    "DELETE FROM incidents_dueevent WHERE incident_id IN (SELECT id FROM _demo_case)",
    "DELETE FROM incidents_supervisionrecord WHERE incident_id IN (SELECT id FROM _demo_case)",
    "DELETE FROM incidents_incidentrecipient WHERE incident_id IN (SELECT id FROM _demo_case)",
    "DELETE FROM incidents_incidentphoto WHERE report_id IN (SELECT r.id FROM"
    " incidents_incidentreport r WHERE r.incident_id IN (SELECT id FROM _demo_case))",
    "DELETE FROM incidents_incidentreport WHERE incident_id IN (SELECT id FROM _demo_case)",
    "DELETE FROM incidents_incident WHERE id IN (SELECT id FROM _demo_case)",
    "SET CONSTRAINTS ALL DEFERRED",
]


def delete_demo_cases() -> int:
    """Delete every demo case (inside the caller's transaction); the number deleted."""
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS _demo_case")
        deleted = 0
        for sql in _DELETE_SQL:
            cur.execute(sql, {"reporter": DEMO_REPORTER})
            if sql.startswith("DELETE FROM incidents_incident "):
                deleted = cur.rowcount
        return deleted


ALREADY_LOADED = "{count:,} demo cases are loaded; use --replace to delete them first."
VACUUM_TABLES = [Incident, IncidentReport, IncidentRecipient, CaseEvent]


def load_demo_cases(
    *,
    count: int,
    seed: int = 7,
    days: int = 365,
    end: dt.datetime | None = None,
    events: bool = True,
    replace: bool = False,
    out: TextIO | None = None,
) -> DemoCasesResult:
    """Generate ``count`` cases reported over ``days`` days before ``end`` (now) and load
    them in one transaction; see the module docstring."""
    if count < 1:
        raise DemoCasesError("--count must be at least 1.")
    clock = StepClock()
    say: Callable[[str], None] = (lambda m: out.write(m + "\n")) if out else (lambda m: None)
    end = end or timezone.now()
    end_s = float(np.floor(end.timestamp()))
    start_s = end_s - days * 86400.0
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('gridmap.load_demo_cases'))")
        existing = demo_case_count()
        if existing and not replace:
            raise DemoCasesError(ALREADY_LOADED.format(count=existing))
        if existing:
            say(f"Deleted {delete_demo_cases():,} previous demo cases.")
            clock.tick("delete")
        demo_logins_ensure()  # the workers act in the history under their own logins
        places = _places(seed, timezone.localdate(end))
        categories = list(Category.objects.filter(is_active=True).values_list("id", "code"))
        generation = Generation.current()
        if not categories or generation is None:
            raise DemoCasesError("No incident categories or boundary generation exist.")
        reporter_id = demo_reporter()
        clock.tick("places")
        sim = _simulate(count, places, [c for _, c in categories], seed, start_s, end_s)
        clock.tick("simulate")
        say(f"Simulated {count:,} cases over {len(places.grid_id):,} grids; writing.")
        statuses, n_events = _write(
            sim, places, categories, reporter_id, generation.pk, seed, events, clock
        )
    clock.tick("commit")  # the deferred foreign-key checks of every copied row
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in VACUUM_TABLES)
    with connection.cursor() as cur:
        # VACUUM sets the visibility map (index-only scans); inside a caller's transaction
        # (tests) only ANALYZE can run.
        cur.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {tables}")
    clock.tick("vacuum")
    return DemoCasesResult(
        count=count,
        events=n_events,
        statuses=statuses,
        seconds=time.perf_counter() - clock.t0,
        timings=clock.steps,
    )
