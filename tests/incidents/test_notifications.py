"""Notifications: inbox entries per recipient, outbound channels after commit, the inbox API."""

from __future__ import annotations

import logging

import pytest
from django.contrib.gis.geos import Point
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from incidents.channels import Channel, EmailChannel
from incidents.inbox_api import MSG_NO_SUCH_NOTIFICATION
from incidents.models import (
    Category,
    Incident,
    IncidentRecipient,
    Level,
    Notification,
    RecipientKind,
    Responder,
)
from incidents.notifications import (
    MSG_NEW_INCIDENT,
    notify_incident,
    render_message,
)
from tests.factories import GridFactory, UserFactory, WorkerFactory, current_generation

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox")
READ_ALL = reverse("inbox-read-all")

ROUTED, COPIED, WATCHING = RecipientKind.ROUTED, RecipientKind.COPIED, RecipientKind.WATCHING


class FailingChannel(Channel):
    def send(self, notifications: list[Notification]) -> None:
        raise RuntimeError("SMS gateway down")


class RecordingChannel(Channel):
    sent: list[list[Notification]] = []

    def send(self, notifications: list[Notification]) -> None:
        RecordingChannel.sent.append(notifications)


@pytest.fixture
def people():
    grid = GridFactory()
    return {
        "grid": grid,
        "leader": WorkerFactory(name="王网格长", email="leader@example.org", user=UserFactory()),
        "guide": WorkerFactory(name="李指导员", email="guide@example.org", user=UserFactory()),
        "neighbour": WorkerFactory(name="赵邻格长", email="", user=UserFactory()),
    }


def make_incident(people: dict, recipients: list[tuple[str, str, str]]) -> Incident:
    """An incident in people["grid"] with the given (person, kind, responder) recipients,
    saved the way incidents.services saves one."""
    grid = people["grid"]
    incident = Incident.objects.create(
        location=Point(100.01, 0.01, srid=4326),
        category=Category.objects.get(code="dispute"),
        severity="yellow",
        description="两户因宅基地边界发生争执",
        reporter=UserFactory(),
        reported_at=timezone.now(),
        generation=current_generation(),
        grid=grid,
        village=grid.village,
        town=grid.village.town,
        place_code=grid.code,
        responsible_level=Level.GRID,
    )
    IncidentRecipient.objects.bulk_create(
        [
            IncidentRecipient(
                incident=incident,
                worker=people[who],
                kind=kind,
                responder=responder,
                role=responder,
                name=people[who].name,
                phone=people[who].phone,
            )
            for who, kind, responder in recipients
        ]
    )
    return incident


THREE = [
    ("leader", ROUTED, Responder.GRID_LEADER),
    ("guide", COPIED, Responder.PARTY_GUIDE),
    ("neighbour", WATCHING, Responder.GRID_LEADER),
]


# --- notify_incident ------------------------------------------------------------------------
def test_one_inbox_entry_per_recipient_with_its_kind(people):
    incident = make_incident(people, THREE)
    notify_incident(incident)

    got = {
        (n.worker_id, n.kind, n.incident_id, n.ten_household_unit_id)
        for n in Notification.objects.filter(incident=incident)
    }
    assert got == {
        (people["leader"].id, ROUTED, incident.id, None),
        (people["guide"].id, COPIED, incident.id, None),
        (people["neighbour"].id, WATCHING, incident.id, None),
    }
    message = Notification.objects.filter(incident=incident).first().message
    assert message["msgid"] == MSG_NEW_INCIDENT


def test_a_worker_named_twice_gets_one_entry_of_the_strongest_kind(people):
    incident = make_incident(
        people,
        [
            ("guide", COPIED, Responder.PARTY_GUIDE),
            ("guide", ROUTED, Responder.MEDIATION_DIRECTOR),
            ("leader", ROUTED, Responder.GRID_LEADER),
        ],
    )
    notify_incident(incident)
    got = sorted(Notification.objects.filter(incident=incident).values_list("worker_id", "kind"))
    assert got == sorted([(people["guide"].id, ROUTED), (people["leader"].id, ROUTED)])


def test_message_is_rendered_in_the_readers_language(people):
    incident = make_incident(people, THREE)
    [n, *_] = notify_incident(incident)
    with translation.override("en"):
        en = render_message(n.message)
    with translation.override("zh-hans"):
        zh = render_message(n.message)
    assert en == f"New yellow Dispute incident in {people['grid'].name}"
    assert "黄色" in zh and "矛盾纠纷" in zh and people["grid"].name in zh


def test_nothing_is_sent_when_the_transaction_rolls_back(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                incident = make_incident(people, THREE)
                notify_incident(incident)
                raise RuntimeError("routing failed later in the same request")
        except RuntimeError:
            pass
    assert callbacks == []
    assert mailoutbox == []
    assert not Notification.objects.filter(worker=people["leader"]).exists()


def test_emails_go_after_commit_in_chinese_to_workers_with_an_email(
    people, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # Whatever language the request spoke, mail is in the site's default language.
        with translation.override("en"):
            incident = make_incident(people, THREE)
            notifications = notify_incident(incident)
        assert mailoutbox == []  # not before the commit
    assert len(callbacks) == 1

    assert sorted(m.to[0] for m in mailoutbox) == ["guide@example.org", "leader@example.org"]
    with translation.override("zh-hans"):
        text = render_message(notifications[0].message)
    for mail in mailoutbox:
        assert text in mail.subject and "矛盾纠纷" in mail.subject and "黄色" in mail.subject
        assert f"/field/#incident-{incident.id}" in mail.body
        assert incident.description in mail.body


def test_email_channel_reads_the_addresses_in_one_query(people, django_assert_num_queries):
    incident = make_incident(people, THREE)
    notifications = notify_incident(incident)
    with django_assert_num_queries(1):
        EmailChannel().send(notifications)


def test_a_failing_channel_does_not_break_the_incident_or_the_other_channels(
    people, mailoutbox, settings, caplog, django_capture_on_commit_callbacks
):
    settings.GRIDMAP_NOTIFICATION_CHANNELS = [
        "tests.incidents.test_notifications.FailingChannel",
        "incidents.channels.NoSuchChannel",
        "incidents.channels.EmailChannel",
    ]
    with (
        caplog.at_level(logging.ERROR, logger="incidents.notifications"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        incident = make_incident(people, THREE)
        notify_incident(incident)

    assert Notification.objects.filter(incident=incident).count() == 3
    assert len(mailoutbox) == 2
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "FailingChannel failed" in logged
    assert "incidents.channels.NoSuchChannel" in logged


def test_channels_are_pluggable(people, settings, django_capture_on_commit_callbacks):
    settings.GRIDMAP_NOTIFICATION_CHANNELS = ["tests.incidents.test_notifications.RecordingChannel"]
    RecordingChannel.sent = []
    with django_capture_on_commit_callbacks(execute=True):
        incident = make_incident(people, THREE)
        notify_incident(incident)
    assert [len(batch) for batch in RecordingChannel.sent] == [3]


# --- the inbox API --------------------------------------------------------------------------
@pytest.fixture
def inbox_of_leader(people):
    """The leader: routed on two incidents, copied on one, watching one; one routed is read."""
    a = make_incident(people, [("leader", ROUTED, Responder.GRID_LEADER)])
    b = make_incident(people, [("leader", ROUTED, Responder.GRID_LEADER)])
    c = make_incident(people, [("leader", COPIED, Responder.PARTY_GUIDE)])
    d = make_incident(people, [("leader", WATCHING, Responder.GRID_LEADER)])
    for incident in (a, b, c, d):
        notify_incident(incident)
    Notification.objects.filter(incident=a).update(read_at=timezone.now())
    # Someone else's entry, never visible to the leader.
    notify_incident(make_incident(people, [("guide", ROUTED, Responder.PARTY_GUIDE)]))
    return people["leader"]


def test_inbox_lists_own_entries_with_unread_counts_in_three_queries(
    api_client, inbox_of_leader, django_assert_num_queries
):
    api_client.force_authenticate(inbox_of_leader.user)
    # unread counts (one conditional aggregate) + count + page
    with django_assert_num_queries(3):
        body = api_client.get(INBOX).json()
    assert body["unread"] == {"routed": 1, "copied": 1, "watching": 1, "total": 3}
    assert body["count"] == 4
    mine = set(Notification.objects.filter(worker=inbox_of_leader).values_list("id", flat=True))
    assert {r["id"] for r in body["results"]} == mine
    first = body["results"][0]
    assert set(first) == {
        "id",
        "kind",
        "message",
        "incident",
        "ten_household_unit",
        "created_at",
        "read_at",
    }
    assert first["ten_household_unit"] is None and isinstance(first["incident"], int)


def test_inbox_filters_by_kind_and_unread(api_client, inbox_of_leader):
    api_client.force_authenticate(inbox_of_leader.user)
    routed = api_client.get(INBOX, {"kind": "routed"}).json()
    assert routed["count"] == 2 and {r["kind"] for r in routed["results"]} == {"routed"}
    unread_routed = api_client.get(INBOX, {"kind": "routed", "unread": "1"}).json()
    assert unread_routed["count"] == 1 and unread_routed["results"][0]["read_at"] is None
    # The badge counts do not depend on the filter.
    assert unread_routed["unread"]["total"] == 3


def test_inbox_rejects_an_unknown_kind(api_client, inbox_of_leader):
    api_client.force_authenticate(inbox_of_leader.user)
    res = api_client.get(INBOX, {"kind": "spam"})
    assert res.status_code == 400 and "kind" in res.json()["errors"]


def test_inbox_messages_follow_the_request_language(api_client, inbox_of_leader, people):
    api_client.force_authenticate(inbox_of_leader.user)
    en = api_client.get(INBOX, {"kind": "routed"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert en["results"][0]["message"] == f"New yellow Dispute incident in {people['grid'].name}"
    zh = api_client.get(INBOX, {"kind": "routed"}).json()  # zh-hans by default
    with translation.override("zh-hans"):
        expected = gettext(MSG_NEW_INCIDENT) % {
            "severity": "黄色",
            "category": "矛盾纠纷",
            "place": people["grid"].name,
        }
    assert zh["results"][0]["message"] == expected


def test_user_without_a_worker_has_an_empty_inbox(api_client, inbox_of_leader):
    api_client.force_authenticate(UserFactory())
    body = api_client.get(INBOX).json()
    assert body["count"] == 0 and body["results"] == []
    assert body["unread"] == {"routed": 0, "copied": 0, "watching": 0, "total": 0}
    assert api_client.post(READ_ALL).json()["marked"] == 0


def test_inbox_needs_a_login(api_client):
    assert api_client.get(INBOX).status_code in (401, 403)


def test_mark_read_only_your_own(api_client, inbox_of_leader, people, django_assert_num_queries):
    mine = Notification.objects.filter(worker=inbox_of_leader, read_at__isnull=True).first()
    theirs = Notification.objects.get(worker=people["guide"])
    api_client.force_authenticate(inbox_of_leader.user)

    res = api_client.post(reverse("inbox-read", args=[theirs.id]))
    assert res.status_code == 404
    with translation.override("zh-hans"):
        assert res.json()["detail"] == gettext(MSG_NO_SUCH_NOTIFICATION)
    theirs.refresh_from_db()
    assert theirs.read_at is None

    with django_assert_num_queries(2):  # get + update
        res = api_client.post(reverse("inbox-read", args=[mine.id]))
    assert res.status_code == 200 and res.json()["read_at"] is not None
    mine.refresh_from_db()
    first_read = mine.read_at
    assert first_read is not None
    # Reading again keeps the first read time.
    api_client.post(reverse("inbox-read", args=[mine.id]))
    mine.refresh_from_db()
    assert mine.read_at == first_read
    assert api_client.get(INBOX).json()["unread"]["total"] == 2


def test_read_all_of_one_kind_then_all(api_client, inbox_of_leader, people):
    api_client.force_authenticate(inbox_of_leader.user)
    body = api_client.post(f"{READ_ALL}?kind=copied").json()
    assert body["marked"] == 1
    assert body["unread"] == {"routed": 1, "copied": 0, "watching": 1, "total": 2}

    body = api_client.post(READ_ALL).json()
    assert body["marked"] == 2 and body["unread"]["total"] == 0
    # The guide's entry is untouched.
    assert Notification.objects.get(worker=people["guide"]).read_at is None
