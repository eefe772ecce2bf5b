"""API tokens that expire ``GRIDMAP_TOKEN_TTL_HOURS`` after they are issued (see
``gridmap.auth``). Kept apart from the views: DRF imports authentication classes while it
sets itself up."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

MSG_TOKEN_EXPIRED = gettext_noop("Your sign-in has expired: sign in again.")

DEFAULT_TOKEN_TTL_HOURS = 24 * 7


def token_ttl() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "GRIDMAP_TOKEN_TTL_HOURS", DEFAULT_TOKEN_TTL_HOURS))


def token_expired(token: Token, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) >= token.created + token_ttl()


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing a token older than the configured lifetime."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed(gettext(MSG_TOKEN_EXPIRED))
        return user, token
