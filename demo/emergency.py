"""The demo's emergency roles (issue 12, item 4): who is on duty at each town, and the village
team a yellow case reaches.

- Every demo town gets ``OFFICERS_PER_TOWN`` on-duty officers who take turns one day each,
  from ``DAYS_BEFORE`` days before the load to ``DAYS_AFTER`` days after it (one dated
  ``town_duty_officer`` assignment per day: a red case reaches the officer of its day; after
  the last day the dispatcher takes their part, as the routing explanation says).
- The first ``TEAM_VILLAGES_PER_TOWN`` villages of each town (by code) get a village legal
  adviser and an auxiliary police officer; the other villages show the vacancy in a yellow
  case's explanation.

Kept apart from the loader's stages (``demo.loader`` calls ``add_emergency_roles`` once the
places exist); the rows are the demo's (on its places), so ``delete_demo`` removes them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.utils import timezone
from psycopg.types.range import Range

from grids.models import Role, RoleAssignment, Town, Village, Worker

from .names import person_names, phones
from .plan import rng_for

OFFICERS_PER_TOWN = 3
DAYS_BEFORE = 7
DAYS_AFTER = 60
TEAM_VILLAGES_PER_TOWN = 2
TEAM_START = dt.date(2025, 1, 1)


def add_emergency_roles(*, prefix: str, seed: int, today: dt.date | None = None) -> dict[str, int]:
    """Create the on-duty rota of the towns and the village teams of a few villages whose
    codes start with ``prefix``; counts of the assignments made."""
    today = today or timezone.localdate()
    rng = rng_for(seed, 120)
    towns = list(Town.objects.current().filter(code__startswith=prefix).order_by("code"))
    villages: dict[int, list[Village]] = {}
    for village in Village.objects.current().filter(town__in=towns).order_by("code"):
        villages.setdefault(village.town_id, []).append(village)
    people = OFFICERS_PER_TOWN * len(towns) + 2 * TEAM_VILLAGES_PER_TOWN * len(towns)
    names = iter(person_names(rng, rng.random(people) < 0.5))
    numbers = iter(phones(rng, people))

    def hire() -> Worker:
        return Worker(name=str(next(names)), phone=str(next(numbers)))

    workers: list[Worker] = []
    rows: list[tuple[int, str, dict[str, object], Range]] = []
    first = today - dt.timedelta(days=DAYS_BEFORE)
    days = DAYS_BEFORE + DAYS_AFTER
    for town in towns:
        rota = [hire() for _ in range(OFFICERS_PER_TOWN)]
        workers += rota
        for n in range(days):
            day = first + dt.timedelta(days=n)
            period = Range(day, day + dt.timedelta(days=1), "[)")
            rows.append((len(workers) - OFFICERS_PER_TOWN + n % OFFICERS_PER_TOWN,
                         Role.TOWN_DUTY_OFFICER, {"town": town}, period))  # fmt: skip
        for village in villages.get(town.pk, [])[:TEAM_VILLAGES_PER_TOWN]:
            for role in (Role.VILLAGE_LAWYER, Role.AUXILIARY_POLICE):
                workers.append(hire())
                rows.append((len(workers) - 1, role, {"village": village},
                             Range(TEAM_START, None, "[)")))  # fmt: skip
    workers = Worker.objects.bulk_create(workers)
    RoleAssignment.objects.bulk_create(
        RoleAssignment(worker=workers[i], role=role, period=period, **place)
        for i, role, place, period in rows
    )
    counts = np.unique([str(r[1]) for r in rows], return_counts=True)
    return {str(k): int(v) for k, v in zip(*counts, strict=True)}
