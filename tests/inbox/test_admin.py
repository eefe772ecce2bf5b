"""The inbox in the admin: everything for a superuser; for a jurisdiction-limited admin user
only the entries about incidents of their jurisdiction (as when the admin followed the
entry's incident foreign key)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation

from accounts.models import AccountRole
from accounts.services import account_upsert
from inbox.models import Delivery, Notification, RecipientKind
from inbox.services import notify
from incidents.models import Responder
from incidents.notifications import notify_incident
from tests.factories import GridFactory, UserFactory
from tests.incidents.test_notifications import make_incident

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:inbox_notification_changelist")


@pytest.fixture
def entries(people):
    leader = [("leader", RecipientKind.ROUTED, Responder.GRID_LEADER)]
    here = make_incident(people, leader)
    there = make_incident({**people, "grid": GridFactory()}, leader)
    for incident in (here, there):
        notify_incident(incident)
    notify(
        workers=[people["leader"].id],
        message={},
        link="/map/#ten-household-unit-1",
        subject_type="ten_household_unit",
        subject_id=1,
    )
    return here, there


def shown(client) -> set[tuple[str, int]]:
    rows = client.get(CHANGELIST).context["cl"].result_list
    return {(n.subject_type, n.subject_id) for n in rows}


def test_a_superuser_sees_every_entry(client, entries):
    here, there = entries
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert shown(client) == {
        ("incident", here.id),
        ("incident", there.id),
        ("ten_household_unit", 1),
    }
    assert Notification.objects.count() == 3


def test_a_district_admin_sees_the_entries_about_incidents_of_their_district(client, entries):
    here, _ = entries
    account = account_upsert(
        username="dadmin",
        password="pass-word-1",
        role=AccountRole.DISTRICT_ADMIN,
        codes=[here.grid.village.town.district.code],
    )
    account.user.user_permissions.add(
        Permission.objects.get(content_type__app_label="inbox", codename="view_notification")
    )
    client.force_login(account.user)
    assert shown(client) == {("incident", here.id)}


# --- delivery records -------------------------------------------------------------------------
DELIVERIES = reverse("admin:inbox_delivery_changelist")


def test_the_channels_say_in_the_admin_whether_they_are_on_and_why_not(client, entries, settings):
    settings.ALIBABA_SMS_ACCESS_KEY_ID = ""
    settings.WECOM_CORP_ID = "ww-corp"
    settings.WECOM_CORP_SECRET = "s"
    settings.WECOM_AGENT_ID = "1000002"
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    with translation.override("en"):
        page = client.get(DELIVERIES, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-channel="sms_aliyun" data-on="false"' in page
    assert "off: ALIBABA_SMS_ACCESS_KEY_ID not set" in page
    assert "off: TENCENT_SMS_SECRET_ID not set" in page
    assert 'data-channel="wecom" data-on="true"' in page
    assert 'data-channel="email" data-on="true"' in page


def test_a_district_admin_sees_the_deliveries_of_their_district_only(client, entries):
    here, there = entries
    account = account_upsert(
        username="dadmin2",
        password="pass-word-1",
        role=AccountRole.DISTRICT_ADMIN,
        codes=[here.grid.village.town.district.code],
    )
    account.user.user_permissions.add(
        Permission.objects.get(content_type__app_label="inbox", codename="view_delivery")
    )
    client.force_login(account.user)
    rows = client.get(DELIVERIES).context["cl"].result_list
    subjects = {(d.notification.subject_type, d.notification.subject_id) for d in rows}
    assert subjects == {("incident", here.id)}
    assert Delivery.objects.filter(notification__subject_id=there.id).exists()
    other = Delivery.objects.filter(notification__subject_id=there.id).first()
    assert client.get(reverse("admin:inbox_delivery_change", args=[other.pk])).status_code == 302
