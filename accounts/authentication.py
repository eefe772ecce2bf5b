"""API tokens of a login that must still change its one-time password are refused with a
message saying so (issue 12, item 1); otherwise ``gridmap.authentication``'s expiring tokens.

Authenticated tokens and sessions are cached per process for ``GRIDMAP_AUTH_CACHE_SECONDS``
(issue 16, point 1): the login, its account and worker, its one-time-password mark and its
jurisdiction of today, keyed by the SHA-256 of the token or of the session key (the key itself
is not kept), so a phone's next calls cost no query for who it is and what it may see. Safe
because:

- every entry carries the cache's *version*; any save or delete of a token, login, account,
  one-time-password mark, worker, role assignment or catchment in this process, and the
  deletion of a session (a logout), bumps it (``accounts.apps``), so a revoked token, a
  logout or an ended role takes effect at once here;
- other processes (gunicorn's other workers) see such a change when the entry expires, at
  most ``GRIDMAP_AUTH_CACHE_SECONDS`` later, as do changes made without signals (bulk
  ``update()``, ``clearsessions``); the token's own lifetime (``token_expired``) is checked
  on every request, and a cached session never outlives the expiry the session gives itself
  when it is read (``get_expiry_date``): one that expires meanwhile is refused at most
  ``GRIDMAP_AUTH_CACHE_SECONDS`` late;
- each request gets its own copy of the cached login (``accounts.selectors.user_copy``): what
  a request notes on its user object never reaches another request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from gridmap.authentication import MSG_TOKEN_EXPIRED, ExpiringTokenAuthentication, token_expired

from .selectors import (
    MSG_CHANGE_PASSWORD_FIRST,
    can_see_personal_data,
    jurisdiction_prefixes,
    keep_statements,
    must_change_password,
    user_copy,
)

# More entries than this and the cache starts afresh (a bound on memory, never reached by a
# county's phones within one TTL).
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    user: Any
    token: Token | None
    expires: float
    version: int
    # A session's own expiry (wall-clock); None for tokens (``token_expired`` decides).
    session_expires: dt.datetime | None = None


_entries: dict[str, _Entry] = {}
_version = 0
_lock = threading.Lock()


def cache_seconds() -> float:
    return float(getattr(settings, "GRIDMAP_AUTH_CACHE_SECONDS", 0))


def invalidate_token_cache(**kwargs: Any) -> None:
    """Forget every cached token (a signal receiver: ``accounts.apps`` connects it)."""
    global _version
    with _lock:
        _version += 1
        _entries.clear()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _store(digest: str, entry: _Entry) -> None:
    """Keep ``entry`` unless the cache changed since its reading began (``entry.version``)."""
    with _lock:
        if entry.version == _version:
            if len(_entries) >= MAX_ENTRIES:
                _entries.clear()
            _entries[digest] = entry


def _note_identity(user: Any) -> None:
    """Read now what nearly every call asks next, so that the cached login carries it (the
    account too, or that there is none: every page's header shows its role)."""
    getattr(user, "account", None)
    jurisdiction_prefixes(user)
    keep_statements(user)
    can_see_personal_data(user)
    must_change_password(user)


def session_user(request: HttpRequest) -> Any:
    """``django.contrib.auth.get_user`` for a request with a session cookie, cached per
    process by the session key (the middleware ``accounts.middleware.CachedAuthentication``
    calls it). A cached login is served without reading the session; the session is then
    marked as read, so the answer still varies by cookie."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    ttl = cache_seconds()
    if not key or ttl <= 0:
        return auth.get_user(request)
    digest = "session:" + _digest(key)
    entry = _entries.get(digest)
    now = time.monotonic()
    if entry is not None and entry.version == _version and entry.expires > now:
        if entry.session_expires is not None and entry.session_expires > timezone.now():
            request.session.accessed = True
            return user_copy(entry.user)
        _entries.pop(digest, None)
    version = _version
    user = auth.get_user(request)
    if user.is_authenticated and request.session.session_key == key:
        _note_identity(user)
        expiry = request.session.get_expiry_date()
        _store(digest, _Entry(user_copy(user), None, now + ttl, version, expiry))
    return user


class FirstSignInTokenAuthentication(ExpiringTokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        ttl = cache_seconds()
        digest = _digest(key)
        entry = _entries.get(digest) if ttl > 0 else None
        now = time.monotonic()
        if entry is not None and entry.version == _version and entry.expires > now:
            if token_expired(entry.token):
                _entries.pop(digest, None)
                raise AuthenticationFailed(gettext(MSG_TOKEN_EXPIRED))
            return user_copy(entry.user), entry.token
        version = _version
        user, token = super().authenticate_credentials(key)
        if must_change_password(user):
            raise AuthenticationFailed(gettext(MSG_CHANGE_PASSWORD_FIRST))
        if ttl > 0:
            _note_identity(user)
            _store(digest, _Entry(user_copy(user), token, now + ttl, version))
            return user_copy(user), token
        return user, token
