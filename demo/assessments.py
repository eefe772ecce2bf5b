"""Demo assessments (issue 15): two closed monthly cycles of the village assistants' scheme
(村级助理月考评, assessments migration 0002) over the loaded demo, the two months before the
current one, so the cycle table shows ranks and trends and each assistant has a printed
report (``load_demo_assessments``; run it after the demo's cases, presence and requests).

For each month: the cycle (every district) is opened and computed (presence, requests,
ratings come from the demo); each assistant's village party secretary enters the party
organisation's score and the head of the village's station the cadres' score (70-98,
seeded; the demo's workers get their logins first, ``demo.logins``); then the cycle is
closed (recomputed with them, frozen). The latest month gets one open appeal, by the
assistant with the lowest total.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from assessments import services
from assessments.models import Appeal, Cycle, EvaluationEntry, Scheme, Score
from grids.models import CatchmentAssignment, Role, RoleAssignment

from .logins import demo_logins_ensure

SCHEME = "村级助理月考评"
APPEAL_REASON = "本月有三天在县里陪同群众办理医保报销，未能在村签到，申请核减驻村天数要求。"


def _demo_cycles():
    return Cycle.objects.filter(scheme__name=SCHEME, district__isnull=True)


def demo_assessments_count() -> int:
    return _demo_cycles().count()


def delete_demo_assessments() -> dict[str, int]:
    """Remove the demo's cycles, closed ones too (``assessments.services.cycles_purge``:
    maintenance, as replacing the demo is; their scores name the demo's workers)."""
    ids = list(_demo_cycles().values_list("pk", flat=True))
    return {"assessment cycles": services.cycles_purge(ids=ids)}


def _months(today: dt.date, n: int = 2) -> list[tuple[dt.date, dt.date]]:
    """The ``n`` whole months before ``today``'s, oldest first."""
    out = []
    first = today.replace(day=1)
    for _ in range(n):
        last = first - dt.timedelta(days=1)
        first = last.replace(day=1)
        out.append((first, last))
    return out[::-1]


def _entitled(on: dt.date) -> tuple[dict[str, int], dict[str, int]]:
    """Village code -> the user of its party secretary, and of its station's head, on ``on``."""
    secretaries = dict(
        RoleAssignment.objects.active(on)
        .filter(role=Role.VILLAGE_SECRETARY, worker__user__isnull=False)
        .values_list("village__code", "worker__user_id")
    )
    heads = dict(
        RoleAssignment.objects.active(on)
        .filter(role=Role.STATION_HEAD, worker__user__isnull=False)
        .values_list("station_id", "worker__user_id")
    )
    stations = dict(
        CatchmentAssignment.objects.active(on).values_list("village__code", "station_id")
    )
    return secretaries, {v: heads[s] for v, s in stations.items() if s in heads}


def load_demo_assessments(*, seed: int = 7, today: dt.date | None = None) -> list[Cycle]:
    """Make and close the two monthly cycles (see the module docstring); the cycles."""
    scheme = Scheme.objects.get(name=SCHEME, district__isnull=True)
    demo_logins_ensure()
    rng = random.Random(seed)
    cycles = []
    for first, last in _months(today or timezone.localdate()):
        with transaction.atomic():
            cycle = services.cycle_open(
                actor=None, scheme=scheme, starts_on=first,
                ends_on=last, district=None,
            )  # fmt: skip
            services.compute_cycle(actor=None, cycle=cycle)
            secretaries, heads = _entitled(last)
            now = timezone.now()
            entries = []
            for score in Score.objects.filter(cycle=cycle).order_by("code", "worker_id"):
                village = score.code[:12]
                for source, by in (("party_org", secretaries.get(village)),
                                   ("cadres", heads.get(village))):  # fmt: skip
                    if by is not None:
                        entries.append(EvaluationEntry(
                            score=score, source=source, value=rng.randint(70, 98), by_id=by,
                            at=now,
                        ))  # fmt: skip
            EvaluationEntry.objects.bulk_create(entries)
            cycle = services.close_cycle(actor=None, cycle=cycle)
        cycles.append(cycle)
    lowest = (
        Score.objects.filter(cycle=cycles[-1], total__isnull=False, worker__user__isnull=False)
        .select_related("worker")
        .order_by("total", "code")
        .first()
    )
    if lowest is not None:
        Appeal.objects.create(
            score=lowest, reason=APPEAL_REASON, by=lowest.worker.user, at=timezone.now()
        )
    return cycles
