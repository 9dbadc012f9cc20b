from decimal import Decimal

import factory

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
    # Distinct per variant: a product has each combination of options once.
    option_ids = factory.Sequence(lambda n: [n + 1])
