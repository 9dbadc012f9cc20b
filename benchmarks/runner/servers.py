"""The servers under test: each under gunicorn with the project's gunicorn.conf.py, and the
memory of its workers."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs installed

from .errors import BenchmarkError
from .scenarios import HOST

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "gunicorn.conf.py"

GUNICORN_CONFIG = """\
# Written by benchmarks/runner: the project's gunicorn.conf.py, then only these changes.
exec(compile(open({conf!r}).read(), {conf!r}, "exec"))
bind = {bind!r}
wsgi_app = {app!r}
accesslog = None
errorlog = {errorlog!r}
loglevel = "info"
"""

# name: (WSGI app, environment)
SERVERS: dict[str, tuple[str, dict[str, str]]] = {
    "ours": (
        "project.wsgi:application",
        {"DJANGO_SETTINGS_MODULE": "benchmarks.settings", "BENCH_RESPONSE_CACHE": "off"},
    ),
    "ours-cached": (
        "project.wsgi:application",
        {"DJANGO_SETTINGS_MODULE": "benchmarks.settings", "BENCH_RESPONSE_CACHE": "on"},
    ),
    "textbook": (
        "project.wsgi:application",
        {"DJANGO_SETTINGS_MODULE": "benchmarks.textbook.settings", "BENCH_RESPONSE_CACHE": "off"},
    ),
    "floor": ("benchmarks.floor.app:application", {}),
    "eav": ("benchmarks.eav.app:application", {}),
}
# The servers that serve no product page: they are ready when the scenario's first path answers.
WITHOUT_DETAIL = frozenset({"eav"})


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Return the status, headers and body of a GET of ``url``, as wrk's requests ask for it."""
    request = urllib.request.Request(  # noqa: S310  # http://127.0.0.1 only
        url, headers={"Host": HOST, "Accept": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@dataclass
class Server:
    """One of ``SERVERS`` under gunicorn on ``port``, its config and log in ``workdir``."""

    name: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def errorlog(self) -> Path:
        return self.workdir / f"{self.name}-{self.port}.log"

    def start(self) -> None:
        """Write the server's gunicorn config and start gunicorn (see ``wait_ready``)."""
        app, environment = SERVERS[self.name]
        config = self.workdir / f"{self.name}-{self.port}.conf.py"
        config.write_text(
            GUNICORN_CONFIG.format(
                conf=str(GUNICORN_CONF),
                bind=f"127.0.0.1:{self.port}",
                app=app,
                errorlog=str(self.errorlog),
            )
        )
        env = {
            **os.environ,
            **environment,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "REDIS_URL": os.environ["REDIS_URL"],
        }
        self.process = subprocess.Popen(  # noqa: S603  # our own command line
            [sys.executable, "-m", "gunicorn", "-c", str(config)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, path: str, timeout: float = 90) -> None:
        """Wait until ``path`` answers 200; raise if gunicorn exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchmarkError(f"{self.name} exited; see {self.errorlog}")
            with contextlib.suppress(OSError):
                status, _headers, _body = fetch(self.url + path)
                if status == 200:
                    return
            time.sleep(0.3)
        raise BenchmarkError(f"{self.name} not ready after {timeout} s; see {self.errorlog}")

    def wait_listening(self, timeout: float = 90) -> None:
        """Wait until gunicorn accepts connections, sending no request (a comparator's page
        can take minutes, and a request wrk did not send would run into the next timed run)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchmarkError(f"{self.name} exited; see {self.errorlog}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.3)
        raise BenchmarkError(f"{self.name} not listening after {timeout} s; see {self.errorlog}")

    def workers(self) -> list[psutil.Process]:
        """Return gunicorn's worker processes (none once it has stopped)."""
        assert self.process is not None
        with contextlib.suppress(psutil.Error):
            return psutil.Process(self.process.pid).children()
        return []

    def boots(self) -> int:
        """Return how many workers gunicorn has booted so far, by its log."""
        if not self.errorlog.exists():
            return 0
        return self.errorlog.read_text(errors="replace").count("Booting worker")

    def stop(self) -> None:
        """Stop gunicorn gracefully, and kill it and its workers if it takes over 30 seconds.

        A worker left busy (a comparator's query that runs for minutes) would otherwise go on
        after its master is killed, and take the CPUs from the next timed run; killed, its
        connection closes, and PostgreSQL cancels the query (the comparators' connections set
        ``client_connection_check_interval``).
        """
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.workers()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        left = [worker for worker in workers if worker.is_running()]
        for worker in left:
            with contextlib.suppress(psutil.Error):
                worker.kill()
        if left:
            time.sleep(2)  # PostgreSQL checks the closed connections every second


class RssSampler(threading.Thread):
    """Sample the resident memory of a server's workers until stopped; keep the peak."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak = 0
        self.running = threading.Event()
        self.running.set()

    def run(self) -> None:
        while self.running.is_set():
            self.sample()
            time.sleep(0.2)

    def sample(self) -> None:
        """Raise the peak to the largest worker's resident memory now."""
        for worker in self.server.workers():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, worker.memory_info().rss)

    def stop(self) -> int:
        """Stop sampling; return the peak in bytes."""
        self.sample()
        self.running.clear()
        self.join()
        for worker in self.server.workers():  # the high-water mark of workers still alive
            with contextlib.suppress(OSError, ValueError):
                status = Path(f"/proc/{worker.pid}/status").read_text()
                match = re.search(r"VmHWM:\s+(\d+) kB", status)
                if match:
                    self.peak = max(self.peak, int(match.group(1)) * 1024)
        return self.peak
