"""The GDAL test's live server is the browser tests' (runserver on the committed test
database with the small demo)."""

from tests.browser.conftest import server_url  # noqa: F401
