"""A database that cannot be reached answers 503 database_unavailable with Retry-After, never a
500, and is logged once per interval rather than once per request.

The in-process tests make the outage real by pointing the test's connection at a port where
nothing listens; test_a_database_restart_under_load stops and restarts a whole (throwaway)
PostgreSQL server under a production-like gunicorn.
"""

import itertools
import json
import logging
import math
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import (
    DataError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, RequestFactory
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken

from apps.core import transactions
from apps.core.outages import OutageLog
from apps.core.tests.live import (
    ProdServer,
    Response,
    database_url,
    env_example,
    free_port,
    prod_environment,
)
from apps.core.transactions import is_database_outage, is_write_conflict, sqlstate
from apps.core.views import server_error
from apps.products.models import path_ids
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.services import review_create
from apps.users.models import User
from apps.users.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fresh_outage_log(monkeypatch: pytest.MonkeyPatch) -> OutageLog:
    log = OutageLog("Database")
    monkeypatch.setattr(transactions, "database_outages", log)
    return log


def unreachable_copy() -> BaseDatabaseWrapper:
    """Return a new connection like the default one, to a port where nothing listens."""
    settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": free_port()}
    return type(connections["default"])(settings_dict, alias="unreachable")


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Make this thread's default connection fail as it does while the server is down."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def error_from(action: object) -> BaseException:
    try:
        action()  # type: ignore[operator]
    except Exception as error:
        return error
    raise AssertionError("no error")


def assert_database_unavailable(response: object) -> None:
    assert response.status_code == 503, response.content  # type: ignore[attr-defined]
    assert response["Retry-After"] == "5"  # type: ignore[index]
    assert response.json() == {  # type: ignore[attr-defined]
        "status": 503,
        "code": "database_unavailable",
        "detail": "The database is unavailable right now; try again in a few seconds.",
        "request_id": response["X-Request-ID"],  # type: ignore[index]
    }


# --- which errors are outages ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_errors_of_an_unreachable_or_departing_server_are_outages_and_others_are_not() -> None:
    refused = error_from(unreachable_copy().ensure_connection)

    # A connection whose server session ends under it (as in pg_ctl stop -m fast).
    doomed = connections.create_connection("default")
    doomed.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [doomed.connection.info.backend_pid])
    terminated = error_from(lambda: doomed.cursor().execute("SELECT 1"))
    doomed.close()

    def timed_out() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '10ms'")
            cursor.execute("SELECT pg_sleep(1)")

    def divided_by_zero() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    timeout = error_from(timed_out)
    bad_data = error_from(divided_by_zero)
    product = ProductFactory()
    duplicate = error_from(lambda: ProductFactory(sku=product.sku))

    assert isinstance(refused, OperationalError) and is_database_outage(refused)
    assert isinstance(terminated, OperationalError) and is_database_outage(terminated)
    assert sqlstate(timeout) == "57014" and is_database_outage(timeout)
    assert isinstance(bad_data, DataError) and not is_database_outage(bad_data)
    assert isinstance(duplicate, IntegrityError) and not is_database_outage(duplicate)
    for error in (refused, terminated, timeout, bad_data, duplicate):
        assert not is_write_conflict(error)

    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    serialization = OperationalError("could not serialize access")
    serialization.__cause__ = psycopg.errors.SerializationFailure("could not serialize access")
    for conflict in (deadlock, serialization):
        assert is_write_conflict(conflict) and not is_database_outage(conflict)


# --- the answers ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_a_503_database_unavailable_in_the_api() -> None:
    product = ProductFactory()
    reviewer = UserFactory()
    anonymous = APIClient(raise_request_exception=False)
    signed_in = APIClient(raise_request_exception=False)
    signed_in.force_authenticate(reviewer)

    with database_unreachable():
        responses = [
            anonymous.get("/api/v1/reviews/"),
            anonymous.get(f"/api/v1/products/{product.pk}/"),
            signed_in.post("/api/v1/reviews/", {"product": product.pk, "rating": 4}),
            signed_in.patch("/api/v1/users/me/", {"first_name": "Ada"}),
        ]

    for response in responses:
        assert_database_unavailable(response)
    # Once the server answers again, so does the API, on the same connection object.
    assert anonymous.get("/api/v1/reviews/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_outside_the_api_is_a_plain_503_page() -> None:
    browser = Client(raise_request_exception=False)
    browser.cookies["sessionid"] = "a-session-the-server-must-look-up"

    with database_unreachable():
        # The admin reads the session, then the user, in middleware and the admin's own checks:
        # outside any DRF view.
        response = browser.get("/admin/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert b"Service Unavailable (503)" in response.content


@pytest.mark.django_db(transaction=True)
def test_an_outage_raised_outside_a_drf_view_on_an_api_path_is_json() -> None:
    request = RequestFactory().get("/api/v1/products/")
    try:
        unreachable_copy().ensure_connection()
    except OperationalError:
        # Where Django calls handler500: while the exception is being handled.
        response = server_error(request)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert b'"code": "database_unavailable"' in response.content


def test_a_write_conflict_raised_outside_a_drf_view_is_a_503_with_retry_after_1() -> None:
    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    for path, content_type in (("/admin/", "text/html"), ("/api/v1/x/", "application/json")):
        try:
            raise deadlock
        except OperationalError:
            response = server_error(RequestFactory().post(path))
        assert (response.status_code, response["Retry-After"]) == (503, "1")
        assert response["Content-Type"].startswith(content_type)


@pytest.mark.django_db(transaction=True)
def test_an_outage_is_logged_once_with_a_count_not_once_per_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client = APIClient(raise_request_exception=False)

    with database_unreachable():
        statuses = {client.get("/api/v1/reviews/").status_code for _ in range(25)}
    assert statuses == {503}
    during = [(record.name, record.levelname, record.getMessage()) for record in caplog.records]
    recovered = client.get("/api/v1/reviews/")

    assert recovered.status_code == 200
    assert len(during) == 1, during  # not 25 lines, nor one ERROR from django.request each
    name, level, message = during[0]
    assert (name, level) == ("apps.core.outages", "WARNING")
    assert message.startswith("Database unavailable (OperationalError: ")
    assert all(record.exc_info is None for record in caplog.records)  # no tracebacks
    assert caplog.records[-1].getMessage().startswith("Database available again after ")
    assert caplog.records[-1].getMessage().endswith(" and 25 failures")


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_mid_request_is_not_reused_by_the_next_request() -> None:
    # Through Django's WSGI handler, whose request signals close unusable connections (the test
    # client leaves that out): the same path as gunicorn's.
    handler = WSGIHandler()

    def get(path: str) -> int:
        environ = RequestFactory()._base_environ(PATH_INFO=path, REQUEST_METHOD="GET")
        statuses: list[str] = []
        answer = handler(environ, lambda status, headers, *rest: statuses.append(status))
        b"".join(answer)
        answer.close()  # request_finished
        return int(statuses[0].split()[0])

    def end_the_session() -> None:
        assert connection.connection is not None
        pid = connection.connection.info.backend_pid
        with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])

    def ended_before_its_first_query(execute: Any, sql: str, *args: Any) -> Any:
        if not ended:
            ended.append(True)
            end_the_session()
        return execute(sql, *args)

    assert get("/api/v1/reviews/") == 200
    ended: list[bool] = []
    with connection.execute_wrapper(ended_before_its_first_query):
        lost = get("/api/v1/reviews/")  # its session ends mid-request
    after_lost = get("/api/v1/reviews/")
    end_the_session()  # between requests: the health check finds it out before the next query
    after_idle = get("/api/v1/reviews/")

    assert (lost, after_lost, after_idle) == (503, 200, 200)


# --- a real restart under load ----------------------------------------------------------------


class ThrowawayPostgres:
    """An embedded PostgreSQL (pgserver) in a temporary folder, to stop and start at will.

    As root, pgserver runs the server as the system user ``pgserver``, on a Unix socket in its
    data folder; ``stop`` and ``start`` call pg_ctl as it does.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is unset
            import pgserver  # noqa: PLC0415  # a dev dependency, imported by this test only
            from pgserver import _commands, postgres_server  # noqa: PLC0415

        # initdb syncs every file it writes to disk, most of its 5 s: a throwaway server need not.
        def initdb_without_sync(args: list[str], **kwargs: Any) -> str:
            return str(_commands.initdb([*args, "--no-sync"], **kwargs))

        monkeypatch.setattr(postgres_server, "initdb", initdb_without_sync)
        self.bin = Path(_commands.POSTGRES_BIN_PATH)
        self.data = Path(tempfile.mkdtemp(prefix="pg-outage-"))
        self.server = pgserver.get_server(self.data, cleanup_mode="delete")
        self.socket_dir = str(self.server.get_postmaster_info().socket_dir)
        self.user = self.server.system_user  # None unless root
        # Nothing here needs to survive a crash: no waiting for the disk on commit or shutdown.
        self.server.psql(
            "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off;"
            " SELECT pg_reload_conf();"
        )

    def url(self, database: str) -> str:
        return f"postgres://postgres@/{database}?host={self.socket_dir}"

    def run(self, program: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(  # noqa: S603  # the bundled PostgreSQL programs
            [str(self.bin / program), *args], capture_output=True, **kwargs
        )
        assert done.returncode == 0, (program, done.stderr.decode(errors="replace")[-2000:])
        return done

    def pg_ctl(self, *args: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", *args, user=self.user, timeout=30)

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "stop")

    def start(self) -> None:
        # As get_server started it (same socket folder), and pgserver knows the new process.
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server.cleanup()  # stops the server, deletes the data folder


@contextmanager
def throwaway_redis(tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a Redis of our own; the shared one's last database if there is none."""
    executable = shutil.which("redis-server")
    if executable is None:
        url = "redis://127.0.0.1:6379/15"
        redis.Redis.from_url(url).flushdb()
        yield url
        redis.Redis.from_url(url).flushdb()
        return
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        wait_for(lambda: _answers(client), "redis-server starts")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


@dataclass
class Answer:
    kind: str
    started: float
    status: int
    retry_after: str | None
    code: str | None  # the error body's code; "page" for the plain 503 page


Send = Callable[..., Response]


class Load:
    """Threads that each repeat one kind of step (a few requests) against ``server``."""

    def __init__(self, server: ProdServer) -> None:
        self.server = server
        self.answers: list[Answer] = []
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def add(self, kind: str, step: Callable[[Send], None]) -> None:
        def send(
            method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
        ) -> Response:
            headers = dict(headers or {})
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            started = time.monotonic()
            response = self.server.request(method, path, body=payload, headers=headers)
            self.answers.append(  # list.append is atomic
                Answer(
                    kind,
                    started,
                    response.status,
                    response.header("Retry-After"),
                    _error_code(response),
                )
            )
            return response

        def run() -> None:
            while not self._stopping.is_set():
                step(send)

        self._threads.append(threading.Thread(target=run, name=kind, daemon=True))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=30)


def _error_code(response: Response) -> str | None:
    if response.status < 400:
        return None
    if (response.header("Content-Type") or "").startswith("application/json"):
        return str(json.loads(response.body).get("code"))
    return "page" if b"Service Unavailable (503)" in response.body else "other"


def bearer(user: User) -> dict[str, str]:
    """Return an Authorization header with an access token signed as production signs them."""
    payload = AccessToken.for_user(user).payload
    token = TokenBackend("HS256", signing_key=env_example()["JWT_SIGNING_KEY"]).encode(payload)
    return {"Authorization": f"Bearer {token}"}


def summary_recount(database: psycopg.Connection[Any]) -> tuple[dict[Any, int], dict[Any, int]]:
    """Return the facet summary as stored, and as counted afresh from the products (as
    test_facet_counts counts it, row by row in Python)."""
    stored = {
        (category, in_stock, stars, bucket): count
        for category, in_stock, stars, bucket, count in database.execute(
            "SELECT category_id, in_stock, rating_floor, price_bucket, products"
            " FROM products_categoryfacetcount"
        )
    }
    edges = [Decimal(edge) for edge in settings.CATALOGUE_PRICE_BUCKETS]
    fresh: Counter[Any] = Counter()
    for path, stock, rating_average, price in database.execute(
        "SELECT category.path, product.stock, product.rating_average, product.price"
        " FROM products_product AS product"
        " JOIN products_category AS category ON category.id = product.category_id"
        " WHERE product.is_active AND category.is_active"
    ):
        facet_values = (stock > 0, math.floor(rating_average), bisect_right(edges, price))
        for category_id in path_ids(path):
            fresh[(category_id, *facet_values)] += 1
    return stored, dict(fresh)


_SERVER_COLUMN_OPTIONS = re.compile(
    rb"^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_\w+=\d+\);\n", re.M
)
# gunicorn's access log: a JSON object from its access logger (LOG_FORMAT=json, the default),
# or a common-format line (LOG_FORMAT=plain).
_ACCESS_LINE = re.compile(r'^(?:\{.*"logger":"gunicorn\.access"|\S+ \S+ \S+ \[[^\]]+\] ")')


def copy_test_database(postgres: ThrowawayPostgres, name: str) -> None:
    """Copy the test database (schema, triggers, rows) to ``postgres`` as ``name``: about a
    second, where migrating an empty database takes about seven."""
    dump = postgres.run(
        "pg_dump", "--no-owner", "--no-privileges", "-d", database_url(connection.settings_dict)
    ).stdout
    # Column options that some builds of PostgreSQL record for themselves, and dump, and that
    # another server refuses; nothing of ours sets column options.
    dump = _SERVER_COLUMN_OPTIONS.sub(b"", dump)
    postgres.run("createdb", "-h", postgres.socket_dir, "-U", "postgres", name)
    postgres.run("psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", postgres.url(name), input=dump)


@pytest.mark.django_db(transaction=True)
def test_a_database_restart_under_load_answers_503_with_retry_after_and_never_500(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    staff_with_perms: Callable[..., User],
) -> None:
    department = CategoryFactory(name="Department")
    shelves = [CategoryFactory(name=f"Shelf {n}", parent=department) for n in range(3)]
    products = [
        ProductFactory(category=shelves[n % 3], price=Decimal("20"), stock=n % 4) for n in range(24)
    ]
    reviewers = [UserFactory() for _ in range(3)]
    for reviewer, product in zip(reviewers, products, strict=False):
        review_create(product=product, user=reviewer, rating=4)
    staff = staff_with_perms("products.change_product")

    postgres = ThrowawayPostgres(monkeypatch)
    try:
        copy_test_database(postgres, "catalogue")
        with throwaway_redis(tmp_path) as redis_url:
            environment = {
                "DATABASE_URL": postgres.url("catalogue"),
                "REDIS_URL": redis_url,
                # One client address sends everything here; the throttles are not under test.
                "THROTTLE_RATE_ANON": "1000000/minute",
                "THROTTLE_RATE_USER": "1000000/minute",
            }
            with ProdServer(environment, log_path=tmp_path / "gunicorn.log") as server:
                answers, figures = restart_under_load(server, postgres, products, reviewers, staff)
            drift = subprocess.run(
                [sys.executable, "manage.py", "check_rating_figures"],
                cwd=settings.BASE_DIR,
                env=prod_environment(DJANGO_SETTINGS_MODULE="project.settings.prod", **environment),
                capture_output=True,
                text=True,
            )
        with psycopg.connect(postgres.url("catalogue")) as database:
            stored, fresh = summary_recount(database)
    finally:
        postgres.close()

    print(f"\n{figures}")  # the figures, shown with -s
    statuses = Counter(answer.status for answer in answers)
    assert statuses[500] == 0 and all(s == 503 for s in statuses if s >= 500), figures
    refused = [answer for answer in answers if answer.status == 503]
    assert len(refused) > 10, figures  # the outage was felt
    assert {(a.code, a.retry_after) for a in refused if a.kind != "admin"} == {
        ("database_unavailable", "5")
    }, figures
    assert {(a.code, a.retry_after) for a in refused if a.kind == "admin"} <= {("page", "5")}
    # Served again from the first request after the restart, in both workers: no connection
    # broken by the outage is used again.
    after = [answer for answer in answers if answer.started > figures["restarted"]]
    assert len(after) > 20 and all(answer.status < 500 for answer in after), after
    assert {a.kind for a in after if a.status < 400} == {
        "read",
        "signed-in read",
        "price",
        "review",
        "admin",
    }
    assert figures["log lines a second"] < 10, figures
    # No stored figure drifted, whatever the writes cut off mid-transaction.
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert stored == fresh


def restart_under_load(
    server: ProdServer,
    postgres: ThrowawayPostgres,
    products: list[Any],
    reviewers: list[User],
    staff: User,
) -> tuple[list[Answer], dict[str, Any]]:
    """Load ``server`` from a few threads, stop PostgreSQL (fast shutdown) for 2.5 s, start it
    again and go on loading; return the answers and the figures."""
    load = Load(server)
    staff_headers = bearer(staff)
    prices = itertools.cycle(["9.50", "30.00", "120.00"])  # across price buckets: summary rows

    def read(send: Send) -> None:
        product = random.choice(products)  # noqa: S311
        send("GET", f"/api/v1/reviews/?product={product.pk}")
        send("GET", f"/api/v1/products/?category={product.category_id}&facets=true")

    def signed_in_read(send: Send) -> None:
        headers = bearer(reviewers[0])
        send("GET", "/api/v1/users/me/", headers=headers)
        send("GET", f"/api/v1/products/{random.choice(products).pk}/", headers=headers)  # noqa: S311

    def price(send: Send) -> None:
        product = random.choice(products[:6])  # noqa: S311
        send("PATCH", f"/api/v1/products/{product.pk}/", {"price": next(prices)}, staff_headers)

    def review(reviewer: User) -> Callable[[Send], None]:
        headers = bearer(reviewer)

        def step(send: Send) -> None:
            product = random.choice(products[6:])  # noqa: S311
            body = {"product": product.pk, "rating": random.randint(1, 5)}  # noqa: S311
            created = send("POST", "/api/v1/reviews/", body, headers)
            if created.status == 201:
                review_id = json.loads(created.body)["id"]
                send("DELETE", f"/api/v1/reviews/{review_id}/", headers=headers)

        return step

    def admin(send: Send) -> None:
        # A session to look up: read by the sessions middleware for the admin, no DRF view.
        send("GET", "/admin/", headers={"Cookie": "sessionid=not-a-stored-session"})
        time.sleep(0.05)

    load.add("read", read)
    load.add("signed-in read", signed_in_read)
    load.add("price", price)
    for reviewer in reviewers[1:]:
        load.add("review", review(reviewer))
    load.add("admin", admin)

    log_before = len(server.log_text().splitlines())
    began = time.monotonic()
    load.start()
    time.sleep(1.5)
    postgres.stop()
    stopped = time.monotonic()
    time.sleep(2.5)
    postgres.start()
    restarted = time.monotonic()
    time.sleep(2)
    load.stop()
    seconds = time.monotonic() - began
    # The access log has a line per request by design; the rest must not.
    logged = [
        line for line in server.log_text().splitlines()[log_before:] if not _ACCESS_LINE.match(line)
    ]
    answers = list(load.answers)
    writes = [a for a in answers if a.kind in ("price", "review")]
    figures = {
        "requests": len(answers),
        "statuses": dict(sorted(Counter(a.status for a in answers).items())),
        "503 codes": dict(Counter(a.code for a in answers if a.status == 503)),
        "writes refused": sum(1 for a in writes if a.status == 503),
        "seconds": round(seconds, 1),
        "down": round(restarted - stopped, 1),
        "restarted": restarted,
        "log lines a second": round(len(logged) / seconds, 1),
        "log": logged[:12],
    }
    return answers, figures
