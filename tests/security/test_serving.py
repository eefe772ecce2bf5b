"""Threat: the application server leaks what users search for, or is not the one we tested.

Before this, `make run` served with Django's development server (one thread and one database
connection per request: under 20 parallel clients it kept 83 idle connections and answered
500 "too many clients"), and the access log of any usual server writes the request line
with its query string and the Referer: a search for a resident by ID number or phone
(``/admin/households/household/?q=...``, ``/api/households/?q=...``) went to the log, where
no masking or access rule applies.

Now `make run`, the bench and the systemd unit all start gunicorn with gunicorn.conf.py. Its
configuration must load (``--check-config``), bind to loopback unless told otherwise, and its
access log must hold the path of each request but never a query string or a Referer. The
figures under load (connections, server errors) are the bench's (bench/scenarios.py,
``serve``), not a test's.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.browser.conftest import database_url

BASE_DIR = settings.BASE_DIR
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
CONFIG = str(BASE_DIR / "gunicorn.conf.py")
ID_NUMBER = "450702199001011234"
PHONE = "13800138000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server_env(demo, django_db_blocker) -> dict[str, str]:
    """The environment of a gunicorn serving the test database with the test settings."""
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "gridmap.settings.test",
        "DATABASE_URL": url,
        "GRIDMAP_WEB_WORKERS": "1",
        "GRIDMAP_WEB_THREADS": "2",
    }


def test_the_configuration_loads_and_binds_to_loopback(server_env):
    checked = subprocess.run(
        [GUNICORN, "-c", CONFIG, "--check-config", "--print-config"],
        cwd=BASE_DIR,
        env=server_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    printed = {
        name.strip(): value.strip()
        for name, _, value in (line.partition("=") for line in checked.stdout.splitlines())
    }
    assert printed["bind"] == "['127.0.0.1:8000']"
    assert printed["wsgi_app"] == "gridmap.wsgi:application"
    assert printed["workers"] == "1" and printed["threads"] == "2"
    assert printed["worker_class"] == "gthread"


def test_the_access_log_holds_paths_but_no_query_string_or_referer(server_env, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"  # everything it writes: the access log and its messages
    env = {**server_env, "GRIDMAP_WEB_PORT": str(port)}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [GUNICORN, "-c", CONFIG], cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    searches = [
        f"/api/households/?q={ID_NUMBER}",
        f"/admin/households/household/?q={PHONE}",
        f"/accounts/login/?next=/api/households/%3Fq%3D{ID_NUMBER}",
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert server.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not answer in 60 s"
                time.sleep(0.25)
        for path in searches:
            request = urllib.request.Request(
                base + path, headers={"Referer": f"{base}/admin/?q={ID_NUMBER}&phone={PHONE}"}
            )
            # Refused without a login: what matters is the log line.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=30).close()
    finally:
        server.terminate()
        server.wait(timeout=60)

    text = log.read_text()
    for path in ("/api/households/", "/admin/households/household/"):
        assert f"GET {path} HTTP/1.1" in text
    assert ID_NUMBER not in text
    assert PHONE not in text
    assert "?" not in text and "q=" not in text
