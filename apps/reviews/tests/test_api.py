from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.testing import run_together
from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.models import Review
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REVIEWS = reverse("v1:review-list")


def product_reviews_url(product: Product | int) -> str:
    pk = product if isinstance(product, int) else product.pk
    return reverse("v1:product-review-list", args=[pk])


def review_url(review: Review) -> str:
    return reverse("v1:review-detail", args=[review.pk])


def figures(product: Product) -> tuple[int, int]:
    product.refresh_from_db()
    return product.review_count, product.rating_sum


# --- reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 20])
def test_product_reviews_list_is_paginated_with_public_authors(
    api_client: APIClient,
    django_assert_num_queries,
    page_size: int,  # type: ignore[no-untyped-def]
) -> None:
    product = ProductFactory()
    ReviewFactory.create_batch(5, product=product)
    ReviewFactory()  # another product's review

    with django_assert_num_queries(2):  # product, the page with its count and authors
        response = api_client.get(product_reviews_url(product), {"page_size": page_size})

    assert response.status_code == 200
    assert response.data["count"] == 5
    row = response.data["results"][0]
    assert set(row) == {
        "id", "product", "user", "rating", "comment", "helpful_count", "created_at", "updated_at"
    }  # fmt: skip
    assert set(row["user"]) == {"id", "username"}
    assert "@" not in str(response.content)


def test_reviews_of_an_unknown_or_inactive_product_are_404(api_client: APIClient) -> None:
    assert api_client.get(product_reviews_url(987654)).status_code == 404
    hidden = ProductFactory(is_active=False)
    assert api_client.get(product_reviews_url(hidden)).status_code == 404


@pytest.mark.parametrize("page_size", [1, 20])
def test_review_list_filters_by_product_in_fixed_queries(
    api_client: APIClient,
    django_assert_num_queries,
    page_size: int,  # type: ignore[no-untyped-def]
) -> None:
    product = ProductFactory()
    mine = ReviewFactory.create_batch(3, product=product)
    ReviewFactory()
    ReviewFactory(product=ProductFactory(is_active=False))

    with django_assert_num_queries(2):  # filter's product lookup, the page with its count
        filtered = api_client.get(REVIEWS, {"product": product.pk, "page_size": page_size})
    everything = api_client.get(REVIEWS)

    assert {row["id"] for row in filtered.data["results"]} <= {review.pk for review in mine}
    assert filtered.data["count"] == 3
    assert everything.data["count"] == 4  # the inactive product's review is not public


@pytest.mark.parametrize("value", ["abc", "987654"])
def test_review_list_refuses_a_malformed_product_filter(api_client: APIClient, value: str) -> None:
    response = api_client.get(REVIEWS, {"product": value})

    assert response.status_code == 400
    assert "product" in response.data["errors"]


def test_review_detail_is_public(api_client: APIClient, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    review = ReviewFactory()

    with django_assert_num_queries(1):
        response = api_client.get(review_url(review))

    assert response.data["user"] == {"id": review.user.pk, "username": review.user.username}


# --- create -----------------------------------------------------------------------------------


def test_post_on_a_product_adds_the_callers_review_and_updates_figures(
    user_client: APIClient, user: User
) -> None:
    product = ProductFactory()

    response = user_client.post(product_reviews_url(product), {"rating": 4, "comment": "Nice."})

    assert response.status_code == 201, response.data
    assert response.data["user"] == {"id": user.pk, "username": user.username}
    assert response.data["product"] == product.pk
    assert figures(product) == (1, 4)


def test_post_on_reviews_takes_the_product_id(user_client: APIClient, user: User) -> None:
    product = ProductFactory()

    response = user_client.post(REVIEWS, {"product": product.pk, "rating": 2})

    assert response.status_code == 201
    assert Review.objects.get(pk=response.data["id"]).user == user
    assert figures(product) == (1, 2)


def test_anonymous_cannot_review(api_client: APIClient) -> None:
    product = ProductFactory()

    assert api_client.post(product_reviews_url(product), {"rating": 5}).status_code == 401
    assert api_client.post(REVIEWS, {"product": product.pk, "rating": 5}).status_code == 401
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({}, "rating"),
        ({"rating": 3, "comment": "x" * 5001}, "comment"),
    ],
)
def test_bad_review_input_is_a_400_naming_the_field(
    user_client: APIClient, payload: dict[str, object], field: str
) -> None:
    product = ProductFactory()

    response = user_client.post(product_reviews_url(product), payload)

    assert response.status_code == 400
    assert list(response.data["errors"]) == [field]
    assert figures(product) == (0, 0)


@pytest.mark.parametrize("product_value", [987654, "abc", None])
def test_review_of_an_unknown_product_is_a_400_naming_it(
    user_client: APIClient, product_value
) -> None:  # type: ignore[no-untyped-def]
    response = user_client.post(REVIEWS, {"product": product_value, "rating": 3})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["product"]


def test_review_of_an_inactive_product_is_refused(user_client: APIClient) -> None:
    hidden = ProductFactory(category=CategoryFactory(is_active=False))

    assert user_client.post(REVIEWS, {"product": hidden.pk, "rating": 3}).status_code == 400
    assert user_client.post(product_reviews_url(hidden), {"rating": 3}).status_code == 404


def test_a_second_review_of_the_same_product_is_a_400(user_client: APIClient, user: User) -> None:
    product = ProductFactory()
    ReviewFactory(product=product, user=user, rating=5)

    response = user_client.post(product_reviews_url(product), {"rating": 1})

    assert response.status_code == 400
    assert response.data["errors"] == {"product": ["You have already reviewed this product."]}
    assert figures(product) == (1, 5)


@pytest.mark.django_db(transaction=True)
def test_duplicate_reviews_racing_at_the_same_instant_create_exactly_one() -> None:
    product = ProductFactory()
    user = UserFactory()
    attempts = 8

    def post() -> int:
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(product_reviews_url(product), {"rating": 5})
        assert response.status_code == 201 or response.data["errors"] == {
            "product": ["You have already reviewed this product."]
        }
        return response.status_code

    statuses = run_together(*[post] * attempts)

    assert sorted(statuses) == [201] + [400] * (attempts - 1), statuses
    assert Review.objects.filter(product=product).count() == 1
    assert figures(product) == (1, 5)


# --- update and delete ------------------------------------------------------------------------


def test_owner_edits_their_review_and_figures_follow(user_client: APIClient, user: User) -> None:
    review = ReviewFactory(user=user, rating=2)

    response = user_client.patch(review_url(review), {"rating": 5, "comment": "Grew on me."})

    assert response.status_code == 200
    assert response.data["rating"] == 5
    assert figures(review.product) == (1, 5)


def test_product_of_a_review_cannot_be_changed(user_client: APIClient, user: User) -> None:
    review = ReviewFactory(user=user)
    elsewhere = ProductFactory()

    response = user_client.patch(review_url(review), {"product": elsewhere.pk})

    assert response.status_code == 200
    review.refresh_from_db()
    assert review.product_id != elsewhere.pk


def test_owner_edit_with_a_bad_rating_changes_nothing(user_client: APIClient, user: User) -> None:
    review = ReviewFactory(user=user, rating=3)

    response = user_client.put(review_url(review), {"rating": 9, "comment": "new"})

    assert response.status_code == 400
    review.refresh_from_db()
    assert (review.rating, review.comment) == (3, "Does what it says.")


def test_owner_deletes_their_review_and_figures_follow(user_client: APIClient, user: User) -> None:
    review = ReviewFactory(user=user, rating=2)
    ReviewFactory(product=review.product, rating=4)

    assert user_client.delete(review_url(review)).status_code == 204
    assert figures(review.product) == (1, 4)


def test_someone_elses_review_is_a_404_to_writes(user_client: APIClient, other_user: User) -> None:
    review = ReviewFactory(user=other_user, rating=1)

    assert user_client.patch(review_url(review), {"rating": 5}).status_code == 404
    assert user_client.delete(review_url(review)).status_code == 404
    review.refresh_from_db()
    assert review.rating == 1
    assert figures(review.product) == (1, 1)


def test_anonymous_cannot_edit_or_delete(api_client: APIClient) -> None:
    review = ReviewFactory()

    assert api_client.patch(review_url(review), {"rating": 1}).status_code == 401
    assert api_client.delete(review_url(review)).status_code == 401


def test_a_product_past_a_hundred_million_stars_still_takes_reviews(
    user_client: APIClient, api_client: APIClient
) -> None:
    # 19,999,999 five-star reviews: a sum of 99,999,995 stars. The mean was computed as
    # rating_sum::numeric(12, 4) / review_count, which overflows from a sum of 10^8 (a 500 on
    # the review that crosses it); the figures are set directly, as the reviews would.
    product = ProductFactory()
    many = 19_999_999
    Product.objects.filter(pk=product.pk).update(
        rating_5_count=many, review_count=many, rating_sum=5 * many
    )

    response = user_client.post(product_reviews_url(product), {"rating": 1})

    assert response.status_code == 201, response.json()
    assert figures(product) == (many + 1, 5 * many + 1)
    assert product.rating_average == Decimal("5.00")
    page = api_client.get(reverse("v1:product-detail", args=[product.pk])).json()
    assert page["review_count"] == many + 1
    # The most the column holds: 2,147,483,647 stars (429 million five-star reviews).
    most = 429_496_729
    Product.objects.filter(pk=product.pk).update(
        rating_1_count=0, rating_5_count=most, review_count=most, rating_sum=5 * most
    )
    product.refresh_from_db()
    assert product.rating_average == Decimal("5.00")
