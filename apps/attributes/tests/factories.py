import factory

from apps.attributes.models import (
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)


class AttributeFactory(factory.django.DjangoModelFactory[Attribute]):
    class Meta:
        model = Attribute

    name = factory.Sequence(lambda n: f"Attribute {n}")
    slug = factory.Sequence(lambda n: f"attribute-{n}")
    kind = AttributeKind.CHOICE


class AttributeOptionFactory(factory.django.DjangoModelFactory[AttributeOption]):
    class Meta:
        model = AttributeOption

    attribute = factory.SubFactory(AttributeFactory)
    value = factory.Sequence(lambda n: f"Option {n}")
    slug = factory.Sequence(lambda n: f"option-{n}")
    position = factory.Sequence(lambda n: n)


class ProductTypeFactory(factory.django.DjangoModelFactory[ProductType]):
    class Meta:
        model = ProductType

    name = factory.Sequence(lambda n: f"Type {n}")
    slug = factory.Sequence(lambda n: f"type-{n}")


class ProductTypeAttributeFactory(factory.django.DjangoModelFactory[ProductTypeAttribute]):
    class Meta:
        model = ProductTypeAttribute

    product_type = factory.SubFactory(ProductTypeFactory)
    attribute = factory.SubFactory(AttributeFactory)
    position = factory.Sequence(lambda n: n)
