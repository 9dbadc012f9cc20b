"""The nightly rating-figures check, as the worker runs it."""

import logging

import pytest

from apps.products.models import Product
from apps.reviews.tasks import rating_figures_check_job
from apps.reviews.tests.factories import ReviewFactory


@pytest.mark.django_db
def test_the_check_logs_drifted_figures_as_errors_and_repairs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exact, drifted = ReviewFactory(), ReviewFactory()
    # Consistent with themselves (the database insists), but not with the reviews.
    figures = {f"rating_{n}_count": 0 for n in range(1, 6)}
    Product.objects.filter(pk=drifted.product_id).update(
        **{**figures, "rating_3_count": 7}, review_count=7, rating_sum=21
    )

    with caplog.at_level(logging.INFO, logger="apps.reviews.tasks"):
        count = rating_figures_check_job(timestamp=0)

    assert count == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"product {drifted.product_id} drifted" in message for message in errors)
    assert not any(f"product {exact.product_id} " in message for message in errors)
    assert Product.objects.get(pk=drifted.product_id).review_count == 7


@pytest.mark.django_db
def test_the_check_is_quiet_when_every_figure_is_exact(caplog: pytest.LogCaptureFixture) -> None:
    ReviewFactory()

    with caplog.at_level(logging.INFO, logger="apps.reviews.tasks"):
        assert rating_figures_check_job(timestamp=0) == 0

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "rating figures are exact" in caplog.text
