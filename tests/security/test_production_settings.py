"""Threat: a server started without its production settings.

A WSGI or ASGI server pointed at ``gridmap.wsgi:application`` must not come up with DEBUG on
(tracebacks with settings and SQL shown to anyone) or with a secret key that is public (the
development key is in this repository: whoever knows it can forge sessions, password-reset
links and signed values) or too short to resist guessing. So the WSGI and ASGI entry points
default to ``gridmap.settings.production``, which refuses to start with a clear message, and
``check --deploy`` is clean with the environment docs/deployment.md documents (HSTS, HTTPS
redirect and secure cookies behind a TLS proxy).

Each case runs Python in a subprocess with a clean environment: only ``PATH``, the database
and what the case sets.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from gridmap.settings import base

BASE_DIR = settings.BASE_DIR
DEPLOYMENT = BASE_DIR / "docs" / "deployment.md"
GOOD_KEY = secrets.token_urlsafe(50)
FIELD_KEY = Fernet.generate_key().decode()
HASH_KEY = secrets.token_urlsafe(32)
# The encryption keys a production start needs besides the secret key.
DATA_KEYS = {"GRIDMAP_FIELD_KEYS": FIELD_KEY, "GRIDMAP_HASH_KEY": HASH_KEY}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": settings.DATABASE_URL}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def documented_environment() -> dict[str, str]:
    """The variables of the example in docs/deployment.md ("Settings for production"), with
    the values shown as ``<...>`` (the operator's own) filled in."""
    text = DEPLOYMENT.read_text(encoding="utf-8")
    section = text.split("## Settings for production", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    own = {"DJANGO_SECRET_KEY": GOOD_KEY, "DATABASE_URL": settings.DATABASE_URL, **DATA_KEYS}
    env = {}
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, value = line.split("=", 1)
        if "<" in value:
            value = own[name]
        env[name] = value
    return env


@pytest.mark.parametrize("module", ["gridmap.wsgi", "gridmap.asgi"])
def test_no_settings_module_and_no_key_refuses_to_start(module):
    result = run(["-c", f"import {module}"])
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "x" * 49}, "at least 50 characters"),
        ({"DJANGO_SECRET_KEY": "ab" * 30}, "at least 5 different characters"),
        ({"DJANGO_SECRET_KEY": "dev-only-not-secret-change-me" * 2}, "development key"),
        ({"DJANGO_SECRET_KEY": GOOD_KEY, "DJANGO_DEBUG": "1"}, "DEBUG is on"),
        ({"DJANGO_SECRET_KEY": GOOD_KEY}, "GRIDMAP_FIELD_KEYS is not set"),
        (
            {**DATA_KEYS, "DJANGO_SECRET_KEY": GOOD_KEY, "GRIDMAP_FIELD_KEYS": "not-a-key"},
            "is not a Fernet key",
        ),
        (
            {
                **DATA_KEYS,
                "DJANGO_SECRET_KEY": GOOD_KEY,
                "GRIDMAP_FIELD_KEYS": f"{FIELD_KEY},{base.DEV_FIELD_KEY}",
            },
            "key 2 is the public development key",
        ),
        (
            {"DJANGO_SECRET_KEY": GOOD_KEY, "GRIDMAP_FIELD_KEYS": FIELD_KEY},
            "GRIDMAP_HASH_KEY is not set",
        ),
        (
            {**DATA_KEYS, "DJANGO_SECRET_KEY": GOOD_KEY, "GRIDMAP_HASH_KEY": base.DEV_HASH_KEY},
            "GRIDMAP_HASH_KEY is the development key",
        ),
    ],
    ids=[
        "missing",
        "short",
        "repetitive",
        "development",
        "debug",
        "no-field-keys",
        "bad-field-key",
        "dev-field-key",
        "no-hash-key",
        "dev-hash-key",
    ],
)
def test_production_settings_refuse_an_unsafe_environment(env, message):
    result = run(
        ["manage.py", "check"], DJANGO_SETTINGS_MODULE="gridmap.settings.production", **env
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_entry_points_default_to_production():
    code = (
        "import gridmap.wsgi; from django.conf import settings; "
        "print(settings.SETTINGS_MODULE, settings.DEBUG)"
    )
    result = run(["-c", code], DJANGO_SECRET_KEY=GOOD_KEY, **DATA_KEYS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["gridmap.settings.production", "False"]


def test_check_deploy_is_clean_with_the_documented_environment():
    env = documented_environment()
    assert env["DJANGO_SETTINGS_MODULE"] == "gridmap.settings.production"
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_behind_the_tls_proxy_http_is_redirected_and_https_gets_hsts():
    """With the documented environment, a plain HTTP request is sent to HTTPS and a request the
    proxy marks as HTTPS gets HSTS (with subdomains)."""
    env = {**documented_environment(), "DJANGO_ALLOWED_HOSTS": "testserver"}
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "plain = Client().get('/no-such-page/')\n"
        "print(plain.status_code, plain['Location'])\n"
        "secure = Client().get('/no-such-page/', HTTP_X_FORWARDED_PROTO='https')\n"
        "print(secure.status_code, secure['Strict-Transport-Security'])\n"
    )
    result = run(["-c", code], **env)
    assert result.returncode == 0, result.stderr
    plain, secure = result.stdout.splitlines()
    assert plain == "301 https://testserver/no-such-page/"
    assert secure == "404 max-age=31536000; includeSubDomains"
