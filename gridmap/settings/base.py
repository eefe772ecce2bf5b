"""Settings shared by every environment.

The database comes from ``DATABASE_URL`` (``postgis://user:pass@host:port/name``); when it is
unset, the project-local cluster started by ``scripts/localdb.sh`` is used.
"""

import datetime as dt
import os
import subprocess
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# The development key is public (it is in this file): gridmap.settings.production refuses it.
DEV_SECRET_KEY = "dev-only-not-secret-change-me"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)

# Residents' ID numbers and phones are encrypted at rest (gridmap.crypto). GRIDMAP_FIELD_KEYS:
# comma-separated Fernet keys, the first encrypts, all decrypt; GRIDMAP_HASH_KEY: the key of the
# keyed hash used for exact search. These development keys are public: production refuses them
# (gridmap.settings.production; docs/deployment.md, "Encryption keys: setting and rotating").
DEV_FIELD_KEY = "Z3JpZG1hcC1kZXYtZmllbGQta2V5LW5vdC1zZWNyZXQ="
DEV_HASH_KEY = "gridmap-dev-hash-key-not-secret"
GRIDMAP_FIELD_KEYS = [
    k.strip() for k in os.environ.get("GRIDMAP_FIELD_KEYS", DEV_FIELD_KEY).split(",") if k.strip()
]
GRIDMAP_HASH_KEY = os.environ.get("GRIDMAP_HASH_KEY", DEV_HASH_KEY)
DEBUG = False
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "grids",
    "inbox",
    "households",
    "cases",
    "incidents",
    "presence",
    "servicedesk",
    "accounts",
    # The personal-data access log (gridmap.personal_data).
    "privacy",
    "reports",
    "weekly",
    "coverage",
    "planning",
    # A county's own records in and out (issue 13); above the apps whose records it holds.
    "imports",
    # Open311 GeoReport v2 for 12345 and FixMyStreet-style client systems (issue 16).
    "open311",
    # Assessments of the network (issue 15): schemes, cycles, frozen scores, appeals.
    "assessments",
    "ogcapi",
    "tiles",
    "demo",
    "procrastinate.contrib.django",
    # Lockout after repeated wrong passwords (gridmap.auth).
    "axes",
    "csp",
]

# Log records never carry a resident's ID number or phone (gridmap.logfilters): the
# development server's and the request logger's lines (a search term in a query string) are
# redacted; gunicorn's access log can use the same filter through this configuration.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_personal_numbers": {"()": "gridmap.logfilters.RedactPersonalNumbers"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_personal_numbers"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_personal_numbers"],
        },
    },
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the application server (gunicorn), compressed and cached for ever
    # under their hashed names (STORAGES below); nginx may serve them instead.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After LocaleMiddleware, so its message is in the user's language.
    "gridmap.middleware.RefuseNulBytes",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with the login cached per session for
    # GRIDMAP_AUTH_CACHE_SECONDS (accounts.authentication).
    "accounts.middleware.CachedAuthentication",
    # A login with a one-time password reaches only the password change (issue 12).
    "accounts.middleware.ForcePasswordChange",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below): django-csp's
    # middleware, a plain answer's header built once (gridmap.middleware).
    "gridmap.middleware.ContentSecurityPolicy",
    # Residents' ID numbers and phones: no-store on answers that carry them, and the access
    # log of the unmasked ones (gridmap.personal_data; after authentication: it logs who).
    "gridmap.personal_data.PersonalDataAnswers",
    # Last, as django-axes asks: it turns a lockout into gridmap.auth.lockout_response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gridmap.urls"
WSGI_APPLICATION = "gridmap.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gridmap" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # The to-do badge of the header (counted only when a page draws it).
                "incidents.context_processors.todo_badge",
            ],
            # The header's section links, kept per role and page (gridmap.nav).
            "libraries": {"gridmap_nav": "gridmap.nav"},
        },
    },
]


def _local_database_url() -> str:
    """URL of the project-local cluster (scripts/localdb.sh), if it has been initialised."""
    script = BASE_DIR / "scripts" / "localdb.sh"
    if not (BASE_DIR / "var" / "pg" / "password").exists():
        return ""
    return subprocess.run(
        ["bash", str(script), "url"], capture_output=True, text=True, check=True
    ).stdout.strip()


DATABASE_URL = os.environ.get("DATABASE_URL") or _local_database_url()
if not DATABASE_URL:
    raise RuntimeError(
        "No database configured: set DATABASE_URL=postgis://... or run 'make run' once "
        "to create the project-local PostGIS cluster."
    )
# Each thread of each process keeps its connection for CONN_MAX_AGE seconds (checked before
# reuse), so the connections are bounded by the threads that serve: docs/deployment.md,
# "Database connections". 0 closes it after every request (`make dev`: runserver starts a
# thread per request, whose connection would otherwise stay open until it expires).
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# A kept connection that ended a request less than this many seconds ago, without a database
# error, skips Django's health check (a SELECT 1 round trip) on its next request (gridmap.db).
GRIDMAP_DB_HEALTH_CHECK_AFTER = float(os.environ.get("GRIDMAP_DB_HEALTH_CHECK_AFTER", "1"))
# GeoDjango's PostGIS backend, reading date-times with psycopg's compiled loader (gridmap.db).
DATABASES["default"]["ENGINE"] = "gridmap.db"
# Which process a connection belongs to, in pg_stat_activity (gunicorn.conf.py: gridmap-web;
# the Makefile's worker: gridmap-worker).
DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ.get(
    "GRIDMAP_DB_APPLICATION_NAME", "gridmap"
)
# psycopg prepares a statement only when its connection has a prepare threshold; Django's
# default (None) turns preparing off altogether, even for a cursor that asks for it. This
# threshold is never reached by Django's own cursors (they bind on the client and never
# prepare); it lets ``gridmap.sql.prepared_cursor`` prepare the hot-path statements it runs
# (which run on a generic plan: ``gridmap.sql.session_settings``).
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2**31 - 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A locked-out login is refused before any password is checked (django-axes), on the login
# page, the admin and the token endpoint alike; see gridmap.auth.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # District and city administrators: the admin's district-data apps, from their role.
    "accounts.backends.AdminRolePermissionBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("GRIDMAP_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("GRIDMAP_LOGIN_LOCKOUT_MINUTES", "30")))
# Per username and, separately, per address.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "gridmap.auth.lockout_response"
# API tokens expire this many hours after they are issued (gridmap.auth).
GRIDMAP_TOKEN_TTL_HOURS = int(os.environ.get("GRIDMAP_TOKEN_TTL_HOURS", str(24 * 7)))
# An API token's login and jurisdiction are kept this many seconds in each server process
# (accounts.authentication): a deleted token, an ended role or a changed account takes effect
# at once in the process that made the change and within this many seconds in the others.
# 0 turns the cache off.
GRIDMAP_AUTH_CACHE_SECONDS = float(os.environ.get("GRIDMAP_AUTH_CACHE_SECONDS", "10"))
# The header's to-do badge: a person's count is kept this many seconds in each server process
# (incidents.context_processors); the to-do page is always exact. 0 counts on every page.
GRIDMAP_TODO_BADGE_SECONDS = float(os.environ.get("GRIDMAP_TODO_BADGE_SECONDS", "15"))
# The area choice of the lists (the stations, towns and districts of a jurisdiction) is kept
# this many seconds in each server process (cases.lists.areas_for). 0 reads it on every page.
GRIDMAP_AREA_CHOICES_SECONDS = float(os.environ.get("GRIDMAP_AREA_CHOICES_SECONDS", "60"))
# The planner's estimate of a big list's rows ("about 250,000"), kept per filter for this
# many seconds (cases.paging.count_rows).
GRIDMAP_COUNT_ESTIMATE_SECONDS = float(os.environ.get("GRIDMAP_COUNT_ESTIMATE_SECONDS", "60"))

# --- Internationalisation: zh-hans by default, English complete -------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "gridmap" / "static"]
# Hashed, compressed copies made by collectstatic (whitenoise); with DEBUG on, whitenoise
# serves the source files instead, so `make run` needs no collectstatic to see a change.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "gridmap.storage.StaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "var" / "media"

# Files uploaded on the import page (imports.models.ImportJob) and their error workbooks: kept
# outside MEDIA_ROOT, never served as files; an upload is removed when its job ends.
GRIDMAP_IMPORT_ROOT = Path(os.environ.get("GRIDMAP_IMPORT_ROOT", BASE_DIR / "var" / "imports"))
# The largest file the import page accepts (a million households as CSV is about 150 MB).
GRIDMAP_IMPORT_MAX_MB = int(os.environ.get("GRIDMAP_IMPORT_MAX_MB", "300"))
# A large CSV is cleaned, encrypted and hashed in the database (imports.pipeline._load_sql):
# its raw numbers then pass through a temporary table of the import's connection. 0: in Python.
GRIDMAP_IMPORT_CLEAN_IN_DB = os.environ.get("GRIDMAP_IMPORT_CLEAN_IN_DB", "1") not in ("0", "")

LOGIN_URL = "login"
# Signed in, a person lands on their to do (``next=`` still wins).
LOGIN_REDIRECT_URL = "/todo/"
LOGOUT_REDIRECT_URL = "login"

# --- Spatial ------------------------------------------------------------------------------
# Every geometry column is stored in this SRID (WGS84 lon/lat; CGCS2000, EPSG:4490, is within
# centimetres of it). Inputs in other systems are transformed on the way in.
GRIDMAP_SRID = 4326
# A metric CRS for areas and buffers in the region (CGCS2000 / 3-degree Gauss-Kruger CM 108E).
GRIDMAP_METRIC_SRID = 4545
# Boundary re-import (grids.importers, ``import_boundaries --tolerance``): a boundary within
# this Hausdorff distance (metres) of its current version is unchanged, so that a file whose
# coordinates were rounded (to ~1 cm, say) or re-digitised makes no new generation.
GRIDMAP_BOUNDARY_TOLERANCE_M = float(os.environ.get("GRIDMAP_BOUNDARY_TOLERANCE_M", "0.5"))

# Basemap: a tile URL template, or "" for none (the map still draws every layer).
# Tianditu needs a key: https://t{s}.tianditu.gov.cn/vec_w/wmts?...&tk=YOUR_KEY
GRIDMAP_BASEMAP_URL = os.environ.get(
    "GRIDMAP_BASEMAP_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
# Absolute address of the site, for links in e-mails ("" = links are paths).
GRIDMAP_SITE_URL = os.environ.get("GRIDMAP_SITE_URL", "")
GRIDMAP_BASEMAP_ATTRIBUTION = os.environ.get(
    "GRIDMAP_BASEMAP_ATTRIBUTION", "&copy; OpenStreetMap contributors"
)

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (21.95, 108.62),
    "DEFAULT_ZOOM": 10,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    "TILES": [(_("Basemap"), GRIDMAP_BASEMAP_URL, {"attribution": GRIDMAP_BASEMAP_ATTRIBUTION})]
    if GRIDMAP_BASEMAP_URL
    else [],
    "RESET_VIEW": False,
}

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Expiring tokens, refused while the one-time password is unchanged (issue 12).
        "accounts.authentication.FirstSignInTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The JSON parser with a nesting limit (gridmap.parsers); a view that sets its own
    # parser_classes keeps it (tests/security/test_bad_input.py).
    "DEFAULT_PARSER_CLASSES": [
        "gridmap.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, with every error an operation can answer (gridmap.schema).
    "DEFAULT_SCHEMA_CLASS": "gridmap.schema.AutoSchema",
    "EXCEPTION_HANDLER": "gridmap.api.exception_handler",
}
# JSON nested deeper than this is refused before it is parsed (gridmap.parsers): deep enough
# for any document the API takes (a GeoJSON polygon nests four levels), far from Python's
# recursion limit.
GRIDMAP_JSON_MAX_DEPTH = 32
SPECTACULAR_SETTINGS = {
    "TITLE": "gridmap API",
    "DESCRIPTION": "Grids, places and people of party-building-led grassroots governance.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# gis.W001: Django's GDAL (Debian 12's 3.6) cannot block file and network access from spatial
# references. Boundary files are read through pyogrio's own, newer GDAL, not Django's; Django's
# GDAL only transforms coordinates between EPSG codes. Debian 12 offers no GDAL >= 3.9.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Notifications ----------------------------------------------------------------------
# Outbound channels (dotted paths to inbox.channels.Channel subclasses): every new inbox entry
# gets a delivery record per channel and is sent in the background (inbox.tasks, procrastinate).
# A channel whose credentials are not set is off and says so (admin: "Outbound channels").
# Configure one SMS provider: with both set, a worker gets two text messages.
GRIDMAP_NOTIFICATION_CHANNELS = [
    "inbox.channels.EmailChannel",
    "inbox.channels.AliyunSmsChannel",
    "inbox.channels.TencentSmsChannel",
    "inbox.channels.WeComChannel",
]
# SMS and WeChat Work wait for the end of the quiet hours (local time, a span across midnight
# is the night), except for red cases; e-mail goes at once. GRIDMAP_QUIET_HOURS="" turns it off.
_quiet = os.environ.get("GRIDMAP_QUIET_HOURS", "22:00-07:00").strip()
GRIDMAP_QUIET_HOURS = tuple(_quiet.split("-", 1)) if _quiet else ()
GRIDMAP_QUIET_HOURS_TIME_ZONE = os.environ.get("GRIDMAP_QUIET_HOURS_TIME_ZONE", "Asia/Shanghai")
# Credentials and templates of the providers (docs/deployment.md, "Notifications reach
# phones"); the endpoints are settings so that tests can point them at local fake servers.
ALIBABA_SMS_ACCESS_KEY_ID = os.environ.get("ALIBABA_SMS_ACCESS_KEY_ID", "")
ALIBABA_SMS_ACCESS_KEY_SECRET = os.environ.get("ALIBABA_SMS_ACCESS_KEY_SECRET", "")
ALIBABA_SMS_SIGN_NAME = os.environ.get("ALIBABA_SMS_SIGN_NAME", "")
ALIBABA_SMS_TEMPLATE_CODE = os.environ.get("ALIBABA_SMS_TEMPLATE_CODE", "")
ALIBABA_SMS_ENDPOINT = os.environ.get("ALIBABA_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")
TENCENT_SMS_SECRET_ID = os.environ.get("TENCENT_SMS_SECRET_ID", "")
TENCENT_SMS_SECRET_KEY = os.environ.get("TENCENT_SMS_SECRET_KEY", "")
TENCENT_SMS_SDK_APP_ID = os.environ.get("TENCENT_SMS_SDK_APP_ID", "")
TENCENT_SMS_SIGN_NAME = os.environ.get("TENCENT_SMS_SIGN_NAME", "")
TENCENT_SMS_TEMPLATE_ID = os.environ.get("TENCENT_SMS_TEMPLATE_ID", "")
TENCENT_SMS_REGION = os.environ.get("TENCENT_SMS_REGION", "ap-guangzhou")
TENCENT_SMS_ENDPOINT = os.environ.get("TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com/")
WECOM_CORP_ID = os.environ.get("WECOM_CORP_ID", "")
WECOM_CORP_SECRET = os.environ.get("WECOM_CORP_SECRET", "")
WECOM_AGENT_ID = os.environ.get("WECOM_AGENT_ID", "")
WECOM_ENDPOINT = os.environ.get("WECOM_ENDPOINT", "https://qyapi.weixin.qq.com")

# --- Incident reports -------------------------------------------------------------------
# A report time more than this many days in the past is refused (incidents.services): wide
# enough for a phone kept offline for days or weeks (the field page's queue sends a late report
# with the time it was made), narrow enough that a wrong clock or a made-up date (year 1, 1970)
# never reaches the lists, the deadlines and the supervision clock. A report time in the
# future (beyond 5 minutes of clock skew) is refused too.
GRIDMAP_REPORT_MAX_AGE_DAYS = int(os.environ.get("GRIDMAP_REPORT_MAX_AGE_DAYS", "30"))

# --- Case time limits ---------------------------------------------------------------------
# Working periods of a working day (local time, GRIDMAP_WORKING_TIME_ZONE); which days are
# working days comes from chinese_calendar (holidays and make-up working weekends). Time
# limits in working hours and working days run only inside these periods (incidents.deadlines).
GRIDMAP_WORKING_HOURS = [("08:30", "12:00"), ("14:30", "17:30")]
GRIDMAP_WORKING_TIME_ZONE = "Asia/Shanghai"

# --- Dashboards and the weekly two-down-two-up ---------------------------------------------
# KPIs (reports.kpis): a child unit with fewer cases than this in the period is listed on
# the dashboard and in GET /api/kpis/ but not ranked ("too few cases to judge").
GRIDMAP_KPI_MIN_CASES = int(os.environ.get("GRIDMAP_KPI_MIN_CASES", "10"))

# Open311 (issue 16): requests a client system may make per minute with its key (every
# endpoint that takes a key; counted in the database, so shared by every gunicorn worker).
GRIDMAP_OPEN311_RATE_PER_MINUTE = int(os.environ.get("GRIDMAP_OPEN311_RATE_PER_MINUTE", "120"))
# Weekly report deadlines (weekly.selectors) as (day of the week, 0 = Monday; local time):
# a village report submitted after the first is late, a station summary after the second;
# one not submitted is missing once its deadline has passed.
GRIDMAP_WEEKLY_VILLAGE_REPORT_DUE = (4, "18:00")  # Friday 18:00
GRIDMAP_WEEKLY_STATION_SUMMARY_DUE = (5, "12:00")  # Saturday 12:00

# --- Coverage: the 15-minute service circle --------------------------------------------------
# Walking speed along the road network (coverage.service_circle): 4.5 km/h walks 1,125 m in
# the circle's 15 minutes.
GRIDMAP_WALKING_KMH = float(os.environ.get("GRIDMAP_WALKING_KMH", "4.5"))
# Coverage pages and API: recompute the cached 15-minute service circle within the request
# when at most this many households wait for it; more is handed to the background worker
# (coverage.tasks), and the page says "computing" until it is done (about 30 s per million
# households on two cores).
GRIDMAP_COVERAGE_INLINE_HOUSEHOLDS = int(
    os.environ.get("GRIDMAP_COVERAGE_INLINE_HOUSEHOLDS", "50000")
)
# A large recomputation of the service circle (100,000 stale households or more) is split
# between this many database connections at once: the number of cores the database may use.
GRIDMAP_COVERAGE_WORKERS = int(os.environ.get("GRIDMAP_COVERAGE_WORKERS", "2"))

# --- Coverage (coverage.checks) -------------------------------------------------------------
# Check 2: a worker holding more active roles than this (anywhere) is listed as overloaded.
GRIDMAP_MAX_ROLES_PER_WORKER = int(os.environ.get("GRIDMAP_MAX_ROLES_PER_WORKER", "3"))
# Check 3: households per grid (rural grids sit near the lower end).
GRIDMAP_GRID_HOUSEHOLDS_NORM = (300, 500)
# Check 5: one full-time (station_worker) worker per this many households.
GRIDMAP_HOUSEHOLDS_PER_WORKER = 300
# Check 6: villages per station, and how far apart (metres) two villages of one station may
# be and still count as contiguous (digitising slivers between neighbours).
GRIDMAP_STATION_VILLAGES = (3, 7)
GRIDMAP_STATION_CONTIGUITY_TOLERANCE_M = 1.0

# --- Planning (planning.travel) ---------------------------------------------------------------
# Travel speed from a village centre to its station along roads (villagers come by e-bike,
# motorbike or bus on village roads), for the plans' travel times and the proposals.
GRIDMAP_STATION_TRAVEL_KMH = float(os.environ.get("GRIDMAP_STATION_TRAVEL_KMH", "30"))


# --- Field presence: sign-ins and patrols (presence.signins, presence.patrols) -------------
# A record made offline carries the phone's time; one older than this many days is refused.
GRIDMAP_PRESENCE_MAX_LATE_DAYS = int(os.environ.get("GRIDMAP_PRESENCE_MAX_LATE_DAYS", "7"))
# A sign-in this many metres or less outside the worker's place is accepted as "near".
GRIDMAP_SIGN_IN_NEAR_M = float(os.environ.get("GRIDMAP_SIGN_IN_NEAR_M", "200"))
# A sign-in whose position is less accurate than this (metres) is refused.
GRIDMAP_SIGN_IN_MAX_ACCURACY_M = float(os.environ.get("GRIDMAP_SIGN_IN_MAX_ACCURACY_M", "500"))
# Patrol cleaning: a fix less accurate than this is dropped; a fix reached from the last kept
# one faster than this (metres a second) is a GPS glitch and dropped.
GRIDMAP_PATROL_MAX_ACCURACY_M = float(os.environ.get("GRIDMAP_PATROL_MAX_ACCURACY_M", "100"))
GRIDMAP_PATROL_MAX_SPEED_MS = float(os.environ.get("GRIDMAP_PATROL_MAX_SPEED_MS", "15"))
# Tolerance (metres) of the track's simplification.
GRIDMAP_PATROL_SIMPLIFY_M = 1.5


# Content-Security-Policy (django-csp): scripts only from this site, and the one inline script
# django-leaflet writes by its nonce; no plugins, no framing, forms post here only. Styles
# allow inline style attributes (Leaflet positions its panes with them). Images also from the
# basemap's tile server.
from csp.constants import NONCE  # noqa: E402


def _origin(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *filter(None, [_origin(GRIDMAP_BASEMAP_URL)])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Field presence: the household file (presence.household_file) -----------------------
# Incidents are tied to a household only by place: its file lists the cases reported within
# this many metres of it (and those in its building or raised in a visit to it).
GRIDMAP_HOUSEHOLD_FILE_CASE_RADIUS_M = float(
    os.environ.get("GRIDMAP_HOUSEHOLD_FILE_CASE_RADIUS_M", "30")
)
