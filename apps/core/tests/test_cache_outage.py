"""The shared cache unreachable: the storefront is served, the account endpoints refuse, the
outage is logged once, readiness says degraded, and nothing stale is served when it is back."""

import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse
from django_redis.cache import RedisCache
from pytest_django.fixtures import Settings
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.core import response_cache
from apps.core.cache_guard import shared_cache
from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = reverse("v1:auth-token")
REGISTER = reverse("v1:auth-register")
ME = reverse("v1:users-me")
PRODUCTS = reverse("v1:product-list")


class CountingRedisCache(RedisCache):
    """django-redis, counting the calls that reach it."""

    calls = 0

    def get(self, *args: Any, **kwargs: Any) -> Any:
        CountingRedisCache.calls += 1
        return super().get(*args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        CountingRedisCache.calls += 1
        return super().get_many(*args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        CountingRedisCache.calls += 1
        return super().set(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        CountingRedisCache.calls += 1
        return super().add(*args, **kwargs)


class SwitchableCache(LocMemCache):
    """A cache that keeps its entries while it is ``down`` and answers nothing, like a Redis
    behind a broken network."""

    down = False

    def _check(self) -> None:
        if SwitchableCache.down:
            raise RedisConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return super().get(*args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        super().set(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        self._check()
        return super().add(*args, **kwargs)


@pytest.fixture
def cache_down(settings: Settings) -> None:
    """Point the cache at a port where nothing listens, through django-redis as in prod."""
    CountingRedisCache.calls = 0
    settings.CACHES = {
        "default": {
            "BACKEND": "apps.core.tests.test_cache_outage.CountingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }


@pytest.fixture
def switchable_cache(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """A cache that the test takes down and brings back; the breaker retries at once."""
    settings.CACHES = {"default": {"BACKEND": "apps.core.tests.test_cache_outage.SwitchableCache"}}
    monkeypatch.setattr(shared_cache, "retry_interval", 0)
    yield SwitchableCache
    SwitchableCache.down = False


@pytest.fixture
def throttle_rates(settings: Settings) -> Callable[..., None]:
    def set_rates(**rates: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                **rates,
            },
        }

    return set_rates


def detail(product: Product) -> str:
    return reverse("v1:product-detail", args=[product.pk])


def cached_twice(client: APIClient, url: str) -> Any:
    """GET ``url`` until the cache holds it: the first read of a generation starts it."""
    client.get(url)
    return client.get(url)


def test_catalogue_reads_anonymous_and_signed_in_are_served_while_the_cache_is_down(
    cache_down: None, api_client: APIClient, user_client: APIClient
) -> None:
    review = ReviewFactory()
    product = review.product
    paths = [
        PRODUCTS,
        detail(product),
        reverse("v1:product-image-list", args=[product.pk]),
        "/api/v1/categories/",
        "/api/v1/categories/tree/",
        reverse("v1:product-review-list", args=[product.pk]),
        "/api/v1/reviews/",
    ]

    anonymous = {path: api_client.get(path).status_code for path in paths}
    signed_in = {path: user_client.get(path).status_code for path in [*paths, ME]}

    assert set(anonymous.values()) == {200}, anonymous
    assert set(signed_in.values()) == {200}, signed_in
    assert api_client.get(detail(product)).json()["id"] == product.pk


def test_account_endpoints_refuse_with_retry_after_while_the_cache_is_down(
    cache_down: None, api_client: APIClient, user: User
) -> None:
    login = api_client.post(TOKEN, {"email": user.email, "password": TEST_PASSWORD})
    register = api_client.post(
        REGISTER, {"email": "new@example.com", "username": "new", "password": "a-Long-phrase-9"}
    )

    for response in (login, register):
        assert response.status_code == 503
        assert response.json()["code"] == "throttle_unavailable"
        assert response["Retry-After"] == "30"
    assert not OutstandingToken.objects.exists()
    assert not User.objects.filter(email="new@example.com").exists()


def test_the_fallback_limiter_refuses_past_the_same_rates_counted_in_memory(
    cache_down: None,
    throttle_rates: Callable[..., None],
    api_client: APIClient,
    user_client: APIClient,
) -> None:
    throttle_rates(anon="3/minute", user="2/minute")
    ProductFactory()

    anonymous = [api_client.get(PRODUCTS, {"page_size": size}) for size in range(1, 5)]
    other_address = api_client.get(PRODUCTS, REMOTE_ADDR="198.51.100.7")
    signed_in = [user_client.get(ME).status_code for _ in range(3)]

    assert [response.status_code for response in anonymous] == [200, 200, 200, 429]
    assert anonymous[-1].json()["code"] == "throttled"
    assert int(anonymous[-1]["Retry-After"]) > 0
    assert other_address.status_code == 200
    assert signed_in == [200, 200, 429]


def test_after_a_failure_the_cache_is_left_alone_until_the_retry_interval(
    cache_down: None, api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_cache, "retry_interval", 60)  # no retry while the test runs
    ProductFactory()

    statuses = [api_client.get(PRODUCTS, {"page_size": size}).status_code for size in range(1, 11)]
    calls_within_interval = CountingRedisCache.calls
    monkeypatch.setattr(shared_cache, "_retry_at", 0.0)  # the interval is over
    api_client.get(PRODUCTS)

    assert statuses == [200] * 10
    # Each request would make two or three calls (response cache, throttle); one tried.
    assert calls_within_interval == 1
    assert CountingRedisCache.calls == 2


def test_the_outage_is_logged_once_without_tracebacks_not_per_request(
    cache_down: None, api_client: APIClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    ProductFactory()
    caplog.set_level(logging.INFO)

    for size in range(1, 21):
        api_client.get(PRODUCTS, {"page_size": size})
        api_client.post(TOKEN, {"email": user.email, "password": TEST_PASSWORD})
    api_client.get("/health/ready/")

    assert [(r.levelname, r.name) for r in caplog.records] == [("WARNING", "apps.core.outages")], (
        caplog.text
    )
    assert (
        caplog.records[0]
        .getMessage()
        .startswith(
            "Shared cache unavailable (ConnectionError: Error 111 connecting to 127.0.0.1:1."
        )
    )
    assert caplog.records[0].exc_info is None


def deeply_nested() -> bytes:
    return b'{"email": ' + b"[" * 100_000 + b"]" * 100_000 + b', "password": "x"}'


def too_large() -> bytes:
    return b'{"email": "' + b"a" * (3 * 1024 * 1024) + b'@example.com", "password": "x"}'


@pytest.mark.parametrize("url", [TOKEN, REGISTER], ids=["token", "register"])
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (deeply_nested(), 400, "parse_error"),
        (too_large(), 413, "request_too_large"),
        (b'{"email": ', 400, "parse_error"),
    ],
    ids=["deeply nested", "too large", "malformed"],
)
def test_a_body_that_does_not_parse_is_not_taken_for_a_cache_outage(
    url: str, body: bytes, status: int, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The per-account throttle reads the body for its key: what reading it raises is the
    # client's mistake, never a throttle outage.
    caplog.set_level(logging.INFO)
    client = APIClient(raise_request_exception=False)

    response = client.post(url, data=body, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not shared_cache.is_down
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not [record for record in caplog.records if record.name.startswith("apps.")]


def test_readiness_says_degraded_but_stays_200_while_the_cache_is_down(
    cache_down: None, api_client: APIClient
) -> None:
    first = api_client.get("/health/ready/")
    again = api_client.get("/health/ready/")

    assert first.status_code == 200
    assert first.json() == {
        "status": "degraded",
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "queue": {"waiting": 0, "oldest_waiting_seconds": None, "running": 0, "workers": 0},
            "cache": "unavailable: ConnectionError",
        },
    }
    assert again.json() == first.json()
    assert CountingRedisCache.calls == 1  # the breaker answered the second probe


def test_a_write_during_the_outage_is_not_hidden_by_entries_cached_before_it(
    switchable_cache: type, api_client: APIClient, django_assert_num_queries: Any
) -> None:
    product = ProductFactory(price=Decimal("9.99"))
    assert cached_twice(api_client, detail(product)).json()["price"] == "9.99"

    switchable_cache.down = True
    Product.objects.filter(pk=product.pk).update(price=Decimal("1.50"))  # cannot invalidate
    during = api_client.get(detail(product))
    switchable_cache.down = False
    after = api_client.get(detail(product))
    with django_assert_num_queries(0):
        cached_again = api_client.get(detail(product))

    assert during.json()["price"] == "1.50"  # uncached
    assert after.json()["price"] == "1.50"  # not the entry stored before the write
    assert cached_again.json()["price"] == "1.50"


def test_a_process_that_saw_the_outage_starts_a_new_generation_before_reading_the_cache(
    switchable_cache: type, api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    category = CategoryFactory()
    product = ProductFactory(price=Decimal("9.99"), category=category)
    assert cached_twice(api_client, detail(product)).json()["price"] == "9.99"

    switchable_cache.down = True
    assert api_client.get(detail(product)).status_code == 200  # served uncached: seen failing
    # A write in another process, whose invalidation could not reach the cache either.
    with monkeypatch.context() as elsewhere:
        elsewhere.setattr(response_cache, "response_cache_invalidate", lambda using=None: None)
        Product.objects.filter(pk=product.pk).update(price=Decimal("1.50"))
    switchable_cache.down = False

    assert api_client.get(detail(product)).json()["price"] == "1.50"


def test_a_throttle_that_finds_the_cache_back_invalidates_before_anything_is_served(
    switchable_cache: type,
    api_client: APIClient,
    user_client: APIClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    product = ProductFactory(price=Decimal("9.99"))
    assert cached_twice(api_client, detail(product)).json()["price"] == "9.99"
    caplog.set_level(logging.WARNING, logger="apps.core.outages")

    switchable_cache.down = True
    Product.objects.filter(pk=product.pk).update(price=Decimal("1.50"))
    switchable_cache.down = False
    # A signed-in read skips the response cache; its throttle is the first to reach the cache.
    assert user_client.get(ME).status_code == 200
    generation_after_recovery = shared_cache.get(response_cache.GENERATION_KEY)

    assert not response_cache._invalidation_pending.is_set()
    assert api_client.get(detail(product)).json()["price"] == "1.50"
    assert shared_cache.get(response_cache.GENERATION_KEY) == generation_after_recovery
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0].startswith("Shared cache unavailable (ConnectionError: Error 111")
    assert messages[1].startswith("Shared cache available again after")
