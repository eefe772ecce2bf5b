"""Request checks every view relies on, before any view runs.

``RefuseNulBytes``: a NUL character (``%00``) in the path or the query string is never valid
here (no code, name or text holds one, and PostgreSQL text cannot store one), but unchecked it
reaches a query and the database refuses it with a server error. It is answered 400 once, for
every URL: ``{"detail": <message>}`` on ``/api/``, a plain-text page elsewhere.

``ContentSecurityPolicy``: django-csp's middleware, with the header of an answer that needs
nothing of its own (no nonce drawn, no per-view policy) built once per process instead of on
every answer (``build_policy`` cost about 85 µs an answer: a tenth of the point lookup's own
Python). Answers that draw a nonce (django-leaflet's inline script) go through django-csp as
before. It reads the names django-csp's decorators set on an answer (``_PER_ANSWER``, as of
django-csp 4.0, which requirements.lock pins): ``tests/security/test_csp.py`` compares its
header with django-csp's own, so an upgrade that adds one shows there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import unquote_plus

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# Also for NUL in a JSON body (gridmap.parsers) and in a form field (gridmap.api.object_body).
MSG_NUL_BYTE = gettext_noop(
    "The request contains a NUL character, which is never valid here. Remove it and try again."
)

API_PREFIX = "/api/"


def is_api_path(request: HttpRequest) -> bool:
    """Whether the request is for the API (answered in JSON) rather than a page."""
    return request.path_info.startswith(API_PREFIX)


def error_response(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    """An error as the API answers it (``{"detail"}``) or as a plain-text page."""
    if is_api_path(request):
        return JsonResponse({"detail": message}, status=status)
    response = HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
    response.status_code = status
    return response


def has_nul_byte(request: HttpRequest) -> bool:
    """A NUL in the (decoded) path or query string; ``%2500`` is the text "%00", not one."""
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in request.path_info or "\x00" in query or "\x00" in unquote_plus(query)


class RefuseNulBytes:
    """400 for a request with a NUL byte in its path or query (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if has_nul_byte(request):
            return error_response(request, _(MSG_NUL_BYTE), status=400)
        return self.get_response(request)


# What a view sets on its answer to change its policy (django-csp's decorators).
_PER_ANSWER = (
    "_csp_exempt",
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt_ro",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
# The header that every plain answer gets, under "policy" once built ("": the settings ask
# for a report-only header or excluded prefixes, so every answer goes through django-csp).
_plain_policy: dict[str, str] = {}


@receiver(setting_changed)
def _forget_policy(setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY") or setting == "DEBUG":
        _plain_policy.clear()


class ContentSecurityPolicy(CSPMiddleware):
    """django-csp's ``CSPMiddleware``; a plain answer's header built once (module docstring)."""

    def _plain(self, request: HttpRequest, response: HttpResponseBase) -> str:
        policy = _plain_policy.get("policy")
        if policy is None:
            simple = not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) and not (
                getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
            ).get("EXCLUDE_URL_PREFIXES")
            parts = self.get_policy_parts(request=request, response=response)
            policy = build_policy(**asdict(parts)) if simple else ""
            _plain_policy["policy"] = policy
        return policy

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        plain = (
            getattr(request, "_csp_nonce", None) is None
            and HEADER not in response
            and not (settings.DEBUG and response.status_code in (404, 500))
            and not any(hasattr(response, name) for name in _PER_ANSWER)
        )
        policy = self._plain(request, response) if plain else ""
        if not policy:
            return super().process_response(request, response)
        response[HEADER] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
