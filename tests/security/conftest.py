"""The browser fixtures (a live server on the demo, Chromium, a logged-in page) for the
security tests that load pages."""

from tests.browser.conftest import browser, browser_user, new_page, server_url  # noqa: F401
