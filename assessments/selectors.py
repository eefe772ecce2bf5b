"""Reads of the assessments and who may do what.

Jurisdiction (the one rule, ``accounts.selectors.jurisdiction_prefixes``):

- a cycle is visible to users whose jurisdiction overlaps its district (a cycle of every
  district: to every user with a jurisdiction);
- a score is visible when its code lies inside the jurisdiction (a unit's code; a person's:
  the place of their role; a station: its town, or a village of its catchment), and to the
  person assessed;
- computing, closing and opening a cycle: superusers and the administrators of its district
  (a cycle of every district: city administrators);
- the party organisation's score: the village party secretary of the subject's village, or
  the town (its staff, acting at the subject's town); the cadres' score: the staff of the
  station whose catchment holds the subject's village (head, deputy, full-time worker), or
  the town. Nobody evaluates themselves;
- an appeal: the person assessed, the unit's own staff (acting at the unit), or the town
  (the subject's supervisor); the answer: whoever closed the cycle or its administrators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext

from accounts.models import AccountRole
from accounts.selectors import (
    acts_at,
    granted_account,
    jurisdiction_prefixes,
    today_assignments,
    worker_of,
)
from gridmap.codes import STATION_CODE_RE, covers, overlaps
from grids.models import STATION_ROLES, CatchmentAssignment, Role, Station

from .metrics import METRICS, villages_of
from .models import Cycle, CycleState, EvaluationSource, Score

ADMIN_ROLES = (AccountRole.DISTRICT_ADMIN, AccountRole.CITY_ADMIN)
CADRE_ROLES = {Role.STATION_HEAD, Role.STATION_DEPUTY, Role.STATION_WORKER}
assert set(STATION_ROLES) >= CADRE_ROLES


def _superuser(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_superuser)


def previous_cycle(cycle: Cycle) -> Cycle | None:
    """The scheme's latest cycle in the same district that ended before ``cycle`` starts."""
    return (
        Cycle.objects.filter(
            scheme_id=cycle.scheme_id,
            district_id=cycle.district_id,
            kind=cycle.kind,
            ends_on__lt=cycle.starts_on,
        )
        .order_by("-ends_on")
        .first()
    )


# --- who may ----------------------------------------------------------------------------------
def may_manage(user: Any, cycle: Cycle) -> bool:
    if _superuser(user):
        return True
    account = granted_account(user) if user.is_authenticated else None
    if account is None or account.role not in ADMIN_ROLES:
        return False
    if cycle.district_id is None:
        return account.role == AccountRole.CITY_ADMIN
    return covers(jurisdiction_prefixes(user), cycle.district.code)


def may_answer(user: Any, cycle: Cycle) -> bool:
    if user.is_authenticated and cycle.closed_by_id == user.pk:
        return True
    return may_manage(user, cycle)


def cycle_visible(user: Any, cycle: Cycle) -> bool:
    if _superuser(user):
        return True
    prefixes = jurisdiction_prefixes(user)
    if not prefixes:
        return False
    return cycle.district_id is None or overlaps(prefixes, cycle.district.code)


def is_subject(user: Any, score: Score) -> bool:
    worker = worker_of(user)
    return worker is not None and score.worker_id == worker.pk


def score_visible(user: Any, score: Score) -> bool:
    if _superuser(user) or is_subject(user, score):
        return True
    prefixes = jurisdiction_prefixes(user)
    if not prefixes:
        return False
    if STATION_CODE_RE.match(score.code):
        return covers(prefixes, score.code[:9]) or any(
            covers(prefixes, v) for v in villages_of(score.code)
        )
    return covers(prefixes, score.code)


def _town_of(score: Score) -> str:
    return score.code[:9]


def _station_villages(station_ids: set[int]) -> set[str]:
    if not station_ids:
        return set()
    return set(
        CatchmentAssignment.objects.active()
        .filter(station_id__in=station_ids)
        .values_list("village__code", flat=True)
    )


def may_evaluate(user: Any, score: Score, source: str) -> bool:
    """Whether ``user`` may enter ``source``'s score for ``score``'s subject (module
    docstring). Superusers may."""
    if not user.is_authenticated or is_subject(user, score):
        return False
    if _superuser(user):
        return True
    if score.cycle.state != CycleState.OPEN:
        return False
    if acts_at(user, "town", _town_of(score)):
        # The town evaluates what lies below it, never itself.
        return score.level != "town"
    rows = today_assignments(user)
    subject_villages = set() if len(score.code) < 12 else set(villages_of(score.code))
    if source == EvaluationSource.PARTY_ORG:
        own = {village for role, _g, village, _t, _s in rows if role == Role.VILLAGE_SECRETARY}
        return bool(subject_villages and not STATION_CODE_RE.match(score.code)) and bool(
            own & subject_villages
        )
    if source == EvaluationSource.CADRES:
        stations = {s for role, _g, _v, _t, s in rows if role in CADRE_ROLES and s}
        if STATION_CODE_RE.match(score.code):
            own_codes = set(Station.objects.filter(pk__in=stations).values_list("code", flat=True))
            return score.code in own_codes and score.level != "station"
        return bool(_station_villages(stations) & subject_villages)
    return False


def may_appeal(user: Any, score: Score) -> bool:
    if not user.is_authenticated or not score.cycle.is_closed:
        return False
    if _superuser(user) or is_subject(user, score):
        return True
    if score.level != "person" and acts_at(user, score.level, score.code):
        return True
    return acts_at(user, "town", _town_of(score))


# --- pages ------------------------------------------------------------------------------------
def cycles_for(user: Any) -> list[Cycle]:
    """The cycles ``user`` may open, newest first."""
    cycles = Cycle.objects.select_related("scheme", "district").defer("district__geom")
    return [c for c in cycles.order_by("-starts_on", "scheme__name") if cycle_visible(user, c)]


def cycle_scores(user: Any, cycle: Cycle, level: str = "") -> list[Score]:
    """The scores of ``cycle`` that ``user`` may see: ranked first, then by total."""
    qs: QuerySet[Score] = cycle.scores.all()
    if level:
        qs = qs.filter(level=level)
    scores = [s for s in qs.order_by("rank", "-total", "name", "id") if score_visible(user, s)]
    for s in scores:
        s.cycle = cycle
    return scores


TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\*\*|[*/]|[^A-Za-z_*/]+")


def formula_in_words(formula: str) -> str:
    """The formula with metric names replaced by their labels (× and ÷ for * and /)."""
    out = []
    for token in TOKEN.findall(formula):
        metric = METRICS.get(token)
        if metric is not None:
            out.append(f"〔{metric.label}〕")
        else:
            out.append({"*": "×", "/": "÷"}.get(token, token))
    return "".join(out)


@dataclass
class IndicatorLine:
    key: str
    name: str
    formula: str
    words: str
    weight: str
    points: str | None
    samples: int
    min_samples: int
    assessable: bool
    metrics: list[dict[str, Any]]


def shown_value(key: str, value: float | None) -> str:
    """A metric's value as the report prints it: rates as percentages, "–" for none."""
    if value is None:
        return "–"
    if key.endswith("_rate") or key in ("weekly_punctuality", "key_person_visits"):
        return f"{value * 100:.1f}%"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def report_lines(score: Score) -> list[IndicatorLine]:
    """Each indicator of a score with its metrics (label, what it measures, value, samples)."""
    lines = []
    for row in score.indicators:
        metrics = []
        for key in row.get("metrics", []):
            metric = METRICS.get(key)
            m = score.metrics.get(key, {})
            metrics.append(
                {
                    "key": key,
                    "label": metric.label if metric else key,
                    "words": metric.words if metric else "",
                    "value": m.get("value"),
                    "shown": shown_value(key, m.get("value")),
                    "samples": m.get("samples", 0),
                }
            )
        lines.append(
            IndicatorLine(
                key=row["key"],
                name=row["name"],
                formula=row["formula"],
                words=formula_in_words(row["formula"])
                + (gettext(" (lower is better)") if row.get("direction") == "lower" else ""),
                weight=row["weight"],
                points=row["points"],
                samples=row["samples"],
                min_samples=row["min_samples"],
                assessable=row["assessable"],
                metrics=metrics,
            )
        )
    return lines


def cycle_indicators(cycle: Cycle) -> list[dict[str, Any]]:
    """The indicators a cycle's table and export show (``key``, ``name``, ``weight``): those
    its scores were computed with (stored with each score, so a closed cycle keeps its
    columns whatever the scheme becomes), else the scheme's as it is now."""
    first = cycle.scores.order_by("pk").values_list("indicators", flat=True).first()
    if first:
        return [{"key": r["key"], "name": r["name"], "weight": r["weight"]} for r in first]
    return [
        {"key": i.key, "name": i.name, "weight": str(i.weight)}
        for i in cycle.scheme.indicators.order_by("order", "id")
    ]


def export_header(cycle: Cycle) -> list[str]:
    names = [i["name"] for i in cycle_indicators(cycle)]
    return [
        gettext("rank"),
        gettext("name"),
        gettext("place"),
        gettext("code"),
        *names,
        gettext("total"),
        gettext("complete"),
        gettext("previous cycle's total"),
    ]


def export_rows(cycle: Cycle, scores: list[Score]) -> list[list[Any]]:
    keys = [i["key"] for i in cycle_indicators(cycle)]
    rows = []
    for s in scores:
        points = {r["key"]: r["points"] for r in s.indicators}
        rows.append(
            [
                s.rank or "",
                s.name,
                s.place_name,
                s.code,
                *[float(points[k]) if points.get(k) is not None else "" for k in keys],
                float(s.total) if s.total is not None else "",
                gettext("yes") if s.complete else gettext("no"),
                float(s.previous_total) if s.previous_total is not None else "",
            ]
        )
    return rows
