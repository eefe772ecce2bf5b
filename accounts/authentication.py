"""API tokens of a login that must still change its one-time password are refused with a
message saying so (issue 12, item 1); otherwise ``gridmap.authentication``'s expiring tokens."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from gridmap.authentication import ExpiringTokenAuthentication

from .selectors import MSG_CHANGE_PASSWORD_FIRST, must_change_password


class FirstSignInTokenAuthentication(ExpiringTokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if must_change_password(user):
            raise AuthenticationFailed(gettext(MSG_CHANGE_PASSWORD_FIRST))
        return user, token
