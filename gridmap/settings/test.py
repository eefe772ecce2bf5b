from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests never reach the internet: no basemap tiles.
GRIDMAP_BASEMAP_URL = ""
LEAFLET_CONFIG = {**LEAFLET_CONFIG, "TILES": []}  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A second kind of case, for tests only (tests/casekind): the case engine serves any kind.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.casekind"]  # noqa: F405
# No collectstatic in the tests (the browser tests' runserver --insecure serves static files
# from the apps), so no whitenoise: it would warn about the missing STATIC_ROOT each time a
# test client builds its middleware. tests/gridmap/test_static.py collects with the real storage.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
# No quiet hours unless a test sets them: what is sent must not depend on the hour the suite runs.
GRIDMAP_QUIET_HOURS = ()

# The API-token cache (accounts.authentication) is off by default in tests, whose fixtures
# change tokens and roles by bulk updates and rollbacks that send no signal; the tests of the
# cache (tests/accounts/test_token_cache.py, the statement counts) turn it on.
GRIDMAP_AUTH_CACHE_SECONDS = 0
# The badge counts on every page in tests (the badge's own test turns the keeping on).
GRIDMAP_TODO_BADGE_SECONDS = 0
# The lists' area choice is read on every page in tests (fixtures add places in rollbacks).
GRIDMAP_AREA_CHOICES_SECONDS = 0
# The lists count (or plan) on every page in tests (the keeping has its own test).
GRIDMAP_COUNT_ESTIMATE_SECONDS = 0
