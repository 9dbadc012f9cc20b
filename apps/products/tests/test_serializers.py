from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from apps.products.models import Product
from apps.products.serializers import (
    PRODUCT_LIST_VALUES,
    ProductReadSerializer,
    product_list_row,
)

from .factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_the_list_row_renders_the_same_json_as_the_read_serializer() -> None:
    category = CategoryFactory(name="Ünïcode ☃ \u2028 line", slug="unicode")
    ProductFactory(category=category, price=Decimal("0"), stock=0, is_active=False)
    ProductFactory(category=category, price=Decimal("10"), description='Quote " and \\ slash')
    # 33 / 8 = 4.125: rounding half-even (Python) and half-up (PostgreSQL) would differ.
    ProductFactory(
        category=category,
        price=Decimal("99999999.99"),
        rating_5_count=5,
        rating_4_count=1,
        rating_2_count=2,
        review_count=8,
        rating_sum=33,
    )
    ProductFactory(category=category, rating_2_count=1, review_count=1, rating_sum=2)
    renderer = JSONRenderer()

    for product in Product.objects.select_related("category").order_by("id"):
        row = Product.objects.filter(pk=product.pk).values(*PRODUCT_LIST_VALUES).get()
        assert renderer.render(product_list_row(row)) == renderer.render(
            ProductReadSerializer(product).data
        )
