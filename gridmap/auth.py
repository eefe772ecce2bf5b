"""Logins that resist guessing and tokens that expire.

- **Lockout** (django-axes): after ``AXES_FAILURE_LIMIT`` wrong passwords for one username,
  or from one address, that username or address is locked out of the login page, the admin
  login and the token endpoint alike for ``AXES_COOLOFF_TIME``. The answer is a 429 with a
  message in the reader's language (``lockout_response``): JSON on ``/api/`` paths, a page
  otherwise. An administrator unlocks early with ``manage.py axes_reset_username NAME`` or
  ``axes_reset_ip ADDRESS`` (docs/deployment.md).
- **Tokens expire** ``GRIDMAP_TOKEN_TTL_HOURS`` after they were issued
  (``ExpiringTokenAuthentication``); asking ``/api/auth/token/`` again after that issues a new
  one (``ObtainExpiringAuthToken``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext, gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from .authentication import token_expired

MSG_LOCKED_OUT = gettext_noop(
    "Too many wrong passwords: this account or this address is locked for %(minutes)s "
    "minutes. Try again later, or ask your administrator to unlock it."
)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class ObtainExpiringAuthToken(ObtainAuthToken):
    """``POST /api/auth/token/``: the user's token, a new one when the old one has expired."""

    # DRF's token view names its own parsers; this one takes the API's (JSON within limits).
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    def get_serializer_context(self) -> dict[str, Any]:
        # Authenticate with Django's request, not DRF's wrapper: django-axes marks a lockout
        # on the request it is given, and its middleware reads it from Django's.
        return {**super().get_serializer_context(), "request": self.request._request}

    # No login needed (``auth=[]``); a lockout answers 429 (gridmap.schema documents the
    # other errors of every operation).
    @extend_schema(auth=[], responses={200: TokenSerializer, 429: OpenApiTypes.OBJECT})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _created = Token.objects.get_or_create(user=user)
        if token_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        return Response({"token": token.key})


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The answer to a locked-out login (django-axes' ``AXES_LOCKOUT_CALLABLE``)."""
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = int(cooloff.total_seconds() // 60) if isinstance(cooloff, dt.timedelta) else 0
    message = gettext(MSG_LOCKED_OUT) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return HttpResponse(
        f"<!doctype html><title>429</title><p>{escape(message)}</p>",
        status=429,
        content_type="text/html; charset=utf-8",
    )
