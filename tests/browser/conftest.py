"""Browser tests: headless Chromium against a real server on the committed test database.

pytest-django's ``live_server`` flushes the database after each test, which would wipe the
session ``demo``. Instead, once per session, after ``demo`` has committed the small Qinzhou
demo to the test database, ``manage.py runserver --insecure`` (static files without DEBUG)
is started on a free port of 127.0.0.1 with ``DATABASE_URL`` pointing at that test database,
and it is stopped when the session ends (before the test database is torn down).

Chromium is Debian's (/usr/bin/chromium); Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT = 60.0

BROWSER_USERNAME = "browser-city-admin"
BROWSER_PASSWORD = "browser-pass-4507"
BROWSER_FULL_NAME = "王晓明"
CITY_CODE = "450700"

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict[str, Any]) -> str:
    """``postgis://USER:PASSWORD@HOST:PORT/NAME`` of a connection's settings (the test DB)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    host = quote(settings_dict.get("HOST") or "", safe="")  # a socket directory is %2F-quoted
    port = settings_dict.get("PORT") or ""
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    address = f"{host}:{port}" if port else host
    return f"postgis://{credentials}{address}/{quote(settings_dict['NAME'], safe='')}"


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"runserver exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"runserver did not answer {url} in {SERVER_START_TIMEOUT}s:\n{log.read_text()}"
    )


@pytest.fixture(scope="session")
def server_url(demo, django_db_blocker, tmp_path_factory) -> Iterator[str]:
    """Base URL of a runserver serving the test database (with the demo) and static files."""
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    port = _free_port()
    log = tmp_path_factory.mktemp("runserver") / "runserver.log"
    env = {
        **os.environ,
        # The settings this test session runs with (gridmap.settings.test from pyproject).
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "gridmap.settings.test"),
        "DATABASE_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "manage.py",
        "runserver",
        f"127.0.0.1:{port}",
        "--noreload",
        "--insecure",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/accounts/login/", process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser_user(demo, django_db_blocker) -> dict[str, str]:
    """A city administrator for Qinzhou (450700), committed so that the server sees it."""
    from accounts.models import AccountRole
    from accounts.services import account_upsert

    with django_db_blocker.unblock():
        account_upsert(
            username=BROWSER_USERNAME,
            password=BROWSER_PASSWORD,
            role=AccountRole.CITY_ADMIN,
            codes=[CITY_CODE],
            first_name=BROWSER_FULL_NAME,
        )
    return {"username": BROWSER_USERNAME, "password": BROWSER_PASSWORD, "name": BROWSER_FULL_NAME}


@pytest.fixture
def browser(server_url, browser_user) -> Iterator[Any]:
    """Chromium for one test (after the server and the user exist).

    Playwright's sync API keeps an asyncio loop running in this thread while it is open, and
    Django refuses database calls when it sees one (SynchronousOnlyOperation). The tests only
    read the committed demo from the test thread, so the check is lifted while the browser
    runs, and restored afterwards.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium ('make system').")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageLog:
    """Everything a page asked the network for, and everything that went wrong."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "response",
            lambda response: (
                response.status >= 400 and self.failed.append(f"{response.status} {response.url}")
            ),
        )
        page.on("requestfailed", lambda request: self._request_failed(request))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                message.type == "error" and self.errors.append(f"console: {message.text}")
            ),
        )

    def _request_failed(self, request: Any) -> None:
        # Requests a page aborts on purpose (a building fetch superseded by a newer view).
        if "ERR_ABORTED" not in (request.failure or ""):
            self.failed.append(f"{request.failure} {request.url}")


@pytest.fixture
def new_page(browser, server_url) -> Iterator[Any]:
    """``new_page(viewport, **context_options) -> (page, log)``; contexts close afterwards."""
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP, **options: Any) -> tuple[Any, PageLog]:
        context = browser.new_context(
            viewport=viewport, locale="zh-CN", base_url=server_url, **options
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        log.attach(page)
        return page, log

    yield make
    for context in contexts:
        context.close()
