"""Notifications reach phones (issue 12, item 3), seen on the case page on a phone: the
messages about a case were sent in the background through local fake SMS and WeChat Work
servers (tests/inbox/fakes.py), one after a retry, one refused; the grid leader opens the
case at 390x844 and reads each delivery's state and attempts, as text. Screenshot:
docs/screenshots/case-deliveries.png. Uses the committed case of ``test_case_loop``.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE
from tests.browser.screens import SCREENSHOTS
from tests.browser.test_case_loop import LEADER, committed, log_in_at, loop  # noqa: F401
from tests.inbox.fakes import FakeAliyun, FakeWeCom, serve
from tests.inbox.jobs import run_delivery_jobs

pytestmark = [pytest.mark.browser]


def test_the_case_shows_each_messages_delivery_on_a_phone(new_page, loop, settings):  # noqa: F811
    from django.core.cache import cache

    from inbox.models import Delivery
    from incidents.notifications import notify_incident

    incident, leader = loop["incident"], loop["leader"]
    sms, wecom = FakeAliyun(), FakeWeCom(known_users={"nobody"})
    servers = [serve(sms), serve(wecom)]
    try:
        settings.GRIDMAP_NOTIFICATION_CHANNELS = [
            "inbox.channels.EmailChannel",
            "inbox.channels.AliyunSmsChannel",
            "inbox.channels.WeComChannel",
        ]
        settings.ALIBABA_SMS_ACCESS_KEY_ID = sms.key_id
        settings.ALIBABA_SMS_ACCESS_KEY_SECRET = sms.secret
        settings.ALIBABA_SMS_SIGN_NAME = sms.sign_name
        settings.ALIBABA_SMS_TEMPLATE_CODE = sms.template
        settings.ALIBABA_SMS_ENDPOINT = sms.url + "/"
        settings.WECOM_CORP_ID, settings.WECOM_CORP_SECRET = wecom.corp_id, wecom.secret
        settings.WECOM_AGENT_ID, settings.WECOM_ENDPOINT = str(wecom.agent_id), wecom.url
        cache.clear()
        leader.wecom_userid = "leader-wecom"
        leader.save(update_fields=["wecom_userid"])
        sms.script = [(500, {"Code": "InternalError", "Message": "unknown error"})]
        notifications = notify_incident(incident)  # autocommit: the jobs are queued now
        run_delivery_jobs()
        run_delivery_jobs()  # the retry
        assert sms.problems == [] and wecom.problems == []
        mine = Delivery.objects.filter(notification__in=notifications)
        leaders = {d.channel: d for d in mine.filter(notification__worker=leader)}
        assert (leaders["sms_aliyun"].state, leaders["sms_aliyun"].attempts) == ("sent", 2)
        assert leaders["wecom"].state == "failed"
    finally:
        for server in servers:
            server.shutdown()
        leader.wecom_userid = ""
        leader.save(update_fields=["wecom_userid"])

    page, log = new_page(PHONE, is_mobile=True, has_touch=True, timezone_id="Asia/Shanghai")
    log_in_at(page, f"/cases/{incident.pk}/", LEADER)
    rows = page.locator("[data-deliveries] [data-delivery]")
    assert rows.count() >= 3
    sms_row = page.locator(
        '[data-deliveries] [data-delivery][data-channel="sms_aliyun"][data-state="sent"]'
        '[data-attempts="2"]'
    )
    assert sms_row.count() >= 1
    assert "errcode 81013" in page.inner_text("[data-deliveries]")
    # Text, not markup: no element inside the error line.
    assert page.locator("[data-last-error] *").count() == 0
    # The phone's view from the leader's latest message down (under the page's sticky header).
    latest = page.locator("[data-delivery-message]", has=page.locator('[data-state="failed"]'))
    latest.first.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 80)")
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / "case-deliveries.png"))
    assert log.errors == [] and log.failed == []
