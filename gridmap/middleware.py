"""Request checks every view relies on, before any view runs.

``RefuseNulBytes``: a NUL character (``%00``) in the path or the query string is never valid
here (no code, name or text holds one, and PostgreSQL text cannot store one), but unchecked it
reaches a query and the database refuses it with a server error. It is answered 400 once, for
every URL: ``{"detail": <message>}`` on ``/api/``, a plain-text page elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
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
