"""The metrics an indicator's formula may name: each gives ``(value, samples)`` for a subject
and a period; ``value`` is None when there is nothing to measure (0 samples).

A subject is a unit (grid, village, station, town: by code) or a person (a worker holding a
role on a place). A period is ``[start, end)`` in local dates. The sources are the apps below:

- cases (``reports.kpis``): closure rate 结案率, on-time closure rate 按期结案率, rework rate
  返工率, residents' satisfaction; samples = cases received (closed, for the on-time rate;
  rated, for satisfaction). A person's cases are those routed to them;
- service requests (``servicedesk.figures.service_figures``): completion rate 办结率
  (samples: received less withdrawn), on-time rate (samples: completed), mean days, mean
  rating (samples: rated). A station's requests are those recorded with it; a person's
  those they first received (首问负责人);
- presence (``presence.report.presence_figures``): days present (a person's own, summed over
  the months of the period; a unit's: the mean over the workers holding a role in it),
  patrol kilometres; samples: the workers counted;
- the weekly reports (``weekly.selectors``): the share of village reports submitted by their
  deadline, over the (village, week) pairs whose deadline has passed (samples);
- key persons (``presence.care``): the share of the key persons due a visit who are not
  overdue at the end of the period (samples: the key persons);
- the three-way evaluation: residents' rating (cases' and requests' ratings together),
  the party organisation's and the cadres' scores (mean of the entries; samples: entries).

``Context`` caches what several metrics share within one computation (one KPI statement per
subject, one presence report per area and month).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gridmap.codes import STATION_CODE_RE
from grids.models import Village
from presence.care import current_q, responsible_q, with_due
from presence.models import KeyPerson
from presence.report import presence_figures
from reports.kpis import Unit, kpis, station_villages
from servicedesk.figures import ServiceFigures, service_figures
from weekly.models import VillageWeeklyReport
from weekly.selectors import village_report_due

Value = tuple[float | None, int]


@dataclass(frozen=True)
class Subject:
    """A unit (``worker_id`` None) or a person; ``code`` is the unit's or the person's
    place's code."""

    level: str
    code: str
    name: str
    worker_id: int | None = None
    place_name: str = ""

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.level, self.code, self.worker_id)


@dataclass
class Context:
    start: dt.date
    end: dt.date  # excluded
    today: dt.date
    # {(level, code, worker id): {"party_org": [values], "cadres": [values]}}
    evaluations: dict[tuple[str, str, int | None], dict[str, list[int]]] = field(
        default_factory=dict
    )
    cache: dict[Any, Any] = field(default_factory=dict)

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str | Promise
    words: str | Promise  # what it measures, for the printed report
    compute: Callable[[Subject, Context], Value]


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# --- places ---------------------------------------------------------------------------------
def prefixes_of(code: str) -> tuple[str, ...]:
    """The place-code prefixes of a unit: a station's current catchment, else its code."""
    if STATION_CODE_RE.match(code):
        return tuple(station_villages(code))
    return (code,)


def villages_of(code: str) -> list[str]:
    """The villages a code stands for (a grid's village; a town's villages)."""
    if STATION_CODE_RE.match(code):
        return list(station_villages(code))
    if len(code) >= 12:
        return [code[:12]]
    return list(
        Village.objects.current().filter(code__startswith=code).values_list("code", flat=True)
    )


def _prefix_q(path: str, prefixes: tuple[str, ...]) -> Q:
    q = Q(pk__in=[])
    for p in prefixes:
        q |= Q(**{f"{path}__startswith": p})
    return q


# --- cases ----------------------------------------------------------------------------------
def _case_figures(subject: Subject, ctx: Context) -> Any:
    def compute() -> Any:
        unit = Unit(
            "person" if subject.worker_id else subject.level,
            str(subject.worker_id or subject.code),
            subject.name,
            prefixes_of(subject.code),
            subject.worker_id,
        )
        return kpis(unit=unit, start=ctx.start, end=ctx.end).figures

    return ctx.cached(("cases", subject.key), compute)


def _case(value: str, samples: str) -> Callable[[Subject, Context], Value]:
    """A case KPI (``reports.kpis.Figures``): its ``value`` over ``samples`` cases."""

    def compute(s: Subject, ctx: Context) -> Value:
        f = _case_figures(s, ctx)
        return getattr(f, value), getattr(f, samples)

    return compute


# --- service requests -----------------------------------------------------------------------
def service_of(subject: Subject, start: dt.date, end: dt.date) -> ServiceFigures:
    """The completion figures (``servicedesk.figures.service_figures``, one statement) of
    the requests received in the period in the unit (a station: those recorded with it; a
    person: those they first received)."""
    if subject.worker_id is not None:
        level, code = "person", str(subject.worker_id)
    else:
        level, code = subject.level, subject.code
    return service_figures(level=level, code=code, start=start, end=end)


def _service(subject: Subject, ctx: Context) -> ServiceFigures:
    return ctx.cached(("service", subject.key), lambda: service_of(subject, ctx.start, ctx.end))


def _eligible(f: ServiceFigures) -> int:
    """Received less withdrawn: the completion rate's denominator."""
    return f.received - f.withdrawn


def _service_figure(
    value: str, samples: str | Callable[[ServiceFigures], int]
) -> Callable[[Subject, Context], Value]:
    """A completion figure (``ServiceFigures``): its ``value`` over ``samples`` requests."""

    def compute(s: Subject, ctx: Context) -> Value:
        f = _service(s, ctx)
        n = samples(f) if callable(samples) else getattr(f, samples)
        return getattr(f, value), n

    return compute


# --- the three-way evaluation -----------------------------------------------------------------
def residents_rating(s: Subject, ctx: Context) -> Value:
    """Residents' ratings (1-5) of the cases and the service requests, together."""
    f, n = _case_figures(s, ctx), _service(s, ctx)
    case_sum = (f.mean_satisfaction or 0) * f.rated
    rated = f.rated + n.rated
    return _ratio(case_sum + (n.mean_rating or 0) * n.rated, rated), rated


def _entries(source: str) -> Callable[[Subject, Context], Value]:
    def compute(s: Subject, ctx: Context) -> Value:
        values = ctx.evaluations.get(s.key, {}).get(source, [])
        return _ratio(sum(values), len(values)), len(values)

    return compute


# --- presence -------------------------------------------------------------------------------------
def _months(start: dt.date, end: dt.date) -> list[str]:
    out, day = [], start.replace(day=1)
    while day < end:
        out.append(f"{day:%Y-%m}")
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


def _presence_rows(s: Subject, ctx: Context) -> list[Any]:
    rows = []
    for month in _months(ctx.start, ctx.end):
        figures = ctx.cached(
            ("presence", s.code, month),
            lambda m=month: presence_figures(s.code, m, today=ctx.today),
        )
        rows.extend(r for r in figures if s.worker_id is None or r.worker_id == s.worker_id)
    return rows


def days_present(s: Subject, ctx: Context) -> Value:
    rows = _presence_rows(s, ctx)
    workers = {r.worker_id for r in rows}
    return _ratio(sum(r.days_present for r in rows), len(workers)), len(workers)


def patrol_km(s: Subject, ctx: Context) -> Value:
    rows = _presence_rows(s, ctx)
    workers = {r.worker_id for r in rows}
    return (sum(r.patrol_km for r in rows) if workers else None), len(workers)


# --- weekly reports -----------------------------------------------------------------------------
def weekly_punctuality(s: Subject, ctx: Context) -> Value:
    """Village reports of the weeks whose Monday is in the period and whose deadline has
    passed: the share submitted by the deadline."""
    villages = villages_of(s.code)
    monday = ctx.start + dt.timedelta(days=(7 - ctx.start.weekday()) % 7)
    now = timezone.now()
    weeks = []
    while monday < ctx.end:
        if village_report_due(monday) < now:
            weeks.append(monday)
        monday += dt.timedelta(weeks=1)
    submitted = dict(
        ((r.village_code, r.week), r.submitted_at)
        for r in VillageWeeklyReport.objects.filter(village_code__in=villages, week__in=weeks)
    )
    on_time = sum(
        1
        for v in villages
        for w in weeks
        if submitted.get((v, w)) is not None and submitted[(v, w)] <= village_report_due(w)
    )
    samples = len(villages) * len(weeks)
    return _ratio(on_time, samples), samples


# --- key persons ----------------------------------------------------------------------------------
def key_person_visits(s: Subject, ctx: Context) -> Value:
    """The key persons a subject must see, on the period's last day (or today): the share
    not overdue (visited within their interval)."""
    on = min(ctx.end - dt.timedelta(days=1), ctx.today)
    qs = KeyPerson.objects.filter(current_q(on))
    if s.worker_id is not None:
        qs = qs.filter(responsible_q([s.worker_id], on))
    else:
        qs = qs.filter(_prefix_q("household__grid__code", prefixes_of(s.code)))
    row = with_due(qs, on).aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=on))
    )
    return _ratio(row["total"] - row["overdue"], row["total"]), row["total"]


METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        Metric(
            "case_closure_rate",
            _("case closure rate"),
            _("cases closed out / cases received in the period"),
            _case("closure_rate", "received"),
        ),
        Metric(
            "case_on_time_rate",
            _("on-time closure rate"),
            _("cases closed on time / cases closed"),
            _case("on_time_closure_rate", "closed"),
        ),
        Metric(
            "case_rework_rate",
            _("rework rate"),
            _("cases reopened / cases received"),
            _case("rework_rate", "received"),
        ),
        Metric(
            "case_satisfaction",
            _("case satisfaction"),
            _("mean rating (1-5) of the cases' callbacks"),
            _case("mean_satisfaction", "rated"),
        ),
        Metric(
            "service_completion_rate",
            _("service completion rate"),
            _("requests done or delivered / requests received less withdrawn"),
            _service_figure("completion_rate", _eligible),
        ),
        Metric(
            "service_on_time_rate",
            _("service on-time rate"),
            _("requests done by the promised date / requests done"),
            _service_figure("on_time_rate", "completed"),
        ),
        Metric(
            "service_mean_days",
            _("mean days to done"),
            _("mean calendar days from receipt to done"),
            _service_figure("mean_days", "completed"),
        ),
        Metric(
            "service_rating",
            _("service rating"),
            _("mean rating (1-5) of the service requests"),
            _service_figure("mean_rating", "rated"),
        ),
        Metric(
            "residents_rating",
            _("residents' rating"),
            _("mean rating (1-5) of cases and service requests by residents"),
            residents_rating,
        ),
        Metric(
            "party_org_score",
            _("party organisation's score"),
            _("mean of the party organisation's scores (0-100) entered"),
            _entries("party_org"),
        ),
        Metric(
            "cadres_score",
            _("cadres' score"),
            _("mean of the party members' and cadres' scores (0-100) entered"),
            _entries("cadres"),
        ),
        Metric(
            "days_present",
            _("days present"),
            _("days signed in at the place (a unit: mean over its workers)"),
            days_present,
        ),
        Metric(
            "patrol_km",
            _("patrol distance (km)"),
            _("kilometres patrolled in the period"),
            patrol_km,
        ),
        Metric(
            "weekly_punctuality",
            _("weekly reports on time"),
            _("village weekly reports submitted by the deadline / reports due"),
            weekly_punctuality,
        ),
        Metric(
            "key_person_visits",
            _("key persons visited in time"),
            _("key persons not overdue for a visit / key persons to visit"),
            key_person_visits,
        ),
    ]
}


def measure(subject: Subject, keys: list[str], ctx: Context) -> dict[str, dict[str, Any]]:
    """``{key: {"value": float or None, "samples": int}}`` for the metrics ``keys``."""
    out = {}
    for key in keys:
        value, samples = METRICS[key].compute(subject, ctx)
        if isinstance(value, Decimal):
            value = float(value)
        out[key] = {"value": None if value is None else round(float(value), 6), "samples": samples}
    return out
