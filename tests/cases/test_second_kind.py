"""A second kind of case (tests/casekind: one module and a migration) goes through its whole
life on the case engine, with deadlines, escalation, supervision and an append-only history,
using nothing from incidents/."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from psycopg.types.range import Range

from accounts.models import AccountRole
from cases import clock, deadlines
from cases.kinds import kind_of
from cases.models import Status
from cases.workflow import (
    ACTION_PHRASES,
    MSG_ONLY_STATION_HEAD,
    MSG_RESULT_REQUIRED,
    MSG_VERIFIER_CANNOT_CLOSE,
    Action,
    ActionNotAllowed,
    allowed_actions,
    case_act,
    cases_visible_to,
    open_case,
    record_report,
)
from gridmap.codes import Level
from grids.models import Role
from tests.casekind.models import (
    TOLD,
    Errand,
    ErrandDue,
    ErrandEvent,
    ErrandKind,
    ErrandSupervision,
)
from tests.factories import (
    AccountFactory,
    CatchmentAssignmentFactory,
    DistrictFactory,
    GenerationFactory,
    GridFactory,
    RoleAssignmentFactory,
    StationFactory,
    TownFactory,
    UserFactory,
    VillageFactory,
    WorkerFactory,
    rect,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 3 November 2026, 09:00 in Qinzhou: a working day.
REPORTED = dt.datetime(2026, 11, 3, 9, 0, tzinfo=SHANGHAI)
# Roles and the catchment are held from the start of that year on.
HELD = Range(dt.date(2026, 1, 1), None, "[)")


def holder(role: str, **place) -> object:
    user = UserFactory()
    worker = WorkerFactory(user=user)
    RoleAssignmentFactory(worker=worker, role=role, period=HELD, **place)
    return user


@pytest.fixture
def place(db):
    generation = GenerationFactory()
    district = DistrictFactory(geom=rect(100.0, 0.0, 100.4, 0.1), generation_low=generation)
    town = TownFactory(district=district, geom=rect(100.0, 0.0, 100.2, 0.1))
    village = VillageFactory(town=town, geom=rect(100.0, 0.0, 100.1, 0.1))
    grid = GridFactory(
        village=village, code=village.code + "001", geom=rect(100.0, 0.0, 100.1, 0.1)
    )
    station = StationFactory(town=town)
    CatchmentAssignmentFactory(village=village, station=station, period=HELD)
    TOLD.clear()
    return {
        "grid": grid,
        "village": village,
        "leader": holder(Role.GRID_LEADER, grid=grid),
        "secretary": holder(Role.VILLAGE_SECRETARY, village=village),
        "head": holder(Role.STATION_HEAD, station=station),
        "delegate": holder(Role.STATION_HEAD_DELEGATE, station=station),
        "deputy": holder(Role.STATION_DEPUTY, station=station),
        "staff": AccountFactory(role=AccountRole.STATION_STAFF, codes=[station.code]).user,
        "resident": UserFactory(),
        "stranger": UserFactory(),
        "superuser": UserFactory(is_superuser=True),
    }


def new_errand(place, *, at: dt.datetime = REPORTED) -> Errand:
    errand = Errand(
        title="Renew a resident's medical insurance card",
        place_code=place["grid"].code,
        reported_at=at,
        reporter=place["resident"],
    )
    open_case(errand, level=Level.GRID)
    errand.save()
    record_report(errand, actor=place["resident"])
    return errand


def act(place, who: str, errand: Errand, action: str, **kw) -> Errand:
    if action == Action.RESOLVE:  # the workflow requires a written result
        kw.setdefault("note", "Card renewed and handed over")
    errand.refresh_from_db()
    return case_act(
        actor=place[who],
        model=Errand,
        case_id=errand.pk,
        action=action,
        version=errand.version,
        **kw,
    )


def history(errand: Errand) -> list[tuple[int, str, str, str]]:
    return list(
        ErrandEvent.objects.filter(errand=errand)
        .order_by("seq")
        .values_list("seq", "action", "to_status", "to_level")
    )


def worker_of(user) -> int:
    return user.worker.pk


def test_the_kind_is_registered_and_needs_nothing_from_incidents():
    assert isinstance(kind_of(Errand), ErrandKind)
    import tests.casekind.models as module

    with open(module.__file__, encoding="utf-8") as f:
        source = f.read()
    assert "incidents" not in source.replace("nothing from incidents", "")


def test_acknowledge_resolve_verify_close_out_with_deadlines(place):
    errand = new_errand(place)
    assert (errand.owner_level, errand.owner_code) == (Level.GRID, place["grid"].code)
    limit = ErrandKind.LIMIT
    assert (errand.acknowledge_due_at, errand.resolve_due_at) == deadlines.deadlines_from(
        REPORTED, limit
    )
    # 2 working hours from 09:00, 3 working days from Tuesday 09:00.
    assert errand.acknowledge_due_at == dt.datetime(2026, 11, 3, 11, 0, tzinfo=SHANGHAI)
    assert errand.resolve_due_at == dt.datetime(2026, 11, 6, 9, 0, tzinfo=SHANGHAI)
    # A kind whose time limit has no on-site time (到场) has no on-site deadline.
    assert errand.onsite_due_at is None
    assert deadlines.onsite_light(errand, REPORTED) is None
    at = REPORTED + dt.timedelta(minutes=30)
    assert deadlines.traffic_light(errand, at) == deadlines.GREEN

    assert allowed_actions(user=place["stranger"], case=errand, at=at) == []
    assert Action.ACKNOWLEDGE in allowed_actions(user=place["leader"], case=errand, at=at)
    with pytest.raises(ActionNotAllowed):
        act(place, "head", errand, Action.ACKNOWLEDGE, at=at)

    act(place, "leader", errand, Action.ACKNOWLEDGE, at=at)
    resolved_at = REPORTED + dt.timedelta(hours=5)
    errand = act(place, "leader", errand, Action.RESOLVE, at=resolved_at, note="Card renewed")
    # The station supervises a grid's case: the holders of its roles are told to verify.
    station_people = frozenset(worker_of(place[who]) for who in ("head", "delegate", "deputy"))
    assert TOLD[-1] == (Action.RESOLVE, errand.pk, station_people)
    with pytest.raises(ActionNotAllowed):
        act(place, "leader", errand, Action.VERIFY, at=resolved_at)
    act(place, "staff", errand, Action.VERIFY, at=resolved_at + dt.timedelta(hours=1))
    errand = act(place, "head", errand, Action.CLOSE_OUT, at=resolved_at + dt.timedelta(hours=2))
    errand = act(place, "resident", errand, Action.CALLBACK, data={"rating": 5})

    assert errand.status == Status.CLOSED
    assert errand.closed_on_time is True
    assert errand.acknowledged_at == at and errand.resolved_at == resolved_at
    assert errand.satisfaction == 5 and errand.version == 6
    assert history(errand) == [
        (1, "report", Status.REPORTED, Level.GRID),
        (2, "acknowledge", Status.ACKNOWLEDGED, Level.GRID),
        (3, "resolve", Status.RESOLVED, Level.GRID),
        (4, "verify", Status.VERIFIED, Level.GRID),
        (5, "close_out", Status.CLOSED, Level.GRID),
        (6, "callback", Status.CLOSED, Level.GRID),
    ]
    assert deadlines.traffic_light(errand, resolved_at) is None


def test_overdue_escalates_once_and_long_open_cases_are_supervised(place):
    errand = new_errand(place)
    late = errand.acknowledge_due_at + dt.timedelta(minutes=1)
    assert deadlines.traffic_light(errand, late) == deadlines.RED
    acted = [(pk, kind) for pk, kind in clock.escalate_overdue(late) if pk == errand.pk]
    assert acted == [(errand.pk, "acknowledge")]
    assert clock.escalate_overdue(late) == [] or errand.pk not in {
        pk for pk, _ in clock.escalate_overdue(late)
    }
    errand.refresh_from_db()
    village = place["village"].code
    assert (errand.owner_level, errand.owner_code) == (Level.VILLAGE, village)
    assert errand.status == Status.REPORTED and errand.escalation_count == 1
    # The new owner gets the full time limits from the escalation.
    assert errand.acknowledge_due_at == deadlines.add_working_time(late, 2, "working_hours")
    assert ErrandDue.objects.filter(errand=errand).count() == 1
    assert errand.onsite_due_at is None
    assert history(errand)[-1] == (2, "escalate", Status.REPORTED, Level.VILLAGE)
    assert TOLD[-1] == (Action.ESCALATE, errand.pk, frozenset({worker_of(place["secretary"])}))
    # The village secretary handles it now; the grid leader no longer does.
    assert Action.ACKNOWLEDGE in allowed_actions(user=place["secretary"], case=errand, at=late)
    assert Action.ACKNOWLEDGE not in allowed_actions(user=place["leader"], case=errand, at=late)

    later = REPORTED + dt.timedelta(days=31)
    created = [row for row in clock.supervise_ledger(later) if row[0] == errand.pk]
    assert created == [(errand.pk, 1), (errand.pk, 2)]
    assert ErrandSupervision.objects.filter(errand=errand).count() == 2
    assert TOLD[-1] == ("supervision 2", errand.pk, frozenset({worker_of(place["secretary"])}))


def test_who_may_open_it_and_the_history_cannot_be_edited(place):
    errand = new_errand(place)
    assert list(cases_visible_to(place["resident"], Errand)) == [errand]
    assert list(cases_visible_to(place["leader"], Errand)) == [errand]
    assert list(cases_visible_to(place["stranger"], Errand)) == []
    with pytest.raises(IntegrityError), transaction.atomic():
        ErrandEvent.objects.filter(errand=errand).update(note="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        ErrandEvent.objects.filter(errand=errand).delete()


def test_the_three_lists_serve_the_second_kind(place):
    from cases import lists

    done, open_one = new_errand(place), new_errand(place)
    at = REPORTED + dt.timedelta(minutes=30)
    act(place, "leader", done, Action.ACKNOWLEDGE, at=at)
    act(place, "leader", done, Action.RESOLVE, at=at + dt.timedelta(hours=1))
    act(place, "staff", done, Action.VERIFY, at=at + dt.timedelta(hours=2))
    act(place, "head", done, Action.CLOSE_OUT, at=at + dt.timedelta(hours=3))

    def listed(kind: str, user: str = "head") -> list[list[str]]:
        columns = [lists.CASE, lists.STATUS, lists.OWNER]
        if kind == lists.ListKind.CLOSEOUT:
            columns += [lists.SIGNED_BY, lists.ON_TIME]
        spec = lists.ListSpec(kind=kind)
        qs = lists.list_queryset(user=place[user], spec=spec, qs=Errand.objects.all())
        return [[c.text for c in cells] for _, cells in lists.rows(qs, columns, at)]

    assert [row[0] for row in listed(lists.ListKind.PROBLEMS, "superuser")] == [
        str(open_one.pk),
        str(done.pk),
    ]
    assert [row[0] for row in listed(lists.ListKind.RESPONSIBILITY, "superuser")] == [
        str(open_one.pk)
    ]
    (closed,) = listed(lists.ListKind.CLOSEOUT, "superuser")
    head_name = place["head"].worker.name
    assert closed[0] == str(done.pk) and closed[3] == head_name
    # Nobody's jurisdiction covers the test place through an account: a user without one
    # sees nothing.
    assert listed(lists.ListKind.PROBLEMS, "stranger") == []


def test_a_returned_case_is_redispatched_to_a_place_whose_code_ends_in_00(place):
    # Real codes end in 00 often (town 450702100); only a city's must, and a county's not.
    grid_100 = GridFactory(
        village=place["village"],
        code=place["village"].code + "100",
        geom=rect(100.0, 0.05, 100.1, 0.1),
    )
    errand = new_errand(place)
    at = REPORTED + dt.timedelta(minutes=10)
    errand = act(place, "leader", errand, Action.RETURN_CASE, at=at, note="Not our grid")
    assert (errand.status, errand.owner_level) == (Status.RETURNED, Level.VILLAGE)
    errand = act(
        place,
        "secretary",
        errand,
        Action.REDISPATCH,
        at=at + dt.timedelta(minutes=5),
        data={"level": Level.GRID, "code": grid_100.code},
    )
    assert (errand.status, errand.owner_level, errand.owner_code) == (
        Status.REPORTED,
        Level.GRID,
        grid_100.code,
    )
    other = new_errand(place)
    act(place, "leader", other, Action.RETURN_CASE, at=at, note="Not our grid")
    with pytest.raises(ValidationError) as refused:
        act(
            place,
            "secretary",
            other,
            Action.REDISPATCH,
            at=at + dt.timedelta(minutes=5),
            data={"level": Level.GRID, "code": place["village"].code + "1"},
        )
    assert "code" in refused.value.message_dict


# --- separation of duties (issue 12, item 6) ------------------------------------------------
# The threat: one person resolves a case with no written result, or verifies and closes out
# their own check, or a station clerk signs the close-out the station head answers for. The
# rule lives in cases.workflow (generic), so the second kind must obey it as incidents do.
def resolved_errand(place) -> Errand:
    errand = new_errand(place)
    act(place, "leader", errand, Action.ACKNOWLEDGE, at=REPORTED + dt.timedelta(minutes=30))
    return act(place, "leader", errand, Action.RESOLVE, at=REPORTED + dt.timedelta(hours=1))


@pytest.mark.parametrize("blank", ["", "   \n\t "])
def test_resolve_without_a_written_result_is_refused_and_writes_nothing(place, blank):
    errand = new_errand(place)
    act(place, "leader", errand, Action.ACKNOWLEDGE, at=REPORTED + dt.timedelta(minutes=30))
    errand.refresh_from_db()
    before = history(errand)
    with pytest.raises(ValidationError) as err:
        case_act(
            actor=place["leader"],
            model=Errand,
            case_id=errand.pk,
            action=Action.RESOLVE,
            version=errand.version,
            note=blank,
            at=REPORTED + dt.timedelta(hours=1),
        )
    assert err.value.message_dict == {"note": [gettext(MSG_RESULT_REQUIRED)]}
    errand.refresh_from_db()
    assert (errand.status, errand.resolved_at) == (Status.ACKNOWLEDGED, None)
    assert history(errand) == before


def test_whoever_verified_cannot_close_out_and_is_not_offered_it(place):
    errand = resolved_errand(place)
    at = REPORTED + dt.timedelta(hours=2)
    act(place, "head", errand, Action.VERIFY, at=at)
    errand.refresh_from_db()
    assert Action.CLOSE_OUT not in allowed_actions(user=place["head"], case=errand, at=at)
    with pytest.raises(ActionNotAllowed) as err:
        act(place, "head", errand, Action.CLOSE_OUT, at=at)
    assert err.value.message == gettext(MSG_VERIFIER_CANNOT_CLOSE)
    # Not even a superuser closes out their own verification.
    superuser = resolved_errand(place)
    act(place, "superuser", superuser, Action.VERIFY, at=at)
    with pytest.raises(ActionNotAllowed):
        act(place, "superuser", superuser, Action.CLOSE_OUT, at=at)
    # The head's recorded delegate, a different person, signs; the history says who and as what.
    assert Action.CLOSE_OUT in allowed_actions(user=place["delegate"], case=errand, at=at)
    errand = act(place, "delegate", errand, Action.CLOSE_OUT, at=at)
    assert errand.status == Status.CLOSED
    event = ErrandEvent.objects.get(errand=errand, action=Action.CLOSE_OUT)
    assert event.actor == place["delegate"]
    assert event.data == {"signed_as": Role.STATION_HEAD_DELEGATE}


@pytest.mark.parametrize("who", ["staff", "deputy", "leader", "secretary"])
def test_only_the_station_head_or_delegate_closes_out_a_grid_case(place, who):
    errand = resolved_errand(place)
    at = REPORTED + dt.timedelta(hours=2)
    act(place, "staff", errand, Action.VERIFY, at=at)
    errand.refresh_from_db()
    assert Action.CLOSE_OUT not in allowed_actions(user=place[who], case=errand, at=at)
    with pytest.raises(ActionNotAllowed) as err:
        act(place, who, errand, Action.CLOSE_OUT, at=at)
    station = place["village"].catchment_assignments.get().station.code
    assert err.value.message == gettext(MSG_ONLY_STATION_HEAD) % {
        "code": station,
        "action": gettext(ACTION_PHRASES[Action.CLOSE_OUT]),
    }
    errand = act(place, "head", errand, Action.CLOSE_OUT, at=at)
    event = ErrandEvent.objects.get(errand=errand, action=Action.CLOSE_OUT)
    assert (event.actor, event.data) == (place["head"], {"signed_as": Role.STATION_HEAD})


def test_a_delegation_that_has_ended_signs_nothing(place):
    errand = resolved_errand(place)
    at = REPORTED + dt.timedelta(hours=2)
    act(place, "staff", errand, Action.VERIFY, at=at)
    station = place["village"].catchment_assignments.get().station
    former = UserFactory()
    RoleAssignmentFactory(
        worker=WorkerFactory(user=former),
        role=Role.STATION_HEAD_DELEGATE,
        station=station,
        period=Range(dt.date(2026, 1, 1), dt.date(2026, 11, 3), "[)"),  # ended the day before
    )
    place["former"] = former
    with pytest.raises(ActionNotAllowed):
        act(place, "former", errand, Action.CLOSE_OUT, at=at)
