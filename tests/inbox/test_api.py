"""The inbox API: own entries, unread counts per kind, filters, read marks; every field as it
was when the subjects were foreign keys (``incident``, ``ten_household_unit``)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from households.models import TenHouseholdUnit
from inbox.api import MSG_NO_SUCH_NOTIFICATION
from inbox.models import Notification, RecipientKind
from inbox.services import notify
from incidents.models import Responder
from incidents.notifications import MSG_NEW_INCIDENT, notify_incident
from tests.factories import HouseholdFactory, UserFactory
from tests.incidents.test_notifications import make_incident

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox")
READ_ALL = reverse("inbox-read-all")

ROUTED, COPIED, WATCHING = RecipientKind.ROUTED, RecipientKind.COPIED, RecipientKind.WATCHING


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
    Notification.objects.filter(subject_type="incident", subject_id=a.id).update(
        read_at=timezone.now()
    )
    # Someone else's entry, never visible to the leader.
    notify_incident(make_incident(people, [("guide", ROUTED, Responder.PARTY_GUIDE)]))
    return people["leader"]


def test_inbox_lists_own_entries_with_unread_counts_in_three_queries(
    api_client, inbox_of_leader, django_assert_num_queries
):
    api_client.force_authenticate(inbox_of_leader.user)
    # the user's places today (role assignments, account: once per request) + unread counts
    # (one conditional aggregate) + count + page
    with django_assert_num_queries(5):
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


def test_a_unit_entry_names_its_unit_and_no_incident(api_client, people):
    leader = people["leader"]
    head = HouseholdFactory(grid=people["grid"])
    unit = TenHouseholdUnit.objects.create(name="一组", grid=people["grid"], head_household=head)
    notify(
        workers=[leader.id],
        message={"msgid": "New ten-household unit %(name)s in %(place)s: %(count)s households"},
        link=f"/map/#ten-household-unit-{unit.pk}",
        subject_type="ten_household_unit",
        subject_id=unit.pk,
    )
    api_client.force_authenticate(leader.user)
    [entry] = api_client.get(INBOX).json()["results"]
    assert (entry["incident"], entry["ten_household_unit"]) == (None, unit.pk)
