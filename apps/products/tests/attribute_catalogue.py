"""A small typed catalogue for the attribute tests: an apparel type with two axes (colour, a
swatch; size) and two product attributes (brand, a choice; features, a multiple choice), plus a
number (weight) and a yes-or-no (waterproof), and products of it made in one transaction."""

from typing import Any

from django.db import transaction

from apps.attributes.models import Attribute, AttributeKind, AttributeOption
from apps.products.models import Product, ProductAttributeValue, Variant
from apps.products.tests.factories import (
    CategoryFactory,
    ProductFactory,
    VariantFactory,
    choice_attribute,
    option_id,
    product_type_of,
)

COLOURS = {"red": "#cc0000", "blue": "#0033cc", "green": "#00aa00"}
SIZES = ["s", "m", "l"]
BRANDS = ["acme", "zeta"]
FEATURES = ["wifi", "gps"]


def apparel_catalogue() -> dict[str, Any]:
    """Create the attributes and the type; return the type, the attributes by slug and every
    option's id by its slug."""
    colour = choice_attribute(
        "colour", list(COLOURS), kind=AttributeKind.SWATCH, position=0, is_filterable=True
    )
    for slug, hex_colour in COLOURS.items():
        AttributeOption.objects.filter(attribute=colour, slug=slug).update(swatch_colour=hex_colour)
    size = choice_attribute("size", SIZES, position=1, is_filterable=True)
    brand = choice_attribute("brand", BRANDS, position=2, is_filterable=True)
    features = choice_attribute(
        "features", FEATURES, kind=AttributeKind.MULTIPLE_CHOICE, position=3, is_filterable=True
    )
    weight = Attribute.objects.create(
        name="Weight",
        slug="weight",
        kind=AttributeKind.NUMBER,
        unit="g",
        position=4,
        is_filterable=True,
    )
    waterproof = Attribute.objects.create(
        name="Waterproof",
        slug="waterproof",
        kind=AttributeKind.BOOLEAN,
        position=5,
        is_filterable=True,
    )
    product_type = product_type_of(
        "apparel", axes=(colour, size), attributes=(brand, features, weight, waterproof)
    )
    attributes = {each.slug: each for each in (colour, size, brand, features, weight, waterproof)}
    options = {
        slug: option_id(attribute, slug)
        for attribute, slugs in [
            (colour, list(COLOURS)),
            (size, SIZES),
            (brand, BRANDS),
            (features, FEATURES),
        ]
        for slug in slugs
    }
    return {"type": product_type, "attributes": attributes, **options}


def shirt(
    apparel: dict[str, Any],
    *combinations: tuple[str, str],
    category: Any = None,
    brand: str | None = None,
    features: tuple[str, ...] = (),
    weight: Any = None,
    waterproof: bool | None = None,
    inactive: tuple[int, ...] = (),
    **kwargs: Any,
) -> Product:
    """Return an apparel product with a variant per (colour, size) combination (those at the
    positions in ``inactive`` inactive) and these values, in one transaction."""
    attributes = apparel["attributes"]
    with transaction.atomic():
        product = ProductFactory(
            product_type=apparel["type"], category=category or CategoryFactory(), **kwargs
        )
        first, *others = combinations
        Variant.objects.filter(product=product).update(
            option_ids=sorted(apparel[slug] for slug in first), is_active=0 not in inactive
        )
        for position, combination in enumerate(others, start=1):
            VariantFactory(
                product=product,
                position=position,
                is_active=position not in inactive,
                option_ids=sorted(apparel[slug] for slug in combination),
            )
        values = [
            ProductAttributeValue(
                product=product, attribute=attributes["features"], option_id=apparel[feature]
            )
            for feature in features
        ]
        if brand is not None:
            values.append(
                ProductAttributeValue(
                    product=product, attribute=attributes["brand"], option_id=apparel[brand]
                )
            )
        if weight is not None:
            values.append(
                ProductAttributeValue(
                    product=product, attribute=attributes["weight"], value_number=weight
                )
            )
        if waterproof is not None:
            values.append(
                ProductAttributeValue(
                    product=product, attribute=attributes["waterproof"], value_boolean=waterproof
                )
            )
        ProductAttributeValue.objects.bulk_create(values)
    return product
