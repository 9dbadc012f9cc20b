"""Settings shared by every environment; ``dev``, ``test`` and ``prod`` build on them.

Every value that differs between deployments is read from the environment with django-environ
(and from a ``.env`` file at the project root, when there is one). See ``.env.example``.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])
ROOT_URLCONF = "project.urls"
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/")
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and ReDoc as static files (SPECTACULAR_SETTINGS below), not from a CDN.
    "drf_spectacular_sidecar",
    # django-csp's system checks; the header comes from CONTENT_SECURITY_POLICY (below).
    "csp",
    "axes",
    # The job queue (issue 14): its tables, migrations, admin pages and `manage.py procrastinate`.
    # Before our apps, so that its app is ready when theirs are.
    "procrastinate.contrib.django",
    # In layer order, lowest first: an app imports only from itself and the apps listed before
    # it (checked by `make lint`: [tool.importlinter] in pyproject.toml).
    "apps.core",
    "apps.users",
    "apps.attributes",
    "apps.products",
    "apps.reviews",
    # The outbox, filled by PostgreSQL from the tables of the apps above.
    "apps.events",
    # Webhooks: subscriptions, and the delivery of the outbox's events to them.
    "apps.webhooks",
    # The admin's front page and the demo catalogue, which read or fill all of the above.
    "apps.dashboard",
    "apps.demo",
]

MIDDLEWARE = [
    # Health probes answer before host validation and the HTTPS redirect: a load balancer or
    # Docker's HEALTHCHECK calls them by IP over plain HTTP.
    "apps.core.middleware.HealthCheckMiddleware",
    # /metrics, for the same reason (Prometheus scrapes each instance by its address); it
    # checks its own token and networks (METRICS_* below).
    "apps.core.metrics.endpoint.MetricsEndpointMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    # Counts and times everything below it, cached reads and refusals included; the probes and
    # /metrics above are not counted.
    "apps.core.metrics.middleware.MetricsMiddleware",
    # Before anything reads the query: PostgreSQL refuses NUL in text (a 500 otherwise).
    "apps.core.middleware.NullCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Before sessions, authentication and throttling: a cached anonymous read skips them all.
    "apps.core.response_cache.ResponseCacheMiddleware",
    # Content-Security-Policy (django-csp's, built once). Inside the response cache, which
    # stores the header with the answer, so that a cached hit does not pay for it again (a
    # fifth of its time); only JSON is cached, and JSON never holds a nonce.
    "apps.core.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETag on every GET (a hash of the body) and 304 for a matching If-None-Match; with the
    # product detail's Last-Modified, If-Modified-Since too.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns an admin login lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------


def database_from_url(url: str) -> dict[str, Any]:
    """Return Django's settings for the database at ``url``, with persistent connections.

    A Unix socket folder may be given as ``?host=/path`` (libpq's convention); it becomes HOST
    so that ``dbshell`` and every other client see it too.
    """
    config: dict[str, Any] = environ.Env.db_url_config(url)
    options = config.setdefault("OPTIONS", {})
    if "host" in options:
        config["HOST"] = options.pop("host")
    # Persistent connections, checked before reuse so that a restarted server costs one retry,
    # not an error page.
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    return config


EMBEDDED_POSTGRES_DIR = BASE_DIR / ".data" / "postgres"

# --- Auth -------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login lockout (django-axes), for the API's token endpoint and the admin login alike. Failures
# are counted in the database, not the cache, so a cache outage cannot open it. An account is
# locked after AXES_FAILURE_LIMIT failures from one address, and also after that many from all
# addresses together (a distributed guess); the lock lifts after the cool-off, and a successful
# login clears the count.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_RESET_ON_SUCCESS = True
# A fixed cool-off: more failures during a lockout do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The API's login sends "email", the admin's "username"; both name the same normalised email.
AXES_USERNAME_CALLABLE = "apps.users.lockout.login_username"
# The same client address as the throttles see (NUM_PROXIES), so both agree behind proxies.
AXES_CLIENT_IP_CALLABLE = "apps.core.throttling.client_ip_address"
# The answer once locked out: 429, in the API's error shape under /api/, else a page.
AXES_LOCKOUT_CALLABLE = "apps.users.lockout.lockout_response"

# Password reset links (Django's token generator) work for this many seconds, and only once.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
# Email verification links work for this many seconds, until the address is verified or changed.
ACCOUNTS_EMAIL_VERIFICATION_TIMEOUT = env.int(
    "EMAIL_VERIFICATION_TIMEOUT", default=60 * 60 * 24 * 3
)
# Links in account emails open the storefront (FRONTEND_URL, set per environment), whose pages
# post the token to the API. Placeholders: {frontend_url}, {token}, {uid}.
ACCOUNTS_EMAIL_LINKS = {
    "verify_email": "{frontend_url}/verify-email?token={token}",
    "password_reset": "{frontend_url}/reset-password?uid={uid}&token={token}",
    "forgot_password": "{frontend_url}/forgot-password",
}
# Account emails are jobs (apps.users.emails), deferred in the transaction of the account change
# and delivered by a worker; one the mail server refuses, or that cannot reach it, is retried
# after 10 s, 20 s, 40 s ... (doubling, at most an hour apart) this many times, about 4 hours in
# all, before it is given up and logged as failed.
ACCOUNTS_EMAIL_RETRY = {
    "retries": env.int("EMAIL_RETRIES", default=12),
    "first_wait_seconds": env.int("EMAIL_RETRY_FIRST_SECONDS", default=10),
    "max_wait_seconds": env.int("EMAIL_RETRY_MAX_SECONDS", default=60 * 60),
}
# Seconds an SMTP connection may wait for the server. Without a timeout, a mail server that
# accepts connections but never answers would hold the delivery threads for ever, and every
# later email would queue behind them in memory.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Background jobs --------------------------------------------------------------------------

# procrastinate (issue 14; docs/jobs.md): jobs are rows in the default database, written on the
# request's own connection, so a job deferred in a transaction exists only if it commits. Workers
# (`manage.py jobs worker`, any number on any host) take them with FOR UPDATE SKIP LOCKED
# and are woken by LISTEN/NOTIFY. Each app's jobs live in its `tasks.py` (found by this name).
PROCRASTINATE_DATABASE_ALIAS = "default"
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
PROCRASTINATE_WORKER_DEFAULTS = {
    # A job's row goes once it succeeded: an email's holds its links' tokens. Failed ones stay
    # (the admin lists them) until the upkeep job removes them (JOBS_KEEP_FAILED_DAYS).
    "delete_jobs": "successful",
    # On SIGTERM, running jobs get this long to finish; below compose's stop_grace_period.
    "shutdown_graceful_timeout": 25,
}
# Every worker runs each job inside apps.core.job_worker.job_observed: the job's id on every log
# line meanwhile, and its wait and run time measured (catalogue_job_latency_seconds, ...).
PROCRASTINATE_ON_APP_READY = "apps.core.job_worker.jobs_app_ready"
# A port on which each worker serves its own /metrics (its jobs' times, its webhook deliveries;
# the same METRICS_* access rules), or 0 for none. docs/deploy.md, "Metrics".
JOBS_METRICS_PORT = env.int("JOBS_METRICS_PORT", default=0)
# Days a failed or cancelled job's row is kept for inspection.
JOBS_KEEP_FAILED_DAYS = env.int("JOBS_KEEP_FAILED_DAYS", default=30)
# Tests only (test.py): run a job in this process once its transaction commits, instead of
# leaving it to a worker. Never in a deployment: the request would wait for the job.
JOBS_RUN_ON_COMMIT = False

# Periodic upkeep (apps/*/tasks.py, deferred by the workers, once per schedule however many run):
# Days the login lockout's logs (django-axes' AccessLog, AccessFailureLog) are kept; failure
# counts (AccessAttempt) go once their cool-off has passed.
LOGIN_RECORDS_KEEP_DAYS = env.int("LOGIN_RECORDS_KEEP_DAYS", default=30)

# --- Webhooks ---------------------------------------------------------------------------------

# docs/webhooks.md. Outbound requests: a receiver must connect within the first timeout and
# answer (its status line and headers) within the second, in seconds; redirects are never
# followed (a 3xx is a failed attempt).
WEBHOOKS_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOKS_CONNECT_TIMEOUT_SECONDS", default=5)
WEBHOOKS_READ_TIMEOUT_SECONDS = env.float("WEBHOOKS_READ_TIMEOUT_SECONDS", default=10)
# False (production): no target that resolves to a loopback, private, link-local, multicast,
# reserved or unspecified address, checked when a subscription is saved and at every send (the
# request connects to the address checked). dev and test allow them, for local receivers.
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False)
# True: subscriptions must use https (prod's default).
WEBHOOKS_HTTPS_ONLY = env.bool("WEBHOOKS_HTTPS_ONLY", default=False)
# A failed attempt (not 2xx, a timeout, a refused connection) is retried after 5 s, 10 s,
# 20 s ... doubling up to 3 h apart, each wait stretched by up to a tenth at random: 18 retries,
# 19 attempts over about a day (docs/webhooks.md has the table); then the delivery is failed.
WEBHOOKS_RETRY = {
    "retries": env.int("WEBHOOKS_RETRIES", default=18),
    "first_wait_seconds": env.int("WEBHOOKS_RETRY_FIRST_SECONDS", default=5),
    "max_wait_seconds": env.int("WEBHOOKS_RETRY_MAX_SECONDS", default=3 * 60 * 60),
}
# Sender jobs at once per subscription (each takes its own batches of due deliveries), and the
# requests each sends at once (its connections to the receiver, kept alive): a receiver taking
# 200 ms an answer gets at most WEBHOOKS_SENDERS x WEBHOOKS_SEND_CONCURRENCY / 0.2 s deliveries.
WEBHOOKS_SENDERS = env.int("WEBHOOKS_SENDERS", default=4)
WEBHOOKS_SEND_CONCURRENCY = env.int("WEBHOOKS_SEND_CONCURRENCY", default=8)
# After a rotation, the previous secret still signs deliveries for this many hours.
WEBHOOKS_SECRET_OVERLAP_HOURS = env.int("WEBHOOKS_SECRET_OVERLAP_HOURS", default=24)
# Days ended deliveries (delivered or failed, with their attempts) and relayed events are kept.
WEBHOOKS_KEEP_DAYS = env.int("WEBHOOKS_KEEP_DAYS", default=30)
# The API's public origin (https://catalogue.example.com), for the absolute image URLs of
# payloads, which the worker builds without a request; empty: URLs are paths.
WEBHOOKS_PUBLIC_URL = env.str("WEBHOOKS_PUBLIC_URL", default="").rstrip("/")

# Product imports from the admin run as jobs (apps/products/import_jobs.py): a sheet may have at
# most this many rows, and its file this many bytes (the upload is stored in the database, in
# parts, until it is imported, discarded, or this many days old). The command line
# (`manage.py import_products`) has no row bound.
PRODUCTS_IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=2_000_000)
# The upload is stored by its request, which must end within gunicorn's 30 s: about 20 MB/s
# on 2 shared cores (benchmarks/RESULTS.md), so 400 MB (2,000,000 rows of 200 bytes).
PRODUCTS_IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=400 * 2**20)
PRODUCTS_IMPORT_UPLOAD_KEEP_DAYS = env.int("IMPORT_UPLOAD_KEEP_DAYS", default=2)

# --- Static and media files -------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    # Uploaded media (product images). Production may point this at another backend, e.g.
    # "storages.backends.s3.S3Storage" (django-storages, configured by its own settings).
    "default": {
        "BACKEND": env.str(
            "DJANGO_MEDIA_STORAGE", default="django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Cache ------------------------------------------------------------------------------------

# Throttle counters live in the cache; prod points every worker at one Redis (REDIS_URL).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST framework ---------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["apps.core.renderers.ORJSONRenderer"],
    # JSON at most 32 levels deep; every unreadable body a 400, an oversized one a 413
    # (apps/core/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's throttles; while the cache is unreachable they count in process memory
        # (apps.core.throttling). The account endpoints' throttles refuse instead (apps.users).
        "apps.core.throttling.AnonRateThrottle",
        "apps.core.throttling.UserRateThrottle",
        "apps.core.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_RATE_ANON", default="300/minute"),
        "user": env.str("THROTTLE_RATE_USER", default="1200/minute"),
        # login, registration and refresh: a scope of their own, far tighter
        "auth": env.str("THROTTLE_RATE_AUTH", default="20/minute"),
        # The account endpoints count each request twice: per client address (the scope) and
        # per account it names (<scope>_account: the email, or the user of a token or uid), so
        # that neither many accounts from one address nor one account from many addresses
        # gets through. See apps/users/throttling.py.
        "auth_account": env.str("THROTTLE_RATE_AUTH_ACCOUNT", default="10/minute"),
        "password_reset": env.str("THROTTLE_RATE_PASSWORD_RESET", default="20/hour"),
        "password_reset_account": env.str("THROTTLE_RATE_PASSWORD_RESET_ACCOUNT", default="5/hour"),
        "email_verification": env.str("THROTTLE_RATE_EMAIL_VERIFICATION", default="10/hour"),
        "email_verification_account": env.str(
            "THROTTLE_RATE_EMAIL_VERIFICATION_ACCOUNT", default="3/hour"
        ),
        # changing the password and deleting the account, which check the current password
        "password_check": env.str("THROTTLE_RATE_PASSWORD_CHECK", default="10/hour"),
        "password_check_account": env.str(
            "THROTTLE_RATE_PASSWORD_CHECK_ACCOUNT", default="10/hour"
        ),
    },
    # Clients behind this many reverse proxies: the throttles read the real client address from
    # X-Forwarded-For instead of trusting the whole header.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    # SIGNING_KEY is set per environment: never the SECRET_KEY, so rotating one keeps the other.
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_OBTAIN_SERIALIZER": "apps.users.serializers.TokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "apps.users.serializers.TokenRefreshSerializer",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Catalogue API",
    "DESCRIPTION": (
        "Product catalogue for storefronts: categories, products, reviews and accounts. "
        "Authenticate with a JWT from `/api/v1/auth/token/`, sent as "
        "`Authorization: Bearer <access>`. Every error has the same shape (`ErrorResponse`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The outbox's event types: a webhook subscription's and a delivery's event share one enum.
    "ENUM_NAME_OVERRIDES": {"EventTypeEnum": "apps.events.models.EVENT_TYPE_CHOICES"},
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files: pinned versions that
    # work offline and under CONTENT_SECURITY_POLICY (the default is a CDN at @latest).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Content-Security-Policy ------------------------------------------------------------------

# Every response (apps.core.csp) lets its page load scripts, styles, images, fonts and API calls
# from this origin only (default-src stands for each fetch directive not named), embed no
# plugins, and be framed by nobody (X_FRAME_OPTIONS says DENY too). No 'unsafe-inline', no
# 'unsafe-eval': the admin and our templates keep scripts and styles in static files, a template
# may give its own <style> the request's nonce (request.csp_nonce; a page that does not gets no
# nonce), and the API docs pages add what their bundles need and no more (project/urls.py).
# JSON answers carry the header too: a few bytes, and a JSON body that a browser was tricked
# into rendering as a page could run nothing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "style-src": [SELF, NONCE],
        # Where DJANGO_MEDIA_STORAGE serves uploaded product images from another origin.
        "img-src": [SELF, *env.list("CSP_MEDIA_ORIGINS", default=[])],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- CORS -------------------------------------------------------------------------------------

CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["X-Request-ID"]

# --- Logging ----------------------------------------------------------------------------------


# LOG_FORMAT: "plain", readable lines (dev and test), or "json", one JSON object per line with
# the request id and, in a job, the job id (prod's default; apps.core.logging).
def log_format(default: str) -> str:
    """Return LOG_FORMAT from the environment, or ``default``; refuse an unknown format."""
    value = env.str("LOG_FORMAT", default=default)
    if value not in ("plain", "json"):
        raise ImproperlyConfigured(f"LOG_FORMAT is {value!r}: set it to plain or json.")
    return value


LOG_FORMAT = log_format(default="plain")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "apps.core.middleware.RequestIdLogFilter"},
        "job_id": {"()": "apps.core.logging.JobIdLogFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]%(job_mark)s %(message)s"
        },
        "json": {"()": "apps.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "job_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "pgserver": {"level": "WARNING"},
        # Every process that loads Django lists each task it registers, and each defer says so:
        # noise. The worker's own log (procrastinate.worker: each job's start and end, with its
        # arguments) stays at LOG_LEVEL.
        "procrastinate.jobs": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
        "procrastinate.blueprints": {"level": "WARNING"},
    },
}

# --- Metrics ----------------------------------------------------------------------------------

# /metrics (apps.core.metrics.endpoint): open to anyone only where METRICS_PUBLIC (dev). Else a
# scraper must send `Authorization: Bearer <METRICS_TOKEN>` when a token is set, and connect
# from METRICS_ALLOWED_NETWORKS when networks are listed; with neither set, /metrics is a 404.
METRICS_PUBLIC = False
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS: list[str] = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# Scrape-time collectors, as dotted paths to classes (apps.core.metrics.collectors says how to
# write one).
METRICS_COLLECTORS: list[str] = [
    # catalogue_job_queue_depth, catalogue_job_oldest_waiting_seconds, ...: the job queue.
    "apps.core.metrics.jobs.JobQueueCollector",
    # catalogue_outbox_lag_seconds: the oldest event the webhook relay has not taken.
    "apps.webhooks.metrics.OutboxLagCollector",
]

# --- Catalogue --------------------------------------------------------------------------------

# Allowed page sizes for every paginated list.
API_PAGE_SIZE = 24
API_MAX_PAGE_SIZE = 100
# Lists count matching rows exactly up to this many; past it, they report an estimate.
API_EXACT_COUNT_LIMIT = env.int("API_EXACT_COUNT_LIMIT", default=10_000)

# Anonymous GETs of the catalogue are cached (apps.core.response_cache) for this many seconds at
# most; any write to a watched table makes them stale at once. 0 turns the cache off. Every
# process must share the cache (prod: Redis) for writes in one to reach the others.
API_CACHE_SECONDS = env.int("API_CACHE_SECONDS", default=300)
# Paths cached: products, their images, categories, attributes and product types; not reviews
# (votes change them often).
API_CACHE_PATHS = r"^/api/v1/(?:products|categories|attributes|product-types)/(?![0-9]+/reviews/)"
API_CACHE_WATCHED_TABLES = ("products_", "attributes_")

# PostgreSQL text-search configuration for product search (stemming, stop words): "english",
# "simple", "german" ... After changing it, run `manage.py search_reindex`.
CATALOGUE_SEARCH_CONFIG = env.str("SEARCH_LANGUAGE", default="english")
# Bounds on ?search=: longer or more complex queries are refused with a 400.
CATALOGUE_SEARCH_MAX_LENGTH = 200
CATALOGUE_SEARCH_MAX_TERMS = 10
# Ordered by relevance, a search ranks (and pages through) at most this many of its matches,
# the most reviewed: ranking reads each match's document, too slow for a common word's 500,000.
CATALOGUE_SEARCH_RANKED_MATCHES = env.int("CATALOGUE_SEARCH_RANKED_MATCHES", default=500)
# A search's count is exact up to this many matches, then the planner's estimate.
CATALOGUE_SEARCH_EXACT_COUNT_LIMIT = env.int("CATALOGUE_SEARCH_EXACT_COUNT_LIMIT", default=1000)
# Upper edges of the price facet's buckets; the last bucket is open-ended.
CATALOGUE_PRICE_BUCKETS = [10, 25, 50, 100, 250, 500, 1000]
# Product image uploads: the formats, size and dimensions accepted.
CATALOGUE_IMAGE_FORMATS = ["JPEG", "PNG", "WEBP"]
CATALOGUE_IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
CATALOGUE_IMAGE_MAX_PIXELS_SIDE = 6000
CATALOGUE_IMAGE_MIN_PIXELS_SIDE = 100
# Stock at or below this (but above 0) is "low" in the admin.
CATALOGUE_LOW_STOCK_THRESHOLD = env.int("LOW_STOCK_THRESHOLD", default=5)
# The most variants one product may have (apps.products.services.variant_create).
CATALOGUE_MAX_VARIANTS_PER_PRODUCT = env.int("CATALOGUE_MAX_VARIANTS_PER_PRODUCT", default=1000)
