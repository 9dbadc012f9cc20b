"""Helpers for tests that run the project as a deployment does: gunicorn, production settings.

``ProdServer`` starts gunicorn with ``project.settings.prod`` on a free port, against the
database and Redis it is given, and answers plain HTTP requests to it. Tests that break a
dependency on purpose (a database server stopped, a Redis killed) run it against throwaway
servers of their own, never the shared ones.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from django.conf import settings

from apps.core.jobs import WORKER_COMMAND

BASE_DIR = Path(settings.BASE_DIR)
HOST = "catalogue.example.com"  # in .env.example's DJANGO_ALLOWED_HOSTS


def env_example() -> dict[str, str]:
    """Return the variables that .env.example sets, as a deployment would export them."""
    values = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value.strip('"')
    return values


def prod_environment(**overrides: str) -> dict[str, str]:
    """Return an environment with nothing but .env.example's variables (and PATH, HOME)."""
    bare = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return {**bare, **env_example(), **overrides}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """Return a ``DATABASE_URL`` for a connection's settings (``connection.settings_dict``):
    during a test, the test database that pytest-django created."""
    user = quote(settings_dict.get("USER") or "postgres")
    password = settings_dict.get("PASSWORD")
    credentials = f"{user}:{quote(password)}" if password else user
    host = settings_dict.get("HOST") or ""
    name = settings_dict["NAME"]
    if host.startswith("/"):  # a Unix socket folder (the embedded server)
        return f"postgres://{credentials}@/{name}?host={host}"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}@{host or '127.0.0.1'}:{port}/{name}"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return the header ``name``, whatever its case, or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass
class ProdServer:
    """gunicorn serving ``project.wsgi`` with production settings, as a context manager.

    ``environment``: variables on top of ``.env.example``'s (``DATABASE_URL`` and ``REDIS_URL``
    at least). Plain HTTP is allowed (no HTTPS redirect); the log goes to ``log_path``.
    """

    environment: Mapping[str, str]
    log_path: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ProdServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 30) -> None:
        environment = prod_environment(
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_STATIC_ROOT=str(self.log_path.parent / "static"),
            PORT=str(self.port),
            **dict(self.environment),
        )
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and config
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(self.workers)],
            cwd=BASE_DIR,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()[-3000:]
            try:
                if self.request("GET", "/health/live/", timeout=1).status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not start: {self.log_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10,
    ) -> Response:
        """Send one request (as ``catalogue.example.com``) and return the answer; no redirects."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
            answer = connection.getresponse()
            return Response(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            connection.close()


@dataclass
class JobWorker:
    """A job worker (``manage.py jobs worker``) with production settings, as a
    context manager.

    ``environment``: variables on top of ``.env.example``'s (``DATABASE_URL`` at least). The
    log goes to ``log_path``, appended to by each start: a test may stop a worker and start it
    again, as a restart does.
    """

    environment: Mapping[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> JobWorker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 30) -> None:
        starts = self.log_text().count("Starting worker")
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and manage.py
            [sys.executable, "manage.py", *WORKER_COMMAND],
            cwd=BASE_DIR,
            env=prod_environment(**dict(self.environment)),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()[-3000:]
            if self.log_text().count("Starting worker") > starts:
                return
            time.sleep(0.1)
        raise AssertionError(f"the worker did not start: {self.log_text()[-3000:]}")

    def stop(self) -> None:
        """Stop as an orchestrator does (SIGTERM): the worker finishes its jobs, then exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
