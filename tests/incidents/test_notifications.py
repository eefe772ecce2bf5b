"""incidents.notifications: an inbox entry per recipient of an incident, in the reader's
language, e-mailed after commit with the description; gone with the incident."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone, translation

from gridmap.messages import render_message
from grids.models import Role
from inbox.models import Notification
from incidents.models import (
    Category,
    Incident,
    IncidentRecipient,
    Level,
    RecipientKind,
    Responder,
)
from incidents.notifications import MSG_NEW_INCIDENT, notify_incident
from incidents.services import incidents_purge
from tests.factories import (
    GridFactory,
    RoleAssignmentFactory,
    UserFactory,
    WorkerFactory,
    current_generation,
)
from tests.inbox.jobs import run_delivery_jobs

pytestmark = pytest.mark.django_db

ROUTED, COPIED, WATCHING = RecipientKind.ROUTED, RecipientKind.COPIED, RecipientKind.WATCHING


@pytest.fixture
def people():
    grid = GridFactory()
    people = {
        "grid": grid,
        "leader": WorkerFactory(name="王网格长", email="leader@example.org", user=UserFactory()),
        "guide": WorkerFactory(name="李指导员", email="guide@example.org", user=UserFactory()),
        "neighbour": WorkerFactory(name="赵邻格长", email="", user=UserFactory()),
    }
    # Their roles: an inbox shows entries about what the person's roles let them see.
    RoleAssignmentFactory(worker=people["leader"], role=Role.GRID_LEADER, grid=grid)
    RoleAssignmentFactory(worker=people["guide"], role=Role.PARTY_GUIDE, grid=grid)
    RoleAssignmentFactory(
        worker=people["neighbour"], role=Role.GRID_LEADER, grid=GridFactory(village=grid.village)
    )
    return people


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

    link = f"/field/#incident-{incident.id}"
    got = {
        (n.worker_id, n.kind, n.subject_type, n.subject_id, n.link)
        for n in Notification.objects.filter(subject_type="incident", subject_id=incident.id)
    }
    assert got == {
        (people["leader"].id, ROUTED, "incident", incident.id, link),
        (people["guide"].id, COPIED, "incident", incident.id, link),
        (people["neighbour"].id, WATCHING, "incident", incident.id, link),
    }
    assert Notification.objects.count() == 3
    message = Notification.objects.filter(subject_id=incident.id).first().message
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
    got = sorted(
        Notification.objects.filter(subject_type="incident", subject_id=incident.id).values_list(
            "worker_id", "kind"
        )
    )
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
    assert mailoutbox == []  # and not in the request: in the background
    run_delivery_jobs()

    assert sorted(m.to[0] for m in mailoutbox) == ["guide@example.org", "leader@example.org"]
    with translation.override("zh-hans"):
        text = render_message(notifications[0].message)
    for mail in mailoutbox:
        assert text in mail.subject and "矛盾纠纷" in mail.subject and "黄色" in mail.subject
        assert f"/field/#incident-{incident.id}" in mail.body
        assert incident.description in mail.body


# --- deleting an incident ------------------------------------------------------------------
def test_deleting_an_incident_deletes_its_entries_and_no_other(people):
    incident = make_incident(people, THREE)
    notify_incident(incident)
    other = make_incident(people, THREE)
    notify_incident(other)
    assert Notification.objects.count() == 6

    incident.delete()
    assert set(Notification.objects.values_list("subject_id", flat=True)) == {other.id}


def test_purging_incidents_deletes_their_entries(people):
    incidents = [make_incident(people, THREE) for _ in range(2)]
    for incident in incidents:
        notify_incident(incident)
    kept = make_incident(people, [("leader", ROUTED, Responder.GRID_LEADER)])
    notify_incident(kept)

    assert incidents_purge(ids=[i.id for i in incidents]) == 2
    assert list(Notification.objects.values_list("subject_type", "subject_id")) == [
        ("incident", kept.id)
    ]
