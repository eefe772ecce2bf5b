"""/cases/<id>/: the case page, its action forms (only the allowed ones), the walk through
the loop by form posts, conflicts, refusals, reasons, extensions, attachments, photos, the
callback, jurisdiction and query counts. The rules themselves are incidents.workflow's
(tested there); this tests that the page offers them, sends them and says what happened."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from accounts.models import Account, AccountRole
from cases import deadlines
from grids.models import Worker
from incidents import workflow
from incidents.case_views import MSG_CONFLICT, MSG_DONE, MSG_REOPENED_BY_CALLBACK, MSG_THANKS
from incidents.models import CaseAttachment, CaseEvent, Category, Incident, Status
from incidents.services import incident_create
from tests.factories import UserFactory
from tests.incidents.test_routing import World, build_world, world_generation

pytestmark = pytest.mark.django_db

WEST = (100.02, 0.05)


def login_as(
    username: str, role: AccountRole, codes: list[str], worker: Worker | None = None
) -> Any:
    user = UserFactory(username=username, first_name=worker.name if worker else username)
    Account.objects.create(user=user, role=role, codes=codes)
    if worker is not None:
        worker.user = user
        worker.save(update_fields=["user"])
    return user


@pytest.fixture
def world(db) -> World:
    return build_world(world_generation())


@pytest.fixture
def people(world) -> dict[str, Any]:
    return {
        "leader": login_as(
            "w-leader", AccountRole.GRID_WORKER, [world.west.code], world.people["W leader"].worker
        ),
        "head": login_as(
            "s1-head",
            AccountRole.STATION_STAFF,
            [world.station.code],
            world.people["S1 head"].worker,
        ),
        # A station account that is not the head's: verifies, never signs the close-out.
        "staff": login_as("s1-staff", AccountRole.STATION_STAFF, [world.station.code]),
        # A grid worker of the other grid reports in W: a reporter from outside W.
        "reporter": login_as("e-member", AccountRole.GRID_WORKER, [world.east.code]),
        "outsider": login_as("v2-staff", AccountRole.VILLAGE_STAFF, [world.v2.code]),
    }


def png(name: str = "scene.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def report(
    people: dict[str, Any], text: str = "A drain is blocked on lane 3", **kw: Any
) -> Incident:
    incident, _created = incident_create(
        actor=people["reporter"],
        point=Point(*WEST, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="blue",
        description=text,
        **kw,
    )
    return incident


def url(incident: Incident) -> str:
    return reverse("case", kwargs={"pk": incident.pk})


def act(client, incident: Incident, action: str, *, version: int | None = None, **fields: Any):
    if version is None:
        version = Incident.objects.get(pk=incident.pk).version
    headers = {k: fields.pop(k) for k in list(fields) if k.startswith("HTTP_")}
    return client.post(url(incident), {"action": action, "version": version, **fields}, **headers)


def offered(response) -> list[str]:
    return re.findall(r'data-action-form="([a-z_]+)"', response.content.decode())


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


# --- access --------------------------------------------------------------------------------------
def test_url_and_login(client, people):
    incident = report(people)
    assert url(incident) == f"/cases/{incident.pk}/"
    response = client.get(url(incident))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_jurisdiction_and_the_reporter(client, people):
    incident = report(people)
    client.force_login(people["outsider"])
    assert client.get(url(incident)).status_code == 404
    assert client.get(reverse("case", kwargs={"pk": 999_999_999})).status_code == 404
    # The reporter works in grid E but reported in W: they may open their own case.
    client.force_login(people["reporter"])
    response = client.get(url(incident))
    assert response.status_code == 200
    assert offered(response) == []  # nothing to do until it is resolved
    assert "data-no-actions" in response.content.decode()


# --- what the page shows -------------------------------------------------------------------------
def test_the_page_shows_the_case_its_routing_state_and_history(client, world, people):
    incident = report(people, photos=[png()])
    client.force_login(people["leader"])
    with translation.override("en"):
        response = client.get(url(incident), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert incident.description in html
    assert world.west.name in html and world.v1.name in html and world.t1.name in html
    # The people it was routed to, with phone links; the explanation.
    leader = world.people["W leader"].worker
    assert leader.name in html
    assert f'href="tel:{leader.phone}"' in html
    assert "data-explanation" in html
    # The state: status, traffic light, deadlines, owner.
    assert 'data-status="reported"' in html
    light = deadlines.traffic_light(fresh(incident), timezone.now())
    assert f'data-traffic-light="{light}"' in html
    assert 'data-due="acknowledge"' in html and 'data-due="resolve"' in html
    assert world.west.code in re.search(r"data-owner>(.*?)</dd>", html, re.S).group(1)
    # The history: the report, by the reporter.
    assert re.search(r'data-seq="1" data-action="report"', html)
    # The photo, through the case's jurisdiction check.
    photo = incident.reports.get().photos.get()
    photo_url = reverse("case-photo", kwargs={"pk": incident.pk, "photo": photo.pk})
    assert photo_url in html
    got = client.get(photo_url)
    assert got.status_code == 200 and got["Content-Type"] == "image/png"
    client.force_login(people["outsider"])
    assert client.get(photo_url).status_code == 404


def test_only_the_allowed_actions_are_offered(client, people):
    incident = report(people)
    for who in ("leader", "head", "reporter"):
        client.force_login(people[who])
        response = client.get(url(incident))
        allowed = workflow.allowed_actions(user=people[who], incident=fresh(incident))
        assert offered(response) == [str(a.value) for a in allowed], who
    client.force_login(people["leader"])
    leader_forms = offered(client.get(url(incident)))
    assert "acknowledge" in leader_forms and "close_out" not in leader_forms
    client.force_login(people["head"])
    head_forms = offered(client.get(url(incident)))
    assert "acknowledge" not in head_forms and "cancel" in head_forms


def test_each_form_carries_the_version_and_reasons_are_marked_required(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    html = client.get(url(incident)).content.decode()
    forms = re.findall(r'<form method="post".*?</form>', html, re.S)
    assert forms
    for form in forms:
        assert f'name="version" value="{incident.version}"' in form
    escalate = next(f for f in forms if 'data-action-form="escalate"' in f)
    assert re.search(r"<textarea[^>]*name=\"note\"[^>]*required", escalate)
    acknowledge = next(f for f in forms if 'data-action-form="acknowledge"' in f)
    assert not re.search(r"<textarea[^>]*required", acknowledge)


# --- the loop by form posts ----------------------------------------------------------------------
def test_leader_acknowledges_starts_resolves_and_the_station_closes_out(client, world, people):
    incident = report(people)
    client.force_login(people["leader"])
    for action, status in (("acknowledge", "acknowledged"), ("start", "in_progress")):
        response = act(client, incident, action)
        assert response.status_code == 303
        assert response["Location"] == url(incident)
        assert fresh(incident).status == status
    response = act(
        client,
        incident,
        "resolve",
        note="Cleared the drain with the villagers",
        attachments=[png("after.png")],
    )
    assert response.status_code == 303
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "data-message" in html
    assert fresh(incident).status == Status.RESOLVED
    event = CaseEvent.objects.get(incident=incident, action="resolve")
    assert event.note == "Cleared the drain with the villagers"
    assert event.actor == people["leader"]
    attachment = CaseAttachment.objects.get(event=event)
    link = reverse("case-attachment", kwargs={"pk": incident.pk, "attachment": attachment.pk})
    assert link in html and "after.png" in html
    got = client.get(link)
    assert got.status_code == 200
    assert b"".join(got.streaming_content).startswith(b"\x89PNG")
    assert offered(page) == []  # the leader waits for the station now

    client.force_login(people["staff"])
    assert offered(client.get(url(incident)))[:1] == ["verify"]
    assert act(client, incident, "verify").status_code == 303
    assert "close_out" not in offered(client.get(url(incident)))  # the head signs
    client.force_login(people["head"])
    assert offered(client.get(url(incident)))[:1] == ["close_out"]
    assert act(client, incident, "close_out", note="Checked on site").status_code == 303
    closed = fresh(incident)
    assert closed.status == Status.CLOSED and closed.closed_on_time is True
    html = client.get(url(incident)).content.decode()
    assert 'data-status="closed"' in html and 'data-on-time="true"' in html
    assert "data-traffic-light" not in html  # a closed case has no light
    actions = list(
        CaseEvent.objects.filter(incident=incident).order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["report", "acknowledge", "start", "resolve", "verify", "close_out"]
    for action in actions[1:]:
        assert f'data-action="{action}"' in html

    # The outsider cannot fetch the attachment.
    client.force_login(people["outsider"])
    assert client.get(link).status_code == 404


def test_success_message_names_the_action(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    with translation.override("en"):
        response = act(client, incident, "acknowledge", HTTP_ACCEPT_LANGUAGE="en")
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        assert MSG_DONE % {"action": "Acknowledged"} in page.content.decode()


def test_a_stale_version_is_a_409_with_the_case_as_it_is_and_the_note_kept(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    seen = fresh(incident).version
    # Someone else acts first (the station cancels it as a duplicate).
    workflow.case_act(
        actor=people["head"], incident_id=incident.pk, action="cancel", version=seen, note="dup"
    )
    events = CaseEvent.objects.filter(incident=incident).count()
    with translation.override("en"):
        response = act(
            client,
            incident,
            "escalate",
            version=seen,
            note="Needs the town",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 409
    html = response.content.decode()
    with translation.override("en"):
        assert MSG_CONFLICT.split(".")[0] in html
    assert 'data-status="cancelled"' in html
    assert CaseEvent.objects.filter(incident=incident).count() == events
    assert fresh(incident).status == Status.CANCELLED
    # The page now offers what can be done on the case as it is: nothing for the leader.
    assert offered(response) == []


def test_the_note_survives_a_conflict_when_the_action_is_still_possible(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    seen = fresh(incident).version
    # The station head asks nothing of the state; a request for more time bumps the version.
    workflow.case_act(
        actor=people["leader"],
        incident_id=incident.pk,
        action="request_extension",
        version=seen,
        data={"working_days": 2},
    )
    response = act(client, incident, "escalate", version=seen, note="Needs the town")
    assert response.status_code == 409
    html = response.content.decode()
    escalate = re.search(r'data-action="escalate" open>.*?</details>', html, re.S)
    assert escalate, "the form the user was filling in stays open"
    assert "Needs the town</textarea>" in escalate.group(0)
    assert f'name="version" value="{fresh(incident).version}"' in escalate.group(0)


def test_a_forbidden_action_is_a_403_with_who_may(client, world, people):
    incident = report(people)
    client.force_login(people["head"])
    with translation.override("en"):
        response = act(client, incident, "acknowledge", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    html = response.content.decode()
    assert "data-error" in html
    assert world.west.code in re.search(r"data-error>(.*?)</p>", html, re.S).group(1)
    assert fresh(incident).status == Status.REPORTED


def test_a_missing_reason_is_a_400_and_nothing_changes(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    with translation.override("en"):
        response = act(client, incident, "escalate", note="  ", HTTP_ACCEPT_LANGUAGE="en")
        message = str(workflow.MSG_REASON_REQUIRED)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert re.search(r'data-action="escalate" open>', html)
    assert fresh(incident).owner_level == "grid"


def test_resolve_without_a_result_is_a_400_that_says_what_to_write(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    act(client, incident, "acknowledge")
    html = client.get(url(incident)).content.decode()
    form = re.search(r'<form method="post"[^>]*data-action-form="resolve".*?</form>', html, re.S)
    assert form and re.search(r"<textarea[^>]*name=\"note\"[^>]*required", form.group(0))
    with translation.override("en"):
        response = act(client, incident, "resolve", note=" \n ", HTTP_ACCEPT_LANGUAGE="en")
        message = str(workflow.MSG_RESULT_REQUIRED)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert fresh(incident).status == Status.ACKNOWLEDGED


def test_unknown_action_and_bad_version_are_400(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    assert act(client, incident, "teleport").status_code == 400
    assert client.post(url(incident), {"action": "acknowledge", "version": "x"}).status_code == 400
    assert fresh(incident).status == Status.REPORTED


def test_an_extension_by_date_ends_with_that_working_day(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    due = timezone.localtime(fresh(incident).resolve_due_at)
    day = due.date() + dt.timedelta(days=10)
    response = act(client, incident, "request_extension", until=day.isoformat(), note="Parts")
    assert response.status_code == 303, response.content.decode()
    assert fresh(incident).extension_pending
    end = deadlines.working_periods()[-1][1]
    expected = dt.datetime.combine(day, end, tzinfo=deadlines.time_zone())
    client.force_login(people["head"])
    html = client.get(url(incident)).content.decode()
    assert expected.strftime("%Y-%m-%d %H:%M") in html
    assert "grant_extension" in offered(client.get(url(incident)))
    assert act(client, incident, "grant_extension").status_code == 303
    assert fresh(incident).resolve_due_at == expected


def test_both_date_and_days_is_the_workflows_error(client, people):
    incident = report(people)
    client.force_login(people["leader"])
    day = (timezone.localdate() + dt.timedelta(days=40)).isoformat()
    response = act(client, incident, "request_extension", until=day, working_days="2")
    assert response.status_code == 400
    assert "data-field-error" in response.content.decode()
    response = act(client, incident, "request_extension", until="next week")
    assert response.status_code == 400
    assert not fresh(incident).extension_pending


# --- callback ------------------------------------------------------------------------------------
def _closed(people: dict[str, Any]) -> Incident:
    incident = report(people)
    for who, action in (
        ("leader", "acknowledge"),
        ("leader", "resolve"),
        ("staff", "verify"),
        ("head", "close_out"),
    ):
        workflow.case_act(
            actor=people[who],
            incident_id=incident.pk,
            action=action,
            version=fresh(incident).version,
            note="Drain cleared" if action == "resolve" else "",
        )
    return fresh(incident)


def test_the_reporter_rates_and_a_good_rating_keeps_it_closed(client, people):
    incident = _closed(people)
    client.force_login(people["reporter"])
    page = client.get(url(incident))
    assert offered(page) == ["callback"]
    assert page.content.decode().count('name="rating"') == 5
    with translation.override("en"):
        response = act(
            client, incident, "callback", rating="5", note="Quick work", HTTP_ACCEPT_LANGUAGE="en"
        )
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        assert MSG_THANKS in page.content.decode()
    after = fresh(incident)
    assert after.satisfaction == 5 and after.status == Status.CLOSED
    assert 'data-satisfaction="5"' in page.content.decode()
    assert offered(page) == []  # rated once per resolution


def test_an_unsatisfied_rating_reopens_the_case_and_says_so(client, people):
    incident = _closed(people)
    client.force_login(people["reporter"])
    with translation.override("en"):
        response = act(
            client,
            incident,
            "callback",
            rating="1",
            note="Still blocked",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        assert MSG_REOPENED_BY_CALLBACK in page.content.decode()
    after = fresh(incident)
    assert after.status == Status.IN_PROGRESS and after.rework_count == 1
    html = page.content.decode()
    assert 'data-action="callback"' in html and 'data-action="reopen"' in html
    # The leader has it back.
    client.force_login(people["leader"])
    assert "resolve" in offered(client.get(url(incident)))


def test_a_rating_outside_1_to_5_is_refused(client, people):
    incident = _closed(people)
    client.force_login(people["reporter"])
    assert act(client, incident, "callback", rating="9").status_code == 400
    assert act(client, incident, "callback").status_code == 400
    assert fresh(incident).satisfaction is None


# --- cost ----------------------------------------------------------------------------------------
def test_the_page_costs_the_same_for_a_longer_history(client, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    short = report(people, text="short history")
    long = report(people, text="long history")
    for _ in range(3):
        for action, data in (("request_extension", {"working_days": 1}), ("refuse_extension", {})):
            who = people["leader"] if action == "request_extension" else people["head"]
            workflow.case_act(
                actor=who,
                incident_id=long.pk,
                action=action,
                version=fresh(long).version,
                data=data,
            )
    client.force_login(people["leader"])

    def count(incident: Incident) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(incident)).status_code == 200
        return len(queries)

    assert CaseEvent.objects.filter(incident=long).count() == 7
    assert count(long) == count(short)


def test_the_field_page_links_to_case_pages(client, people):
    client.force_login(people["leader"])
    html = client.get(reverse("field")).content.decode()
    assert 'data-case-url="/cases/0/"' in html
