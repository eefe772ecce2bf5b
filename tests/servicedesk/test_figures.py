"""The completion figures (issue 15, acceptance 1, part 3): over a seeded random set of
requests driven through the engine's actions, every figure of ``servicedesk.figures`` equals a
hand count recomputed from the history alone (``ServiceRequestEvent``: the receipt, the
promise in the report event's data and in each extension granted, the last resolve, the last
state, the rating of the callback)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import override_settings

from cases.models import Status
from gridmap.sql import period_bounds
from servicedesk.figures import ServiceFigures, service_breakdown, service_figures
from servicedesk.models import (
    ApprovingLevel,
    ServiceItem,
    ServiceKind,
    ServiceRequest,
    ServiceRequestEvent,
)
from servicedesk.services import service_request_create, service_request_rate_public
from tests.servicedesk.engine_world import FRIDAY, World, act, build_world

pytestmark = pytest.mark.django_db

SEED = 15
COUNT = 60
START, END = dt.date(2025, 9, 29), dt.date(2025, 11, 15)  # the period counted
MIN_CASES = 8


@dataclass
class Hand:
    """A unit's figures counted by hand from the events."""

    received: int = 0
    withdrawn: int = 0
    declined: int = 0
    completed: int = 0
    on_time: int = 0
    days: list[float] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)

    def add(self, story: dict[str, Any]) -> None:
        self.received += 1
        state = story["state"]
        self.withdrawn += state == Status.CANCELLED
        self.declined += state == Status.DECLINED
        if state in (Status.RESOLVED, Status.CLOSED):
            self.completed += 1
            self.on_time += story["resolved"] <= story["promise"]
            self.days.append((story["resolved"] - story["received"]).total_seconds() / 86400)
        if story["rating"] is not None:
            self.ratings.append(story["rating"])

    def check(self, f: ServiceFigures) -> None:
        assert (f.received, f.withdrawn, f.declined, f.completed, f.on_time, f.rated) == (
            self.received, self.withdrawn, self.declined, self.completed, self.on_time,
            len(self.ratings),
        )  # fmt: skip
        open_ = self.received - self.withdrawn
        assert f.completion_rate == (pytest.approx(self.completed / open_) if open_ else None)
        assert f.on_time_rate == (
            pytest.approx(self.on_time / self.completed) if self.completed else None
        )
        assert f.mean_days == (
            pytest.approx(sum(self.days) / len(self.days)) if self.days else None
        )
        assert f.mean_rating == (
            pytest.approx(sum(self.ratings) / len(self.ratings)) if self.ratings else None
        )
        assert f.rankable == (self.received >= MIN_CASES)


def stories(town_code: str) -> dict[int, dict[str, Any]]:
    """Each request's story, read from its events alone (the requests of the world's town: the
    test database may hold the demo's)."""
    out: dict[int, dict[str, Any]] = {}
    events = ServiceRequestEvent.objects.filter(request__place_code__startswith=town_code)
    for e in events.order_by("request_id", "seq"):
        s = out.setdefault(e.request_id, {"rating": None, "resolved": None})
        if e.action == "report":
            s["received"] = e.at
            s["item"] = e.data["item"]
            s["promise"] = dt.datetime.fromisoformat(e.data["resolve_due_at"])
        elif e.action == "grant_extension":
            s["promise"] = dt.datetime.fromisoformat(e.data["resolve_due_at"])
        elif e.action == "resolve":
            s["resolved"] = e.at
        elif e.action == "callback":
            s["rating"] = e.data["rating"]
        s["state"] = e.to_status
    return out


def drive(w: World, rng: random.Random) -> None:
    """``COUNT`` requests taken over two months in two villages for three items, each carried
    through a random course of the engine's actions."""
    items = [
        w.item,
        ServiceItem.objects.create(code="HS-001", name="Old-age allowance", promised_days=3,
                                   kind=ServiceKind.HEALTH, approving_level=ApprovingLevel.COUNTY),
        ServiceItem.objects.create(code="DJ-001", name="Party membership transfer",
                                   promised_days=10, kind=ServiceKind.PARTY,
                                   approving_level=ApprovingLevel.TOWN),
    ]  # fmt: skip
    for n in range(COUNT):
        received = FRIDAY + dt.timedelta(days=rng.uniform(-10, 55), hours=rng.uniform(-2, 6))
        item = rng.choice(items)
        if rng.random() < 0.6:
            who, place = "assistant", {"household": w.household}
        else:
            who, place = "other_assistant", {"household": None, "village": w.other_village}
        request = service_request_create(
            actor=w.users[who], item=item, at=received, applicant_name=f"居民{n}", **place
        )
        at = received
        course = rng.random()
        if course < 0.1:
            continue  # still received
        if course < 0.2:
            act(w, who, request, "cancel", note="居民撤回", at=at + dt.timedelta(hours=1))
            continue
        if course < 0.3:
            act(w, who, request, "decline", note="不符合条件", at=at + dt.timedelta(hours=2))
            continue
        at += dt.timedelta(hours=1)
        act(w, who, request, "start", at=at)
        if course < 0.38:
            continue  # in progress
        if rng.random() < 0.4:
            at += dt.timedelta(hours=2)
            act(w, who, request, "hand_off", at=at,
                data={"office": "区民政局", "level": "county", "working_days": 2})  # fmt: skip
            at += dt.timedelta(days=rng.uniform(0.5, 3))
            act(w, who, request, "step_back", at=at, data={"step": 1})
        if rng.random() < 0.2:
            request.refresh_from_db()
            ask = min(at + dt.timedelta(hours=1), request.resolve_due_at - dt.timedelta(hours=1))
            at = max(at, ask)
            act(w, who, request, "request_extension", note="材料待补", at=at,
                data={"working_days": 3})  # fmt: skip
            at += dt.timedelta(minutes=30)
            act(w, "head", request, "grant_extension", note="同意", at=at)
        at = max(at + dt.timedelta(minutes=5), received + dt.timedelta(days=rng.uniform(0.2, 16)))
        act(w, who, request, "resolve", note="已办结", at=at)
        if rng.random() < 0.7:
            at += dt.timedelta(days=rng.uniform(0.1, 2))
            how = rng.choice(["pickup", "delivered"])
            act(w, who, request, "close_out", data={"how": how}, at=at)
        if rng.random() < 0.6:
            at += dt.timedelta(hours=3)
            service_request_rate_public(
                short_code=request.short_code, rating=rng.randint(1, 5), at=at
            )


@pytest.fixture
def driven(db) -> tuple[World, dict[int, dict[str, Any]]]:
    w = build_world()
    drive(w, random.Random(SEED))
    return w, stories(w.town.code)


def in_period(story: dict[str, Any]) -> bool:
    lo, hi = period_bounds(START, END)
    return lo <= story["received"] < hi


@override_settings(GRIDMAP_KPI_MIN_CASES=MIN_CASES)
def test_the_figures_equal_a_hand_count_from_the_history(driven):
    w, told = driven
    requests = {r.pk: r for r in ServiceRequest.objects.select_related("item", "village")}
    counted = {pk: s for pk, s in told.items() if in_period(s)}
    # The course was random enough to exercise every figure.
    states = [s["state"] for s in counted.values()]
    assert {Status.CANCELLED, Status.DECLINED, Status.RESOLVED, Status.CLOSED} <= set(states)
    late = [s for s in counted.values() if s["resolved"] and s["resolved"] > s["promise"]]
    assert late and len(late) < len(counted)
    assert len(counted) < COUNT  # the period leaves some out
    total, by_village, by_item = Hand(), defaultdict(Hand), defaultdict(Hand)
    for pk, story in counted.items():
        total.add(story)
        by_village[requests[pk].village.code].add(story)
        by_item[story["item"]].add(story)
    period = {"start": START, "end": END}
    total.check(service_figures(level="town", code=w.town.code, **period))
    total.check(service_figures(level="district", code=w.district.code, **period))
    total.check(service_figures(level="station", code=w.station.code, **period))
    for code, hand in by_village.items():
        hand.check(service_figures(level="village", code=code, **period))
    rows = service_breakdown(by="village", level="town", code=w.town.code, **period)
    assert {r.key for r in rows} == set(by_village)
    for row in rows:
        by_village[row.key].check(row)
    rows = service_breakdown(by="item", level="town", code=w.town.code, **period)
    assert {r.key for r in rows} == set(by_item)
    for row in rows:
        by_item[row.key].check(row)
    # Both villages are the station's, the town's the district's.
    (station,) = service_breakdown(by="station", level="town", code=w.town.code, **period)
    assert station.key == w.station.code
    total.check(station)
    (town,) = service_breakdown(by="town", level="district", code=w.district.code, **period)
    assert (town.key, town.name) == (w.town.code, w.town.name)
    total.check(town)
    # Per first receiver: the village's assistant took the first village's requests.
    mine = service_breakdown(by="assistant", level="village", code=w.village.code, **period)
    assert [r.name for r in mine] == ["assistant"]
    by_village[w.village.code].check(mine[0])
    worker = w.users["assistant"].worker
    by_village[w.village.code].check(service_figures(level="person", code=str(worker.pk), **period))


@override_settings(GRIDMAP_KPI_MIN_CASES=MIN_CASES)
def test_ranks_only_among_rankable_rows_and_nothing_outside_the_unit(driven):
    w, told = driven
    rows = service_breakdown(by="item", level="town", code=w.town.code, start=START, end=END)
    ranked = [r for r in rows if r.rankable]
    assert all(r.ranks is None for r in rows if not r.rankable)
    assert rows[: len(ranked)] == ranked  # the rankable rows first
    rates = sorted((r.completion_rate for r in ranked), reverse=True)
    for row in ranked:
        assert row.ranks["completion_rate"] == rates.index(row.completion_rate) + 1
    # Another town: nothing. The next day alone: the requests received that day.
    empty = service_figures(level="town", code="999999999", start=START, end=END)
    assert empty.received == 0 and empty.completion_rate is None and empty.mean_days is None
    lo, hi = period_bounds(END, END + dt.timedelta(days=1))
    next_day = service_figures(
        level="town", code=w.town.code, start=END, end=END + dt.timedelta(days=1)
    )
    assert next_day.received == sum(lo <= s["received"] < hi for s in told.values())
    # With a user, only their jurisdiction: the other village's assistant sees its requests.
    outsider = w.users["other_assistant"]
    seen = service_figures(level="town", code=w.town.code, start=START, end=END, user=outsider)
    theirs = ServiceRequest.objects.filter(pk__in=[pk for pk, s in told.items() if in_period(s)],
                                           village=w.other_village)  # fmt: skip
    assert 0 < seen.received == theirs.count()


@override_settings(GRIDMAP_KPI_MIN_CASES=MIN_CASES)
def test_the_dashboard_shows_the_towns_service_figures_ranked_where_rankable(driven, client):
    w, _told = driven
    client.force_login(w.users["town_staff"])
    page = client.get(
        "/dashboard/",
        {"level": "town", "code": w.town.code, "from": START.isoformat(), "to": END.isoformat()},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert page.status_code == 200
    section = page.context["service"]
    figures = service_figures(level="town", code=w.town.code, start=START, end=END)
    assert section["figures"] == figures
    text = page.content.decode()
    assert "代办服务" in text and 'data-service-figure="completion_rate"' in text
    assert f"{figures.completion_rate * 100:.1f}%" in text
    (villages, items) = section["breakdowns"]
    assert (villages["by"], items["by"]) == ("village", "item")
    rows = service_breakdown(by="village", level="town", code=w.town.code, start=START, end=END)
    assert [r["key"] for r in villages["ranked"]] == [r.key for r in rows if r.rankable]
    assert [r["key"] for r in villages["too_few"]] == [r.key for r in rows if not r.rankable]
    assert all(r["rank"] is not None for r in villages["ranked"])
