"""Writes of the assessments: compute a cycle's scores (one batch), close a cycle (freeze),
enter the three-way evaluation, appeal and answer. Each takes the acting user and checks
the rule (``assessments.selectors``: who may do what) here, so pages, admin and commands
share it. ``compute_cycle``, ``close_cycle`` and ``cycle_open`` also take ``actor=None``:
the system (a management command such as the demo's), which the pages never pass.

How a score is computed (docs/architecture.md, "Assessments"):

1. the metrics the scheme's formulas name are measured for the subject and the period
   (``assessments.metrics``: each ``(value, samples)``);
2. an indicator's samples are the fewest samples among its metrics; with fewer than its
   ``min_samples`` (or a metric without a value) it is **not assessable**: no points;
3. otherwise points = the formula's value clamped to 0..100 (``lower``: 100 minus it);
4. the total is the weighted mean of the points over the assessable indicators (their
   weights renormalised: the weight of an indicator that cannot be assessed is shared among
   the others in proportion to theirs); no assessable indicator: no total;
5. a score is ``complete`` when every indicator was assessable; only complete scores are
   ranked (competition ranks, "1, 2, 2, 4", by total, highest first);
6. the previous total is the same subject's total in the scheme's previous cycle of the
   same district (the latest that ended before this one starts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from psycopg.types.range import Range

from grids.models import Grid, RoleAssignment, Station, Town, Village
from grids.selectors import ASSIGNMENT_PLACE_CODE

from . import selectors
from .formulas import check_formula, evaluate
from .metrics import METRICS, Context, Subject, measure
from .models import (
    Appeal,
    Cycle,
    CycleState,
    Direction,
    EvaluationEntry,
    EvaluationSource,
    Indicator,
    Score,
    SubjectLevel,
)

MSG_NOT_OVER = gettext_noop("A cycle is closed once its period is over (after %(end)s).")
MSG_CLOSED = gettext_noop("This cycle is closed: its scores are frozen and never recomputed.")
MSG_NOT_CLOSED = gettext_noop("A score can be appealed once its cycle is closed.")
MSG_MAY_NOT_MANAGE = gettext_noop(
    "Only the district's administrators compute and close this cycle."
)
MSG_MAY_NOT_EVALUATE = gettext_noop("You may not enter this evaluation for this subject.")
MSG_MAY_NOT_APPEAL = gettext_noop(
    "Only the person assessed, the unit's own staff or their town may appeal."
)
MSG_OPEN_APPEAL = gettext_noop("This score already has an appeal waiting for its answer.")
MSG_MAY_NOT_ANSWER = gettext_noop(
    "Only whoever closed the cycle or a district administrator answers an appeal."
)
MSG_ANSWERED = gettext_noop("This appeal is already answered.")
MSG_REASON_REQUIRED = gettext_noop("Give the reason.")
MSG_ANSWER_REQUIRED = gettext_noop("Write the answer.")
MSG_VALUE_RANGE = gettext_noop("A score is a whole number from 0 to 100.")
MSG_NO_INDICATORS = gettext_noop("The scheme has no indicators.")

TWO = Decimal("0.01")


def _dec(value: float) -> Decimal:
    return Decimal(str(value)).quantize(TWO, rounding=ROUND_HALF_UP)


# --- subjects -------------------------------------------------------------------------------
def cycle_subjects(cycle: Cycle) -> list[Subject]:
    """Whom the cycle assesses: the current units of the scheme's level in the cycle's
    district (or everywhere), or the holders of the scheme's role during the period."""
    scheme = cycle.scheme
    prefix = cycle.district.code if cycle.district_id else ""
    level = scheme.level
    if level == SubjectLevel.PERSON:
        end = cycle.ends_on + dt.timedelta(days=1)
        rows = (
            RoleAssignment.objects.annotate(place_code=ASSIGNMENT_PLACE_CODE)
            .filter(
                role=scheme.role,
                place_code__startswith=prefix,
                period__overlap=Range(cycle.starts_on, end, "[)"),
            )
            .order_by("worker__name", "worker_id", "place_code")
            .values_list(
                "worker_id",
                "worker__name",
                "place_code",
                "grid__name",
                "village__name",
                "station__name",
            )
        )
        seen: set[int] = set()
        out = []
        for worker_id, name, place_code, *names in rows:
            if worker_id in seen:
                continue  # one score per person: the first place of the role in the period
            seen.add(worker_id)
            place = next((n for n in names if n), "")
            out.append(Subject("person", place_code, name, worker_id, place))
        return out
    if level == SubjectLevel.STATION:
        stations = Station.objects.filter(town__code__startswith=prefix).exclude(
            retired_on__lt=cycle.starts_on
        )
        return [
            Subject("station", c, n, None, t)
            for c, n, t in stations.order_by("code").values_list("code", "name", "town__name")
        ]
    model = {"grid": Grid, "village": Village, "town": Town}[level]
    return [
        Subject(level, c, n)
        for c, n in model.objects.current()
        .filter(code__startswith=prefix)
        .order_by("code")
        .values_list("code", "name")
    ]


# --- computing --------------------------------------------------------------------------------
def _indicators(cycle: Cycle) -> list[tuple[Indicator, list[str]]]:
    indicators = list(cycle.scheme.indicators.order_by("order", "id"))
    if not indicators:
        raise ValidationError(gettext(MSG_NO_INDICATORS))
    return [(i, check_formula(i.formula, METRICS)) for i in indicators]


def score_subject(
    subject: Subject, indicators: list[tuple[Indicator, list[str]]], ctx: Context
) -> dict[str, Any]:
    """The fields of one subject's score (steps 1-4 of the module docstring)."""
    keys = list(dict.fromkeys(k for _, names in indicators for k in names))
    metrics = measure(subject, keys, ctx)
    rows = []
    weighted, weights = Decimal(0), Decimal(0)
    for indicator, names in indicators:
        samples = min(metrics[n]["samples"] for n in names)
        values = {n: metrics[n]["value"] for n in names}
        assessable = samples >= indicator.min_samples and all(
            v is not None for v in values.values()
        )
        value = points = None
        if assessable:
            value = evaluate(indicator.formula, values)
            assessable = value is not None
        if value is not None:
            clamped = min(100.0, max(0.0, value))
            points = _dec(100.0 - clamped if indicator.direction == Direction.LOWER else clamped)
            weighted += points * indicator.weight
            weights += indicator.weight
        rows.append(
            {
                "key": indicator.key,
                "name": indicator.name,
                "formula": indicator.formula,
                "direction": indicator.direction,
                "weight": str(indicator.weight),
                "metrics": names,
                "value": None if value is None else round(value, 4),
                "points": None if points is None else str(points),
                "samples": samples,
                "min_samples": indicator.min_samples,
                "assessable": assessable,
            }
        )
    total = (weighted / weights).quantize(TWO, rounding=ROUND_HALF_UP) if weights else None
    return {
        "name": subject.name,
        "place_name": subject.place_name,
        "metrics": metrics,
        "indicators": rows,
        "total": total,
        "complete": all(r["assessable"] for r in rows),
    }


def _context(cycle: Cycle) -> Context:
    evaluations: dict[tuple[str, str, int | None], dict[str, list[int]]] = {}
    for level, code, worker_id, source, value in EvaluationEntry.objects.filter(
        score__cycle=cycle
    ).values_list("score__level", "score__code", "score__worker_id", "source", "value"):
        evaluations.setdefault((level, code, worker_id), {}).setdefault(source, []).append(value)
    return Context(
        start=cycle.starts_on,
        end=cycle.ends_on + dt.timedelta(days=1),
        today=timezone.localdate(),
        evaluations=evaluations,
    )


def _previous_totals(cycle: Cycle) -> dict[tuple[str, str, int | None], Decimal | None]:
    previous = selectors.previous_cycle(cycle)
    if previous is None:
        return {}
    return {
        (s.level, s.code, s.worker_id): s.total
        for s in Score.objects.filter(cycle=previous).only("level", "code", "worker_id", "total")
    }


def _rank(cycle: Cycle) -> None:
    """Competition ranks by total over the complete scores; None for the others."""
    scores = list(Score.objects.filter(cycle=cycle).only("id", "total", "complete", "rank"))
    ranked = sorted((s.total for s in scores if s.complete and s.total is not None), reverse=True)
    changed = []
    for s in scores:
        rank = ranked.index(s.total) + 1 if s.complete and s.total is not None else None
        if rank != s.rank:
            s.rank = rank
            changed.append(s)
    Score.objects.bulk_update(changed, ["rank"])


def _locked(pk: int) -> Cycle:
    """The cycle, locked for the rest of the transaction (one computation at a time)."""
    return (
        Cycle.objects.select_for_update(of=("self",))
        .select_related("scheme", "district")
        .get(pk=pk)
    )


def _check_open(cycle: Cycle) -> None:
    if cycle.is_closed:
        raise ValidationError(gettext(MSG_CLOSED))


def _managed(actor: Any | None, cycle: Cycle) -> Cycle:
    """The open cycle, locked, once ``actor`` may manage it (inside a transaction)."""
    if actor is not None and not selectors.may_manage(actor, cycle):
        raise PermissionDenied(gettext(MSG_MAY_NOT_MANAGE))
    cycle = _locked(cycle.pk)
    _check_open(cycle)
    return cycle


def _write_scores(cycle: Cycle, subjects: list[Subject], *, prune: bool) -> int:
    indicators = _indicators(cycle)
    ctx = _context(cycle)
    previous = _previous_totals(cycle)
    now = timezone.now()
    kept = []
    for subject in subjects:
        fields = score_subject(subject, indicators, ctx)
        fields["previous_total"] = previous.get(subject.key)
        fields["computed_at"] = now
        score, _ = Score.objects.update_or_create(
            cycle=cycle,
            level=subject.level,
            code=subject.code,
            worker_id=subject.worker_id,
            defaults=fields,
        )
        kept.append(score.pk)
    if prune:
        # Subjects no longer assessed (a unit retired, a role ended), unless already evaluated.
        Score.objects.filter(cycle=cycle, evaluations__isnull=True).exclude(pk__in=kept).delete()
    _rank(cycle)
    Cycle.objects.filter(pk=cycle.pk).update(computed_at=now)
    cycle.computed_at = now
    return len(kept)


def compute_cycle(*, actor: Any | None, cycle: Cycle) -> int:
    """Compute (or recompute) every score of an open cycle in one transaction; the number
    of scores. A closed cycle is refused (its scores are frozen)."""
    with transaction.atomic():
        cycle = _managed(actor, cycle)
        return _write_scores(cycle, cycle_subjects(cycle), prune=True)


def close_cycle(*, actor: Any | None, cycle: Cycle) -> Cycle:
    """Compute the scores one last time and close the cycle: from now on they are frozen
    (the database refuses any change to them, ``migrations/0001``)."""
    with transaction.atomic():
        cycle = _managed(actor, cycle)
        if timezone.localdate() <= cycle.ends_on:  # frozen on partial data, never recomputed
            raise ValidationError(gettext(MSG_NOT_OVER) % {"end": cycle.ends_on.isoformat()})
        _write_scores(cycle, cycle_subjects(cycle), prune=True)
        cycle.state = CycleState.CLOSED
        cycle.closed_at = timezone.now()
        cycle.closed_by = actor
        cycle.full_clean()
        cycle.save(update_fields=["state", "closed_at", "closed_by"])
    return cycle


def cycle_open(
    *,
    actor: Any | None,
    scheme: Any,
    starts_on: dt.date,
    ends_on: dt.date,
    district: Any,
) -> Cycle:
    """Open a cycle of ``scheme`` for a period in ``district`` (None: everywhere); its kind
    is the scheme's."""
    cycle = Cycle(
        scheme=scheme, kind=scheme.kind, starts_on=starts_on, ends_on=ends_on, district=district
    )
    if actor is not None and not selectors.may_manage(actor, cycle):
        raise PermissionDenied(gettext(MSG_MAY_NOT_MANAGE))
    cycle.full_clean()
    cycle.save()
    return cycle


# --- the three-way evaluation ------------------------------------------------------------------
def enter_evaluation(
    *, actor: Any, score: Score, source: str, value: int, note: str = ""
) -> EvaluationEntry:
    """Enter (or correct) ``actor``'s party-organisation or cadres' score for a subject of
    an open cycle; the subject's score is recomputed with it (and the cycle re-ranked)."""
    if source not in (EvaluationSource.PARTY_ORG, EvaluationSource.CADRES):
        raise ValidationError({"source": gettext(MSG_MAY_NOT_EVALUATE)})
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationError({"value": gettext(MSG_VALUE_RANGE)})
    with transaction.atomic():
        cycle = _locked(score.cycle_id)
        _check_open(cycle)
        if not selectors.may_evaluate(actor, score, source):
            raise PermissionDenied(gettext(MSG_MAY_NOT_EVALUATE))
        entry, _ = EvaluationEntry.objects.update_or_create(
            score=score,
            source=source,
            by=actor,
            defaults={"value": value, "note": note[:300], "at": timezone.now()},
        )
        subject = Subject(score.level, score.code, score.name, score.worker_id, score.place_name)
        _write_scores(cycle, [subject], prune=False)
    return entry


# --- appeals -----------------------------------------------------------------------------------
def appeal_create(*, actor: Any, score: Score, reason: str) -> Appeal:
    """Record an appeal against a closed score (one open appeal per score)."""
    reason = (reason or "").strip()
    if not score.cycle.is_closed:
        raise ValidationError(gettext(MSG_NOT_CLOSED))
    if not selectors.may_appeal(actor, score):
        raise PermissionDenied(gettext(MSG_MAY_NOT_APPEAL))
    if not reason:
        raise ValidationError({"reason": gettext(MSG_REASON_REQUIRED)})
    with transaction.atomic():
        if Appeal.objects.select_for_update().filter(score=score, answered_at__isnull=True):
            raise ValidationError(gettext(MSG_OPEN_APPEAL))
        return Appeal.objects.create(score=score, reason=reason, by=actor, at=timezone.now())


def appeal_answer(*, actor: Any, appeal: Appeal, answer: str) -> Appeal:
    """Answer an appeal (the score stays as it was frozen)."""
    answer = (answer or "").strip()
    if not selectors.may_answer(actor, appeal.score.cycle):
        raise PermissionDenied(gettext(MSG_MAY_NOT_ANSWER))
    if not answer:
        raise ValidationError({"answer": gettext(MSG_ANSWER_REQUIRED)})
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
        if appeal.answered_at is not None:
            raise ValidationError(gettext(MSG_ANSWERED))
        appeal.answer = answer
        appeal.answered_by = actor
        appeal.answered_at = timezone.now()
        appeal.full_clean()
        appeal.save(update_fields=["answer", "answered_by", "answered_at"])
    return appeal


# --- maintenance ----------------------------------------------------------------------------
FROZEN_TRIGGERS = [
    ("assessments_score", "assessments_score_frozen"),
    ("assessments_cycle", "assessments_cycle_frozen"),
]


def cycles_purge(*, ids: Iterable[int]) -> int:
    """Delete cycles with their scores, evaluations and appeals, closed ones too (maintenance
    only: tests, replacing demo data; never a user action: a closed cycle is kept). The
    freeze triggers are off inside this transaction only. Returns how many were deleted."""
    ids = list(ids)
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in FROZEN_TRIGGERS:
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        Appeal.objects.filter(score__cycle_id__in=ids).delete()
        EvaluationEntry.objects.filter(score__cycle_id__in=ids).delete()
        Score.objects.filter(cycle_id__in=ids).delete()
        deleted, _ = Cycle.objects.filter(pk__in=ids).delete()
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in FROZEN_TRIGGERS:
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        # Back to Django's deferred foreign keys for the rest of the caller's transaction.
        cur.execute("SET CONSTRAINTS ALL DEFERRED")
    return deleted
