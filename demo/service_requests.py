"""Demo service requests (issue 15): six months of proxy service (代办) at the demo villages,
taken and carried through the engine's own actions, so their histories, promises, figures
and escalations are exactly what the application would have written
(``load_demo_service_requests``; the catalogue comes first: ``load_demo_catalogue``).

Same seed, same requests (relative to ``end``, now by default). Over ``months`` months before
``end``, on working days, each demo village takes about ``PER_VILLAGE_MONTH`` requests a
month, at its service station (75 %), on a visit (18 %) or in the field (7 %), by its village
assistant (80 %) or its party secretary, for a random household of the village (the head
asks), for an item of the catalogue handled at the village. Then, each step at a working
time:

- withdrawn (2 %) within two days, with the resident's reason; returned as not eligible
  (3 %) within a day, with the reason;
- otherwise started the same morning or afternoon; an item approved by the town or county is
  handed to its office (the item's office) with the office's own promise, and comes back;
  done (the result written) after a share of the promised working days: within the promise
  for about 92 %, after it for the rest; a request still open when its promise passes is
  escalated to the town by the clock (``cases.clock``), which then finishes it (its
  dispatcher);
- picked up (70 %) or delivered (30 %) within two working days; rated by the resident on the
  public status page (75 %: mostly 5 or 4).

Steps later than ``end`` have not happened yet, so the last weeks' requests are still open.
Every step goes through ``servicedesk.services`` (and the clock), one request after the
other in the order they were taken.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, TextIO

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases import deadlines
from cases.clock import escalate_overdue_of
from cases.kinds import kind_of
from cases.models import TimeUnit
from grids.models import Role, RoleAssignment, Village
from households.models import Household
from servicedesk.models import ApprovingLevel, Channel, ServiceItem, ServiceRequest
from servicedesk.services import (
    service_request_act,
    service_request_create,
    service_request_rate_public,
    service_requests_purge,
)

from .loader import CITY_PREFIX
from .logins import demo_logins_ensure

DEFAULT_MONTHS = 6
PER_VILLAGE_MONTH = 6
WITHDRAWN_SHARE = 0.02
DECLINED_SHARE = 0.03
LATE_SHARE = 0.08
RATED_SHARE = 0.75

WITHDRAW_REASONS = [
    "群众表示已自行到县政务服务中心办理。",
    "申请人家中情况变化，暂不办理。",
    "申请人外出务工，委托家属下次再来申请。",
]
DECLINE_REASONS = [
    "不符合申请条件：申请人年龄未达到规定标准。",
    "不符合申请条件：户籍不在本村，请到户籍所在地办理。",
    "材料不全且无法补齐：缺少户口簿原件，已一次性告知所需材料。",
]
RESULTS = [
    "已办结，证件（材料）已取回，通知申请人领取。",
    "审核通过，款项已按月发放至申请人社保卡。",
    "已办理完毕，结果已录入系统，告知申请人。",
    "材料已报送并获批准，批复文件已取回。",
]
MATTERS = [
    "申请人行动不便，请求村代办员全程代办。",
    "申请人子女在外务工，委托代办。",
    "群众到村便民服务站咨询后申请代办。",
    "",
]


@dataclass
class Counts:
    requests: int = 0
    completed: int = 0
    declined: int = 0
    withdrawn: int = 0
    escalated: int = 0
    rated: int = 0
    open: int = 0


def demo_service_count() -> int:
    return ServiceRequest.objects.filter(place_code__startswith=CITY_PREFIX).count()


def delete_demo_service_requests() -> dict[str, int]:
    """Remove the demo's service requests (their history too: the kind's purge)."""
    ids = list(
        ServiceRequest.objects.filter(place_code__startswith=CITY_PREFIX).values_list(
            "pk", flat=True
        )
    )
    return {"service requests": service_requests_purge(ids=ids)}


def _working_moment(rng: random.Random, day: dt.date) -> dt.datetime:
    zone = deadlines.time_zone()
    if rng.random() < 0.6:
        minutes = rng.randint(8 * 60 + 40, 11 * 60 + 45)
    else:
        minutes = rng.randint(14 * 60 + 40, 17 * 60 + 15)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)


def _add_minutes(start: dt.datetime, minutes: int) -> dt.datetime:
    hours, rest = divmod(minutes, 60)
    at = deadlines.add_working_time(start, hours, TimeUnit.WORKING_HOURS)
    return at + dt.timedelta(minutes=rest)


def _receivers(village: Village, on: dt.date) -> list[tuple[Any, float]]:
    held = (
        RoleAssignment.objects.active(on)
        .filter(village=village, role__in=[Role.VILLAGE_ASSISTANT, Role.VILLAGE_SECRETARY])
        .select_related("worker__user")
    )
    weights = {Role.VILLAGE_ASSISTANT: 0.8, Role.VILLAGE_SECRETARY: 0.2}
    return [(a.worker.user, weights[a.role]) for a in held if a.worker.user_id is not None]


def _town_handler(village: Village, on: dt.date) -> Any:
    a = (
        RoleAssignment.objects.active(on)
        .filter(town=village.town, role=Role.TOWN_DISPATCHER, worker__user__isnull=False)
        .select_related("worker__user")
        .first()
    )
    return a.worker.user if a is not None else None


def load_demo_service_requests(
    *,
    months: int = DEFAULT_MONTHS,
    seed: int = 15,
    end: dt.datetime | None = None,
    out: TextIO | None = None,
) -> dict[str, int]:
    """Make the demo's service requests (see the module docstring); returns counts."""
    end = end or timezone.now()
    rng = random.Random(seed)
    demo_logins_ensure()
    items = list(ServiceItem.objects.filter(active=True, at_village=True).order_by("code"))
    if not items:
        raise ValueError("No service catalogue: run load_demo_catalogue first.")
    villages = list(
        Village.objects.current().filter(code__startswith=CITY_PREFIX).select_related("town")
    )
    start_day = (end - dt.timedelta(days=round(months * 30.5))).date()
    counts = Counts()
    per_day = PER_VILLAGE_MONTH / 21.5
    households = {
        v.code: list(
            Household.objects.filter(grid__village=v)
            .filter(~Q(head_name=""))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for v in villages
    }
    day = start_day
    while day < end.date():
        if deadlines.is_working_day(day):
            for village in villages:
                if not households[village.code] or rng.random() >= per_day:
                    continue
                receivers = _receivers(village, day)
                if not receivers:
                    continue
                at = _working_moment(rng, day)
                if at >= end:
                    continue
                user = rng.choices([u for u, _ in receivers], [w for _, w in receivers])[0]
                item = rng.choice(items)
                household = Household.objects.get(pk=rng.choice(households[village.code]))
                _life(
                    rng,
                    counts,
                    end,
                    at=at,
                    user=user,
                    item=item,
                    household=household,
                    village=village,
                )
        day += dt.timedelta(days=1)
    if out is not None:
        out.write(f"{counts}\n")
    return {
        "service requests": counts.requests,
        "completed": counts.completed,
        "declined": counts.declined,
        "withdrawn": counts.withdrawn,
        "escalated": counts.escalated,
        "rated": counts.rated,
        "open": counts.open,
    }


def _life(
    rng: random.Random,
    counts: Counts,
    end: dt.datetime,
    *,
    at: dt.datetime,
    user: Any,
    item: ServiceItem,
    household: Household,
    village: Village,
) -> None:
    """Take one request and carry it as far as ``end``."""
    channel = rng.choices([Channel.DESK, Channel.VISIT, Channel.FIELD], [0.75, 0.18, 0.07])[0]
    with transaction.atomic():
        request = service_request_create(
            actor=user,
            item=item,
            household=household,
            applicant_name=household.head_name,
            applicant_phone=household.phone or "",
            matter=rng.choice(MATTERS),
            channel=channel,
            at=at,
        )
    counts.requests += 1
    state = {"request": request, "user": user}

    def act(
        action: str, when: dt.datetime, note: str = "", data: dict | None = None, actor: Any = None
    ) -> bool:
        if when >= end:
            return False
        current = ServiceRequest.objects.get(pk=state["request"].pk)
        state["request"] = service_request_act(
            actor=actor or state["user"],
            request_id=current.pk,
            action=action,
            version=current.version,
            note=note,
            data=data or {},
            at=when,
        )
        return True

    r = rng.random()
    if r < WITHDRAWN_SHARE:
        if act("cancel", _add_minutes(at, rng.randint(30, 13 * 60)), rng.choice(WITHDRAW_REASONS)):
            counts.withdrawn += 1
        else:
            counts.open += 1
        return
    if r < WITHDRAWN_SHARE + DECLINED_SHARE:
        if act("decline", _add_minutes(at, rng.randint(20, 6 * 60)), rng.choice(DECLINE_REASONS)):
            counts.declined += 1
        else:
            counts.open += 1
        return
    started = _add_minutes(at, rng.randint(10, 180))
    if not act("start", started):
        counts.open += 1
        return
    due = state["request"].resolve_due_at
    late = rng.random() < LATE_SHARE
    share = rng.uniform(1.05, 1.6) if late else rng.uniform(0.2, 0.95)
    done_at = _add_minutes(at, int(share * item.promised_days * 6.5 * 60))
    done_at = max(done_at, _add_minutes(started, rng.randint(20, 90)))
    clock = {"ran": False}

    def late_clock(before: dt.datetime) -> bool:
        """The clock's escalation of an overdue request, in its place among the steps: once,
        when the promise passed before ``before``. Whether it ran."""
        tick = due + dt.timedelta(minutes=5) if due is not None else None
        if clock["ran"] or tick is None or not tick < before or tick >= end:
            return clock["ran"]
        clock["ran"] = True
        escalated = escalate_overdue_of(kind_of(ServiceRequest), tick)
        if any(pk == state["request"].pk for pk, _ in escalated):
            counts.escalated += 1
            town_user = _town_handler(village, due.date())
            if town_user is not None:
                state["user"] = town_user
        return True

    if item.approving_level != ApprovingLevel.VILLAGE and item.office:
        handed = _add_minutes(started, rng.randint(30, 6 * 60))
        if handed < done_at:
            days = max(1, int(item.promised_days * 0.7))
            promised_on = deadlines.add_working_time(handed, days, TimeUnit.WORKING_DAYS).date()
            if not act(
                "hand_off",
                handed,
                "",
                {
                    "office": item.office,
                    "level": item.approving_level,
                    "promised_on": promised_on.isoformat(),
                },
            ):
                counts.open += 1
                return
            back = handed + (done_at - handed) * 0.8
            late_clock(back)
            if back > handed and not act("step_back", back, "", {"step": 1}):
                counts.open += 1
                return
    if late_clock(done_at):
        done_at = max(done_at, due + dt.timedelta(minutes=30))
    if not act("resolve", done_at, rng.choice(RESULTS)):
        counts.open += 1
        return
    counts.completed += 1
    delivered = _add_minutes(done_at, rng.randint(30, 2 * 6 * 60))
    how = "pickup" if rng.random() < 0.7 else "delivered"
    if not act("close_out", delivered, "", {"how": how}):
        return
    if rng.random() < RATED_SHARE:
        rated_at = delivered + dt.timedelta(hours=rng.uniform(1, 72))
        if rated_at < end:
            rating = rng.choices([5, 4, 3, 2, 1], [0.70, 0.22, 0.06, 0.01, 0.01])[0]
            service_request_rate_public(
                short_code=state["request"].short_code, rating=rating, at=rated_at
            )
            counts.rated += 1
