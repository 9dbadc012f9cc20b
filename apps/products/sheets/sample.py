"""A variant sheet to measure the import with: products of a typed T-shirt, each in two sizes
and two colours (four variants, two axes), with a text, a number, a boolean and a multiple
choice attribute (``manage.py import_products FILE --generate-sample PRODUCTS``)."""

import csv
from typing import IO

from django.db import transaction

from apps.attributes.models import (
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)

from ..limits import SAMPLE_MAX_ROWS
from ..models import Category
from .variant_columns import ATTRIBUTE_PREFIX, FIXED_HEADERS, OPTION_PREFIX

SAMPLE_TYPE = "sample-tshirt"
SAMPLE_CATEGORY = "sample-tops"
_AXES = {"sample-size": ["s", "m"], "sample-colour": ["red", "blue"]}
_ATTRIBUTES = {
    "sample-material": AttributeKind.TEXT,
    "sample-weight": AttributeKind.NUMBER,
    "sample-organic": AttributeKind.BOOLEAN,
    "sample-care": AttributeKind.MULTIPLE_CHOICE,
}
_CARE = ["wash-30", "no-dryer", "iron"]
VARIANTS_PER_PRODUCT = 4
MAX_SAMPLE_PRODUCTS = SAMPLE_MAX_ROWS // VARIANTS_PER_PRODUCT


@transaction.atomic
def sample_catalogue_ensure() -> None:
    """Create the sample's category, attributes, options and type if they are missing."""
    Category.objects.get_or_create(slug=SAMPLE_CATEGORY, defaults={"name": "Sample tops"})
    product_type, _ = ProductType.objects.get_or_create(
        slug=SAMPLE_TYPE, defaults={"name": "Sample T-shirt", "has_variants": True}
    )
    position = 0
    for slug, options in _AXES.items():
        attribute, _ = Attribute.objects.get_or_create(
            slug=slug, defaults={"name": slug, "kind": AttributeKind.CHOICE}
        )
        for number, option in enumerate(options):
            AttributeOption.objects.get_or_create(
                attribute=attribute, slug=option, defaults={"value": option, "position": number}
            )
        ProductTypeAttribute.objects.get_or_create(
            product_type=product_type,
            attribute=attribute,
            defaults={"is_axis": True, "position": position},
        )
        position += 1
    for slug, kind in _ATTRIBUTES.items():
        attribute, _ = Attribute.objects.get_or_create(
            slug=slug, defaults={"name": slug, "kind": kind}
        )
        if kind == AttributeKind.MULTIPLE_CHOICE:
            for number, option in enumerate(_CARE):
                AttributeOption.objects.get_or_create(
                    attribute=attribute, slug=option, defaults={"value": option, "position": number}
                )
        ProductTypeAttribute.objects.get_or_create(
            product_type=product_type,
            attribute=attribute,
            defaults={"is_axis": False, "position": position},
        )
        position += 1


def sample_sheet_write(file: IO[str], products: int) -> int:
    """Write a variant sheet of ``products`` sample products (four rows each) as CSV into
    ``file``, creating the sample's type first; return the number of rows."""
    assert 0 < products <= MAX_SAMPLE_PRODUCTS, f"1 to {MAX_SAMPLE_PRODUCTS:,} products"
    sample_catalogue_ensure()
    writer = csv.writer(file)
    writer.writerow(
        [
            *FIXED_HEADERS,
            *(f"{OPTION_PREFIX}{slug}" for slug in _AXES),
            *(f"{ATTRIBUTE_PREFIX}{slug}" for slug in _ATTRIBUTES),
        ]
    )
    rows = 0
    for number in range(products):
        slug = f"sample-{number:06d}"
        product = [
            f"Sample T-shirt {number}",
            f"A soft T-shirt, number {number}, in cotton.",
            SAMPLE_CATEGORY,
            "true",
            SAMPLE_TYPE,
        ]
        attributes = [
            "cotton" if number % 2 else "linen",
            f"{150 + number % 100}.5",
            "true" if number % 3 else "false",
            "|".join(_CARE[: 1 + number % 3]),
        ]
        position = 0
        for size in _AXES["sample-size"]:
            for colour in _AXES["sample-colour"]:
                price = f"{10 + number % 50}.{position * 25:02d}"
                writer.writerow(
                    [
                        slug,
                        f"S{number:06d}-{size}-{colour}".upper(),
                        *product,
                        price,
                        str(number % 20 + position),
                        "true",
                        str(position),
                        size,
                        colour,
                        *attributes,
                    ]
                )
                position += 1
                rows += 1
    return rows
