"""The shared cache of anonymous catalogue reads (apps.core.response_cache)."""

from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.response_cache import GENERATION_KEY
from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")


def detail(product: Product) -> str:
    return reverse("v1:product-detail", args=[product.pk])


def cached_twice(client: APIClient, url: str, **headers: Any) -> Any:
    """GET ``url`` until the cache holds it: the first read of a generation starts it."""
    client.get(url, **headers)
    return client.get(url, **headers)


def test_a_repeated_anonymous_read_is_served_without_queries(
    api_client: APIClient, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory()
    first = cached_twice(api_client, detail(product))

    with django_assert_num_queries(0):
        again = api_client.get(detail(product))

    assert again.status_code == 200
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Content-Type"] == "application/json"
    assert again["X-Request-ID"] != first["X-Request-ID"]


def test_a_matching_etag_is_a_304_from_the_cache(
    api_client: APIClient, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    ProductFactory()
    etag = cached_twice(api_client, PRODUCTS)["ETag"]

    with django_assert_num_queries(0):
        response = api_client.get(PRODUCTS, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response["ETag"] == etag
    assert response.content == b""


def test_a_304_from_the_cache_carries_the_validators_and_caching_headers_of_the_stored_response(
    api_client: APIClient, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory()
    stored = cached_twice(api_client, detail(product))

    with django_assert_num_queries(0):
        by_etag = api_client.get(detail(product), HTTP_IF_NONE_MATCH=stored["ETag"])
        by_date = api_client.get(detail(product), HTTP_IF_MODIFIED_SINCE=stored["Last-Modified"])
        stale_etag = api_client.get(detail(product), HTTP_IF_NONE_MATCH='"something-else"')

    for response in (by_etag, by_date):
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == stored["ETag"]
        assert response["Last-Modified"] == stored["Last-Modified"]
        assert response["Vary"] == stored["Vary"]
        assert "Content-Type" not in response
        assert response["X-Request-ID"]
    assert stale_etag.status_code == 200
    assert stale_etag.content == stored.content


def test_cached_links_follow_the_host_and_scheme_asked_for_and_other_hosts_are_refused(
    api_client: APIClient, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["shop.example", "api.example"]
    ProductFactory.create_batch(3)
    url = PRODUCTS + "?page_size=1"
    shop = cached_twice(api_client, url, HTTP_HOST="shop.example")

    api = cached_twice(api_client, url, HTTP_HOST="api.example")
    secure = cached_twice(api_client, url, HTTP_HOST="shop.example", secure=True)
    elsewhere = APIClient(raise_request_exception=False).get(url, HTTP_HOST="evil.example")

    assert shop.json()["next"].startswith("http://shop.example/")
    assert api.json()["next"].startswith("http://api.example/")
    assert secure.json()["next"].startswith("https://shop.example/")
    assert elsewhere.status_code == 400


def test_a_conditional_read_on_a_miss_still_fills_the_cache(
    api_client: APIClient, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    ProductFactory()
    etag = cached_twice(api_client, PRODUCTS)["ETag"]
    ProductFactory()  # a write: the cache is stale
    fresh = api_client.get(PRODUCTS, HTTP_IF_NONE_MATCH=etag)

    with django_assert_num_queries(0):
        again = api_client.get(PRODUCTS, HTTP_IF_NONE_MATCH=fresh["ETag"])

    assert fresh.status_code == 200
    assert fresh["ETag"] != etag
    assert again.status_code == 304


def save_at_half_price(product: Product) -> None:
    product.price = Decimal("1.50")
    product.save()


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(save_at_half_price, id="save"),
        pytest.param(
            lambda p: Product.objects.filter(pk=p.pk).update(price=Decimal("1.50")),
            id="queryset update",
        ),
        pytest.param(
            lambda p: connection.cursor().execute(
                "UPDATE products_product SET price = 1.50 WHERE id = %s", [p.pk]
            ),
            id="raw sql",
        ),
    ],
)
def test_any_write_to_a_catalogue_table_makes_cached_reads_stale(
    api_client: APIClient, write
) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(price=Decimal("9.99"))
    assert cached_twice(api_client, detail(product)).json()["price"] == "9.99"

    write(product)

    assert api_client.get(detail(product)).json()["price"] == "1.50"
    assert api_client.get(PRODUCTS).json()["results"][0]["price"] == "1.50"


def test_a_new_review_shows_in_the_cached_product_rating(api_client: APIClient) -> None:
    product = ProductFactory()
    assert cached_twice(api_client, detail(product)).json()["rating"]["count"] == 0

    ReviewFactory(product=product)  # through the review service

    assert api_client.get(detail(product)).json()["rating"]["count"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_write_invalidates_at_once_and_again_when_its_transaction_commits() -> None:
    product = ProductFactory()
    with mock.patch("apps.core.response_cache._new_generation") as new_generation:
        with transaction.atomic():
            Product.objects.filter(pk=product.pk).update(stock=1)
            Product.objects.filter(pk=product.pk).update(stock=2)
            assert new_generation.call_count == 2  # at each write

        assert new_generation.call_count == 3  # and once more at the commit


def test_reads_with_credentials_are_neither_served_nor_stored(
    api_client: APIClient, client_for, staff_with_perms, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    hidden = ProductFactory(is_active=False)
    url = detail(hidden)
    cached_twice(api_client, PRODUCTS)
    assert api_client.get(url).status_code == 404
    staff = client_for(staff_with_perms("products.change_product"))

    listed = staff.get(PRODUCTS)
    shown = staff.get(url)
    cookie = APIClient()
    cookie.cookies["sessionid"] = "anything"

    assert hidden.pk in [row["id"] for row in listed.json()["results"]]
    assert shown.status_code == 200
    assert api_client.get(url).status_code == 404
    with django_assert_max_num_queries(5) as queries:
        cookie.get(PRODUCTS)
    assert len(queries) >= 1


def test_review_lists_are_not_cached(api_client: APIClient, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory()
    url = reverse("v1:product-review-list", args=[product.pk])
    cached_twice(api_client, url)

    with django_assert_num_queries(2):
        api_client.get(url)


def test_errors_are_not_cached(api_client: APIClient) -> None:
    cached_twice(api_client, PRODUCTS + "?price_min=abc")
    CategoryFactory()

    response = api_client.get(PRODUCTS + "?price_min=abc")

    assert response.status_code == 400


def test_reads_still_work_when_the_cache_is_down(api_client: APIClient) -> None:
    product = ProductFactory()
    cached_twice(api_client, detail(product))
    with mock.patch.object(cache, "get_many", side_effect=ConnectionError("redis down")):
        response = api_client.get(detail(product))

    assert response.status_code == 200
    assert response.json()["id"] == product.pk
    assert cache.get(GENERATION_KEY) is not None
