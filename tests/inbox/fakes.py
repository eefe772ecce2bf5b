"""Local fake servers of the providers: real HTTP servers on 127.0.0.1, each in a thread, that
check every request as the provider's documentation specifies (method, path, query, headers,
body and the signature, recomputed here independently from the raw request, not with the code
under test) and answer as the provider does (bodies from the documentation).

A request the fake finds wrong is answered with the provider's own error and recorded in
``problems``; the tests assert that list empty. ``script`` holds the answers to give first
(an HTTP 500, a throttling code) before the normal one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeProvider:
    """Subclasses implement ``answer(seen) -> (status, json body)``."""

    requests: list[Seen] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # (status, body) answers given first, in order, to requests that pass the checks.
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    url: str = ""

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def handle(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        self.requests.append(seen)
        return self.answer(seen)

    def scripted(self) -> tuple[int, dict[str, Any]] | None:
        return self.script.pop(0) if self.script else None


def serve(provider: FakeProvider) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                method=self.command,
                path=parts.path,
                query=parse_qsl(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            status, body = provider.handle(seen)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _any

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


# --- Alibaba Cloud SMS --------------------------------------------------------------------------
# "V2 RPC 风格请求体 & 签名机制" (RPC API signature): every parameter but Signature, sorted by
# name, name and value percent-encoded in UTF-8 with only A-Z a-z 0-9 - _ . ~ unreserved;
# StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalized);
# Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)). The SMS API "SendSms"
# (version 2017-05-25) answers {"Code": "OK", "BizId", "RequestId", "Message": "OK"}; a wrong
# signature answers HTTP 400 with Code "SignatureDoesNotMatch".
def percent_encode(text: str) -> str:
    return "".join(
        chr(byte) if byte in UNRESERVED else f"%{byte:02X}" for byte in text.encode("utf-8")
    )


def aliyun_rpc_signature(secret: str, method: str, params: dict[str, str]) -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class FakeAliyun(FakeProvider):
    key_id: str = "LTAI-test-id"
    secret: str = "aliyun-test-secret"
    sign_name: str = "网格通知"
    template: str = "SMS_123456789"

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        params = dict(seen.query)
        if seen.method != "GET" or seen.path != "/":
            self.problem(f"{seen.method} {seen.path}")
            return 404, {"Code": "InvalidAction.NotFound"}
        if len(params) != len(seen.query):
            self.problem("a parameter twice")
        signature = params.pop("Signature", "")
        expected = {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "Format": "JSON",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "AccessKeyId": self.key_id,
            "SignName": self.sign_name,
            "TemplateCode": self.template,
            "RegionId": "cn-hangzhou",
        }
        for name, value in expected.items():
            if params.get(name) != value:
                self.problem(f"{name}={params.get(name)!r}, expected {value!r}")
        if not params.get("PhoneNumbers", "").isdigit() or len(params["PhoneNumbers"]) != 11:
            self.problem(f"PhoneNumbers={params.get('PhoneNumbers')!r}")
        try:
            template_param = json.loads(params.get("TemplateParam", ""))
            if not template_param.get("text"):
                self.problem("TemplateParam without text")
        except ValueError:
            self.problem("TemplateParam is not JSON")
        try:
            stamp = dt.datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
            if abs(stamp.replace(tzinfo=dt.UTC).timestamp() - time.time()) > 15 * 60:
                self.problem("Timestamp more than 15 minutes off")
        except ValueError:
            self.problem(f"Timestamp={params.get('Timestamp')!r} is not ISO 8601 UTC")
        if not params.get("SignatureNonce"):
            self.problem("no SignatureNonce")
        if signature != aliyun_rpc_signature(self.secret, "GET", params):
            self.problem("signature does not match")
            return 400, {
                "RequestId": "fake",
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature is not matched with our calculation.",
            }
        scripted = self.scripted()
        if scripted:
            return scripted
        return 200, {
            "Message": "OK",
            "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
            "Code": "OK",
            "BizId": f"9006197469364984{len(self.requests):04d}",
        }


# --- Tencent Cloud SMS --------------------------------------------------------------------------
# "签名方法 v3" (Signature v3, TC3-HMAC-SHA256): CanonicalRequest = method, "/", query ("" for a
# POST), the signed headers as "name:value\n" (lower case, sorted), the signed header names
# joined by ";", hex SHA-256 of the body; StringToSign = "TC3-HMAC-SHA256", X-TC-Timestamp,
# "<UTC date>/<service>/tc3_request", hex SHA-256 of CanonicalRequest; the key is derived
# HMAC-SHA256("TC3" + SecretKey, date) -> service -> "tc3_request". The SMS API "SendSms"
# (version 2021-01-11) answers {"Response": {"SendStatusSet": [{"SerialNo", "Code": "Ok",
# ...}], "RequestId"}} or {"Response": {"Error": {"Code", "Message"}, "RequestId"}}.
def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeTencent(FakeProvider):
    secret_id: str = "AKID-test-id"
    secret_key: str = "tencent-test-key"
    app_id: str = "1400000000"
    sign_name: str = "网格通知"
    template: str = "1234567"
    region: str = "ap-guangzhou"

    def error(self, code: str, message: str) -> tuple[int, dict[str, Any]]:
        return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "r"}}

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        h = seen.headers
        if seen.method != "POST" or seen.path != "/" or seen.query:
            self.problem(f"{seen.method} {seen.path} {seen.query}")
        for name, value in {
            "content-type": "application/json; charset=utf-8",
            "x-tc-action": "SendSms",
            "x-tc-version": "2021-01-11",
            "x-tc-region": self.region,
            "host": self.url.removeprefix("http://"),
        }.items():
            if h.get(name) != value:
                self.problem(f"header {name}={h.get(name)!r}, expected {value!r}")
        timestamp = h.get("x-tc-timestamp", "")
        if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > 300:
            return self.error("AuthFailure.SignatureExpire", "Signature expired.")
        date = dt.datetime.fromtimestamp(int(timestamp), dt.UTC).strftime("%Y-%m-%d")
        auth = h.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        scope = f"{date}/sms/tc3_request"
        if (
            algorithm != "TC3-HMAC-SHA256"
            or fields.get("Credential") != f"{self.secret_id}/{scope}"
        ):
            self.problem(f"Authorization {algorithm} {fields.get('Credential')}")
        signed = fields.get("SignedHeaders", "").split(";")
        if "content-type" not in signed or "host" not in signed:
            self.problem(f"SignedHeaders {signed}")
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                "".join(f"{name}:{h.get(name, '').strip().lower()}\n" for name in signed),
                ";".join(signed),
                hashlib.sha256(seen.body).hexdigest(),
            ]
        )
        to_sign = "\n".join(
            ["TC3-HMAC-SHA256", timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        if fields.get("Signature") != tc3_signature(self.secret_key, date, "sms", to_sign):
            self.problem("signature does not match")
            return self.error("AuthFailure.SignatureFailure", "The provided credentials ...")
        try:
            body = json.loads(seen.body)
        except ValueError:
            self.problem("body is not JSON")
            return self.error("InvalidParameter", "body")
        for name, value in {
            "SmsSdkAppId": self.app_id,
            "SignName": self.sign_name,
            "TemplateId": self.template,
        }.items():
            if body.get(name) != value:
                self.problem(f"{name}={body.get(name)!r}")
        phones = body.get("PhoneNumberSet") or []
        if len(phones) != 1 or not phones[0].startswith("+86") or len(phones[0]) != 14:
            self.problem(f"PhoneNumberSet={phones}")
        if not body.get("TemplateParamSet"):
            self.problem("no TemplateParamSet")
        scripted = self.scripted()
        if scripted:
            return scripted
        return 200, {
            "Response": {
                "SendStatusSet": [
                    {
                        "SerialNo": f"5000:1045710669157053657849499619{len(self.requests)}",
                        "PhoneNumber": phones[0] if phones else "",
                        "Fee": 1,
                        "SessionContext": body.get("SessionContext", ""),
                        "Code": "Ok",
                        "Message": "send success",
                        "IsoCode": "CN",
                    }
                ],
                "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279",
            }
        }


# --- WeChat Work (企业微信) -----------------------------------------------------------------------
# "获取access_token": GET /cgi-bin/gettoken?corpid=&corpsecret= -> {"errcode": 0, "errmsg": "ok",
# "access_token", "expires_in": 7200}; wrong secret: errcode 40001. "发送应用消息": POST
# /cgi-bin/message/send?access_token= with JSON {"touser", "msgtype": "text", "agentid" (an
# integer), "text": {"content"}} -> {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid"};
# an expired token: errcode 42001, an invalid one 40014; system busy: -1.
@dataclass
class FakeWeCom(FakeProvider):
    corp_id: str = "ww-test-corp"
    secret: str = "wecom-test-secret"
    agent_id: int = 1000002
    tokens: list[str] = field(default_factory=list)
    known_users: set[str] = field(default_factory=lambda: {"WangWangGe"})

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        query = dict(seen.query)
        if seen.path == "/cgi-bin/gettoken":
            if seen.method != "GET":
                self.problem(f"gettoken by {seen.method}")
            if query != {"corpid": self.corp_id, "corpsecret": self.secret}:
                self.problem("gettoken with a wrong corpid or corpsecret")
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            self.tokens.append(f"token-{len(self.tokens) + 1}")
            return 200, {
                "errcode": 0,
                "errmsg": "ok",
                "access_token": self.tokens[-1],
                "expires_in": 7200,
            }
        if seen.path != "/cgi-bin/message/send" or seen.method != "POST":
            self.problem(f"{seen.method} {seen.path}")
            return 404, {}
        if not self.tokens or query.get("access_token") not in self.tokens:
            return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
        if not seen.headers.get("content-type", "").startswith("application/json"):
            self.problem(f"content-type {seen.headers.get('content-type')}")
        try:
            body = json.loads(seen.body)
        except ValueError:
            self.problem("body is not JSON")
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if body.get("msgtype") != "text" or body.get("agentid") != self.agent_id:
            self.problem(f"msgtype {body.get('msgtype')!r}, agentid {body.get('agentid')!r}")
        if not (body.get("text") or {}).get("content"):
            self.problem("no text.content")
        scripted = self.scripted()
        if scripted:
            return scripted
        if body.get("touser") not in self.known_users:
            return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
        return 200, {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "",
            "msgid": f"m{len(self.requests)}",
        }
