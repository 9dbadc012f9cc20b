"""The demo catalogue ``make run`` loads: a three-level tree, reviews with exact figures, the same
every time, and only into an empty database."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from apps.attributes.models import Attribute, AttributeKind, ProductType
from apps.products.models import Category, Product, Variant
from apps.reviews.models import Review
from apps.reviews.services import rating_figures_recompute
from apps.users.models import User

pytestmark = pytest.mark.django_db


def catalogue_fingerprint() -> tuple[object, ...]:
    return (
        list(
            Product.objects.order_by("sku").values_list(
                "sku", "name", "price", "stock", "category__slug"
            )
        ),
        list(
            Review.objects.order_by("product__sku", "user__username").values_list(
                "product__sku", "user__username", "rating"
            )
        ),
    )


def test_demo_catalogue_is_a_three_level_tree_with_reviews_and_exact_figures() -> None:
    call_command("load_demo_catalogue", products=200)

    assert Product.objects.count() == 200
    leaves = Category.objects.filter(children__isnull=True)
    assert leaves.exists()
    assert all(len(Category.objects.ancestor_ids(leaf.pk)) == 2 for leaf in leaves)
    assert not Product.objects.exclude(category__in=leaves).exists()
    assert User.objects.filter(reviews__isnull=False).distinct().count() >= 5
    assert Review.objects.count() > 50
    assert rating_figures_recompute() == []  # stored figures already match the reviews


def test_demo_catalogue_is_deterministic_and_loads_only_into_an_empty_database() -> None:
    call_command("load_demo_catalogue", products=100)
    first = catalogue_fingerprint()
    call_command("load_demo_catalogue", products=100)
    assert Product.objects.count() == 100  # the second run left it alone

    Review.objects.all().delete()
    Product.objects.all().delete()
    Category.objects.filter(parent__parent__isnull=False).delete()
    Category.objects.filter(parent__isnull=False).delete()
    Category.objects.all().delete()
    User.objects.all().delete()
    ProductType.objects.all().delete()
    Attribute.objects.all().delete()
    call_command("load_demo_catalogue", products=100)

    assert catalogue_fingerprint() == first


def test_demo_catalogue_has_attributes_and_product_types() -> None:
    call_command("load_demo_catalogue", products=10)

    apparel = ProductType.objects.for_detail().get(slug="apparel")
    rows = list(apparel.type_attributes.all())
    assert [(row.attribute.slug, row.is_axis) for row in rows] == [
        ("size", True),
        ("colour", True),
        ("brand", False),
        ("material", False),
    ]
    colour = Attribute.objects.for_detail().get(slug="colour")
    assert colour.kind == AttributeKind.SWATCH
    assert all(option.swatch_colour for option in colour.options.all())
    assert set(ProductType.objects.values_list("slug", flat=True)) == {
        "apparel",
        "shoes",
        "phone",
        "book",
        "furniture",
    }
    assert Attribute.objects.get(slug="screen-size").unit == "in"
    assert Attribute.objects.get(slug="width").unit == "cm"
    brand = Attribute.objects.for_detail().get(slug="brand")
    assert brand.options.count() == 200
    assert {"acme", "zeta"} <= {option.slug for option in brand.options.all()}


def test_demo_catalogue_has_typed_products_with_variants_options_and_facetable_values(
    client: Client,
) -> None:
    call_command("load_demo_catalogue", products=200)

    typed = Product.objects.filter(product_type__isnull=False)
    assert typed.count() == 40
    assert set(typed.values_list("product_type__slug", flat=True)) == {
        "apparel",
        "shoes",
        "phone",
        "book",
        "furniture",
    }
    several = typed.filter(variant_count__gt=1)
    assert several.count() >= 20
    assert Variant.objects.filter(product__in=typed).count() > 100
    # Every typed product has a value of each of its type's non-axis attributes.
    for product in typed.select_related("product_type"):
        expected = set(
            product.product_type.type_attributes.filter(is_axis=False).values_list(
                "attribute__slug", flat=True
            )
        )
        stored = set(product.attribute_values.values_list("attribute__slug", flat=True))
        assert stored == expected, product.sku
    shirt = several.filter(product_type__slug="apparel").order_by("id").first()
    assert shirt is not None
    body = client.get(reverse("v1:product-detail", args=[shirt.pk])).json()
    axes = [row["attribute"]["slug"] for row in body["options"]]
    assert axes == ["size", "colour"]
    assert all(row["values"] for row in body["options"])
    assert {tuple(sorted(variant["options"])) for variant in body["variants"]} == {
        ("colour", "size")
    }
    assert len(body["variants"]) == shirt.variants.filter(is_active=True).count()
    shown = {row["attribute"]["slug"] for row in body["attributes"]}
    assert shown == {"brand", "material"}
    assert shirt.price_max >= shirt.price
