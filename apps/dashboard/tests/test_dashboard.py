"""The admin's front page: the catalogue's figures of the day, as the user may see them."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.products.tests.factories import ProductFactory
from apps.reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db


def test_dashboard_shows_the_counts_that_matter(admin_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOGUE_LOW_STOCK_THRESHOLD = 5
    ProductFactory(stock=2)
    ProductFactory(stock=0)
    ProductFactory(stock=100)
    ReviewFactory()

    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "Catalogue today" in page
    assert "Low stock (1 to 5)" in page
    assert "?stock_level=low" in page
    assert "Reviews in the last 24 hours" in page


def test_dashboard_shows_only_what_the_user_may_see(client: Client, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff_with_perms("reviews.view_review"))

    page = client.get(reverse("admin:index")).content.decode()

    assert "Reviews in the last 24 hours" in page
    assert "Low stock" not in page
