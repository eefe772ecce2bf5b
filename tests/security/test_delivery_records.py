"""Threat: what the outbound channels record leaks or runs. A delivery record keeps what a
provider answered and where the message went, and the case page shows it (issue 12, item 3):
an error text from a provider (or from whoever answers in its place) could carry markup that
runs on the case page; an error built from a network exception would carry the request URL,
with WeChat Work's ``corpsecret`` or ``access_token`` in its query, onto the page and into
the admin; the recipient's phone number would sit in plain text in one more table; and a
viewer who may not see the case's people or personal data would read names and numbers.

What fixed it: ``inbox.channels.SendError`` keeps a short message built only from the HTTP
status or the provider's error code and message (a network failure by its exception type);
the case page's delivery section is a Django template (escaped text, no ``|safe``); the
address is an ``EncryptedCharField`` (gridmap.crypto); names only for viewers who see the
case's people, addresses masked unless they may also see personal data; the admin lists the
records by the jurisdiction rule of their entries (tests/inbox/test_admin.py).
"""

# The fixtures of the provider tests are imported by name (pytest finds them here).
# ruff: noqa: F811
from __future__ import annotations

import socket

import pytest
from django.db import connection
from django.urls import reverse

from inbox.models import DeliveryState
from tests.inbox.jobs import run_delivery_jobs
from tests.inbox.test_providers import (  # noqa: F401
    LEADER_PHONE,
    _leader_delivery,
    _report,
    aliyun,
    phones,
)
from tests.incidents.test_notifications import people  # noqa: F401

pytestmark = pytest.mark.django_db

PAYLOAD = '<img src=x onerror="window.__xss=1">'


def test_a_providers_error_text_is_shown_as_text(
    aliyun, phones, client, django_capture_on_commit_callbacks
):
    aliyun.script = [(200, {"Code": "isv.OUT_OF_SERVICE", "Message": PAYLOAD})]
    incident = _report(phones, django_capture_on_commit_callbacks)
    run_delivery_jobs()
    assert _leader_delivery(phones, incident).state == DeliveryState.FAILED
    client.force_login(phones["leader"].user)
    page = client.get(reverse("case", args=[incident.pk])).content.decode()
    assert "isv.OUT_OF_SERVICE: &lt;img src=x onerror=" in page
    assert PAYLOAD not in page


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_network_failure_records_no_secret_or_token(
    phones, settings, client, django_capture_on_commit_callbacks
):
    settings.GRIDMAP_NOTIFICATION_CHANNELS = ["inbox.channels.WeComChannel"]
    settings.WECOM_CORP_ID, settings.WECOM_CORP_SECRET = "ww-corp", "corp-secret-7f3a"
    settings.WECOM_AGENT_ID = "1000002"
    settings.WECOM_ENDPOINT = f"http://127.0.0.1:{_closed_port()}"
    incident = _report(phones, django_capture_on_commit_callbacks)
    assert list(run_delivery_jobs().values()) == ["retry"]
    delivery = _leader_delivery(phones, incident)
    assert delivery.last_error == "network: ConnectionError"
    client.force_login(phones["leader"].user)
    page = client.get(reverse("case", args=[incident.pk])).content.decode()
    assert "corp-secret-7f3a" not in page and "corpsecret" not in page


def test_the_address_is_encrypted_at_rest(aliyun, phones, django_capture_on_commit_callbacks):
    incident = _report(phones, django_capture_on_commit_callbacks)
    delivery = _leader_delivery(phones, incident)
    assert delivery.address == LEADER_PHONE
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM inbox_delivery WHERE id = %s", [delivery.pk])
        stored = cursor.fetchone()[0]
    assert LEADER_PHONE not in stored and stored.startswith("gAAAAA")


def _section(client, incident) -> str:
    response = client.get(reverse("case", args=[incident.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    return page[page.index("data-deliveries") : page.index('id="cs-history"')]


def test_names_and_numbers_only_for_those_who_may_see_them(
    aliyun, phones, client, django_capture_on_commit_callbacks
):
    incident = _report(phones, django_capture_on_commit_callbacks)
    run_delivery_jobs()
    # The grid's leader sees the case's people and visits households: name and number.
    client.force_login(phones["leader"].user)
    section = _section(client, incident)
    assert phones["leader"].name in section and LEADER_PHONE in section
    # The resident who reported it sees their case, the roles and the states, no one's name
    # or number.
    client.force_login(incident.reporter)
    section = _section(client, incident)
    assert 'data-channel="sms_aliyun" data-state="sent"' in section
    for worker in ("leader", "guide", "neighbour"):
        assert phones[worker].name not in section
    assert LEADER_PHONE not in section and "138****5678" in section
    # The case API answers the same, by the same rules.
    body = client.get(reverse("incident-case", args=[incident.pk])).content.decode()
    assert '"state":"sent"' in body.replace(" ", "")
    for worker in ("leader", "guide", "neighbour"):
        assert phones[worker].name not in body
    assert LEADER_PHONE not in body and "138****5678" in body
