"""Settings for serving our API under gunicorn in the benchmark (``benchmarks/run.py``).

Production settings, so that the middleware, the Redis cache and the throttles are those of a
deployment, with what a benchmark on plain HTTP on localhost needs changed:

- the variables prod requires get harmless local values (obviously fake: nothing here is a
  secret), unless the environment sets them;
- no HTTPS redirect, HSTS or secure-proxy header: wrk speaks plain HTTP to 127.0.0.1;
- ``NUM_PROXIES = 1``: as behind a reverse proxy, the client address is read from
  ``X-Forwarded-For``, which ``benchmarks/wrk_paths.lua`` sets from a pool of simulated shoppers.
  The throttles then keep one short history per shopper, as in production, instead of one
  ever-growing history for the single address that wrk connects from;
- throttle rates far above anything one simulated shopper sends, so nothing is refused.

``BENCH_RESPONSE_CACHE=off`` (the runner's setting for every scenario but the cached ones)
turns the API's response cache off: see the end of this file.
"""

import os

BENCH_ENVIRONMENT = {
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "JWT_SIGNING_KEY": "bench-only-jwt-key-not-a-secret-0123456789abcdefghijklmnopqrstuvw",
    "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
    "REDIS_URL": "redis://127.0.0.1:6379/5",
    "EMAIL_HOST": "localhost",
    "EMAIL_HOST_USER": "",
    "EMAIL_HOST_PASSWORD": "",
    "DEFAULT_FROM_EMAIL": "bench@localhost",
    "FRONTEND_URL": "http://localhost:3000",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "false",
    "NUM_PROXIES": "1",
    "LOG_LEVEL": "WARNING",
}
for name, value in BENCH_ENVIRONMENT.items():
    os.environ.setdefault(name, value)

from project.settings.prod import *  # noqa: F403
from project.settings.prod import REST_FRAMEWORK

DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Forced, not defaults: an environment with production's rates would refuse the load.
BENCH_THROTTLE_RATE = "10000000/minute"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "NUM_PROXIES": 1,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": BENCH_THROTTLE_RATE,
        "user": BENCH_THROTTLE_RATE,
    },
}

# The uncached scenarios measure the work of building a response, so they run with
# BENCH_RESPONSE_CACHE=off: no response cache (apps.core.response_cache; 0 seconds turns it
# off). The cached scenarios run with production's setting. The runner warns when an "off" run
# still leaves response-cache entries in Redis.
if os.environ.get("BENCH_RESPONSE_CACHE", "on").lower() == "off":
    API_CACHE_SECONDS = 0
