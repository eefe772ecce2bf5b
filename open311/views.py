"""Open311 GeoReport v2 endpoints (``/open311/v2/``): thin views that parse the request,
call the selectors and services, and answer through ``open311.render`` in the format the
path ends with. Errors are the specification's error list with the HTTP status as ``code``.

Who may call what: the discovery document, the services and the service definitions are
public (the incident categories are no secret). Every request endpoint (POST and GET
``requests``, ``requests/<id>``, ``tokens/<token>``) needs an ``api_key`` (form field or
query parameter) and acts only inside the key's jurisdiction; GET answers never carry a
reporter's name, phone or e-mail.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from gridmap.middleware import MSG_NUL_BYTE

from . import errors as e
from . import render, selectors, services
from .errors import Open311Error, error
from .models import ApiKey

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-06T00:00:00+08:00"
ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,50})\](\[\])?$")
GET, POST = "GET", "POST"


def open311_view(*methods: str) -> Callable[[Callable[..., HttpResponse]], Any]:
    """Answer ``Open311Error`` as the error list, and other methods with 405."""

    def wrap(view: Callable[..., HttpResponse]) -> Any:
        @csrf_exempt  # a key in the form, never a cookie: no cross-site request to forge
        @wraps(view)
        def inner(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                text = gettext(e.MSG_METHOD) % {"method": request.method[:10]}
                response = render.errors(fmt, 405, [text])
                response["Allow"] = ", ".join(methods)
                return response
            try:
                return view(request, fmt, **kwargs)
            except Open311Error as refused:
                response = render.errors(fmt, refused.status, refused.messages)
                if refused.status == 429:
                    response["Retry-After"] = "60"
                return response

        return inner

    return wrap


def _params(request: HttpRequest) -> QueryDict:
    return request.POST if request.method == POST else request.GET


def _key_and_scope(request: HttpRequest) -> tuple[ApiKey, str]:
    params = _params(request)
    api_key = services.key_use(params.get("api_key", ""))
    jurisdiction = params.get("jurisdiction_id", "")
    prefix = selectors.scope_prefix(api_key, jurisdiction)
    if prefix is None:
        raise error(404, e.MSG_JURISDICTION, code=jurisdiction.strip()[:20])
    return api_key, prefix


# --- discovery and services -----------------------------------------------------------------
@open311_view(GET)
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri("/open311/v2/")
    return render.answer(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": "",
            "key_service": "",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@open311_view(GET)
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    rows = [selectors.service_row(c) for c in selectors.services()]
    return render.answer(fmt, "services", rows)


@open311_view(GET)
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = selectors.service(code)
    if category is None:
        raise error(404, e.MSG_SERVICE_NOT_FOUND, code=code[:50])
    return render.answer(fmt, "service_definition", selectors.service_definition(category))


# --- requests -------------------------------------------------------------------------------
def _request_input(params: QueryDict) -> services.RequestInput:
    if any("\x00" in v for values in params.lists() for v in values[1]):
        # PostgreSQL text cannot hold NUL: refused here, as the kernel refuses it elsewhere.
        raise Open311Error(400, gettext(MSG_NUL_BYTE))
    attributes = {}
    for name in params:
        match = ATTRIBUTE.match(name)
        if match:
            attributes[match[1]] = ",".join(v.strip() for v in params.getlist(name))
    fields = {
        f: params.get(f, "")
        for f in services.RequestInput.__dataclass_fields__
        if f != "attributes"
    }
    return services.RequestInput(**fields, attributes=attributes)


def _when(params: QueryDict, name: str) -> dt.datetime | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    value = parse_datetime(raw.replace(" ", "+"))  # a "+" sent unescaped arrives as " "
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise error(400, e.MSG_BAD_DATE, field=name)
        value = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _list(params: QueryDict, name: str) -> list[str]:
    return [p.strip() for p in params.get(name, "").split(",") if p.strip()]


@open311_view(GET, POST)
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    api_key, prefix = _key_and_scope(request)
    if request.method == POST:
        created = services.request_create(
            api_key=api_key, prefix=prefix, data=_request_input(request.POST)
        )
        row = {
            "service_request_id": str(created.incident_id),
            "token": str(created.token),
            "service_notice": "",
            "account_id": created.account_id,
        }
        return render.answer(fmt, "service_requests", [row], status=201)
    params = request.GET
    ids = _list(params, "service_request_id")
    if ids:
        if not all(i.isdigit() and len(i) < 19 for i in ids):
            raise error(400, e.MSG_BAD_ID)
        wanted = [int(i) for i in ids[: selectors.MAX_REQUESTS]]
        rows = selectors.requests_filtered(prefix, ids=wanted)
    else:
        statuses = _list(params, "status")
        if any(s not in ("open", "closed") for s in statuses):
            raise error(400, e.MSG_BAD_STATUS)
        start, end = _when(params, "start_date"), _when(params, "end_date")
        span = dt.timedelta(days=selectors.DEFAULT_DAYS)
        if start is None and end is None:
            start = timezone.now() - span
        elif start is not None and end is not None:
            if start > end:
                raise error(400, e.MSG_DATE_ORDER)
            if end - start > span:
                raise error(400, e.MSG_DATE_SPAN, days=selectors.DEFAULT_DAYS)
        elif start is not None:
            end = start + span
        else:
            start = end - span  # type: ignore[operator]
        rows = selectors.requests_filtered(
            prefix,
            service_codes=_list(params, "service_code"),
            start=start,
            end=end,
            statuses=statuses,
        )
    answer = [selectors.request_row(i, api_key) for i in rows]
    return render.answer(fmt, "service_requests", answer)


@open311_view(GET)
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    api_key, prefix = _key_and_scope(request)
    found = []
    if request_id.isdigit() and len(request_id) < 19:
        found = selectors.requests_filtered(prefix, ids=[int(request_id)])
    if not found:
        raise error(404, e.MSG_REQUEST_NOT_FOUND, id=request_id[:30])
    return render.answer(fmt, "service_requests", [selectors.request_row(found[0], api_key)])


@open311_view(GET)
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    _, prefix = _key_and_scope(request)
    try:
        found = selectors.request_by_token(prefix, uuid.UUID(token))
    except ValueError:
        found = None
    if found is None:
        raise error(404, e.MSG_TOKEN_NOT_FOUND, token=token[:40])
    row = {"service_request_id": str(found.incident_id), "token": str(found.token)}
    return render.answer(fmt, "service_requests", [row])
