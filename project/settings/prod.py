"""Production: every secret comes from the environment and has no default.

With the variables of ``.env.example`` set, ``manage.py check --deploy --fail-level WARNING``
reports nothing.
"""

import logging

from .base import *  # noqa: F403
from .base import LOGGING, SIMPLE_JWT, database_from_url, env, log_format

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

DATABASES = {"default": database_from_url(env.str("DATABASE_URL"))}

SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": env.str("JWT_SIGNING_KEY")}

# Every worker shares one Redis: throttle counters and the API's response cache.
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env.str("REDIS_URL"),
        # base.py's CACHES is typed dict[str, dict[str, str]]; these options are numbers.
        "OPTIONS": {  # type: ignore[dict-item]
            # Seconds. redis-py waits forever by default, so a Redis that stops answering (a
            # dead host, a dropped route) would hang every worker; a healthy one answers in
            # about a millisecond. After a failure, apps.core.cache_guard stops asking for a
            # few seconds, so an outage costs each worker one timeout per interval at most.
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}

# --- HTTPS ------------------------------------------------------------------------------------

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto; leave unset when Django sees TLS.
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Email ------------------------------------------------------------------------------------

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env.str("EMAIL_HOST")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
# Both may be set empty for a relay without authentication, but must be set.
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The storefront that account emails link to (verification, password reset).
FRONTEND_URL = env.str("FRONTEND_URL").rstrip("/")

# --- Logging ----------------------------------------------------------------------------------

# One JSON object per line, for a log collector to parse (LOG_FORMAT=plain for readable lines).
# gunicorn's own lines follow the same variable (gunicorn.conf.py).
LOG_FORMAT = log_format(default="json")
LOGGING = {
    **LOGGING,
    "handlers": {"console": {**LOGGING["handlers"]["console"], "formatter": LOG_FORMAT}},
}
# Python's warnings (a library's UserWarning) through logging too, as records of "py.warnings":
# else they are written to stderr as two bare lines, the one thing in the log that is not JSON.
logging.captureWarnings(True)

# --- Webhooks ---------------------------------------------------------------------------------

# Subscriptions must use https unless this says otherwise (base.py has the other settings).
WEBHOOKS_HTTPS_ONLY = env.bool("WEBHOOKS_HTTPS_ONLY", default=True)
