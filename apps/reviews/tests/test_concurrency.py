"""Review writes racing for real against PostgreSQL: threads, each with its own connection,
released together by a barrier. Afterwards the stored figures must equal a fresh aggregate."""

from collections import Counter
from collections.abc import Callable

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.testing import run_together
from apps.products.tests.factories import ProductFactory
from apps.reviews.models import Review
from apps.reviews.services import rating_figures_drift
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def as_user(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def outcome_summary(statuses: list[int]) -> str:
    counts = Counter(statuses)
    errors = sum(n for status, n in counts.items() if status >= 500)
    return f"sent {len(statuses)}, statuses {dict(sorted(counts.items()))}, server errors {errors}"


def test_concurrent_create_edit_hide_and_delete_keep_figures_exact(
    staff_with_perms: Callable[..., User],
) -> None:
    product = ProductFactory()
    existing = [ReviewFactory(product=product, rating=3) for _ in range(12)]
    newcomers = UserFactory.create_batch(12)
    moderator = staff_with_perms("reviews.moderate_review")
    product_reviews = reverse("v1:product-review-list", args=[product.pk])

    def detail(review: Review) -> str:
        return reverse("v1:review-detail", args=[review.pk])

    def create(user: User, rating: int) -> Callable[[], int]:
        return lambda: as_user(user).post(product_reviews, {"rating": rating}).status_code

    def edit(review: Review, rating: int) -> Callable[[], int]:
        return lambda: as_user(review.user).patch(detail(review), {"rating": rating}).status_code

    def delete(review: Review) -> Callable[[], int]:
        return lambda: as_user(review.user).delete(detail(review)).status_code

    def hide(review: Review) -> Callable[[], int]:
        url = reverse("v1:review-hide", args=[review.pk])
        return lambda: as_user(moderator).post(url, {"reason": "race"}).status_code

    actions = [
        *(create(user, 1 + n % 5) for n, user in enumerate(newcomers)),
        # Each existing review is edited, hidden and/or deleted by racing requests.
        *(edit(review, 5) for review in existing[:8]),
        *(hide(review) for review in existing[4:10]),
        *(delete(review) for review in existing[6:12]),
    ]

    statuses = run_together(*actions)

    summary = outcome_summary(statuses)
    print(f"\nmixed review race: {summary}")
    assert all(isinstance(status, int) and status < 500 for status in statuses), summary
    assert statuses[:12] == [201] * 12, summary
    assert rating_figures_drift() == [], summary
    product.refresh_from_db()
    visible = Review.objects.filter(product=product, is_hidden=False)
    assert product.review_count == visible.count()
    assert product.rating_sum == sum(visible.values_list("rating", flat=True))


def test_parallel_duplicate_reviews_by_many_users_each_create_exactly_one() -> None:
    product = ProductFactory()
    users = UserFactory.create_batch(5)
    url = reverse("v1:product-review-list", args=[product.pk])
    attempts_each = 4

    statuses = run_together(
        *(
            (lambda user=user: as_user(user).post(url, {"rating": 4}).status_code)
            for user in users
            for _ in range(attempts_each)
        )
    )

    summary = outcome_summary(statuses)
    print(f"\nduplicate reviews race: {summary}")
    assert Counter(statuses) == {201: len(users), 400: len(users) * (attempts_each - 1)}, summary
    product.refresh_from_db()
    assert (product.review_count, product.rating_sum) == (5, 20)


def test_parallel_helpful_votes_count_exactly() -> None:
    review = ReviewFactory()
    voters = UserFactory.create_batch(10)
    url = reverse("v1:review-helpful", args=[review.pk])

    # Every voter votes twice at the same instant: one of each pair must be refused.
    statuses = run_together(
        *((lambda voter=voter: as_user(voter).post(url).status_code) for voter in voters * 2)
    )

    summary = outcome_summary(statuses)
    print(f"\nhelpful votes race: {summary}")
    assert Counter(statuses) == {200: 10, 400: 10}, summary
    review.refresh_from_db()
    assert review.helpful_count == 10 == review.votes.count()
