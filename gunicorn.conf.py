"""Gunicorn settings for the container (``gunicorn -c gunicorn.conf.py``).

Everything that differs between deployments is read from the environment, like Django's settings.
"""

import glob
import os
import shutil
import tempfile
from typing import Any

# --- Prometheus metrics, before anything imports prometheus_client -----------------------------

# Every worker writes its metrics to files in this folder, and a scrape of any worker adds up
# all of them (prometheus_client's multi-process mode, which it chooses at import: hence here,
# before preload_app loads Django). Unset, a new folder on tmpfs is made for this server and
# removed when it stops. Set, it must be this server's alone; its old files are removed at start.
# (A reload, on SIGHUP, reads this file again: the marker says the folder is still ours.)
_OWNED_MARKER = "CATALOGUE_METRICS_DIR_IS_TEMPORARY"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="catalogue-metrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
    )
    os.environ[_OWNED_MARKER] = "1"
METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]
os.makedirs(METRICS_DIR, exist_ok=True)

# After the variable above is set. (gunicorn puts the project folder on sys.path first.)
from gunicorn import glogging  # type: ignore[import-untyped]  # noqa: E402
from prometheus_client import multiprocess  # noqa: E402

from apps.core.logging import AccessLogJsonFormatter, JsonFormatter  # noqa: E402
from apps.core.metrics.multiprocess import fold_dead_worker  # noqa: E402


def _int_from_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _default_workers() -> int:
    # The CPUs this process may run on (a container's cpuset), not the host's count; capped,
    # because every sync worker holds its own memory and database connection.
    cpus = len(os.sched_getaffinity(0))
    return min(2 * cpus + 1, 8)


wsgi_app = "project.wsgi:application"

# 0.0.0.0 so that the published port reaches the server inside the container; PORT as most
# platforms (Heroku, Cloud Run, Render) set it.
bind = f"0.0.0.0:{_int_from_env('PORT', 8000)}"

workers = _int_from_env("WEB_CONCURRENCY", _default_workers())
# Sync workers: Django and psycopg block, each worker keeps one persistent database connection
# (CONN_MAX_AGE), and a reverse proxy in front buffers slow clients. GUNICORN_THREADS > 1
# switches gunicorn to its gthread worker, for a platform with no buffering proxy.
worker_class = "sync"
threads = _int_from_env("GUNICORN_THREADS", 1)

# A request slower than this is killed and logged; the API has nothing legitimate that slow.
timeout = 30
# On SIGTERM (docker stop), let requests in flight finish. Keep this below the stop timeout of
# the orchestrator (compose.yaml's stop_grace_period), or they are killed anyway.
graceful_timeout = 25
# Only the gthread worker keeps connections alive; a little longer than gunicorn's default 2 s,
# so that a load balancer's reused connection is not closed under it.
keepalive = 5

# Load Django once in the master, before forking: workers start in milliseconds and share the
# loaded code's memory pages. Nothing opens a database connection at import, so no worker
# inherits one.
preload_app = True

# Recycle each worker after this many requests, so a slow leak cannot grow without bound; the
# jitter keeps the workers from restarting all at once. At a few hundred requests a second per
# worker, 1,000 had every worker restarting within seconds of the others (benchmarks/).
max_requests = 20000
max_requests_jitter = 2000

# The heartbeat file on tmpfs: a container's overlay filesystem can block os.fchmod for seconds,
# and the arbiter would then kill a healthy worker.
worker_tmp_dir = "/dev/shm"
# Containers are managed by signals from the orchestrator; no control socket to write under
# $HOME, which keeps a read-only root filesystem possible.
control_socket_disable = True

# Logs go to the container's output: the access log to stdout, errors to stderr.
accesslog = "-"
errorlog = "-"
# One LOG_LEVEL for Django and gunicorn (.env.example).
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


# One LOG_FORMAT too: "json" (the default, as in project.settings.prod) writes gunicorn's lines
# as JSON objects like Django's, an access line with its request id, method, path, status and
# time; "plain", gunicorn's own format below. Only the formatters change: the lines go where
# accesslog and errorlog (or --access-logfile) send them.
class JsonLogger(glogging.Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(AccessLogJsonFormatter())


if os.environ.get("LOG_FORMAT", "json") == "json":
    logger_class = JsonLogger

# The common format, plus the request id Django echoes back and the time taken in microseconds.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s %(D)s'
)

# Addresses of the proxies whose X-Forwarded-* headers gunicorn trusts; "*" when only the proxy
# can reach the container. Django reads X-Forwarded-Proto itself (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


# --- Server hooks -----------------------------------------------------------------------------


def on_starting(server: Any) -> None:
    # Counts left by an earlier server in the folder would be added to this one's.
    for path in glob.glob(os.path.join(METRICS_DIR, "*.db")):
        os.remove(path)


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's counts stay in the totals, folded into one archive file per type so that
    # recycled workers do not pile up files for every scrape to read; its live gauges go.
    multiprocess.mark_process_dead(worker.pid)
    fold_dead_worker(worker.pid, METRICS_DIR)


def on_exit(server: Any) -> None:
    if os.environ.get(_OWNED_MARKER):
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
