from decimal import Decimal
from typing import Any

import factory
from django.db import transaction

from apps.attributes.models import (
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)
from apps.products.models import Category, Product, Variant


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    description = "A thing worth buying."
    price = Decimal("19.99")
    stock = 10
    category = factory.SubFactory(CategoryFactory)


class VariantFactory(factory.django.DjangoModelFactory[Variant]):
    """A further variant of a product (every product has its first one from the database)."""

    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"VAR-{n:06d}")
    price = Decimal("24.99")
    stock = 5
    position = factory.Sequence(lambda n: n + 1)
    # A new option of the factory's variant axis: distinct per variant, as a product has each
    # combination of options once. A product without a type gets the factory's type first.
    option_ids = factory.LazyAttribute(lambda variant: factory_axis_option_ids(variant.product))


FACTORY_AXIS_SLUG = "factory-axis"
FACTORY_TYPE_SLUG = "factory-variants"


def factory_axis_option_ids(product: Product) -> list[int]:
    """Return ``[id]`` of a new option of the factory's variant axis for a further variant of
    ``product``. A product without a type gets the factory's type (one axis), and its variants
    without options an option each, so that its variants fit its type."""
    # One transaction: the type and the options are checked together at its commit (the
    # deferred products_variant_options), also in tests that commit.
    with transaction.atomic():
        return _factory_axis_option_ids(product)


def _factory_axis_option_ids(product: Product) -> list[int]:
    axis, _ = Attribute.objects.get_or_create(
        slug=FACTORY_AXIS_SLUG, defaults={"name": "Factory axis", "kind": AttributeKind.CHOICE}
    )
    if product.product_type_id is None:
        product_type, created = ProductType.objects.get_or_create(
            slug=FACTORY_TYPE_SLUG, defaults={"name": "Factory variants", "has_variants": True}
        )
        if created:
            ProductTypeAttribute.objects.create(
                product_type=product_type, attribute=axis, is_axis=True
            )
        Product.objects.filter(pk=product.pk).update(product_type=product_type)
        product.product_type = product_type
        for variant_id in Variant.objects.filter(product=product, option_ids=[]).values_list(
            "pk", flat=True
        ):
            Variant.objects.filter(pk=variant_id).update(option_ids=[_new_option(axis).pk])
    return [_new_option(axis).pk]


def _new_option(axis: Attribute) -> AttributeOption:
    number = AttributeOption.objects.filter(attribute=axis).count() + 1
    # Unique even across tests that commit (transaction=True): the count may repeat.
    while AttributeOption.objects.filter(attribute=axis, slug=f"option-{number}").exists():
        number += 1
    return AttributeOption.objects.create(
        attribute=axis, value=f"Option {number}", slug=f"option-{number}", position=number
    )


def typed_product(**kwargs: Any) -> Product:
    """Return a product of the factory's variant type (its first variant has an option)."""
    product = ProductFactory(**kwargs)
    factory_axis_option_ids(product)
    return product


def choice_attribute(slug: str, option_slugs: list[str], **kwargs: Any) -> Attribute:
    """Return a new choice attribute ``slug`` with options of these slugs, in this order (each
    option's value is its slug in upper case)."""
    attribute = Attribute.objects.create(
        name=slug.capitalize(), slug=slug, kind=kwargs.pop("kind", AttributeKind.CHOICE), **kwargs
    )
    for position, option_slug in enumerate(option_slugs):
        AttributeOption.objects.create(
            attribute=attribute, slug=option_slug, value=option_slug.upper(), position=position
        )
    return attribute


def product_type_of(
    slug: str, *, axes: tuple[Attribute, ...] = (), attributes: tuple[Attribute, ...] = ()
) -> ProductType:
    """Return a new product type with these variant axes (it has variants if any) and these
    other attributes, in this order."""
    product_type = ProductType.objects.create(
        name=slug.capitalize(), slug=slug, has_variants=bool(axes)
    )
    for position, attribute in enumerate((*axes, *attributes)):
        ProductTypeAttribute.objects.create(
            product_type=product_type,
            attribute=attribute,
            is_axis=attribute in axes,
            position=position,
        )
    return product_type


def option_id(attribute: Attribute, slug: str) -> int:
    return AttributeOption.objects.get(attribute=attribute, slug=slug).pk


def product_with_options(product_type: ProductType, options: list[int], **kwargs: Any) -> Product:
    """Return a product of ``product_type`` whose first variant has these option ids (in one
    transaction: checked together at its commit)."""
    with transaction.atomic():
        product = ProductFactory(product_type=product_type, **kwargs)
        Variant.objects.filter(product=product).update(option_ids=sorted(options))
    return product
