from decimal import Decimal
from pathlib import Path

import pytest
from django.test import RequestFactory
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from apps.products.models import Product
from apps.products.selectors import category_breadcrumbs
from apps.products.serializers import (
    PRODUCT_LIST_VALUES,
    ProductDetailSerializer,
    ProductReadSerializer,
    product_detail_data,
    product_list_row,
)

from .factories import CategoryFactory, ProductFactory
from .helpers import stored_image

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


def test_the_detail_data_renders_the_same_json_as_the_detail_serializer(
    settings, tmp_path: Path, rf: RequestFactory
) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    root = CategoryFactory(name="Root")
    leaf = CategoryFactory(name="Leaf", parent=CategoryFactory(name="Middle", parent=root))
    with_images = ProductFactory(
        category=leaf, rating_5_count=1, rating_4_count=2, review_count=3, rating_sum=13
    )
    stored_image(with_images, position=1, alt_text="Side")
    stored_image(with_images, position=0, alt_text="Front")
    plain = ProductFactory(category=root, stock=0)
    request = Request(rf.get("/"))
    renderer = JSONRenderer()

    for product in (with_images, plain):
        # The serializer reads the category's breadcrumbs and the prefetched images.
        expected = (
            Product.objects.select_related("category").prefetch_related("images").get(pk=product.pk)
        )
        expected.category.breadcrumbs = category_breadcrumbs(expected.category)  # type: ignore[attr-defined]
        loaded = Product.objects.for_detail().get(pk=product.pk)
        assert renderer.render(product_detail_data(loaded, request)) == renderer.render(
            ProductDetailSerializer(expected, context={"request": request}).data
        )
