"""Test run: dev settings (embedded PostgreSQL unless DATABASE_URL is set) made fast and quiet."""

from .dev import *  # noqa: F403

# Hashing with PBKDF2's full work factor would dominate the suite's time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Send account emails inline, so that a test sees them in mail.outbox once the transaction
# commits (django_capture_on_commit_callbacks).
ACCOUNTS_EMAIL_IN_BACKGROUND = False
