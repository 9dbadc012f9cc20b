import pytest
from django.db import OperationalError
from django.test import Client


def test_live_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: any database access would fail this test.
    response = client.get("/health/live/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_database_and_migrations(client: Client) -> None:
    response = client.get("/health/ready/")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "queue": {"waiting": 0, "oldest_waiting_seconds": None, "running": 0, "workers": 0},
            "cache": "ok",
        },
    }


@pytest.mark.django_db
def test_health_answers_any_host_and_plain_http(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health/live/", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/health/ready/", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/api/v1/products/", HTTP_HOST="10.0.0.7:8000").status_code == 400


@pytest.mark.django_db
def test_ready_is_503_when_migrations_are_pending(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "django.db.migrations.executor.MigrationExecutor.migration_plan",
        lambda self, targets: [("products", "9999_unapplied")],
    )

    response = client.get("/health/ready/")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 pending"


@pytest.mark.django_db
def test_ready_is_503_when_the_database_is_unreachable(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("django.db.backends.postgresql.base.DatabaseWrapper.create_cursor", refuse)

    response = client.get("/health/ready/")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"].startswith("unavailable")


def test_the_suite_runs_on_the_test_settings(settings) -> None:  # type: ignore[no-untyped-def]
    # An exported DJANGO_SETTINGS_MODULE would win over pytest.ini: `make test` passes --ds.
    assert settings.SETTINGS_MODULE == "project.settings.test"
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
