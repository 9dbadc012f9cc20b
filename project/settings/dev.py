"""Local development: DEBUG, the browsable API, the embedded PostgreSQL unless DATABASE_URL."""

from project.embedded_postgres import embedded_database_url

from .base import *  # noqa: F403
from .base import (
    EMBEDDED_POSTGRES_DIR,
    REST_FRAMEWORK,
    SIMPLE_JWT,
    STORAGES,
    database_from_url,
    env,
)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Dev only: a fixed key is fine here and nowhere else (prod has no default).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-never-used-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

if not env.str("DATABASE_URL", default=""):
    env.ENVIRON["DATABASE_URL"] = embedded_database_url(EMBEDDED_POSTGRES_DIR, "catalogue")
DATABASES = {"default": database_from_url(env.str("DATABASE_URL"))}

SIMPLE_JWT = {
    **SIMPLE_JWT,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="dev-only-jwt-signing-key-not-secret"),
}

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_RENDERER_CLASSES": [
        "apps.core.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",
        "apps.core.parsers.FormParser",
        "apps.core.parsers.MultiPartParser",
    ],
    # Log in once through /admin/ (or the browsable API's login) and explore with the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:3000", "http://127.0.0.1:3000"]
)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Catalogue <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The storefront that account emails link to (verification, password reset).
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:3000").rstrip("/")
# Webhooks to receivers on this machine or its network (a local test server).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=True)
WEBHOOKS_PUBLIC_URL = env.str("WEBHOOKS_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# /metrics open to anyone (prod needs METRICS_TOKEN or METRICS_ALLOWED_NETWORKS).
METRICS_PUBLIC = True
# Serve static files straight from the apps while developing, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
