"""Fixtures shared by every app's tests."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from apps.core import response_cache
from apps.core.cache_guard import shared_cache
from apps.core.throttling import fallback_counters
from apps.users.models import User
from apps.users.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # Throttle counters live in the cache; one test's requests must not throttle the next.
    cache.clear()
    yield
    cache.clear()
    # A test that made the cache fail leaves the guard skipping it for a few seconds, throttles
    # counting in process memory and an invalidation pending: none of it may reach the next.
    shared_cache.reset()
    fallback_counters.local.clear()
    response_cache._invalidation_pending.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def other_user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def user_client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def staff_with_perms(db: None) -> Callable[..., User]:
    """Return a factory of staff users holding exactly the named permissions ("app.codename")."""

    def make(*perms: str) -> User:
        staff = UserFactory(is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            staff.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        # A fresh instance: has_perm caches permissions on the object.
        return User.objects.get(pk=staff.pk)

    return make


@pytest.fixture
def superuser(db: None) -> User:
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client: Client, superuser: User) -> Client:
    """Return Django's test client logged in to the admin as a superuser (pytest-django's own
    ``admin_client`` creates its user with a username, which our accounts do not have)."""
    client.force_login(superuser)
    return client


@pytest.fixture
def staff(request: pytest.FixtureRequest, staff_with_perms: Callable[..., User]) -> User:
    """Return a staff user holding exactly the permissions named by the test's (or its
    module's) ``@pytest.mark.staff_permissions("app.codename", ...)``."""
    marker = request.node.get_closest_marker("staff_permissions")
    assert marker is not None, 'Mark the test: @pytest.mark.staff_permissions("app.codename")'
    return staff_with_perms(*marker.args)


@pytest.fixture
def staff_client(client: Client, staff: User) -> Client:
    """Return Django's test client logged in to the admin as ``staff``."""
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def _empty_job_queue_after_transactional_tests(
    request: pytest.FixtureRequest, django_db_blocker: Any
) -> Iterator[None]:
    # A test that commits (transaction=True, live_server) may leave jobs behind: deferred by the
    # live servers it starts, or by itself. procrastinate's tables are not Django-managed, so
    # pytest-django's flush after such a test leaves them, and they would wait in the queue of
    # the next test. Empty them as the flush empties the others.
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if committed:
        with django_db_blocker.unblock():
            # A test that broke its session (a terminated backend, a stopped server) leaves the
            # connection unusable: open a new one.
            connection.close_if_unusable_or_obsolete()
            with connection.cursor() as cursor:
                cursor.execute(
                    "TRUNCATE procrastinate_jobs, procrastinate_events,"
                    " procrastinate_periodic_defers, procrastinate_workers CASCADE"
                )
