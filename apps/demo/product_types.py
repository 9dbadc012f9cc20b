"""The demo's attributes and product types: apparel sold in sizes and colours, phones in
storage sizes and colours, books with an author and a page count. Products do not use them yet
(docs/variants.md, slice 4)."""

from apps.attributes.models import AttributeKind, ProductType
from apps.attributes.services import (
    OptionData,
    TypeAttributeData,
    attribute_create,
    product_type_create,
)

# slug -> (name, kind, unit, filterable, options as (value, swatch colour)).
ATTRIBUTES: dict[str, tuple[str, str, str, bool, list[tuple[str, str]]]] = {
    "size": ("Size", AttributeKind.CHOICE, "", True,
             [(size, "") for size in ("XS", "S", "M", "L", "XL", "XXL")]),
    "colour": ("Colour", AttributeKind.SWATCH, "", True, [
        ("Black", "#1b1b1b"), ("White", "#f5f5f2"), ("Navy", "#1f2f4d"), ("Red", "#b3261e"),
        ("Forest green", "#2e5a3a"), ("Sand", "#d8c8a8"),
    ]),
    "material": ("Material", AttributeKind.TEXT, "", False, []),
    "storage": ("Storage", AttributeKind.CHOICE, "", True,
                [(size, "") for size in ("64 GB", "128 GB", "256 GB", "512 GB", "1 TB")]),
    "phone-colour": ("Phone colour", AttributeKind.SWATCH, "", True, [
        ("Graphite", "#3b3b3d"), ("Silver", "#d9d9d6"), ("Midnight blue", "#1c2a44"),
        ("Rose", "#e8b7b0"),
    ]),
    "brand": ("Brand", AttributeKind.CHOICE, "", True,
              [(brand, "") for brand in ("Aurora", "Nimbus", "Quanta", "Zephyr")]),
    "screen-size": ("Screen size", AttributeKind.NUMBER, "in", True, []),
    "dual-sim": ("Dual SIM", AttributeKind.BOOLEAN, "", True, []),
    "author": ("Author", AttributeKind.TEXT, "", False, []),
    "pages": ("Pages", AttributeKind.NUMBER, "pages", False, []),
    "published": ("Published", AttributeKind.DATE, "", False, []),
    "genre": ("Genre", AttributeKind.MULTIPLE_CHOICE, "", True,
              [(genre, "") for genre in ("Crime", "Fantasy", "History", "Romance", "Travel")]),
}  # fmt: skip
# slug -> (name, has variants, attributes as (slug, is an axis)).
PRODUCT_TYPES: dict[str, tuple[str, bool, list[tuple[str, bool]]]] = {
    "apparel": ("Apparel", True, [("size", True), ("colour", True), ("material", False)]),
    "phone": ("Phone", True, [
        ("storage", True), ("phone-colour", True), ("brand", False), ("screen-size", False),
        ("dual-sim", False),
    ]),
    "book": ("Book", False, [("author", False), ("pages", False), ("published", False),
                             ("genre", False)]),
}  # fmt: skip


def load_demo_product_types() -> list[ProductType]:
    """Create the demo's attributes and product types (into a database that has none)."""
    attributes = {
        slug: attribute_create(
            name=name,
            slug=slug,
            kind=kind,
            unit=unit,
            is_filterable=filterable,
            position=position,
            options=[OptionData(value=value, swatch_colour=colour) for value, colour in options],
        )
        for position, (slug, (name, kind, unit, filterable, options)) in enumerate(
            ATTRIBUTES.items()
        )
    }
    return [
        product_type_create(
            name=name,
            slug=slug,
            has_variants=has_variants,
            attributes=[
                TypeAttributeData(attribute=attributes[attribute], is_axis=is_axis)
                for attribute, is_axis in rows
            ],
        )
        for slug, (name, has_variants, rows) in PRODUCT_TYPES.items()
    ]
