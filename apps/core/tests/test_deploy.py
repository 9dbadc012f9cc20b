"""Production settings and serving, checked in real subprocesses as a deployment would run them."""

import http.client
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from apps.core.jobs import WORKER_COMMAND, WORKER_HEALTHCHECK_COMMAND
from apps.products.limits import LIST_MAX_IDS

from .live import database_url, free_port, prod_environment

BASE_DIR = Path(settings.BASE_DIR)


@pytest.mark.parametrize("secret", ["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "EMAIL_HOST_PASSWORD"])
def test_prod_has_no_default_for_secrets(secret: str) -> None:
    environment = prod_environment()
    del environment[secret]

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert f"Set the {secret} environment variable" in result.stderr


def test_prod_passes_the_deploy_check_at_warning_level() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=prod_environment(),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def fetch(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` without following redirects, as catalogue.example.com."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "catalogue.example.com", **headers})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_admin_renders_with_compressed_static_files_under_gunicorn(tmp_path: Path) -> None:
    environment = prod_environment(DJANGO_STATIC_ROOT=str(tmp_path / "static"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=environment,
        check=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", "1"],
        cwd=BASE_DIR,
        env={**environment, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    https = {"X-Forwarded-Proto": "https"}
    try:
        for _ in range(100):
            try:
                if fetch(port, "/health/live/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        status, _, page = fetch(port, "/admin/login/", **https)
        stylesheet = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
        assert status == 200 and stylesheet, page[:500]
        css_status, css_headers, _ = fetch(
            port, stylesheet.group(1).decode(), **https, **{"Accept-Encoding": "gzip"}
        )
        redirect_status, redirect_headers, _ = fetch(port, "/admin/login/")
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert css_status == 200
    assert css_headers.get("Content-Encoding") == "gzip"
    assert "immutable" in css_headers.get("Cache-Control", "")
    assert redirect_status == 301  # plain HTTP goes to HTTPS
    assert redirect_headers["Location"].startswith("https://")


@pytest.mark.django_db
def test_openapi_schema_validates_without_warnings(tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))

    document = yaml.safe_load(schema.read_text())
    for path in [
        "/api/v1/products/",
        "/api/v1/reviews/",
        "/api/v1/auth/token/",
        "/api/v1/users/me/",
    ]:
        assert path in document["paths"]
    error = document["components"]["schemas"]["ErrorResponse"]
    assert set(error["properties"]) == {"status", "code", "detail", "errors", "request_id"}
    create = document["paths"]["/api/v1/products/"]["post"]["responses"]
    assert create["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert {"401", "403", "413", "415", "429", "503"} <= set(create)
    # A write answers with the read shape, not with what it takes.
    assert create["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProductRead"
    }
    assert create["503"]["headers"]["Retry-After"]["required"] is True
    # Anyone may read, and a malformed Authorization header is refused all the same.
    public_read = document["paths"]["/api/v1/products/{id}/"]["get"]
    assert {} in public_read["security"]
    assert {"401", "404", "406", "429", "503"} <= set(public_read["responses"])
    assert {} not in document["paths"]["/api/v1/products/"]["post"]["security"]
    # The bounds the server enforces, from the constants it enforces them with.
    listed = {
        parameter["name"]: parameter["schema"]
        for parameter in document["paths"]["/api/v1/products/"]["get"]["parameters"]
    }
    assert listed["page_size"] == {"type": "integer", "minimum": 1}
    assert listed["rating_min"] == {"type": "number", "minimum": 1, "maximum": 5}
    assert listed["search"]["maxLength"] == settings.CATALOGUE_SEARCH_MAX_LENGTH
    assert listed["ids"]["maxItems"] == LIST_MAX_IDS
    register = document["components"]["schemas"]["UserRegisterRequest"]["properties"]
    assert register["password"]["minLength"] == 8  # Django's MinimumLengthValidator


def test_the_docker_build_passes_every_variable_prod_settings_require() -> None:
    # The image runs collectstatic at build time with placeholder values (see the Dockerfile);
    # a new required variable missing there would break every image build.
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    start = dockerfile.index("RUN DJANGO_SECRET_KEY=")
    build_step = dockerfile[start : dockerfile.index("collectstatic", start)]
    placeholders = dict(re.findall(r"([A-Z_]+)=(\S+)", build_step))
    bare = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env={**bare, **placeholders, "DJANGO_SETTINGS_MODULE": "project.settings.prod"},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr[-500:]


def test_a_web_worker_does_not_load_what_only_uploads_and_exports_use() -> None:
    # Pillow (image uploads) and openpyxl (XLSX exports) add 4 and 8 MB to every worker.
    probe = (
        "import sys\n"
        "from project.wsgi import application\n"
        "from django.urls import resolve\n"
        "resolve('/api/v1/products/'); resolve('/admin/')\n"
        "print(sorted({'PIL', 'openpyxl'} & set(sys.modules)))\n"
    )
    result = subprocess.run(  # noqa: S603  # the probe above, a constant
        [sys.executable, "-c", probe],
        cwd=BASE_DIR,
        env=prod_environment(DJANGO_SETTINGS_MODULE="project.settings.prod"),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def seconds(duration: str) -> int:
    """Return the seconds of a compose duration such as ``35s`` or ``1m30s``."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts is not None and duration, duration
    minutes, secs = parts.groups()
    return int(minutes or 0) * 60 + int(secs or 0)


def test_compose_runs_the_worker_make_run_runs_and_lets_it_finish_its_jobs() -> None:
    # The image with a worker was built and run by hand (docs/docker.md); this keeps compose.yaml
    # to what was verified there, and to the command `make run` and the live tests start.
    services = yaml.safe_load((BASE_DIR / "compose.yaml").read_text())["services"]
    app, worker = services["app"], services["worker"]
    gunicorn_conf = (BASE_DIR / "gunicorn.conf.py").read_text()
    (graceful_timeout,) = map(int, re.findall(r"^graceful_timeout = (\d+)$", gunicorn_conf, re.M))
    worker_graceful = settings.PROCRASTINATE_WORKER_DEFAULTS["shutdown_graceful_timeout"]

    assert worker["command"] == ["python", "manage.py", *WORKER_COMMAND]
    assert worker["healthcheck"]["test"] == [
        "CMD",
        "python",
        "manage.py",
        *WORKER_HEALTHCHECK_COMMAND,
    ]
    # The same image and environment as the app: one build, one set of variables; and the
    # port of its own metrics (docs/deploy.md, "Job workers' metrics").
    assert (worker["build"], worker["image"]) == (app["build"], app["image"])
    assert worker["environment"] == {
        **app["environment"],
        "JOBS_METRICS_PORT": "${JOBS_METRICS_PORT:-9100}",
    }
    assert "ports" not in worker  # scraped inside the compose network only
    # Tables migrated before it starts; Redis up, for the cache generations its writes start.
    assert worker["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    # A worker that loses its database exits: something must start it again.
    assert worker["restart"] == "unless-stopped"
    # SIGTERM gives running jobs (and requests) their grace before the engine's SIGKILL.
    assert seconds(worker["stop_grace_period"]) > worker_graceful
    assert seconds(app["stop_grace_period"]) > graceful_timeout


def test_the_image_and_the_docs_run_the_same_worker_as_compose() -> None:
    worker = "python manage.py " + " ".join(WORKER_COMMAND)
    healthcheck = "python manage.py " + " ".join(WORKER_HEALTHCHECK_COMMAND)

    for name in ("Dockerfile", "docs/docker.md", "docs/deploy.md"):
        text = " ".join((BASE_DIR / name).read_text().replace("\\\n", " ").split())
        assert worker in text, name
        assert healthcheck in text, name


@pytest.mark.django_db
def test_the_worker_healthcheck_fails_on_a_database_not_migrated() -> None:
    # (A database that cannot be reached fails too, but only when psycopg's pool gives up after
    # 30 s: past compose's 20 s healthcheck timeout, which counts as a failure as well.)
    command = [sys.executable, "manage.py", *WORKER_HEALTHCHECK_COMMAND]
    unmigrated = f"catalogue_unmigrated_{os.getpid()}"
    maintenance = database_url({**connection.settings_dict, "NAME": "postgres"})

    def run(name: str) -> subprocess.CompletedProcess[str]:
        url = database_url({**connection.settings_dict, "NAME": name})
        return subprocess.run(  # noqa: S603  # our own interpreter and manage.py
            command,
            cwd=BASE_DIR,
            env=prod_environment(DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=60,
        )

    healthy = run(connection.settings_dict["NAME"])
    with psycopg.connect(maintenance, autocommit=True) as server:
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(unmigrated)))
        try:
            unhealthy = run(unmigrated)
        finally:
            server.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(unmigrated)))

    assert healthy.returncode == 0, healthy.stderr[-1000:]
    assert "Database connection: OK" in healthy.stdout
    assert "Migrations: OK" in healthy.stdout
    assert unhealthy.returncode != 0
    assert "Missing procrastinate migrations" in unhealthy.stdout + unhealthy.stderr
