"""The SMS and WeChat Work adapters against local fake servers of the providers
(tests/inbox/fakes.py: each recomputes the signature from the raw request as the provider's
documentation specifies, and answers with the provider's documented bodies), sending in the
background with retries, and the delivery states on the case page.

Documentation followed, section by section, in fakes.py: Alibaba Cloud "V2 RPC 风格请求体 &
签名机制" and SMS "SendSms" (2017-05-25); Tencent Cloud "签名方法 v3" and SMS "SendSms"
(2021-01-11); WeChat Work "获取access_token" and "发送应用消息".
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from inbox import tasks
from inbox.deliveries import (
    INTERRUPTED,
    MAX_RETRIES,
    STUCK_AFTER,
    RetryLater,
    deliveries_sweep_stuck,
)
from inbox.models import Delivery, DeliveryReason, DeliveryState
from incidents.models import Incident
from incidents.notifications import notify_incident
from tests.inbox.fakes import FakeAliyun, FakeTencent, FakeWeCom, serve
from tests.inbox.jobs import queued_delivery_jobs, run_delivery_jobs
from tests.incidents.test_notifications import ROUTED, THREE, make_incident

pytestmark = pytest.mark.django_db

LEADER_PHONE = "13812345678"


@pytest.fixture
def phones(people):
    people["leader"].phone = LEADER_PHONE
    people["leader"].wecom_userid = "WangWangGe"
    people["leader"].save()
    people["guide"].phone = "0771-1234567"  # a landline: no SMS
    people["guide"].save()
    people["neighbour"].phone = ""
    people["neighbour"].save()
    return people


def _only(channel: str, settings) -> None:
    settings.GRIDMAP_NOTIFICATION_CHANNELS = [channel]
    cache.clear()


@pytest.fixture
def aliyun(settings):
    fake = FakeAliyun()
    server = serve(fake)
    _only("inbox.channels.AliyunSmsChannel", settings)
    settings.ALIBABA_SMS_ACCESS_KEY_ID = fake.key_id
    settings.ALIBABA_SMS_ACCESS_KEY_SECRET = fake.secret
    settings.ALIBABA_SMS_SIGN_NAME = fake.sign_name
    settings.ALIBABA_SMS_TEMPLATE_CODE = fake.template
    settings.ALIBABA_SMS_ENDPOINT = fake.url + "/"
    yield fake
    server.shutdown()


@pytest.fixture
def tencent(settings):
    fake = FakeTencent()
    server = serve(fake)
    _only("inbox.channels.TencentSmsChannel", settings)
    settings.TENCENT_SMS_SECRET_ID = fake.secret_id
    settings.TENCENT_SMS_SECRET_KEY = fake.secret_key
    settings.TENCENT_SMS_SDK_APP_ID = fake.app_id
    settings.TENCENT_SMS_SIGN_NAME = fake.sign_name
    settings.TENCENT_SMS_TEMPLATE_ID = fake.template
    settings.TENCENT_SMS_REGION = fake.region
    settings.TENCENT_SMS_ENDPOINT = fake.url + "/"
    yield fake
    server.shutdown()


@pytest.fixture
def wecom(settings):
    fake = FakeWeCom()
    server = serve(fake)
    _only("inbox.channels.WeComChannel", settings)
    settings.WECOM_CORP_ID = fake.corp_id
    settings.WECOM_CORP_SECRET = fake.secret
    settings.WECOM_AGENT_ID = str(fake.agent_id)
    settings.WECOM_ENDPOINT = fake.url
    yield fake
    server.shutdown()


def _report(people, django_capture_on_commit_callbacks, *, severity: str = "yellow") -> Incident:
    with django_capture_on_commit_callbacks(execute=True):
        incident = make_incident(people, THREE)
        Incident.objects.filter(pk=incident.pk).update(severity=severity)
        incident.refresh_from_db()
        notify_incident(incident)
    return incident


def _leader_delivery(people, incident: Incident) -> Delivery:
    return Delivery.objects.get(
        notification__worker=people["leader"], notification__subject_id=incident.pk
    )


def _case_rows(client, people, incident: Incident) -> str:
    client.force_login(people["leader"].user)
    response = client.get(reverse("case", args=[incident.pk]))
    assert response.status_code == 200
    return response.content.decode()


def people_name(worker) -> str:
    return worker.name


def _retry_decision(exc: Exception, attempts: int):
    return tasks.RETRY.get_retry_decision(exception=exc, job=SimpleNamespace(attempts=attempts))


# --- Alibaba Cloud SMS --------------------------------------------------------------------
def test_aliyun_sends_a_signed_request_the_fake_provider_accepts(
    aliyun, phones, django_capture_on_commit_callbacks
):
    incident = _report(phones, django_capture_on_commit_callbacks)
    states = {d.notification.worker_id: (d.state, d.reason) for d in Delivery.objects.all()}
    assert states == {
        phones["leader"].pk: (DeliveryState.QUEUED, ""),
        phones["guide"].pk: (DeliveryState.SKIPPED, DeliveryReason.NO_ADDRESS),  # landline
        phones["neighbour"].pk: (DeliveryState.SKIPPED, DeliveryReason.NO_ADDRESS),
    }
    assert len(queued_delivery_jobs()) == 1  # a procrastinate job, after the commit
    run_delivery_jobs()

    assert aliyun.problems == []
    [request] = aliyun.requests
    assert dict(request.query)["PhoneNumbers"] == LEADER_PHONE
    delivery = _leader_delivery(phones, incident)
    assert (delivery.state, delivery.attempts, delivery.provider_id) == (
        DeliveryState.SENT,
        1,
        "90061974693649840001",
    )
    assert delivery.address == LEADER_PHONE
    assert queued_delivery_jobs() == []


def test_a_failed_send_is_retried_and_the_case_shows_the_attempts(
    aliyun, phones, client, django_capture_on_commit_callbacks
):
    aliyun.script = [
        (
            500,
            {
                "Code": "InternalError",
                "Message": "The request processing has failed due to some unknown error.",
            },
        )
    ]
    incident = _report(phones, django_capture_on_commit_callbacks)

    assert run_delivery_jobs() == {_leader_delivery(phones, incident).pk: "retry"}
    delivery = _leader_delivery(phones, incident)
    assert (delivery.state, delivery.attempts, delivery.last_error) == (
        DeliveryState.QUEUED,
        1,
        "HTTP 500",
    )
    page = _case_rows(client, phones, incident)
    assert 'data-channel="sms_aliyun" data-state="queued" data-attempts="1"' in page
    assert "HTTP 500" in page
    # procrastinate retries it, later each time (exponential backoff), up to MAX_RETRIES.
    first, second = _retry_decision(RetryLater(), 0), _retry_decision(RetryLater(), 1)
    assert first and second and first.retry_at < second.retry_at
    assert _retry_decision(RetryLater(), MAX_RETRIES) is None
    assert _retry_decision(ValueError(), 0) is None

    run_delivery_jobs()  # the retry
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.SENT, 2, "")
    assert aliyun.problems == [] and len(aliyun.requests) == 2
    page = _case_rows(client, phones, incident)
    assert 'data-channel="sms_aliyun" data-state="sent" data-attempts="2"' in page
    # The case API answers the same states (for the phone), the person by role.
    api = client.get(reverse("incident-case", args=[incident.pk])).json()
    [leader] = [g for g in api["deliveries"] if g["name"] == people_name(phones["leader"])]
    [sms] = [d for d in leader["deliveries"] if d["channel"] == "sms_aliyun"]
    assert (sms["state"], sms["attempts"], sms["last_error"]) == ("sent", 2, "")
    assert sms["address"] == LEADER_PHONE  # the leader's own number, to the leader


def test_throttling_is_retried_a_wrong_number_is_not(
    aliyun, phones, django_capture_on_commit_callbacks
):
    aliyun.script = [
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"}),
        (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}),
    ]
    incident = _report(phones, django_capture_on_commit_callbacks)
    assert list(run_delivery_jobs().values()) == ["retry"]
    assert list(run_delivery_jobs().values()) == [DeliveryState.FAILED]
    delivery = _leader_delivery(phones, incident)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 2)
    assert delivery.last_error.startswith("isv.MOBILE_NUMBER_ILLEGAL")
    assert queued_delivery_jobs() == []


def test_a_wrong_secret_is_refused_by_the_fake_as_by_alibaba(
    aliyun, phones, settings, django_capture_on_commit_callbacks
):
    settings.ALIBABA_SMS_ACCESS_KEY_SECRET = "not-the-secret"
    incident = _report(phones, django_capture_on_commit_callbacks)
    run_delivery_jobs()
    assert aliyun.problems == ["signature does not match"]
    delivery = _leader_delivery(phones, incident)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error.startswith("SignatureDoesNotMatch")
    assert "not-the-secret" not in delivery.last_error


# --- Tencent Cloud SMS --------------------------------------------------------------------
def test_tencent_sends_a_tc3_signed_request_and_retries_a_rate_limit(
    tencent, phones, client, django_capture_on_commit_callbacks
):
    tencent.script = [
        (
            200,
            {
                "Response": {
                    "Error": {
                        "Code": "RequestLimitExceeded",
                        "Message": "请求的次数超过了频率限制。",
                    },
                    "RequestId": "r",
                }
            },
        )
    ]
    incident = _report(phones, django_capture_on_commit_callbacks)
    assert list(run_delivery_jobs().values()) == ["retry"]
    assert list(run_delivery_jobs().values()) == [DeliveryState.SENT]
    assert tencent.problems == []
    delivery = _leader_delivery(phones, incident)
    assert delivery.attempts == 2 and delivery.provider_id.startswith("5000:")
    import json

    body = json.loads(tencent.requests[-1].body)
    assert body["PhoneNumberSet"] == [f"+86{LEADER_PHONE}"]
    assert 'data-channel="sms_tencent" data-state="sent" data-attempts="2"' in _case_rows(
        client, phones, incident
    )


def test_tencent_wrong_key_fails_for_good(
    tencent, phones, settings, django_capture_on_commit_callbacks
):
    settings.TENCENT_SMS_SECRET_KEY = "wrong"
    incident = _report(phones, django_capture_on_commit_callbacks)
    run_delivery_jobs()
    assert tencent.problems == ["signature does not match"]
    delivery = _leader_delivery(phones, incident)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error.startswith("AuthFailure.SignatureFailure")


# --- WeChat Work ----------------------------------------------------------------------------
def test_wecom_gets_a_token_once_and_sends_to_the_user(
    wecom, phones, django_capture_on_commit_callbacks
):
    first = _report(phones, django_capture_on_commit_callbacks)
    second = _report(phones, django_capture_on_commit_callbacks)
    run_delivery_jobs()
    assert wecom.problems == []
    paths = [r.path for r in wecom.requests]
    assert paths == ["/cgi-bin/gettoken", "/cgi-bin/message/send", "/cgi-bin/message/send"]
    for incident in (first, second):
        delivery = _leader_delivery(phones, incident)
        assert delivery.state == DeliveryState.SENT and delivery.address == "WangWangGe"
    # Only the leader has a WeChat Work user id.
    assert Delivery.objects.filter(reason=DeliveryReason.NO_ADDRESS).count() == 4


def test_wecom_refreshes_an_expired_token_and_retries_system_busy(
    wecom, phones, django_capture_on_commit_callbacks
):
    wecom.script = [
        (200, {"errcode": 42001, "errmsg": "access_token expired"}),
        (200, {"errcode": -1, "errmsg": "system busy"}),
    ]
    incident = _report(phones, django_capture_on_commit_callbacks)
    assert list(run_delivery_jobs().values()) == ["retry"]  # expired -> new token -> busy
    assert len(wecom.tokens) == 2
    delivery = _leader_delivery(phones, incident)
    assert (delivery.state, delivery.last_error) == (
        DeliveryState.QUEUED,
        "errcode -1: system busy",
    )
    assert list(run_delivery_jobs().values()) == [DeliveryState.SENT]
    assert wecom.problems == []


def test_wecom_unknown_user_fails_without_retry(wecom, phones, django_capture_on_commit_callbacks):
    phones["leader"].wecom_userid = "NoSuchUser"
    phones["leader"].save()
    incident = _report(phones, django_capture_on_commit_callbacks)
    assert list(run_delivery_jobs().values()) == [DeliveryState.FAILED]
    assert _leader_delivery(phones, incident).last_error.startswith("errcode 81013")


# --- quiet hours, channels off --------------------------------------------------------------
def _quiet_now(settings) -> None:
    """Quiet hours from an hour ago to an hour from now (local time)."""
    now = timezone.localtime()
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)
    settings.GRIDMAP_QUIET_HOURS = (start.strftime("%H:%M"), end.strftime("%H:%M"))
    settings.GRIDMAP_QUIET_HOURS_TIME_ZONE = "Asia/Shanghai"


def test_quiet_hours_defer_a_blue_case_and_not_a_red_one(
    aliyun, phones, settings, django_capture_on_commit_callbacks
):
    _quiet_now(settings)
    settings.GRIDMAP_NOTIFICATION_CHANNELS = [
        "inbox.channels.EmailChannel",
        "inbox.channels.AliyunSmsChannel",
    ]
    blue = _report(phones, django_capture_on_commit_callbacks, severity="blue")
    red = _report(phones, django_capture_on_commit_callbacks, severity="red")

    sms = Delivery.objects.filter(notification__worker=phones["leader"], channel="sms_aliyun")
    blue_sms, red_sms = (
        sms.get(notification__subject_id=blue.pk),
        sms.get(notification__subject_id=red.pk),
    )
    assert (blue_sms.state, blue_sms.reason) == (DeliveryState.DEFERRED, DeliveryReason.QUIET_HOURS)
    assert blue_sms.not_before > timezone.now() + dt.timedelta(minutes=50)
    assert red_sms.state == DeliveryState.QUEUED
    # E-mail is not held back.
    email = Delivery.objects.get(
        notification__worker=phones["leader"], notification__subject_id=blue.pk, channel="email"
    )
    assert email.state == DeliveryState.QUEUED
    # The deferred one's job waits for the end of the quiet hours.
    jobs = {j["args"]["delivery_id"]: j["scheduled_at"] for j in queued_delivery_jobs()}
    assert jobs[blue_sms.pk] == blue_sms.not_before
    assert jobs[red_sms.pk] is None

    run_delivery_jobs_now = [j for j in queued_delivery_jobs() if j["scheduled_at"] is None]
    for job in run_delivery_jobs_now:
        tasks.deliver(**job["args"])
    red_sms.refresh_from_db()
    assert red_sms.state == DeliveryState.SENT
    assert [dict(r.query)["PhoneNumbers"] for r in aliyun.requests] == [LEADER_PHONE]


def test_without_credentials_the_channels_are_off_and_say_why(
    phones, settings, django_capture_on_commit_callbacks
):
    settings.ALIBABA_SMS_ACCESS_KEY_ID = ""
    incident = _report(phones, django_capture_on_commit_callbacks)
    rows = Delivery.objects.filter(
        notification__worker=phones["leader"], notification__subject_id=incident.pk
    )
    states = {d.channel: (d.state, d.reason) for d in rows}
    assert states == {
        "email": (DeliveryState.QUEUED, ""),
        "sms_aliyun": (DeliveryState.SKIPPED, DeliveryReason.CHANNEL_OFF),
        "sms_tencent": (DeliveryState.SKIPPED, DeliveryReason.CHANNEL_OFF),
        "wecom": (DeliveryState.SKIPPED, DeliveryReason.CHANNEL_OFF),
    }


def test_routed_only_person_without_entries_has_no_rows(people):
    # Nothing is recorded before notify.
    make_incident(people, [("leader", ROUTED, "grid_leader")])
    assert not Delivery.objects.exists()


# --- deliveries abandoned while sending -------------------------------------------------------
def test_a_delivery_abandoned_while_sending_is_tried_again_or_failed(
    aliyun, phones, django_capture_on_commit_callbacks
):
    """A worker that stops between calling the provider and recording its answer leaves the
    delivery ``sending``; the sweep queues it again (a new job) once STUCK_AFTER has passed,
    or marks it failed when no retry is left. A fresh ``sending`` one is left alone."""
    incident = _report(phones, django_capture_on_commit_callbacks)
    delivery = _leader_delivery(phones, incident)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SENDING, attempts=1)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'inbox.deliver'")

    assert tasks.sweep_stuck(timestamp=0) == {"queued_again": 0, "failed": 0}  # too recent
    later = timezone.now() + STUCK_AFTER + dt.timedelta(minutes=1)
    assert deliveries_sweep_stuck(later) == ([delivery.pk], [])
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == (DeliveryState.QUEUED, INTERRUPTED)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SENDING, updated_at=timezone.now() - STUCK_AFTER * 2
    )
    assert tasks.sweep_stuck(timestamp=0) == {"queued_again": 1, "failed": 0}
    assert [j["args"]["delivery_id"] for j in queued_delivery_jobs()] == [delivery.pk]
    run_delivery_jobs()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)

    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SENDING, attempts=MAX_RETRIES + 1
    )
    assert deliveries_sweep_stuck(later) == ([], [delivery.pk])
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
