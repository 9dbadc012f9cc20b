"""The fast renderers of the product's JSON give the serializers' JSON, byte for byte.

``product_list_row`` and ``product_detail_data`` are generated from the shapes of
``apps/products/shapes.py``; ``ProductListSerializer`` and ``ProductDetailSerializer`` are the
reference, as the OpenAPI schema is built from them. Hypothesis draws products with any text
PostgreSQL stores, prices from 0 to the largest, stock, rating figures, timestamps to the
microsecond, categories a few levels deep and images; the products the previous hand-written
parity tests used are kept as explicit examples.
"""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Prefetch
from django.test import RequestFactory
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from apps.core.renderers import ORJSONRenderer
from apps.products.models import Category, Product, ProductImage, Variant
from apps.products.selectors import category_breadcrumbs
from apps.products.serializers import (
    PRODUCT_LIST_VALUES,
    ProductDetailSerializer,
    ProductListSerializer,
    product_detail_data,
    product_list_row,
)

pytestmark = pytest.mark.django_db

SHAPE_SETTINGS = settings(
    max_examples=60,  # about 3 seconds
    deadline=None,  # an example writes a dozen rows: its duration says little
    # The same examples on every run, so that CI cannot pass or fail by luck; the falsifying
    # example of a failure is printed, which is all one needs to reproduce it.
    derandomize=True,
    database=None,
)
MAX_PRICE = Decimal("99999999.99")  # numeric(10, 2)
LARGEST_INTEGER = 2**31 - 1  # an integer column
SOME_TIME = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
UNIQUE_NUMBERS = itertools.count()  # slugs and SKUs stay unique across examples


# --- what hypothesis draws ----------------------------------------------------------------------


@dataclass(frozen=True)
class CategorySpec:
    name: str = "Category"
    is_active: bool = True


@dataclass(frozen=True)
class ImageSpec:
    name: str = "products/1/image.png"  # the path in the storage
    alt_text: str = ""
    position: int = 0
    width: int = 640
    height: int = 480
    created_at: datetime = SOME_TIME


@dataclass(frozen=True)
class ProductSpec:
    # From the root down to the product's category.
    categories: tuple[CategorySpec, ...] = (CategorySpec(),)
    name: str = "Product"
    description: str = "A thing worth buying."
    price: Decimal = Decimal("19.99")
    stock: int = 10
    is_active: bool = True
    ratings: tuple[int, ...] = (0, 0, 0, 0, 0)  # reviews that gave 1, 2 ... 5 stars
    created_at: datetime = SOME_TIME
    updated_at: datetime = SOME_TIME
    images: tuple[ImageSpec, ...] = field(default=())


# Any text a PostgreSQL text column stores: UTF-8 (no lone surrogates), without NUL.
stored_characters = st.characters(codec="utf-8", exclude_characters="\x00")


def texts(*, min_size: int = 0, max_size: int) -> st.SearchStrategy[str]:
    return st.text(stored_characters, min_size=min_size, max_size=max_size)


timestamps = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda moment: moment.replace(tzinfo=UTC))
# The sum stays below 10**8: rating_average casts it to numeric(12, 4) (more overflows there).
counts = st.one_of(st.integers(0, 3), st.integers(0, 6_000_000))
images = st.builds(
    ImageSpec,
    # ImageField's max_length; never empty, as the model requires.
    name=texts(min_size=1, max_size=100),
    alt_text=texts(max_size=200),
    position=st.integers(0, 32767),
    width=st.integers(1, LARGEST_INTEGER),
    height=st.integers(1, LARGEST_INTEGER),
    created_at=timestamps,
)
products = st.builds(
    ProductSpec,
    categories=st.lists(
        st.builds(CategorySpec, name=texts(max_size=120), is_active=st.booleans()),
        min_size=1,
        max_size=4,
    ).map(tuple),
    name=texts(max_size=200),
    description=texts(max_size=1000),
    price=st.decimals(min_value=0, max_value=MAX_PRICE, places=2),
    stock=st.one_of(st.just(0), st.integers(0, LARGEST_INTEGER)),
    is_active=st.booleans(),
    ratings=st.tuples(counts, counts, counts, counts, counts),
    created_at=timestamps,
    updated_at=timestamps,
    images=st.lists(images, max_size=4).map(tuple),
)


def create_product(spec: ProductSpec) -> Product:
    """Store ``spec``'s categories, product and images exactly as drawn."""
    parent = None
    for category_spec in spec.categories:
        parent = Category.objects.create(
            name=category_spec.name,
            slug=f"category-{next(UNIQUE_NUMBERS)}",
            parent=parent,
            is_active=category_spec.is_active,
        )
    assert parent is not None
    number = next(UNIQUE_NUMBERS)
    product = Product.objects.create(
        name=spec.name,
        slug=f"product-{number}",
        sku=f"SKU-{number}",
        description=spec.description,
        price=spec.price,
        stock=spec.stock,
        is_active=spec.is_active,
        category=parent,
    )
    # The figures and timestamps as drawn, past the services and auto_now that set them.
    Product.objects.filter(pk=product.pk).update(
        **{f"rating_{stars}_count": count for stars, count in enumerate(spec.ratings, 1)},
        review_count=sum(spec.ratings),
        rating_sum=sum(stars * count for stars, count in enumerate(spec.ratings, 1)),
        created_at=spec.created_at,
        updated_at=spec.updated_at,
    )
    stored = ProductImage.objects.bulk_create(
        ProductImage(
            product=product,
            image=image.name,
            alt_text=image.alt_text,
            position=image.position,
            width=image.width,
            height=image.height,
        )
        for image in spec.images
    )
    for image, image_spec in zip(stored, spec.images, strict=True):
        image.created_at = image_spec.created_at
    ProductImage.objects.bulk_update(stored, ["created_at"])
    return product


# --- the property -------------------------------------------------------------------------------


# The products of the hand-written parity tests this property replaces.
UNICODE_CATEGORY = (CategorySpec("Ünïcode ☃ \u2028 line"),)
ROOT_MIDDLE_LEAF = (CategorySpec("Root"), CategorySpec("Middle"), CategorySpec("Leaf"))


@SHAPE_SETTINGS
@given(spec=products)
@example(
    spec=ProductSpec(categories=UNICODE_CATEGORY, price=Decimal("0"), stock=0, is_active=False)
)
@example(
    spec=ProductSpec(
        categories=UNICODE_CATEGORY, price=Decimal("10"), description='Quote " and \\ slash'
    )
)
# 33 / 8 = 4.125: rounding half-even (Python) and half-up (PostgreSQL) would differ.
@example(spec=ProductSpec(categories=UNICODE_CATEGORY, price=MAX_PRICE, ratings=(0, 2, 0, 1, 5)))
@example(spec=ProductSpec(categories=UNICODE_CATEGORY, ratings=(0, 1, 0, 0, 0)))
@example(
    spec=ProductSpec(
        categories=ROOT_MIDDLE_LEAF,
        ratings=(0, 0, 0, 2, 1),
        # Stored out of order: the detail lists them by position.
        images=(
            ImageSpec("products/1/side.png", alt_text="Side", position=1),
            ImageSpec("products/1/front.png", alt_text="Front", position=0),
        ),
    )
)
@example(spec=ProductSpec(categories=ROOT_MIDDLE_LEAF[:1], stock=0))
def test_the_fast_renderers_give_the_serializers_json(spec: ProductSpec) -> None:
    request = Request(RequestFactory().get("/"))
    json, api_json = JSONRenderer(), ORJSONRenderer()
    # Each example in a savepoint rolled back: examples share one test's transaction.
    with transaction.atomic():
        product = create_product(spec)

        # The list: a values() row against the serializer of the product (a list without a
        # search matched no variant by its SKU).
        row = Product.objects.filter(pk=product.pk).values(*PRODUCT_LIST_VALUES).get()
        row["matched_variant"] = None
        expected = json.render(
            ProductListSerializer(Product.objects.for_list().get(pk=product.pk)).data
        )
        assert json.render(product_list_row(row)) == expected
        assert api_json.render(product_list_row(row)) == expected  # what the API sends

        # The detail: for_detail()'s one query against the serializer reading the category's
        # breadcrumbs and the prefetched images.
        loaded = Product.objects.for_detail().get(pk=product.pk)
        reference = (
            Product.objects.select_related("category")
            .prefetch_related("images", Prefetch("variants", Variant.objects.with_options()))
            .get(pk=product.pk)
        )
        reference.category.breadcrumbs = category_breadcrumbs(reference.category)  # type: ignore[attr-defined]
        # Products of a type: test_attribute_values_api.py checks their attributes and options.
        assert reference.product_type_id is None
        reference.page_data = {"attributes": [], "options": []}  # type: ignore[attr-defined]
        expected = json.render(
            ProductDetailSerializer(reference, context={"request": request}).data
        )
        assert json.render(product_detail_data(loaded, request)) == expected
        assert api_json.render(product_detail_data(loaded, request)) == expected

        transaction.set_rollback(True)
