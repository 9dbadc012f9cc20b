"""Moderation, helpful votes, list filters and the figures check, through the API."""

import json
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from apps.products.models import Product
from apps.products.tests.factories import ProductFactory
from apps.reviews.models import Review, ReviewVote
from apps.reviews.services import rating_figures_drift
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db

REVIEWS = reverse("v1:review-list")


def hide_url(review: Review) -> str:
    return reverse("v1:review-hide", args=[review.pk])


def restore_url(review: Review) -> str:
    return reverse("v1:review-restore", args=[review.pk])


def helpful_url(review: Review) -> str:
    return reverse("v1:review-helpful", args=[review.pk])


def figures(product: Product) -> tuple[int, int, dict[str, int]]:
    product.refresh_from_db()
    return product.review_count, product.rating_sum, product.rating_histogram


@pytest.fixture
def moderator(staff_with_perms: Callable[..., User]) -> User:
    return staff_with_perms("reviews.moderate_review")


# --- hide and restore -------------------------------------------------------------------------


def test_a_hidden_review_leaves_public_lists_and_figures_at_once(
    api_client: APIClient, client_for: Callable[[User], APIClient], moderator: User
) -> None:
    product = ProductFactory()
    kept = ReviewFactory(product=product, rating=5)
    spam = ReviewFactory(product=product, rating=1)

    response = client_for(moderator).post(hide_url(spam), {"reason": "Spam link"})

    assert response.status_code == 200, response.data
    assert response.data["is_hidden"] is True
    assert response.data["hidden_reason"] == "Spam link"
    assert figures(product) == (1, 5, {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1})
    public = api_client.get(reverse("v1:product-review-list", args=[product.pk]))
    assert [row["id"] for row in public.data["results"]] == [kept.pk]
    assert api_client.get(REVIEWS).data["count"] == 1
    assert api_client.get(reverse("v1:review-detail", args=[spam.pk])).status_code == 404
    spam.refresh_from_db()
    assert spam.hidden_by == moderator and spam.hidden_at is not None


def test_restore_brings_a_review_back_into_lists_and_figures(
    client_for: Callable[[User], APIClient], moderator: User
) -> None:
    product = ProductFactory()
    review = ReviewFactory(product=product, rating=2)
    staff = client_for(moderator)
    staff.post(hide_url(review), {"reason": "Checking"})

    response = staff.post(restore_url(review))

    assert response.status_code == 200
    assert response.data["is_hidden"] is False
    assert response.data["hidden_reason"] == ""
    assert figures(product)[:2] == (1, 2)


def test_hiding_twice_or_restoring_a_visible_review_keeps_figures_exact(
    client_for: Callable[[User], APIClient], moderator: User
) -> None:
    product = ProductFactory()
    review = ReviewFactory(product=product, rating=4)
    staff = client_for(moderator)

    staff.post(restore_url(review))
    staff.post(hide_url(review), {"reason": "one"})
    staff.post(hide_url(review), {"reason": "two"})

    assert figures(product)[:2] == (0, 0)
    assert rating_figures_drift() == []


def test_hiding_needs_a_reason(client_for: Callable[[User], APIClient], moderator: User) -> None:
    review = ReviewFactory()

    response = client_for(moderator).post(hide_url(review), {"reason": ""})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["reason"]
    review.refresh_from_db()
    assert not review.is_hidden


def test_the_database_refuses_a_hidden_review_without_a_reason() -> None:
    review = ReviewFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.filter(pk=review.pk).update(is_hidden=True)


@pytest.mark.parametrize("who", ["anonymous", "customer", "author", "staff without permission"])
def test_only_moderators_hide_or_restore(
    who: str,
    api_client: APIClient,
    client_for: Callable[[User], APIClient],
    staff_with_perms: Callable[..., User],
    user: User,
) -> None:
    review = ReviewFactory()
    clients = {
        "anonymous": lambda: api_client,
        "customer": lambda: client_for(user),
        "author": lambda: client_for(review.user),
        "staff without permission": lambda: client_for(staff_with_perms("reviews.change_review")),
    }
    client = clients[who]()

    hide = client.post(hide_url(review), {"reason": "x"})
    restore = client.post(restore_url(review))

    expected = 401 if who == "anonymous" else 403
    assert (hide.status_code, restore.status_code) == (expected, expected)
    review.refresh_from_db()
    assert not review.is_hidden


def test_moderators_see_the_queue_of_hidden_reviews(
    api_client: APIClient, client_for: Callable[[User], APIClient], moderator: User
) -> None:
    hidden, visible = ReviewFactory(), ReviewFactory()
    staff = client_for(moderator)
    staff.post(hide_url(hidden), {"reason": "Off topic"})

    queue = staff.get(REVIEWS, {"is_hidden": "true"})
    everyone = api_client.get(REVIEWS, {"is_hidden": "true"})

    assert [row["id"] for row in queue.data["results"]] == [hidden.pk]
    assert queue.data["results"][0]["hidden_reason"] == "Off topic"
    assert everyone.data["count"] == 0
    assert visible.pk in [row["id"] for row in staff.get(REVIEWS).data["results"]]


def test_the_author_may_still_delete_a_hidden_review_without_skewing_figures(
    client_for: Callable[[User], APIClient], moderator: User
) -> None:
    product = ProductFactory()
    review = ReviewFactory(product=product, rating=1)
    ReviewFactory(product=product, rating=5)
    client_for(moderator).post(hide_url(review), {"reason": "Abusive"})

    response = client_for(review.user).delete(reverse("v1:review-detail", args=[review.pk]))

    assert response.status_code == 204
    assert figures(product)[:2] == (1, 5)


# --- helpful votes ----------------------------------------------------------------------------


def test_helpful_votes_count_once_per_user_and_can_be_taken_back(
    client_for: Callable[[User], APIClient], user: User, other_user: User
) -> None:
    review = ReviewFactory()

    first = client_for(user).post(helpful_url(review))
    again = client_for(user).post(helpful_url(review))
    second = client_for(other_user).post(helpful_url(review))
    taken_back = client_for(user).delete(helpful_url(review))

    assert first.status_code == 200 and first.data["helpful_count"] == 1
    assert again.status_code == 400
    assert again.data["errors"] == {"review": ["You have already marked this review as helpful."]}
    assert second.data["helpful_count"] == 2
    assert taken_back.data["helpful_count"] == 1
    assert client_for(user).delete(helpful_url(review)).data["helpful_count"] == 1


def test_nobody_votes_for_their_own_review(client_for: Callable[[User], APIClient]) -> None:
    review = ReviewFactory()

    response = client_for(review.user).post(helpful_url(review))

    assert response.status_code == 400
    assert response.data["errors"] == {"review": ["You cannot vote for your own review."]}
    review.refresh_from_db()
    assert review.helpful_count == 0


def test_the_database_refuses_a_vote_for_ones_own_review() -> None:
    review = ReviewFactory()

    with pytest.raises(IntegrityError, match="own review"), transaction.atomic():
        ReviewVote.objects.create(review=review, user=review.user)


def test_anonymous_cannot_vote(api_client: APIClient) -> None:
    review = ReviewFactory()

    assert api_client.post(helpful_url(review)).status_code == 401
    assert not ReviewVote.objects.exists()


# --- filters and ordering -----------------------------------------------------------------------


def test_reviews_filter_by_rating_and_sort_by_rating_newest_and_helpfulness(
    api_client: APIClient, client_for: Callable[[User], APIClient], user: User, other_user: User
) -> None:
    product = ProductFactory()
    low = ReviewFactory(product=product, rating=2)
    high = ReviewFactory(product=product, rating=5)
    middle = ReviewFactory(product=product, rating=4)
    client_for(user).post(helpful_url(low))
    client_for(other_user).post(helpful_url(low))
    client_for(user).post(helpful_url(middle))
    url = reverse("v1:product-review-list", args=[product.pk])

    def ids(**params: str) -> list[int]:
        response = api_client.get(url, params)
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids() == [middle.pk, high.pk, low.pk]  # newest first
    assert ids(ordering="created_at") == [low.pk, high.pk, middle.pk]
    assert ids(ordering="-rating") == [high.pk, middle.pk, low.pk]
    assert ids(ordering="-helpful") == [low.pk, middle.pk, high.pk]
    assert ids(rating="4") == [middle.pk]
    assert ids(rating_min="4", ordering="rating") == [middle.pk, high.pk]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"rating": "0"}, "rating"),
        ({"rating": "six"}, "rating"),
        ({"ordering": "stars"}, "ordering"),
    ],
)
def test_malformed_review_parameters_are_400s(
    api_client: APIClient, params: dict[str, str], parameter: str
) -> None:
    response = api_client.get(REVIEWS, params)

    assert response.status_code == 400
    assert list(response.data["errors"]) == [parameter]


# --- the figures check ----------------------------------------------------------------------------


def test_check_rating_figures_reports_drift_and_repairs_it() -> None:
    product = ProductFactory()
    ReviewFactory(product=product, rating=3)
    Product.objects.filter(pk=product.pk).update(rating_3_count=0, rating_5_count=1, rating_sum=5)
    report = StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("check_rating_figures", stdout=report, stderr=StringIO())
    assert exit_info.value.code == 1
    assert (
        f"product {product.pk}: rating_3_count 0 -> 1, rating_5_count 1 -> 0, rating_sum 5 -> 3"
        in (report.getvalue())
    )

    repaired = StringIO()
    call_command("check_rating_figures", "--repair", stdout=repaired)
    assert "Repaired 1 product(s)." in repaired.getvalue()
    assert figures(product)[:2] == (1, 3)
    clean = StringIO()
    call_command("check_rating_figures", stdout=clean)
    assert "exact" in clean.getvalue()


def test_review_writes_ignore_fields_that_are_not_the_callers_to_set(
    client_for: Callable[[User], APIClient], user: User, other_user: User
) -> None:
    product = ProductFactory()

    created = client_for(user).post(
        REVIEWS,
        {
            "product": product.pk,
            "rating": 4,
            "user": other_user.pk,
            "helpful_count": 99,
            "is_hidden": True,
            "hidden_reason": "x",
        },
    )
    review = Review.objects.get(pk=created.data["id"])
    edited = client_for(user).patch(
        reverse("v1:review-detail", args=[review.pk]),
        {"helpful_count": 50, "is_hidden": True, "user": other_user.pk, "product": 1},
    )

    assert (created.status_code, edited.status_code) == (201, 200)
    review.refresh_from_db()
    assert (review.user, review.product, review.helpful_count, review.is_hidden) == (
        user,
        product,
        0,
        False,
    )


def test_the_schema_documents_what_moderators_and_shoppers_see_of_a_review(
    tmp_path, staff_with_perms: Callable[..., User], client_for: Callable[[User], APIClient]
) -> None:
    # Moderators get is_hidden, hidden_reason and hidden_at besides the read shape; a client
    # generated from the schema must know those fields, and that others do not get them.
    schema_file = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema_file))
    document = json.loads(schema_file.read_text())
    listed = document["components"]["schemas"]["ReviewAsListed"]
    review = ReviewFactory()
    moderator = client_for(staff_with_perms("reviews.moderate_review"))

    moderated = moderator.get(reverse("v1:review-detail", args=[review.pk])).json()
    public = APIClient().get(reverse("v1:review-detail", args=[review.pk])).json()

    assert set(moderated) == set(listed["properties"])
    assert set(public) == set(listed["required"])
    assert {"is_hidden", "hidden_reason", "hidden_at"}.isdisjoint(listed["required"])
    item = document["paths"]["/api/v1/reviews/{id}/"]["get"]["responses"]["200"]
    assert item["content"]["application/json"]["schema"]["$ref"].endswith("/ReviewAsListed")
