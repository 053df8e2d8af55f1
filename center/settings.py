"""Settings for the research center site.

All configuration comes from environment variables (django-environ); the
defaults make ``make run`` work on a fresh machine with nothing set. The README
lists every variable.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.smart_cast = False

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The test suite runs with debug off, like production, but needs no secret, no HTTPS
# redirect, tasks run at once and (with Redis) one Redis database per xdist worker.
TESTING = env.bool("DJANGO_TESTING", default="pytest" in sys.modules)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"  # noqa: S105

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The public name of the site, used in titles, feeds, emails and metadata.
SITE_NAME = env.str("SITE_NAME", default="Institute for Global Policy Research")
# Absolute base URL used where no request is at hand (emails, OAI-PMH, tasks).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Application definition

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "taggit",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "template_partials",
    "csp",
    "simple_history",
    "axes",
]
LOCAL_APPS = [
    "center",
    "authors",
    "publications",
    "newsletter",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    # First: every response, cached or not, error or not, gets a request id and the security headers.
    "center.middleware.RequestIdMiddleware",
    "center.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Conditional GET (ETag, 304) for every page, cached or not; then the page cache,
    # which answers anonymous hits before sessions, CSRF and auth are looked at.
    "django.middleware.http.ConditionalGetMiddleware",
    "center.caching.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside the CSP middleware: a full disk gives a clean 503 page with the usual headers.
    "center.storage.StorageFullMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks every login against its failure records before Django's backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "center.urls"
WSGI_APPLICATION = "center.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "center.context_processors.site",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL (or anything django-environ reads) via DATABASE_URL.

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that accepts connections but never answers fails the request instead of hanging it.
    connect_timeout = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", connect_timeout)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer commits; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": env.str("DJANGO_TEST_SQLITE_NAME", default="") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: local memory by default, Redis when REDIS_URL is set.

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and TESTING:
    _base, _, _number = REDIS_URL.rpartition("/")
    _worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    REDIS_URL = f"{_base}/{int(_number or 0) + _worker}"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="center"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "center",
            # Django's default of 300 entries is less than twenty theme pages' cards and fragments:
            # they would push each other out and be made again on every visit.
            "OPTIONS": {"MAX_ENTRIES": env.int("LOCMEM_CACHE_MAX_ENTRIES", default=5000)},
        }
    }

# Whole anonymous pages of these views (URL names, shell-style patterns) are cached until
# content changes (center/caching.py). PAGE_CACHE_SECONDS=0 turns the page cache off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=600)
# Values derived from the content (counts, facet counts, search rankings, citations) are cached per
# content version for this long (they never go stale: the version is in the key). 0 turns it off.
VALUE_CACHE_SECONDS = env.int("VALUE_CACHE_SECONDS", default=24 * 60 * 60)
# Each app process builds the facet index (publications/facet_index.py) as it starts (center/wsgi.py),
# so the first visitors after a start do not wait for it.
FACET_INDEX_AT_START = env.bool("FACET_INDEX_AT_START", default=True)
# Rate-limited views (citation downloads) are left out: a cache hit would skip the limit.
PAGE_CACHE_VIEWS = [
    "home",
    "cookies",
    "publications:index",
    "publications:detail",
    "publications:themes",
    "publications:theme",
    "publications:regions",
    "publications:region",
    "publications:tag",
    "authors:*",
    "search",
    "search:index",
    "search:results",
    "*feed*",
    "*sitemap*",
    "oai*",
    "*:oai*",
]
# Citation downloads (BibTeX, RIS, CSL-JSON): at most EXPORT_RATE_LIMIT per visitor and window.
EXPORT_RATE_LIMIT = env.int("EXPORT_RATE_LIMIT", default=30)
EXPORT_RATE_WINDOW = env.int("EXPORT_RATE_WINDOW", default=60)
# Reactions (like / dislike on blog posts): at most REACTION_RATE_LIMIT votes per address and window.
REACTION_RATE_LIMIT = env.int("REACTION_RATE_LIMIT", default=30)
REACTION_RATE_WINDOW = env.int("REACTION_RATE_WINDOW", default=600)
# Site search (/search/): at most SEARCH_RATE_LIMIT searches per visitor (IP) and window (seconds).
# Answers served from the page cache cost nothing and are not counted.
SEARCH_RATE_LIMIT = env.int("SEARCH_RATE_LIMIT", default=60)
SEARCH_RATE_WINDOW = env.int("SEARCH_RATE_WINDOW", default=60)
# Searches matching more publications than this are ordered in tiers (every word in the title,
# authors or subjects; some words there; the rest; newest first in each) instead of scored one by one.
SEARCH_EXACT_RANK_LIMIT = env.int("SEARCH_EXACT_RANK_LIMIT", default=2000)
# The term index (PostgreSQL, publications.term_index): bitmaps of the most frequent words in memory
# (in the whole vectors and in their title and names part), at most SEARCH_TERM_INDEX_MB per process
# (0: none), for words in at least
# SEARCH_TERM_INDEX_MIN_DOCUMENTS documents, used from SEARCH_TERM_INDEX_FROM visible publications on,
# read again in the background after a quarter of SEARCH_TERM_INDEX_CHANGES documents are written,
# not used beyond that many.
SEARCH_TERM_INDEX_MB = env.float("SEARCH_TERM_INDEX_MB", default=5)
SEARCH_TERM_INDEX_MIN_DOCUMENTS = env.int("SEARCH_TERM_INDEX_MIN_DOCUMENTS", default=1000)
SEARCH_TERM_INDEX_FROM = env.int("SEARCH_TERM_INDEX_FROM", default=20000)
SEARCH_TERM_INDEX_CHANGES = env.int("SEARCH_TERM_INDEX_CHANGES", default=2000)
# Crossref deposit XML (admin action "Export Crossref deposit XML"): the depositor and registrant.
CROSSREF_DEPOSITOR_NAME = env.str("CROSSREF_DEPOSITOR_NAME", default=SITE_NAME)
CROSSREF_DEPOSITOR_EMAIL = env.str("CROSSREF_DEPOSITOR_EMAIL", default="doi@localhost")
CROSSREF_REGISTRANT = env.str("CROSSREF_REGISTRANT", default=SITE_NAME)
# /bench/ping, a bare view returning a constant: the ceiling `make bench` compares pages to.
BENCH_PING = env.bool("BENCH_PING", default=False)
# Deepest page of a listing (OFFSET grows with the page number); filters and search go further.
MAX_INDEX_PAGES = env.int("MAX_INDEX_PAGES", default=500)
# Where the content version lives when the cache is per process (no REDIS_URL).
CONTENT_STATE_FILE = env.str("CONTENT_STATE_FILE", default="")

# Feeds, sitemaps and OAI-PMH (publications/feeds.py, sitemaps.py, oai.py).
FEED_ITEMS = env.int("FEED_ITEMS", default=30)
# Small pages keep each sitemap response the same size whatever the size of the index.
SITEMAP_PAGE_SIZE = env.int("SITEMAP_PAGE_SIZE", default=2000)
OAI_PAGE_SIZE = env.int("OAI_PAGE_SIZE", default=100)
OAI_TOKEN_MAX_AGE = env.int("OAI_TOKEN_MAX_AGE", default=24 * 60 * 60)
OAI_REPOSITORY_IDENTIFIER = env.str(
    "OAI_REPOSITORY_IDENTIFIER", default=urlsplit(SITE_URL).hostname or "localhost"
)
OAI_ADMIN_EMAIL = env.str(
    "OAI_ADMIN_EMAIL", default=f"webmaster@{urlsplit(SITE_URL).hostname or 'localhost'}"
)

# Background tasks: django-tasks (Django 6's tasks framework backported).
TASKS_BACKEND = env.str(
    "TASKS_BACKEND",
    default="django_tasks.backends.immediate.ImmediateBackend"
    if TESTING
    else "django_tasks_db.DatabaseBackend",
)
TASKS = {"default": {"BACKEND": TASKS_BACKEND}}
# /healthz reports the queue as "backlog" when a task waits longer than this (no worker running?).
HEALTH_TASKS_OVERDUE_SECONDS = env.int("HEALTH_TASKS_OVERDUE_SECONDS", default=600)

# Email: EMAIL_URL such as smtp://user:pass@host:587, consolemail://, filemail:///dir.

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <newsletter@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Passwords

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalization

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Static and media files

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    # Uploads appear complete or not at all (center/storage.py).
    "default": {"BACKEND": "center.storage.MediaStorage"},
    "staticfiles": {
        # Hashed, compressed names need `collectstatic`; debug and tests serve the sources.
        "BACKEND": "center.storage.StaticStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_MAX_AGE = 31536000

# Uploads go to S3-compatible object storage (AWS S3, MinIO, Ceph...) when a bucket is
# configured, so several app servers share them; otherwise to MEDIA_ROOT.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=False),
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=3600),
            "default_acl": env.str("AWS_DEFAULT_ACL", default="") or None,
            "file_overwrite": False,
        },
    }

# Cached HTML (pages, cards) holding signed file URLs must expire before they do (center/caching.py).
SIGNED_FILE_URL_SECONDS = (
    env.int("AWS_QUERYSTRING_EXPIRE", default=3600)
    if AWS_STORAGE_BUCKET_NAME and env.bool("AWS_QUERYSTRING_AUTH", default=False)
    else 0
)

# Upload limits (bytes).
PDF_MAX_UPLOAD_SIZE = env.int("PDF_MAX_UPLOAD_SIZE", default=50 * 1024 * 1024)
# Cover images: bigger files or pictures are refused; accepted ones are scaled down to fit.
COVER_MAX_UPLOAD_SIZE = env.int("COVER_MAX_UPLOAD_SIZE", default=10 * 1024 * 1024)
COVER_MAX_PIXELS = env.int("COVER_MAX_PIXELS", default=40_000_000)
COVER_MAX_DIMENSION = env.int("COVER_MAX_DIMENSION", default=1600)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Security. Behind an HTTPS proxy when debug is off.

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app append to X-Forwarded-For (rate limits trust only
# their entries; 0 ignores the header, for a site served without a proxy).
TRUSTED_PROXIES = env.int("DJANGO_TRUSTED_PROXIES", default=1)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = not DEBUG and SECURE_SSL_REDIRECT
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# No script reads the CSRF cookie (forms on cached pages fetch a token from newsletter:csrf).
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)

# Login safety (django-axes): after AXES_FAILURE_LIMIT failed logins for one user name from
# one address, that pair is locked out for AXES_COOLOFF_MINUTES.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "axes/lockout.html"
# The client address as the rate limits see it (behind TRUSTED_PROXIES proxies).
AXES_CLIENT_IP_CALLABLE = "center.ratelimit.axes_client_ip"
AXES_VERBOSE = False
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No page is meant to be framed (a view that must be can use @xframe_options_sameorigin and
# django-csp's @csp_update({"frame-ancestors": SELF})).
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): same origin only, nonces for scripts.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
    },
}

# Logs go to stderr, one JSON object per line with the request id (LOG_FORMAT=text for plain lines).
# Errors (500s) are logged by django.request with their traceback; pages never show one.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "center.log_format.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "center.log_format.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "text" if LOG_FORMAT == "text" else "json",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's default config mails admins and filters by DEBUG; ours logs everything to stderr.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # django-axes logs every login at INFO; lockouts still show as warnings.
        "axes": {"level": env.str("AXES_LOG_LEVEL", default="WARNING")},
    },
}

TAGGIT_CASE_INSENSITIVE = True

# Django 6 behaviour now: URLs typed without a scheme are taken as https.
FORMS_URLFIELD_ASSUME_HTTPS = True

# Mailing list (newsletter app; README "Mailing list").
NEWSLETTER_CONFIRM_MAX_AGE = env.int("NEWSLETTER_CONFIRM_MAX_AGE", default=7 * 24 * 3600)
# At most one confirmation email per address in this many seconds, however often the form is sent.
NEWSLETTER_RESEND_SECONDS = env.int("NEWSLETTER_RESEND_SECONDS", default=600)
# Spam protection: minimum and maximum age of the form when posted, hourly limits per IP and address.
NEWSLETTER_FORM_MIN_SECONDS = env.int("NEWSLETTER_FORM_MIN_SECONDS", default=3)
NEWSLETTER_FORM_MAX_AGE = env.int("NEWSLETTER_FORM_MAX_AGE", default=24 * 3600)
NEWSLETTER_RATE_PER_IP = env.int("NEWSLETTER_RATE_PER_IP", default=20)
NEWSLETTER_RATE_PER_EMAIL = env.int("NEWSLETTER_RATE_PER_EMAIL", default=5)
# Sending: messages per batch task, attempts for temporary failures, permanent failures
# before an address is suspended, and how long a claimed delivery is left to its worker.
NEWSLETTER_BATCH_SIZE = env.int("NEWSLETTER_BATCH_SIZE", default=50)
NEWSLETTER_MAX_ATTEMPTS = env.int("NEWSLETTER_MAX_ATTEMPTS", default=5)
NEWSLETTER_RETRY_BASE_SECONDS = env.int("NEWSLETTER_RETRY_BASE_SECONDS", default=60)
NEWSLETTER_SUSPEND_AFTER = env.int("NEWSLETTER_SUSPEND_AFTER", default=3)
NEWSLETTER_CLAIM_LEASE_SECONDS = env.int("NEWSLETTER_CLAIM_LEASE_SECONDS", default=15 * 60)
# The first "new since the last newsletter" covers this many days.
NEWSLETTER_FIRST_SINCE_DAYS = env.int("NEWSLETTER_FIRST_SINCE_DAYS", default=30)

# Revision history (django-simple-history): restoring an old version goes through the
# publication form, so permissions and validation apply as to any edit.
SIMPLE_HISTORY_REVERT_DISABLED = False
