"""presence.visits and the visits API: logging a visit (households, photos, requests that become
cases routed like a field report), idempotent resends, the phone's time, jurisdiction, masking,
positions in GCJ-02, photos served through the jurisdiction check, follow-ups, the household
search; on the literal world of tests/incidents/test_routing.py (grid W, grid E in village V1)."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import numpy as np
import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image
from psycopg.types.range import Range

from accounts.models import AccountRole
from grids import coords
from households.models import Household
from incidents.models import Category, Incident, IncidentRecipient
from incidents.routing import route
from presence import visits
from presence.models import Visit, VisitHousehold, VisitPhoto, VisitRequest
from tests.factories import AccountFactory, UserFactory
from tests.incidents.test_routing import World, build_world, world_generation

pytestmark = pytest.mark.django_db

LIST = reverse("visit-list")
SEARCH = reverse("visit-household-search")


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def login_of(world: World, key: str):
    """The login of a person of the world (made on first use)."""
    worker = world.people[key].worker
    if worker.user_id is None:
        worker.user = UserFactory(username=f"login-{key.replace(' ', '-').lower()}")
        worker.save()
    return worker.user


@pytest.fixture
def households(world: World) -> dict[str, Household]:
    return make_households(world)


def make_households(world: World) -> dict[str, Household]:
    """The unit's head household and a second one in grid W; one in grid E."""
    head = Household.objects.get(address="W road 1")
    head.code = "HH-W-1"
    head.phone = "13812345678"
    head.save()
    second = Household.objects.create(
        code="HH-W-2", address="W road 2", location=Point(100.02, 0.02, srid=4326),
        head_name="Second", grid=world.west, phone="13900001111",
    )  # fmt: skip
    east = Household.objects.create(
        code="HH-E-1", address="E road 1", location=Point(100.07, 0.02, srid=4326),
        head_name="East", grid=world.east, phone="13700002222",
    )  # fmt: skip
    return {"head": head, "second": second, "east": east}


def jpeg(name: str = "visit.jpg") -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), "green").save(buf, format="JPEG")
    buf.name = name
    buf.seek(0)
    return buf


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def post(client, body: dict, photos: list | None = None):
    if photos:
        return client.post(LIST, {"visit": json.dumps(body), "photos": photos}, format="multipart")
    return client.post(LIST, body, format="json")


# --- logging a visit ----------------------------------------------------------------------------
def test_a_visit_with_two_households_a_photo_and_a_request_that_becomes_a_case(
    api_client, world, households
):
    leader = login_of(world, "W leader")
    client = as_user(api_client, leader)
    at = timezone.now() - dt.timedelta(hours=3)
    body = {
        "client_uuid": str(uuid.uuid4()),
        "at": at.isoformat(),
        "households": [households["head"].pk, "HH-W-2"],
        "notes": "老人身体好，儿子在外务工",
        "requests": [
            {
                "text": "门前路灯坏了",
                "household": "HH-W-2",
                "make_case": True,
                "category": "dispute",
            },
            {"text": "想了解低保政策"},
        ],
        "follow_up": "下周带政策资料回访",
        "follow_up_due": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
    }

    res = post(client, body, [jpeg()])

    assert res.status_code == 201, res.content
    data = res.json()
    visit = Visit.objects.get(pk=data["id"])
    assert visit.worker == world.people["W leader"].worker
    assert visit.at == at
    assert visit.grid == world.west and visit.place_code == world.west.code
    rows = VisitHousehold.objects.filter(visit=visit).order_by("id")
    assert [vh.household.code for vh in rows] == ["HH-W-1", "HH-W-2"]
    [photo] = VisitPhoto.objects.filter(visit=visit)
    assert photo.content_type == "image/jpeg" and photo.image.name.endswith(".jpg")
    assert data["photos"] == [reverse("visit-photo", kwargs={"pk": visit.pk, "photo": photo.pk})]
    plain, made = (
        VisitRequest.objects.filter(visit=visit, incident__isnull=True).get(),
        VisitRequest.objects.filter(visit=visit, incident__isnull=False).get(),
    )
    assert plain.text == "想了解低保政策"
    assert plain.household is None  # two households visited, none named
    assert made.household == households["second"]
    # The case: routed like a field report at the household, by the worker's login, then.
    incident = made.incident
    assert incident.reporter == leader
    assert incident.location.equals(households["second"].location)
    assert incident.category.code == "dispute"
    assert incident.reported_at == at
    assert incident.grid_id == world.west.pk
    expected = route(
        point=households["second"].location, at=at,
        category=Category.objects.get(code="dispute"), severity=incident.severity,
    )  # fmt: skip
    assert set(
        IncidentRecipient.objects.filter(incident=incident).values_list("name", flat=True)
    ) == {p.name for p in expected.recipients}
    assert "W leader" in {p.name for p in expected.recipients}
    assert [r["case"] for r in data["requests"] if r["case"]] == [
        {"id": incident.pk, "url": reverse("case", kwargs={"pk": incident.pk})}
    ]
    # A grid leader visits households: phones unmasked; the visitor is named.
    assert {h["phone"] for h in data["households"]} == {"13812345678", "13900001111"}
    assert data["worker"]["name"] == "W leader"
    assert data["follow_up_due"] == body["follow_up_due"]


def test_a_resend_returns_the_stored_visit_once(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    body = {
        "client_uuid": str(uuid.uuid4()),
        "households": ["HH-W-1"],
        "notes": "走访",
        "requests": [{"text": "修路", "make_case": True, "category": "dispute"}],
    }
    first = post(client, body, [jpeg()])
    again = post(client, body, [jpeg()])

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Visit.objects.count() == 1
    assert VisitPhoto.objects.count() == 1
    assert Incident.objects.filter(description="修路").count() == 1
    # One household visited: the request is that household's, the case at its door.
    request = VisitRequest.objects.get()
    assert request.household.code == "HH-W-1"
    assert request.incident.location.equals(request.household.location)


def test_another_worker_may_not_take_a_visits_number(api_client, world, households):
    number = str(uuid.uuid4())
    post(as_user(api_client, login_of(world, "W leader")), {"client_uuid": number,
         "households": ["HH-W-1"]})  # fmt: skip
    res = post(as_user(api_client, login_of(world, "V1 secretary")),
               {"client_uuid": number, "households": ["HH-W-1"]})  # fmt: skip
    assert res.status_code == 400
    assert res.json()["detail"] == gettext(visits.MSG_UUID_TAKEN)


def test_an_offline_visit_keeps_the_time_it_was_made(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    made = timezone.now() - dt.timedelta(days=2, hours=5)
    res = post(client, {"client_uuid": str(uuid.uuid4()), "at": made.isoformat(),
                        "households": ["HH-W-1"]})  # fmt: skip
    assert res.status_code == 201
    visit = Visit.objects.get(pk=res.json()["id"])
    assert visit.at == made
    assert visit.received_at - timezone.now() < dt.timedelta(minutes=1)


def test_the_phones_time_must_be_recent_and_not_ahead(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    now = timezone.now()
    old = post(client, {"at": (now - dt.timedelta(days=8)).isoformat(), "households": ["HH-W-1"]})
    ahead = post(
        client, {"at": (now + dt.timedelta(hours=1)).isoformat(), "households": ["HH-W-1"]}
    )
    skew = post(
        client, {"at": (now + dt.timedelta(minutes=2)).isoformat(), "households": ["HH-W-1"]}
    )

    assert old.status_code == 400
    assert old.json()["detail"] == gettext(visits.MSG_TOO_LATE) % {"days": 7}
    assert ahead.status_code == 400
    assert ahead.json()["detail"] == gettext(visits.MSG_IN_FUTURE)
    assert skew.status_code == 201  # a phone a little ahead: taken as now
    assert Visit.objects.get(pk=skew.json()["id"]).at <= timezone.now()
    assert Visit.objects.count() == 1


def test_a_household_outside_the_workers_area_is_refused(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    res = post(client, {"households": ["HH-W-1", "HH-E-1"], "notes": "x"}, [jpeg()])
    unknown = post(client, {"households": ["NO-SUCH-HOUSEHOLD"]})

    assert res.status_code == 400
    assert res.json()["detail"] == gettext(visits.MSG_HOUSEHOLD_OUTSIDE) % {"household": "HH-E-1"}
    assert res.json()["errors"]["households"]
    # A number of no household reads the same: nothing is confirmed.
    assert unknown.status_code == 400
    assert unknown.json()["detail"] == gettext(visits.MSG_HOUSEHOLD_OUTSIDE) % {
        "household": "NO-SUCH-HOUSEHOLD"
    }
    assert Visit.objects.count() == 0 and VisitPhoto.objects.count() == 0


def test_a_village_secretary_visits_any_household_of_the_village(api_client, world, households):
    client = as_user(api_client, login_of(world, "V1 secretary"))
    res = post(client, {"households": ["HH-E-1", "HH-W-2"]})
    assert res.status_code == 201
    assert res.json()["place_code"] == world.east.code  # the first household's grid


def test_a_login_without_a_worker_logs_no_visit(api_client, world, households):
    client = as_user(api_client, UserFactory(username="office"))
    res = post(client, {"households": ["HH-W-1"]})
    assert res.status_code == 400
    assert res.json()["detail"] == gettext(visits.MSG_NO_WORKER)


def test_bad_input_is_a_400_with_a_message(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    cases = [
        ({"households": []}, visits.MSG_HOUSEHOLD_REQUIRED),
        ({"households": ["HH-W-1"], "requests": [{"text": "x", "make_case": True}]},
         visits.MSG_CASE_CATEGORY),
        ({"households": ["HH-W-1"], "requests": [{"text": "  "}]}, visits.MSG_REQUEST_TEXT),
        ({"households": ["HH-W-1"], "requests": [{"text": "x", "household": "HH-E-1"}]},
         visits.MSG_REQUEST_HOUSEHOLD),
        ({"households": ["HH-W-1"], "kind": "party"}, visits.MSG_BAD_KIND),
        ({"households": ["HH-W-1"], "requests": [{"text": "x"}] * 21},
         visits.MSG_TOO_MANY_REQUESTS),
    ]  # fmt: skip
    for body, msgid in cases:
        res = post(client, body)
        assert res.status_code == 400, body
        assert res.json()["detail"] == gettext(msgid) % {"max": visits.MAX_REQUESTS}, body
    for body in (
        {"households": "HH-W-1"},
        {"households": ["HH-W-1"], "at": "yesterday"},
        {"households": ["HH-W-1"], "client_uuid": "nope"},
        {"households": ["HH-W-1"], "lon": 100.01, "lat": 0.01, "crs": "utm"},
        {"households": ["HH-W-1"], "lon": "east", "lat": 0.01},
        {"households": ["HH-W-1"], "follow_up_due": "soon"},
        {"households": [True]},
    ):
        assert post(client, body).status_code == 400, body
    assert client.post(LIST, [1, 2], format="json").status_code == 400
    assert Visit.objects.count() == 0


def test_a_hostile_photo_is_refused_and_nothing_is_written(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    page = io.BytesIO(b"<!DOCTYPE html><html><script>alert(1)</script></html>")
    page.name = "photo.jpg"
    res = post(client, {"households": ["HH-W-1"]}, [page])
    assert res.status_code == 400
    assert res.json()["detail"] == gettext(visits.MSG_PHOTO_TYPE) % {"name": "photo.jpg"}
    assert Visit.objects.count() == 0 and VisitPhoto.objects.count() == 0


def test_a_group_meeting_placed_by_a_gcj02_position(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    wgs = (100.03, 0.04)
    gcj = coords.wgs84_to_gcj02_coords(np.array([wgs]))[0]
    res = post(client, {"kind": "group", "attendees": 12, "notes": "院坝会",
                        "lon": float(gcj[0]), "lat": float(gcj[1]), "crs": "gcj02"})  # fmt: skip
    assert res.status_code == 201, res.content
    visit = Visit.objects.get(pk=res.json()["id"])
    assert visit.location.x == pytest.approx(wgs[0], abs=1e-6)
    assert visit.location.y == pytest.approx(wgs[1], abs=1e-6)
    assert visit.place_code == world.west.code and visit.attendees == 12
    # Outside the worker's grid (in grid E): refused.
    res = post(client, {"kind": "group", "lon": 100.07, "lat": 0.04})
    assert res.status_code == 400


def test_a_group_meeting_in_a_village(world, households):
    secretary = world.people["V1 secretary"].worker
    visit, created = visits.log_visit(secretary, kind=Visit.Kind.GROUP, place_code=world.v1.code)
    assert created and visit.place_code == world.v1.code and visit.grid is None
    with pytest.raises(ValidationError):
        visits.log_visit(secretary, kind=Visit.Kind.GROUP, place_code=world.v2.code)


# --- reading ----------------------------------------------------------------------------------
@pytest.fixture
def logged(world, households) -> Visit:
    visit, _ = visits.log_visit(
        world.people["W leader"].worker,
        households=[households["head"], households["second"]],
        notes="W visit",
        follow_up="回访",
        follow_up_due=timezone.localdate() + dt.timedelta(days=3),
    )
    return visit


def test_phones_are_masked_for_a_role_that_does_not_visit(api_client, world, logged):
    town = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[world.t1.code]).user
    body = as_user(api_client, town).get(reverse("visit-detail", args=[logged.pk])).json()
    assert {h["phone"] for h in body["households"]} == {"138****5678", "139****1111"}
    assert body["notes"] == "W visit"
    leader = login_of(world, "W leader")
    body = as_user(api_client, leader).get(reverse("visit-detail", args=[logged.pk])).json()
    assert {h["phone"] for h in body["households"]} == {"13812345678", "13900001111"}


def test_a_visit_outside_the_jurisdiction_is_404(api_client, world, logged):
    client = as_user(api_client, login_of(world, "V2 secretary"))
    assert client.get(reverse("visit-detail", args=[logged.pk])).status_code == 404
    assert client.get(LIST).json()["count"] == 0
    done = client.post(reverse("visit-follow-up-done", args=[logged.pk]))
    assert done.status_code == 404
    # Grid E's leader sees nothing of grid W either.
    client = as_user(api_client, login_of(world, "E leader"))
    assert client.get(reverse("visit-detail", args=[logged.pk])).status_code == 404


def test_the_list_filters_by_worker_household_and_days(api_client, world, households, logged):
    older, _ = visits.log_visit(
        world.people["V1 secretary"].worker, households=[households["east"]],
        at=timezone.now() - dt.timedelta(days=5),
    )  # fmt: skip
    client = as_user(api_client, AccountFactory(role=AccountRole.VILLAGE_STAFF,
                                                codes=[world.v1.code]).user)  # fmt: skip
    every = client.get(LIST).json()
    assert [v["id"] for v in every["results"]] == [logged.pk, older.pk]  # newest first
    leader_id = world.people["W leader"].worker.pk
    assert [v["id"] for v in client.get(LIST, {"worker": leader_id}).json()["results"]] == [
        logged.pk
    ]
    assert [v["id"] for v in client.get(LIST, {"household": "HH-E-1"}).json()["results"]] == [
        older.pk
    ]
    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert [v["id"] for v in client.get(LIST, {"from": since}).json()["results"]] == [logged.pk]
    paged = client.get(LIST, {"page_size": 1}).json()
    assert paged["count"] == 2 and len(paged["results"]) == 1 and paged["next"]
    assert client.get(LIST, {"from": "May"}).status_code == 400
    assert client.get(LIST, {"page": 0}).status_code == 400


def test_the_list_takes_a_fixed_number_of_queries(
    api_client, world, households, logged, django_assert_max_num_queries
):
    for n in range(5):
        visits.log_visit(world.people["W leader"].worker, households=[households["second"]],
                         notes=f"n{n}")  # fmt: skip
    client = as_user(api_client, login_of(world, "W leader"))
    client.get(LIST)  # warm the login's caches
    with django_assert_max_num_queries(14):
        body = client.get(LIST).json()
    assert body["count"] == 6


def test_the_visits_own_worker_sees_it_after_leaving_the_grid(api_client, world, logged):
    leader = login_of(world, "W leader")
    assignment = world.people["W leader"]
    assignment.period = Range(dt.date.today() - dt.timedelta(days=30), dt.date.today(), "[)")
    assignment.save()
    res = as_user(api_client, leader).get(reverse("visit-detail", args=[logged.pk]))
    assert res.status_code == 200
    assert len(res.json()["households"]) == 2


def test_photos_are_served_through_the_jurisdiction_check(client, api_client, world, households):
    leader = login_of(world, "W leader")
    res = post(as_user(api_client, leader), {"households": ["HH-W-1"]}, [jpeg()])
    url = res.json()["photos"][0]
    client.force_login(leader)
    got = client.get(url)
    assert got.status_code == 200
    assert got["Content-Type"] == "image/jpeg"
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["Content-Security-Policy"] == "sandbox; default-src 'none'"
    client.force_login(login_of(world, "V2 secretary"))
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_a_follow_up_is_marked_done_once(api_client, world, households, logged):
    url = reverse("visit-follow-up-done", args=[logged.pk])
    # Someone who sees the visit but did not make it may not close its deadline.
    town = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[world.t1.code]).user
    refused = as_user(api_client, town).post(url)
    assert refused.status_code == 403
    assert refused.json()["detail"] == gettext(visits.MSG_FOLLOW_UP_NOT_YOURS)
    assert Visit.objects.get(pk=logged.pk).follow_up_done_at is None
    client = as_user(api_client, login_of(world, "W leader"))
    first = client.post(url)
    assert first.status_code == 200 and first.json()["follow_up_done_at"]
    when = Visit.objects.get(pk=logged.pk).follow_up_done_at
    assert client.post(url).json()["follow_up_done_at"] == first.json()["follow_up_done_at"]
    assert Visit.objects.get(pk=logged.pk).follow_up_done_at == when
    plain, _ = visits.log_visit(world.people["W leader"].worker, households=[households["head"]])
    res = client.post(reverse("visit-follow-up-done", args=[plain.pk]))
    assert res.status_code == 400
    assert res.json()["detail"] == gettext(visits.MSG_FOLLOW_UP_NONE)


def test_the_household_search_stays_in_the_jurisdiction(api_client, world, households):
    client = as_user(api_client, login_of(world, "W leader"))
    found = client.get(SEARCH, {"q": "road"}).json()["results"]
    assert {h["code"] for h in found} == {"HH-W-1", "HH-W-2"}
    assert client.get(SEARCH, {"q": "HH-W-2"}).json()["results"][0]["address"] == "W road 2"
    assert client.get(SEARCH, {"q": "HH-E"}).json()["results"] == []
    assert client.get(SEARCH, {"q": ""}).json()["results"] == []
    town = AccountFactory(role=AccountRole.TOWN_STAFF, codes=[world.t1.code]).user
    masked = as_user(api_client, town).get(SEARCH, {"q": "HH-E-1"}).json()["results"]
    assert masked[0]["phone"] == "137****2222"


def test_visits_of_a_household_for_the_household_file(world, households, logged):
    leader = login_of(world, "W leader")
    other, _ = visits.log_visit(world.people["W leader"].worker, households=[households["second"]])
    found = list(visits.visits_of_household(households["second"], leader))
    assert [v.pk for v in found] == [other.pk, logged.pk]  # newest first
    assert list(visits.visits_of_household(households["head"], leader)) == [logged]
    outsider = login_of(world, "V2 secretary")
    assert list(visits.visits_of_household(households["second"], outsider)) == []


# --- odd input is a 4xx, never a 500 (the review of issue 14) ----------------------------------
def test_odd_ids_months_and_dates_are_refused_not_errors(api_client, client, world, logged):
    """``"²".isdigit()`` is true but ``int("²")`` fails; year 0 and 9999-12 overflow a date."""
    user = login_of(world, "W leader")
    api = as_user(api_client, user)
    assert api.get(LIST, {"household": "²"}).status_code == 200
    assert api.get(LIST, {"to": "9999-12-31"}).status_code == 400
    assert api.get(LIST, {"from": "0001-01-01"}).status_code == 400
    body = {"households": [logged.households.first().code], "notes": "x",
            "requests": [{"text": "路灯坏了", "household": [1]}]}  # fmt: skip
    assert api.post(LIST, body, format="json").status_code == 400
    body["requests"] = [{"text": "路灯坏了", "household": {}}]
    assert api.post(LIST, body, format="json").status_code == 400
    client.force_login(user)
    for url in ("/households/~²/", "/api/households/~²/file/"):
        assert client.get(url).status_code == 404, url
    assert client.get("/field/visit/", {"household": "~²"}).status_code == 200
    assert client.get("/diary/", {"worker": "²"}).status_code == 404
    assert client.get("/diary/", {"month": "9999-12"}).status_code in (200, 400)
    for month in ("0000-01", "9999-12"):
        assert client.get("/presence/", {"month": month}).status_code in (200, 400, 404)
        assert client.get("/duty/", {"month": month}).status_code in (200, 404)
        assert api.get("/api/presence/", {"month": month, "area": "x"}).status_code == 400


def test_a_household_number_with_a_slash_has_a_file_by_its_id(client, world, households):
    from presence.care import household_file_url, household_key

    home = households["head"]
    Household.objects.filter(pk=home.pk).update(code="12/3")
    home.refresh_from_db()
    assert household_key(home) == f"~{home.pk}"
    client.force_login(login_of(world, "W leader"))
    assert client.get(household_file_url(home)).status_code == 200
