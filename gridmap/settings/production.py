"""Settings for production: the default of ``gridmap.wsgi`` and ``gridmap.asgi``.

They refuse to start (``ImproperlyConfigured``, with what to change) when DEBUG is on or the
secret key is missing, short, repetitive or the public development key, and when the keys of
residents' encrypted data (GRIDMAP_FIELD_KEYS, GRIDMAP_HASH_KEY) are missing, malformed or the
development ones. HTTPS is assumed:
a TLS proxy (nginx) in front, telling Django by a header that the request came over HTTPS.
HSTS, the redirect to HTTPS and secure cookies are on by default and can be changed by
environment variables (docs/deployment.md, "Settings for production"), so that
``manage.py check --deploy`` is clean with the documented environment.
"""

import os

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEV_FIELD_KEY, DEV_HASH_KEY, DEV_SECRET_KEY, SILENCED_SYSTEM_CHECKS

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
# What Django's check --deploy (security.W009) asks of a key.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_CHARACTERS = 5
# The keyed hash's key (HMAC-SHA256): as long as its output.
HASH_KEY_MIN_LENGTH = 32


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: write 1 or 0 (true/false, yes/no, on/off).")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: write a whole number.") from None


def checked_secret_key(key: str) -> str:
    """The key, or ImproperlyConfigured saying what is wrong with it."""
    how = (
        "Set DJANGO_SECRET_KEY to a random value of at least 50 characters, e.g. the output of "
        'python -c "import secrets; print(secrets.token_urlsafe(50))".'
    )
    if not key:
        raise ImproperlyConfigured(f"DJANGO_SECRET_KEY is not set. {how}")
    if DEV_SECRET_KEY in key:
        raise ImproperlyConfigured(f"DJANGO_SECRET_KEY holds the public development key. {how}")
    if len(key) < SECRET_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY has {len(key)} characters; it needs at least "
            f"{SECRET_KEY_MIN_LENGTH} characters. {how}"
        )
    if len(set(key)) < SECRET_KEY_MIN_CHARACTERS or key.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is not random: it needs at least {SECRET_KEY_MIN_CHARACTERS} "
            f"different characters and no 'django-insecure-' prefix. {how}"
        )
    return key


def checked_field_keys(text: str) -> list[str]:
    """The Fernet keys of GRIDMAP_FIELD_KEYS (first encrypts, all decrypt), or
    ImproperlyConfigured saying what is wrong."""
    how = (
        "Set GRIDMAP_FIELD_KEYS to one or more Fernet keys, comma-separated, the newest first; "
        'make one with python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())" and keep every key that encrypted data '
        "(docs/deployment.md, 'Encryption keys: setting and rotating')."
    )
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured(f"GRIDMAP_FIELD_KEYS is not set. {how}")
    for number, key in enumerate(keys, 1):
        if key == DEV_FIELD_KEY:
            raise ImproperlyConfigured(
                f"GRIDMAP_FIELD_KEYS key {number} is the public development key. {how}"
            )
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"GRIDMAP_FIELD_KEYS key {number} is not a Fernet key (32 bytes in URL-safe "
                f"base64). {how}"
            ) from None
    return keys


def checked_hash_key(key: str) -> str:
    how = (
        f"Set GRIDMAP_HASH_KEY to at least {HASH_KEY_MIN_LENGTH} random characters, e.g. "
        'python -c "import secrets; print(secrets.token_urlsafe(32))"; it is not one of the '
        "GRIDMAP_FIELD_KEYS."
    )
    if not key:
        raise ImproperlyConfigured(f"GRIDMAP_HASH_KEY is not set. {how}")
    if key == DEV_HASH_KEY or len(key) < HASH_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"GRIDMAP_HASH_KEY is the development key or shorter than {HASH_KEY_MIN_LENGTH} "
            f"characters. {how}"
        )
    return key


DEBUG = env_flag("DJANGO_DEBUG", False)
if DEBUG:
    raise ImproperlyConfigured(
        "DEBUG is on (DJANGO_DEBUG): production never runs with DEBUG, which shows settings, "
        "SQL and tracebacks to anyone. Unset DJANGO_DEBUG, or use gridmap.settings.dev on a "
        "developer's machine."
    )
SECRET_KEY = checked_secret_key(os.environ.get("DJANGO_SECRET_KEY", ""))
# Residents' ID numbers and phones (gridmap.crypto): no default in production.
GRIDMAP_FIELD_KEYS = checked_field_keys(os.environ.get("GRIDMAP_FIELD_KEYS", ""))
GRIDMAP_HASH_KEY = checked_hash_key(os.environ.get("GRIDMAP_HASH_KEY", ""))
if GRIDMAP_HASH_KEY in GRIDMAP_FIELD_KEYS:
    raise ImproperlyConfigured("GRIDMAP_HASH_KEY must differ from every GRIDMAP_FIELD_KEYS key.")

# --- HTTPS behind a TLS proxy -----------------------------------------------------------------
# The proxy terminates TLS and passes the scheme in a header it always sets itself (nginx:
# proxy_set_header X-Forwarded-Proto $scheme;). Only then may Django trust it: a client
# reaching Django directly could send the header too.
_proxy_header = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").strip()
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env_flag("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_flag("DJANGO_SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_flag("DJANGO_SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_flag("DJANGO_CSRF_COOKIE_SECURE", True)

# security.W021 (HSTS preload off): asking browsers to hard-code the domain as HTTPS-only is
# the domain owner's decision (submitted to hstspreload.org, slow to undo, and it binds every
# subdomain), not a default. DJANGO_SECURE_HSTS_PRELOAD=1 turns it on.
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
