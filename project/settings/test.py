"""Test run: dev settings (embedded PostgreSQL unless DATABASE_URL is set) made fast and quiet."""

from .dev import *  # noqa: F403

# Hashing with PBKDF2's full work factor would dominate the suite's time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Run each job in the test's own process once its transaction commits, so that a test sees an
# account email in mail.outbox after the commit (django_capture_on_commit_callbacks). The tests of
# the queue itself turn this off and run a real worker.
JOBS_RUN_ON_COMMIT = True
