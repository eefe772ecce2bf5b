"""Incidents as a kind of case: what the case engine (``cases``) needs to know of them.

Registered by ``incidents.apps.IncidentsConfig.ready``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q, QuerySet

from cases.deadlines import TimeLimit
from cases.kinds import Assessment, CaseKind
from gridmap.db.expressions import InArray

from . import notifications, services
from .models import (
    CaseAttachment,
    CaseEvent,
    DueEvent,
    Incident,
    IncidentReport,
    SupervisionRecord,
)
from .time_limits import time_limit


class IncidentKind(CaseKind):
    name = "incident"
    model = Incident
    event_model = CaseEvent
    attachment_model = CaseAttachment
    due_event_model = DueEvent
    supervision_model = SupervisionRecord
    case_field = "incident"
    assessable = True

    def assess(self, case: Any, data: dict[str, Any], at: dt.datetime) -> Assessment:
        return services.incident_assess(case, data, at)

    def time_limit(self, case: Any) -> TimeLimit:
        # A new incident carries the limits its routing statement read (services._create).
        routed = getattr(case, "routed_time_limit", None)
        return routed if routed is not None else time_limit(case.category_id, case.severity)

    def visible_q(self, user: Any) -> Q:
        # Whoever reported it, the first reporter or a duplicate's, follows it. The reports'
        # cases as an array, not EXISTS per row: PostgreSQL can then combine the rule's
        # indexes and estimate it (gridmap.db.expressions).
        reported = IncidentReport.objects.filter(reporter=user).values("incident_id")
        return Q(InArray(F("pk"), reported))

    def notify(self, case: Any, event: Any, worker_ids: set[int]) -> None:
        notifications.notify_case(case, event, worker_ids)

    def notify_overdue_at_top(
        self, case: Any, worker_ids: set[int], *, kind: str, due_at: dt.datetime
    ) -> None:
        notifications.notify_overdue_at_top(case, worker_ids, kind=kind, due_at=due_at)

    def notify_supervision(self, case: Any, worker_ids: set[int], *, number: int) -> None:
        notifications.notify_supervision(case, worker_ids, number=number)

    def clock_queryset(self) -> QuerySet[Incident]:
        return Incident.objects.select_related("category")
