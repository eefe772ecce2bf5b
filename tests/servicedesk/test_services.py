"""servicedesk.services: taking a request, who may, the actions of the service kind, the
resident's public rating and who sees which request."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from cases.models import Status
from cases.workflow import MSG_NOT_OFFERED, MSG_WRONG_STATE, ActionNotAllowed, CaseConflict
from gridmap.codes import Level
from inbox.models import Notification
from servicedesk import services
from servicedesk.catalogue import district_items
from servicedesk.forms import items_for
from servicedesk.kind import MSG_ONLY_VILLAGE as ONLY_VILLAGE
from servicedesk.models import ServiceItem, ServiceRequest, ServiceRequestEvent, ServiceStep
from servicedesk.selectors import (
    SHORT_CODE_ALPHABET,
    allowed_actions,
    public_status,
    request_by_short_code,
    requests_visible_to,
)
from tests.servicedesk.engine_world import FRIDAY, SHANGHAI, act, build_world, take


@pytest.fixture
def w(db):
    return build_world()


def msg(msgid: str, **params) -> str:
    text = gettext(msgid)
    return text % params if params else text


# --- taking a request -------------------------------------------------------------------------
def test_a_request_derives_its_place_and_first_receiver(w):
    request = take(w)
    assert request.village == w.village and request.grid == w.grid and request.town == w.town
    assert request.station == w.station
    assert request.place_code == w.grid.code
    assert request.first_receiver == w.users["assistant"].worker
    assert request.reporter == w.users["assistant"]
    assert len(request.short_code) == 8 and set(request.short_code) <= set(SHORT_CODE_ALPHABET)
    assert request_by_short_code(request.short_code.lower()) == request
    assert request_by_short_code("nope") is None


def test_without_a_household_the_request_is_the_villages(w):
    request = take(w, household=None, village=w.village)
    assert request.grid is None and request.place_code == w.village.code


def test_the_village_handlers_hear_of_a_new_request_but_not_its_receiver(w):
    request = take(w)
    told = set(
        Notification.objects.filter(
            subject_type="service_request", subject_id=request.pk
        ).values_list("worker__user__username", flat=True)
    )
    assert told == {"secretary"}


def test_a_client_uuid_sent_twice_takes_one_request(w):
    key = "6f1c1b1e-5b7a-4c47-9f2e-2c1d2b3a4f50"
    first = take(w, client_uuid=key)
    again = take(w, client_uuid=key)
    assert first.pk == again.pk and ServiceRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "may"),
    [
        ("assistant", True),
        ("secretary", True),
        ("head", True),
        ("station_staff", True),
        ("town_staff", True),
        ("dispatcher", True),
        ("district_admin", True),
        ("superuser", True),
        ("other_assistant", False),
        ("leader", False),  # a grid leader handles grid cases, not the village's desk
        ("stranger", False),
    ],
)
def test_who_may_take_a_request_for_the_village(w, who, may):
    if may:
        assert take(w, who).pk
    else:
        with pytest.raises(PermissionDenied) as err:
            take(w, who)
        assert str(err.value) == msg(services.MSG_NOT_YOUR_VILLAGE, village=w.village.name)
        assert not ServiceRequest.objects.exists()


def test_bad_input_is_refused_by_field_and_stores_nothing(w):
    w.item.active = False
    w.item.save()
    with pytest.raises(ValidationError) as err:
        take(w, applicant_name=" ", applicant_phone="call me", channel="post")
    assert err.value.message_dict == {
        "item": [msg(services.MSG_ITEM_NOT_IN_USE)],
        "applicant_name": [msg(services.MSG_APPLICANT_REQUIRED)],
        "applicant_phone": [msg(services.MSG_PHONE)],
        "channel": [msg(services.MSG_CHANNEL)],
    }
    with pytest.raises(ValidationError) as err:
        take(w, household=None)
    assert err.value.message_dict == {"village": [msg(services.MSG_PLACE_REQUIRED)]}
    with pytest.raises(ValidationError) as err:
        take(w, village=w.other_village)
    assert err.value.message_dict == {
        "household": [msg(services.MSG_HOUSEHOLD_OTHER_VILLAGE, village=w.village.name)]
    }
    assert not ServiceRequest.objects.exists()


# --- the actions ------------------------------------------------------------------------------
def history(request) -> list[tuple[str, str, str]]:
    return list(
        ServiceRequestEvent.objects.filter(request=request)
        .order_by("seq")
        .values_list("action", "to_status", "actor_name")
    )


def test_the_whole_life_with_two_hand_offs(w):
    request = take(w)
    assert allowed_actions(w.users["assistant"], request, FRIDAY) == [
        "start",
        "resolve",
        "request_extension",
        "escalate",
        "decline",
        "cancel",
    ]
    request = act(w, "assistant", request, "start")
    assert "hand_off" in allowed_actions(w.users["assistant"], request)
    assert "step_back" not in allowed_actions(w.users["assistant"], request)
    request = act(
        w,
        "assistant",
        request,
        "hand_off",
        data={"office": "Town civil affairs office", "level": "town", "working_days": 2},
    )
    request = act(
        w,
        "assistant",
        request,
        "hand_off",
        data={
            "office": "County civil affairs bureau",
            "level": "county",
            "promised_on": "2025-10-09",
        },
    )
    steps = list(ServiceStep.objects.filter(request=request).order_by("number"))
    # Handed on Friday 26 September 11:01 for 2 working days: Monday 29 September (end of day).
    assert [(s.number, s.level, s.promised_on, s.back_at) for s in steps] == [
        (1, Level.TOWN, dt.date(2025, 9, 29), None),
        (2, Level.COUNTY, dt.date(2025, 10, 9), None),
    ]
    request = act(w, "assistant", request, "step_back", data={"step": 1})
    request = act(w, "assistant", request, "step_back")  # the latest still out: 2
    assert all(s.back_at for s in ServiceStep.objects.filter(request=request))
    assert "step_back" not in allowed_actions(w.users["assistant"], request)
    with pytest.raises(ActionNotAllowed):
        act(w, "assistant", request, "step_back")
    # The station's staff supervise: they do not handle the request.
    with pytest.raises(ActionNotAllowed):
        act(w, "station_staff", request, "resolve", note="done")
    request = act(w, "assistant", request, "resolve", note="Allowance granted")
    assert request.status == Status.RESOLVED
    # The first receiver hears that it is done (they took it; nobody else needs to).
    assert (
        Notification.objects.filter(
            subject_id=request.pk,
            message__msgid__startswith="Service request %(code)s (%(item)s) is done",
        ).count()
        == 1
    )
    # Who took it does not record its rating (it counts in their assessment); a colleague may.
    assert allowed_actions(w.users["assistant"], request) == ["close_out"]
    assert allowed_actions(w.users["secretary"], request) == ["close_out", "callback"]
    with pytest.raises(ValidationError) as err:
        act(w, "assistant", request, "close_out", data={"how": "by post"})
    assert list(err.value.message_dict) == ["how"]
    request = act(w, "secretary", request, "close_out", data={"how": "pickup"})
    assert request.status == Status.CLOSED and request.closed_on_time is True
    assert history(request)[-1][:2] == ("close_out", Status.CLOSED)
    assert (
        ServiceRequestEvent.objects.get(request=request, action="close_out").data["how"] == "pickup"
    )
    status = public_status(request)
    assert status["delivered_how"] == "pickup" and status["may_rate"] is True
    assert [s["office"] for s in status["steps"]] == [
        "Town civil affairs office",
        "County civil affairs bureau",
    ]


def test_hand_off_needs_an_office_a_level_and_one_promise(w):
    request = act(w, "assistant", take(w), "start")
    cases = [
        ({"level": "town", "working_days": 2}, "office"),
        ({"office": "x", "level": "village", "working_days": 2}, "level"),
        ({"office": "x", "level": "town"}, "promised_on"),
        (
            {"office": "x", "level": "town", "working_days": 2, "promised_on": "2025-10-09"},
            "promised_on",
        ),
        ({"office": "x", "level": "town", "working_days": 0}, "working_days"),
        ({"office": "x", "level": "town", "promised_on": "2025-09-01"}, "promised_on"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as err:
            act(w, "assistant", request, "hand_off", data=data)
        assert list(err.value.message_dict) == [field], data
    assert not ServiceStep.objects.exists()
    # Only in progress.
    with pytest.raises(ActionNotAllowed):
        act(
            w,
            "assistant",
            take(w),
            "hand_off",
            data={"office": "x", "level": "town", "working_days": 1},
        )


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_decline_and_withdraw_need_a_reason_and_are_final(w, action):
    request = take(w)
    with pytest.raises(ValidationError) as err:
        act(w, "assistant", request, action)
    assert list(err.value.message_dict) == ["note"]
    request = act(w, "assistant", request, action, note="Household income above the line")
    final = Status.DECLINED if action == "decline" else Status.CANCELLED
    assert request.status == final
    assert allowed_actions(w.users["assistant"], request) == []
    assert allowed_actions(w.users["superuser"], request) == []
    assert public_status(request)["final"] is True
    # The station's staff neither decline nor withdraw: the handlers do.
    other = take(w)
    with pytest.raises(ActionNotAllowed):
        act(w, "station_staff", other, action, note="no")


def test_the_action_names_are_the_services(w):
    request = take(w)
    with pytest.raises(ActionNotAllowed) as err:
        act(w, "assistant", request, "close_out", data={"how": "pickup"})
    assert err.value.message == msg(
        MSG_WRONG_STATE,
        action=gettext("deliver this request"),
        status=pgettext("service request", "received"),
    )
    with pytest.raises(ActionNotAllowed) as err:
        act(w, "assistant", request, "verify")
    assert err.value.message == msg(MSG_NOT_OFFERED, action=gettext("verify this case"))


def test_more_time_is_asked_of_the_station_and_moves_the_promise(w):
    request = take(w)
    request = act(w, "assistant", request, "request_extension", data={"working_days": 2})
    with pytest.raises(ActionNotAllowed):
        act(w, "assistant", request, "grant_extension")
    request = act(w, "station_staff", request, "grant_extension")
    assert request.extension_count == 1
    assert request.resolve_due_at > dt.datetime(2025, 10, 10, 17, 30, tzinfo=SHANGHAI)


def test_a_stale_version_changes_nothing(w):
    request = take(w)
    act(w, "assistant", request, "start")
    with pytest.raises(CaseConflict):
        services.service_request_act(
            actor=w.users["assistant"],
            request_id=request.pk,
            action="resolve",
            version=request.version,  # the version before start
            note="done",
        )


# --- the resident's rating --------------------------------------------------------------------
def done(w, request):
    request = act(w, "assistant", request, "resolve", note="Card renewed")
    return act(w, "assistant", request, "close_out", data={"how": "delivered"})


def test_the_resident_rates_once_on_the_public_page_and_a_low_rating_does_not_reopen(w):
    request = take(w)
    with pytest.raises(ActionNotAllowed) as err:
        services.service_request_rate_public(short_code=request.short_code, rating=5)
    assert err.value.message == msg(services.MSG_NOT_RATEABLE)
    request = done(w, request)
    with pytest.raises(ValidationError) as err:
        services.service_request_rate_public(short_code=request.short_code, rating=9)
    assert list(err.value.message_dict) == ["rating"]
    request = services.service_request_rate_public(
        short_code=request.short_code.lower(),
        rating=2,
        comment="Slow",
        at=FRIDAY + dt.timedelta(days=1),
    )
    assert request.satisfaction == 2 and request.status == Status.CLOSED
    assert request.rework_count == 0
    last = ServiceRequestEvent.objects.filter(request=request).order_by("-seq").first()
    assert (last.action, last.actor, last.actor_name, last.note) == (
        "callback",
        None,
        "居民",
        "Slow",
    )
    with pytest.raises(ActionNotAllowed) as err:
        services.service_request_rate_public(short_code=request.short_code, rating=5)
    assert err.value.message == msg(services.MSG_ALREADY_RATED)
    # Staff on the resident's behalf cannot rate it again either.
    assert "callback" not in allowed_actions(w.users["assistant"], request)
    with pytest.raises(ServiceRequest.DoesNotExist):
        services.service_request_rate_public(short_code="ZZZZZZZZ", rating=5)


def test_staff_record_the_rating_on_the_residents_behalf(w):
    request = act(w, "assistant", take(w), "resolve", note="done")
    request = act(w, "secretary", request, "callback", data={"rating": 4})
    assert request.satisfaction == 4 and request.status == Status.RESOLVED
    assert public_status(request)["may_rate"] is False


# --- who sees which ---------------------------------------------------------------------------
def test_who_sees_the_request(w):
    request = take(w)
    seeing = {
        name
        for name, user in w.users.items()
        if requests_visible_to(user).filter(pk=request.pk).exists()
    }
    assert seeing == {
        "assistant",
        "secretary",
        "leader",
        "head",
        "station_staff",
        "town_staff",
        "dispatcher",
        "district_admin",
        "superuser",
    }


def test_the_public_status_has_no_personal_data(w):
    request = take(w)
    text = repr(public_status(request))
    for secret in ("Wang Fang", "13812345678", "minimum living allowance", "assistant"):
        assert secret not in text, secret
    assert public_status(request)["promised_on"] == dt.date(2025, 10, 10)


# --- the API ----------------------------------------------------------------------------------
def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def post(client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_api_takes_a_request_once_and_refuses_by_field(w):
    client = client_of(w.users["assistant"])
    body = {
        "item": w.item.pk,
        "household": w.household.pk,
        "applicant_name": "Wang Fang",
        "applicant_phone": "13812345678",
        "matter": "Allowance",
        "client_uuid": "0b7f5a8e-0a51-4f6b-9c38-6a1b6f1f3a11",
    }
    res = post(client, "/api/service-requests/", body)
    assert res.status_code == 201, res.content
    data = res.json()
    assert data["status"] == Status.ACKNOWLEDGED and data["promised_on"]
    assert data["allowed_actions"][0] == "start"
    assert data["history"][0]["action"] == "report"
    assert post(client, "/api/service-requests/", body).status_code == 200
    assert ServiceRequest.objects.count() == 1
    res = post(client, "/api/service-requests/", {**body, "client_uuid": "", "applicant_name": ""})
    assert res.status_code == 400
    assert res.json()["errors"] == {"applicant_name": [msg(services.MSG_APPLICANT_REQUIRED)]}
    res = post(client, "/api/service-requests/", {**body, "client_uuid": "", "item": 99999})
    assert res.status_code == 400 and list(res.json()["errors"]) == ["item"]
    elsewhere = {**body, "client_uuid": "", "household": None, "village": w.village.code}
    res = post(client_of(w.users["other_assistant"]), "/api/service-requests/", elsewhere)
    assert res.status_code == 403


def test_the_api_lists_shows_and_acts_within_the_jurisdiction(w):
    request = take(w, at=timezone.now() - dt.timedelta(hours=1))
    other = take(w, "other_assistant", household=None, village=w.other_village)
    client = client_of(w.users["assistant"])
    listed = client.get("/api/service-requests/").json()
    assert [r["id"] for r in listed["results"]] == [request.pk]
    assert client.get(f"/api/service-requests/{other.pk}/").status_code == 404
    res = post(
        client, f"/api/service-requests/{other.pk}/actions/", {"action": "start", "version": 1}
    )
    assert res.status_code == 404
    url = f"/api/service-requests/{request.pk}/actions/"
    res = post(client, url, {"action": "start", "version": request.version})
    assert res.status_code == 200 and res.json()["status"] == Status.IN_PROGRESS
    # A stale version: 409 with the request as it now is.
    res = post(client, url, {"action": "resolve", "version": request.version, "note": "x"})
    assert res.status_code == 409 and res.json()["request"]["status"] == Status.IN_PROGRESS
    version = res.json()["request"]["version"]
    res = post(client, url, {"action": "resolve", "version": version})
    assert res.status_code == 400 and list(res.json()["errors"]) == ["note"]
    staff = client_of(w.users["station_staff"])
    res = post(staff, url, {"action": "resolve", "version": version, "note": "x"})
    assert res.status_code == 403
    res = post(client, url, {"action": "resolve", "version": version, "note": "Done"})
    body = res.json()
    assert res.status_code == 200 and body["status"] == Status.RESOLVED
    assert body["action_labels"]["close_out"] == pgettext("service action", "deliver")
    # The phone is masked for those who do not visit households (station staff accounts).
    shown = client_of(w.users["station_staff"]).get(f"/api/service-requests/{request.pk}/")
    assert shown.json()["applicant_phone"] == "138****5678"
    assert client.get(f"/api/service-requests/{request.pk}/").json()["applicant_phone"] == (
        "13812345678"
    )
    assert client.get("/api/service-requests/?status=bogus").status_code == 400
    assert client.get("/api/service-requests/?status=resolved").json()["count"] == 1


def test_a_refusal_names_the_services_handlers(w):
    request = take(w)
    with pytest.raises(ActionNotAllowed) as err:
        act(w, "leader", request, "start")
    assert err.value.message == msg(
        ONLY_VILLAGE, code=w.village.code, action=gettext("start handling this request")
    )


def test_more_time_refused_keeps_the_promise(w):
    request = act(w, "assistant", take(w), "request_extension", data={"working_days": 3})
    promise = request.resolve_due_at
    request = act(w, "head", request, "refuse_extension")
    assert request.resolve_due_at == promise and request.extension_pending is False
    assert request.extension_count == 0


def test_an_office_login_takes_a_request_without_a_worker(w):
    request = take(w, "station_staff")
    assert request.first_receiver is None and request.reporter == w.users["station_staff"]
    # The village's handlers all hear: nobody of them took it.
    told = set(
        Notification.objects.filter(
            subject_type="service_request", subject_id=request.pk
        ).values_list("worker__user__username", flat=True)
    )
    assert told == {"assistant", "secretary"}


def test_step_back_names_a_step_that_is_out(w):
    request = act(w, "assistant", take(w), "start")
    request = act(w, "assistant", request, "hand_off",
                  data={"office": "Town office", "level": "town", "working_days": 1})  # fmt: skip
    for bad in ("abc", 2, "0"):
        with pytest.raises(ValidationError) as err:
            act(w, "assistant", request, "step_back", data={"step": bad})
        assert list(err.value.message_dict) == ["step"], bad
    request = act(w, "assistant", request, "step_back", data={"step": "1"})
    last = ServiceRequestEvent.objects.filter(request=request).order_by("-seq").first()
    assert (last.action, last.data["step"], last.to_status) == ("step_back", 1, Status.IN_PROGRESS)


def test_a_districts_own_item_stands_in_for_the_global_one_at_the_desk(w):
    """The desk offers what the public catalogue shows: a district's own item in place of the
    global item with its code; the global one is refused there, and the district taking its
    own out of use does not bring the global one back."""
    assert w.item.district_id is None  # the world's item is every district's
    own = ServiceItem.objects.create(
        code=w.item.code,
        name="本县版本",
        kind=w.item.kind,
        approving_level=w.item.approving_level,
        promised_days=3,
        district=w.district,
    )
    assert own.pk in {i.pk for i in items_for(w.users["assistant"])}
    village_catalogue = {i.pk for i in district_items(w.district.pk)}
    assert own.pk in village_catalogue and w.item.pk not in village_catalogue
    with pytest.raises(ValidationError) as err:
        take(w)  # the global item
    assert list(err.value.message_dict) == ["item"]
    own.active = False
    own.save()
    assert not {own.pk, w.item.pk} & {i.pk for i in district_items(w.district.pk)}
    assert own.pk not in {i.pk for i in items_for(w.users["assistant"])}
