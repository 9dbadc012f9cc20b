from typing import Any

import factory

from apps.products.tests.factories import ProductFactory
from apps.reviews.models import Review
from apps.reviews.services import review_create
from apps.users.tests.factories import UserFactory


class ReviewFactory(factory.django.DjangoModelFactory[Review]):
    """Create reviews through the service, so that products' rating figures stay exact."""

    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    user = factory.SubFactory(UserFactory)
    rating = 4
    comment = "Does what it says."

    @classmethod
    def _create(cls, model_class: type[Review], *args: Any, **kwargs: Any) -> Review:
        return review_create(**kwargs)
