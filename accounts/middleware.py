"""Who the session is (``CachedAuthentication``: Django's authentication middleware with the
login cached per session for a few seconds, issue 16 point 1), and a login with a one-time
password reaches nothing but the password change until it changes the password (issue 12,
item 1): pages redirect there, API calls with the session answer 403 with a message. Token
calls are refused by ``accounts.authentication``."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext

from .authentication import session_user
from .selectors import MSG_CHANGE_PASSWORD_FIRST, must_change_password

# What a login that must change its password may still reach.
ALLOWED_URL_NAMES = frozenset(
    {"password_change", "password_change_done", "login", "logout", "set_language"}
)


class CachedAuthentication(AuthenticationMiddleware):
    """``request.user`` as Django's middleware sets it, read through the per-process session
    cache of ``accounts.authentication.session_user``."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: session_user(request))


class ForcePasswordChange:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and must_change_password(user):
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in ALLOWED_URL_NAMES:
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": gettext(MSG_CHANGE_PASSWORD_FIRST)}, status=403)
                return redirect(reverse("password_change"))
        return self.get_response(request)
