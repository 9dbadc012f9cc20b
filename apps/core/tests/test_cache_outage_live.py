"""A real Redis killed under load, behind gunicorn with the production settings, then restarted.

The storefront keeps being served, sign-in refuses with 503, readiness says degraded, the log
stays quiet, and the cache is used again once Redis is back.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.db import connection
from pytest_django.fixtures import Settings

from apps.core.tests.live import ProdServer, Response, database_url, free_port
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.tests.factories import TEST_PASSWORD, UserFactory

REDIS_SERVER = "/usr/bin/redis-server"
CATALOGUE_PATHS = [
    "/api/v1/products/",
    "/api/v1/products/?page_size=5",
    "/api/v1/categories/",
    "/api/v1/categories/tree/",
]
OUTAGE_SECONDS = 4.0
TOKEN = "/api/v1/auth/token/"
JSON = {"Content-Type": "application/json"}


class RedisServer:
    """A throwaway redis-server of our own on a free port, with nothing kept on disk."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603  # a fixed binary, our own arguments
            [
                REDIS_SERVER,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=(self.directory / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass
class Load:
    """Anonymous catalogue reads from a few threads until stopped: (time, path, status)."""

    server: ProdServer
    threads: int = 3
    results: list[tuple[float, str, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for number in range(self.threads):
            worker = threading.Thread(target=self._run, args=(number,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

    def _run(self, number: int) -> None:
        count = number
        deadline = time.monotonic() + 60  # bounded, whatever happens to the test
        while not self._stop.is_set() and time.monotonic() < deadline:
            path = CATALOGUE_PATHS[count % len(CATALOGUE_PATHS)]
            count += 1
            try:
                status = self.server.request("GET", path).status
            except OSError:
                status = 0  # refused or cut off: counts as not served
            self.results.append((time.monotonic(), path, status))

    def statuses_between(self, start: float, end: float) -> list[int]:
        return [status for at, _path, status in self.results if start <= at < end]


def log_lines(path: Path) -> int:
    return len(path.read_text(errors="replace").splitlines()) if path.exists() else 0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@dataclass
class Outage:
    """What the probes saw while Redis was down, and the server log's size at either end."""

    started_at: float
    log_lines_at_start: int
    logins: list[Response] = field(default_factory=list)
    readiness: list[Response] = field(default_factory=list)
    profiles: list[int] = field(default_factory=list)
    ended_at: float = 0.0
    log_lines_at_end: int = 0

    @property
    def log_lines_per_second(self) -> float:
        return (self.log_lines_at_end - self.log_lines_at_start) / (self.ended_at - self.started_at)


def probe_the_outage(
    server: ProdServer, redis_server: RedisServer, log_path: Path, *, login: bytes, bearer: str
) -> Outage:
    """Kill Redis, sign in, check readiness and read a profile every 0.4 s for a few seconds."""
    lines_before = log_lines(log_path)
    redis_server.kill()
    outage = Outage(started_at=time.monotonic(), log_lines_at_start=lines_before)
    while time.monotonic() < outage.started_at + OUTAGE_SECONDS:
        time.sleep(0.4)
        outage.logins.append(server.request("POST", TOKEN, body=login, headers=JSON))
        outage.readiness.append(server.request("GET", "/health/ready/"))
        me = server.request("GET", "/api/v1/users/me/", headers={"Authorization": bearer})
        outage.profiles.append(me.status)
    outage.ended_at, outage.log_lines_at_end = time.monotonic(), log_lines(log_path)
    return outage


def wait_until_the_cache_is_used(redis_server: RedisServer, timeout: float = 10) -> float:
    """Return how long it took until the restarted Redis served a hit."""
    started = time.monotonic()
    stats = redis_server.client()
    while int(stats.info("stats")["keyspace_hits"]) == 0:
        assert time.monotonic() < started + timeout, "the cache was not used again"
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_redis_killed_under_load_degrades_the_service_and_recovers(
    redis_server: RedisServer, tmp_path: Path, settings: Settings
) -> None:
    # The server runs the production hashers: store the password in a format they know.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = UserFactory()
    ProductFactory.create_batch(6, category=CategoryFactory())
    login = json.dumps({"email": user.email, "password": TEST_PASSWORD}).encode()
    log_path = tmp_path / "server.log"
    server = ProdServer(
        environment={
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": redis_server.url,
            # One client address sends all the load: lift the per-address rate, as a
            # server-side-rendering storefront would (README), so that every refusal counts.
            "THROTTLE_RATE_ANON": "1000000/minute",
            # The access log (a line per request, whatever happens) apart, so that the server
            # log holds only what the application and gunicorn report.
            "GUNICORN_CMD_ARGS": f"--access-logfile {tmp_path / 'access.log'}",
        },
        log_path=log_path,
        workers=2,
    )
    with server:
        signed_in = server.request("POST", TOKEN, body=login, headers=JSON)
        assert signed_in.status == 200, signed_in.body
        bearer = f"Bearer {json.loads(signed_in.body)['access']}"
        load = Load(server)
        load.start()
        try:
            time.sleep(1.5)
            outage = probe_the_outage(server, redis_server, log_path, login=login, bearer=bearer)
            redis_server.start()
            # Each worker asks again within its breaker's interval (5 s) of its last failure.
            used_again_after = wait_until_the_cache_is_used(redis_server)
            time.sleep(0.5)
        finally:
            load.stop()
        login_after = server.request("POST", TOKEN, body=login, headers=JSON)
        ready_after = server.request("GET", "/health/ready/")
    log = log_path.read_text(errors="replace")
    statuses = [status for _at, _path, status in load.results]
    during = load.statuses_between(outage.started_at, outage.ended_at)
    print(
        f"\ncatalogue reads: {len(statuses)}, {len(during)} of them during the "
        f"{outage.ended_at - outage.started_at:.1f} s outage; statuses {sorted(set(statuses))}, "
        f"{sum(status != 200 for status in statuses)} not 200; sign-ins during the outage: "
        f"{[response.status for response in outage.logins]}; server log during the outage: "
        f"{outage.log_lines_at_end - outage.log_lines_at_start} lines "
        f"({outage.log_lines_per_second:.1f}/s); cache used again {used_again_after:.1f} s "
        f"after the restart"
    )

    assert len(during) > 50  # the load really ran through the outage
    assert statuses.count(200) == len(statuses), sorted(set(statuses))
    for response in outage.logins:
        assert response.status == 503, response.body
        assert json.loads(response.body)["code"] == "throttle_unavailable"
        assert response.header("Retry-After") == "30"
    for response in outage.readiness:
        assert response.status == 200
        body = json.loads(response.body)
        assert set(body["checks"].pop("queue")) == {
            "waiting",
            "oldest_waiting_seconds",
            "running",
            "workers",
        }
        assert body == {
            "status": "degraded",
            "checks": {
                "database": "ok",
                "migrations": "ok",
                "cache": "unavailable: ConnectionError",
            },
        }
    assert set(outage.profiles) == {200}
    assert outage.log_lines_per_second < 10, log
    assert "Traceback" not in log
    assert login_after.status == 200, login_after.body
    assert json.loads(ready_after.body)["status"] == "ok"
    assert "Shared cache available again" in log
