"""inbox.channels and their hand-off: after commit, pluggable, a failing one is logged."""

from __future__ import annotations

import logging

import pytest

from inbox.channels import Channel, EmailChannel
from inbox.models import Notification
from incidents.notifications import notify_incident
from tests.inbox.jobs import run_delivery_jobs
from tests.incidents.test_notifications import THREE, make_incident

pytestmark = pytest.mark.django_db


class FailingChannel(Channel):
    def send(self, notifications: list[Notification]) -> None:
        raise RuntimeError("SMS gateway down")


class RecordingChannel(Channel):
    sent: list[list[Notification]] = []

    def send(self, notifications: list[Notification]) -> None:
        RecordingChannel.sent.append(notifications)


def test_the_default_channels_are_email_sms_and_wecom(settings):
    assert settings.GRIDMAP_NOTIFICATION_CHANNELS == [
        "inbox.channels.EmailChannel",
        "inbox.channels.AliyunSmsChannel",
        "inbox.channels.TencentSmsChannel",
        "inbox.channels.WeComChannel",
    ]


def test_email_channel_reads_the_addresses_in_one_query(people, django_assert_num_queries):
    incident = make_incident(people, THREE)
    notifications = notify_incident(incident)
    with django_assert_num_queries(1):
        EmailChannel().send(notifications)


def test_a_failing_channel_does_not_break_the_incident_or_the_other_channels(
    people, mailoutbox, settings, caplog, django_capture_on_commit_callbacks
):
    settings.GRIDMAP_NOTIFICATION_CHANNELS = [
        "tests.inbox.test_channels.FailingChannel",
        "inbox.channels.NoSuchChannel",
        # The old dotted path still names the e-mail channel.
        "incidents.channels.EmailChannel",
    ]
    with (
        caplog.at_level(logging.ERROR, logger="inbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        incident = make_incident(people, THREE)
        notify_incident(incident)
    run_delivery_jobs()  # e-mail goes in the background

    assert Notification.objects.filter(subject_type="incident", subject_id=incident.id).count() == 3
    assert len(mailoutbox) == 2
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "FailingChannel failed" in logged
    assert "inbox.channels.NoSuchChannel" in logged


def test_channels_are_pluggable(people, settings, django_capture_on_commit_callbacks):
    settings.GRIDMAP_NOTIFICATION_CHANNELS = ["tests.inbox.test_channels.RecordingChannel"]
    RecordingChannel.sent = []
    with django_capture_on_commit_callbacks(execute=True):
        incident = make_incident(people, THREE)
        notify_incident(incident)
    assert [len(batch) for batch in RecordingChannel.sent] == [3]
