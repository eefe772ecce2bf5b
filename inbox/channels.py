"""Outbound notification channels: e-mail, SMS (Alibaba Cloud, Tencent Cloud), WeChat Work.

A channel gets the inbox entries just created and delivers them elsewhere. Channels are listed
by dotted path in ``settings.GRIDMAP_NOTIFICATION_CHANNELS``; ``inbox.services`` loads them.

A channel with a ``name`` keeps **delivery records** (``inbox.models.Delivery``): one row per
entry, created with the entry, and a background task (``inbox.tasks.deliver``, procrastinate)
that calls ``deliver`` for it, retrying transient failures with exponential backoff. Such a
channel says where a worker is reached (``address``), whether it is configured
(``off_because``: the first missing setting) and whether quiet hours hold it back. A channel
without a name (an old one, or a test's) gets the entries in one ``send`` call after commit.

The SMS and WeChat Work adapters speak the providers' documented HTTP APIs with their request
signing written out here (no vendor SDK): the signatures are checked against the providers'
published worked examples in tests/inbox/test_signatures.py. Credentials come from the
environment (docs/deployment.md, "Notifications reach phones"); base URLs are settings, so the
tests point them at local fake servers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage, send_mass_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from gridmap.messages import render_message
from grids.models import Worker

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from .models import Notification

logger = logging.getLogger(__name__)

MSG_EMAIL_SUBJECT = gettext_noop("[gridmap] %(message)s")
MSG_EMAIL_OPEN = gettext_noop("Open: %(url)s")
MSG_EMAIL_FOOTER = gettext_noop(
    "You receive this because you hold a role in this place on the grid-management platform."
)
MSG_NOT_SET = gettext_noop("%(name)s not set")

# Seconds to wait for a provider before the attempt counts as failed (and is retried).
HTTP_TIMEOUT = 10
# An SMS template variable holds at most this many characters (Alibaba Cloud's limit for a
# variable of the "other" kind; Tencent's is larger): the message is cut to fit.
SMS_TEXT_MAX = 35
ERROR_MAX = 200


class SendError(Exception):
    """A send that failed. ``retry``: worth trying again later (a timeout, an HTTP 5xx, the
    provider busy or throttling); otherwise it fails for good (a wrong number, a rejected
    signature). The message is short and holds no secret: it is shown on the case."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message[:ERROR_MAX])
        self.retry = retry


class Channel:
    """Base class of an outbound channel."""

    #: A channel with a name keeps delivery records and sends in the background, one entry at
    #: a time (``address`` and ``deliver``); without one, ``send`` gets the entries at once.
    name: str = ""
    label: str | Promise = ""
    #: SMS and WeChat Work wait for the end of the quiet hours, except for urgent entries.
    quiet_hours: bool = False
    #: The settings (named as their environment variables) without which the channel is off.
    required_settings: tuple[str, ...] = ()

    def send(self, notifications: list[Notification]) -> None:
        raise NotImplementedError

    def off_because(self) -> str:
        """Why the channel is off ("" when it is on): the first required setting not set."""
        for setting in self.required_settings:
            if not str(getattr(settings, setting, "") or "").strip():
                return _(MSG_NOT_SET) % {"name": setting}
        return ""

    def address(self, worker: Worker) -> str:
        """Where the worker is reached on this channel ("" for nowhere)."""
        raise NotImplementedError

    def deliver(self, notification: Notification, address: str) -> str:
        """Send one entry to ``address``; return the provider's message id ("" if none).
        Raises ``SendError``."""
        raise NotImplementedError


def notification_url(notification: Notification) -> str:
    """The entry's link, absolute when ``settings.GRIDMAP_SITE_URL`` (optional, e.g.
    ``https://grid.example``) is set, otherwise a path."""
    base = getattr(settings, "GRIDMAP_SITE_URL", "").rstrip("/")
    return base + notification.link


def message_text(notification: Notification) -> str:
    """The entry's message in the site's default language (zh-hans), whatever is active."""
    with translation.override(settings.LANGUAGE_CODE):
        return " ".join(render_message(notification.message).split())


def mobile_number(phone: str) -> str:
    """A mainland mobile number as its 11 digits ("" when it is not one): a landline or an
    extension cannot take an SMS."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else ""


def _post_or_get(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One HTTP request; a network failure or a 5xx is a ``SendError`` to retry."""
    try:
        response = requests.request(method, url, timeout=HTTP_TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise SendError(f"network: {type(exc).__name__}", retry=True) from None
    if response.status_code >= 500:
        raise SendError(f"HTTP {response.status_code}", retry=True)
    return response


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise SendError(f"HTTP {response.status_code}: not JSON", retry=False) from None
    if not isinstance(body, dict):
        raise SendError(f"HTTP {response.status_code}: unexpected answer", retry=False)
    return body


# --- e-mail -----------------------------------------------------------------------------------
class EmailChannel(Channel):
    """Email through Django's email backend, in the site's default language (zh-hans)."""

    name = "email"
    label = gettext_lazy("e-mail")

    def address(self, worker: Worker) -> str:
        return worker.email

    def deliver(self, notification: Notification, address: str) -> str:
        subject, body = self.render(notification)
        try:
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]).send()
        except OSError as exc:  # SMTP refused or unreachable: try again later
            raise SendError(f"SMTP: {type(exc).__name__}", retry=True) from None
        return ""

    def send(self, notifications: list[Notification]) -> None:
        """All at once over one connection, without delivery records (one query for the
        addresses; workers without an email are skipped)."""
        if not notifications:
            return
        emails = dict(
            Worker.objects.filter(pk__in={n.worker_id for n in notifications})
            .exclude(email="")
            .values_list("pk", "email")
        )
        messages = [
            (*self.render(n), settings.DEFAULT_FROM_EMAIL, [emails[n.worker_id]])
            for n in notifications
            if n.worker_id in emails
        ]
        if messages:
            send_mass_mail(messages, fail_silently=False)

    def render(self, notification: Notification) -> tuple[str, str]:
        """Subject and body in the default language, whatever language is active now."""
        with translation.override(settings.LANGUAGE_CODE):
            text = render_message(notification.message)
            subject = _(MSG_EMAIL_SUBJECT) % {"message": text}
            lines = [text, ""]
            if notification.detail:
                lines += [notification.detail, ""]
            lines += [_(MSG_EMAIL_OPEN) % {"url": notification_url(notification)}, ""]
            lines.append(_(MSG_EMAIL_FOOTER))
        # Header injection guard: a subject is one line.
        return " ".join(subject.split()), "\n".join(lines)


# --- Alibaba Cloud SMS ------------------------------------------------------------------------
# SendSms of dysmsapi (RPC style, API version 2017-05-25), signed as the "RPC API signature"
# (V2 RPC 签名机制) documentation says: the parameters sorted by name, each name and value
# percent-encoded (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are, a space is %20), joined
# with & and = into the canonicalized query string; StringToSign = "GET&%2F&" +
# percentEncode(canonicalized); Signature = Base64(HMAC-SHA1(AccessKeySecret + "&",
# StringToSign)), sent as the Signature parameter. The SMS product's own page ("HTTP协议及签名",
# help.aliyun.com/document_detail/56189) works the same example through for SendSms.
def aliyun_percent_encode(value: str) -> str:
    return quote(str(value), safe="~")


def aliyun_canonicalized_query(params: dict[str, str]) -> str:
    return "&".join(
        f"{aliyun_percent_encode(k)}={aliyun_percent_encode(v)}" for k, v in sorted(params.items())
    )


def aliyun_string_to_sign(method: str, params: dict[str, str]) -> str:
    return (
        f"{method}&{aliyun_percent_encode('/')}&"
        f"{aliyun_percent_encode(aliyun_canonicalized_query(params))}"
    )


def aliyun_signature(method: str, params: dict[str, str], secret: str) -> str:
    digest = hmac.new(
        f"{secret}&".encode(), aliyun_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


# Error codes worth another try later (throttling, the service busy); every other code fails
# for good (isv.MOBILE_NUMBER_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL, SignatureDoesNotMatch, ...).
ALIYUN_RETRY_CODES = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "ServiceUnavailable",
    "InternalError",
}


class AliyunSmsChannel(Channel):
    name = "sms_aliyun"
    label = gettext_lazy("SMS (Alibaba Cloud)")
    quiet_hours = True
    required_settings = (
        "ALIBABA_SMS_ACCESS_KEY_ID",
        "ALIBABA_SMS_ACCESS_KEY_SECRET",
        "ALIBABA_SMS_SIGN_NAME",
        "ALIBABA_SMS_TEMPLATE_CODE",
    )

    def address(self, worker: Worker) -> str:
        return mobile_number(worker.phone)

    def request_params(
        self, notification: Notification, phone: str, *, nonce: str, timestamp: str
    ) -> dict[str, str]:
        return {
            "AccessKeyId": settings.ALIBABA_SMS_ACCESS_KEY_ID,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": str(notification.pk),
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": settings.ALIBABA_SMS_SIGN_NAME,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": settings.ALIBABA_SMS_TEMPLATE_CODE,
            "TemplateParam": json.dumps(
                {"text": message_text(notification)[:SMS_TEXT_MAX]}, ensure_ascii=False
            ),
            "Timestamp": timestamp,
            "Version": "2017-05-25",
        }

    def deliver(self, notification: Notification, address: str) -> str:
        params = self.request_params(
            notification,
            address,
            nonce=uuid.uuid4().hex,
            timestamp=timezone.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        signature = aliyun_signature("GET", params, settings.ALIBABA_SMS_ACCESS_KEY_SECRET)
        query = f"Signature={aliyun_percent_encode(signature)}&{aliyun_canonicalized_query(params)}"
        response = _post_or_get("GET", f"{settings.ALIBABA_SMS_ENDPOINT.rstrip('/')}/?{query}")
        body = _json(response)
        code = str(body.get("Code", ""))
        if code == "OK":
            return str(body.get("BizId", ""))
        message = f"{code}: {body.get('Message', '')}" if code else f"HTTP {response.status_code}"
        raise SendError(message, retry=code in ALIYUN_RETRY_CODES)


# --- Tencent Cloud SMS ------------------------------------------------------------------------
# SendSms of sms.tencentcloudapi.com (API version 2021-01-11), signed with TC3-HMAC-SHA256 as
# Tencent Cloud's "签名方法 v3" (Signature v3) documentation says:
#   CanonicalRequest = Method \n "/" \n "" \n CanonicalHeaders \n SignedHeaders \n
#                      hex(SHA256(payload))
#   CanonicalHeaders = "content-type:application/json; charset=utf-8\nhost:<host>\n"
#   StringToSign = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n
#                  hex(SHA256(CanonicalRequest))       (Date: the UTC date of Timestamp)
#   SecretSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), service), "tc3_request")
#   Signature = hex(HMAC(SecretSigning, StringToSign))
#   Authorization = "TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=content-type;
#                   host, Signature=<Signature>"
TENCENT_CONTENT_TYPE = "application/json; charset=utf-8"


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    timestamp: int,
    payload: bytes,
    content_type: str = TENCENT_CONTENT_TYPE,
) -> str:
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            signed_headers,
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing = sign(sign(sign(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(signing, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def _tencent_retry(code: str) -> bool:
    return code.startswith(("InternalError", "RequestLimitExceeded")) or code in {
        "FailedOperation.InsufficientBalanceInSmsPackage",  # topped up later, then it goes
    }


class TencentSmsChannel(Channel):
    name = "sms_tencent"
    label = gettext_lazy("SMS (Tencent Cloud)")
    quiet_hours = True
    required_settings = (
        "TENCENT_SMS_SECRET_ID",
        "TENCENT_SMS_SECRET_KEY",
        "TENCENT_SMS_SDK_APP_ID",
        "TENCENT_SMS_SIGN_NAME",
        "TENCENT_SMS_TEMPLATE_ID",
    )

    def address(self, worker: Worker) -> str:
        return mobile_number(worker.phone)

    def payload(self, notification: Notification, phone: str) -> dict[str, Any]:
        return {
            "PhoneNumberSet": [f"+86{phone}"],
            "SmsSdkAppId": settings.TENCENT_SMS_SDK_APP_ID,
            "SignName": settings.TENCENT_SMS_SIGN_NAME,
            "TemplateId": settings.TENCENT_SMS_TEMPLATE_ID,
            "TemplateParamSet": [message_text(notification)[:SMS_TEXT_MAX]],
            "SessionContext": str(notification.pk),
        }

    def deliver(self, notification: Notification, address: str) -> str:
        endpoint = settings.TENCENT_SMS_ENDPOINT
        host = urlsplit(endpoint).netloc
        body = json.dumps(self.payload(notification, address), ensure_ascii=False).encode()
        timestamp = int(timezone.now().timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=settings.TENCENT_SMS_SECRET_ID,
                secret_key=settings.TENCENT_SMS_SECRET_KEY,
                service="sms",
                host=host,
                timestamp=timestamp,
                payload=body,
            ),
            "Content-Type": TENCENT_CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": settings.TENCENT_SMS_REGION,
        }
        response = _post_or_get("POST", endpoint, data=body, headers=headers)
        answer = _json(response).get("Response") or {}
        error = answer.get("Error")
        if error:
            code = str(error.get("Code", ""))
            raise SendError(f"{code}: {error.get('Message', '')}", retry=_tencent_retry(code))
        statuses = answer.get("SendStatusSet") or [{}]
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code == "Ok":
            return str(status.get("SerialNo", ""))
        raise SendError(f"{code}: {status.get('Message', '')}", retry=_tencent_retry(code))


# --- WeChat Work (企业微信) application messages ------------------------------------------------
# "获取access_token": GET /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET answers
# {"errcode": 0, "access_token": ..., "expires_in": 7200}; the token is kept (the cache) until
# shortly before it expires and fetched again when a send says it is invalid (40014) or
# expired (42001). "发送应用消息": POST /cgi-bin/message/send?access_token=TOKEN with
# {"touser", "msgtype": "text", "agentid", "text": {"content"}}; errcode 0 is sent (msgid),
# -1 (system busy) is retried later, every other code (an unknown user, 81013) fails for good.
WECOM_TOKEN_EXPIRED = {40014, 42001}
WECOM_BUSY = -1


class WeComChannel(Channel):
    name = "wecom"
    label = gettext_lazy("WeChat Work")
    quiet_hours = True
    required_settings = ("WECOM_CORP_ID", "WECOM_CORP_SECRET", "WECOM_AGENT_ID")

    def address(self, worker: Worker) -> str:
        return worker.wecom_userid.strip()

    def _url(self, path: str) -> str:
        return settings.WECOM_ENDPOINT.rstrip("/") + path

    def _cache_key(self) -> str:
        return f"wecom-token:{settings.WECOM_CORP_ID}:{settings.WECOM_AGENT_ID}"

    def access_token(self, *, fresh: bool = False) -> str:
        key = self._cache_key()
        token = None if fresh else cache.get(key)
        if token:
            return str(token)
        response = _post_or_get(
            "GET",
            self._url("/cgi-bin/gettoken"),
            params={"corpid": settings.WECOM_CORP_ID, "corpsecret": settings.WECOM_CORP_SECRET},
        )
        body = _json(response)
        errcode = int(body.get("errcode", 0) or 0)
        if errcode or not body.get("access_token"):
            raise SendError(
                f"gettoken errcode {errcode}: {body.get('errmsg', '')}",
                retry=errcode == WECOM_BUSY,
            )
        token = str(body["access_token"])
        expires_in = int(body.get("expires_in", 7200) or 7200)
        cache.set(key, token, timeout=max(expires_in - 300, 60))
        return token

    def text(self, notification: Notification) -> str:
        lines = [message_text(notification)]
        if notification.detail:
            lines.append(notification.detail)
        lines.append(notification_url(notification))
        return "\n".join(lines)

    def deliver(self, notification: Notification, address: str) -> str:
        message = {
            "touser": address,
            "msgtype": "text",
            "agentid": int(settings.WECOM_AGENT_ID),
            "text": {"content": self.text(notification)},
        }
        for fresh in (False, True):
            response = _post_or_get(
                "POST",
                self._url("/cgi-bin/message/send"),
                params={"access_token": self.access_token(fresh=fresh)},
                json=message,
            )
            body = _json(response)
            errcode = int(body.get("errcode", 0) or 0)
            if errcode in WECOM_TOKEN_EXPIRED and not fresh:
                continue
            if errcode:
                raise SendError(
                    f"errcode {errcode}: {body.get('errmsg', '')}", retry=errcode == WECOM_BUSY
                )
            if body.get("invaliduser"):
                raise SendError("invalid user", retry=False)
            return str(body.get("msgid", ""))
        raise SendError("access token refused twice", retry=True)  # pragma: no cover
