"""A test-only kind of case: an errand a village assistant runs for a resident (代办).

Everything a kind needs, in one module (plus its migration): the case model, its history,
due events and supervision records, and the ``CaseKind`` that names them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models

from cases.deadlines import TimeLimit
from cases.kinds import CaseKind
from cases.models import Case, CaseEventBase, DueEventBase, SupervisionRecordBase, TimeUnit

# Who the engine told, as (action or reason, case id, worker ids): the tests read it.
TOLD: list[tuple[str, int, frozenset[int]]] = []


class Errand(Case):
    title = models.CharField(max_length=100)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )


class ErrandEvent(CaseEventBase):
    errand = models.ForeignKey(Errand, on_delete=models.PROTECT, related_name="events")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["errand", "seq"], name="errand_event_seq")]


class ErrandDue(DueEventBase):
    errand = models.ForeignKey(Errand, on_delete=models.CASCADE, related_name="due_events")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["errand", "kind", "due_at"], name="errand_due_once")
        ]


class ErrandSupervision(SupervisionRecordBase):
    errand = models.ForeignKey(Errand, on_delete=models.CASCADE, related_name="supervisions")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["errand", "number"], name="errand_supervision_once")
        ]


class ErrandKind(CaseKind):
    name = "errand"
    model = Errand
    event_model = ErrandEvent
    due_event_model = ErrandDue
    supervision_model = ErrandSupervision
    case_field = "errand"

    LIMIT = TimeLimit(2, TimeUnit.WORKING_HOURS, 3, TimeUnit.WORKING_DAYS)

    def time_limit(self, case: Any) -> TimeLimit:
        return self.LIMIT

    def notify(self, case: Any, event: Any, worker_ids: set[int]) -> None:
        TOLD.append((event.action, case.pk, frozenset(worker_ids)))

    def notify_overdue_at_top(
        self, case: Any, worker_ids: set[int], *, kind: str, due_at: dt.datetime
    ) -> None:
        TOLD.append(("overdue_at_top", case.pk, frozenset(worker_ids)))

    def notify_supervision(self, case: Any, worker_ids: set[int], *, number: int) -> None:
        TOLD.append((f"supervision {number}", case.pk, frozenset(worker_ids)))
