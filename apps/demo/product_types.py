"""The catalogue's realistic attributes and product types, shared by the demo (``make run``) and
the benchmark's generator (``benchmarks/generate_catalogue.py``): apparel and shoes sold in
sizes and colours, phones in storage sizes and colours, books with an author and a page count,
furniture in materials with a width. Brands are a choice of 200."""

import random
from decimal import Decimal
from typing import Any

from django.utils.text import slugify

from apps.attributes.models import AttributeKind, ProductType
from apps.attributes.services import (
    OptionData,
    TypeAttributeData,
    attribute_create,
    product_type_create,
)

# Twenty stems and ten endings make the 200 brands; "Acme" and "Zeta" (slugs acme, zeta) are
# the brands the benchmark's attribute filters ask for.
BRAND_STEMS = [
    "Acme", "Aurora", "Boreal", "Cascade", "Delta", "Ember", "Fjord", "Granite", "Harbor",
    "Indigo", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orchid", "Quanta", "Sierra",
    "Vertex", "Zeta",
]  # fmt: skip
BRAND_ENDINGS = ["", " Works", " Lab", " & Co", " Studio", " Supply", " Goods", " Craft",
                 " Line", " House"]  # fmt: skip
BRANDS = [stem + ending for ending in BRAND_ENDINGS for stem in BRAND_STEMS]

# slug -> (name, kind, unit, filterable, options as (value, swatch colour)), in position order.
ATTRIBUTES: dict[str, tuple[str, str, str, bool, list[tuple[str, str]]]] = {
    "brand": ("Brand", AttributeKind.CHOICE, "", True, [(brand, "") for brand in BRANDS]),
    "size": ("Size", AttributeKind.CHOICE, "", True,
             [(size, "") for size in ("XS", "S", "M", "L", "XL", "XXL")]),
    "shoe-size": ("Shoe size", AttributeKind.CHOICE, "", True,
                  [(str(size), "") for size in range(36, 47)]),
    "storage": ("Storage", AttributeKind.CHOICE, "", True,
                [(size, "") for size in ("64 GB", "128 GB", "256 GB", "512 GB", "1 TB")]),
    "colour": ("Colour", AttributeKind.SWATCH, "", True, [
        ("Black", "#1b1b1b"), ("White", "#f5f5f2"), ("Navy", "#1f2f4d"), ("Red", "#b3261e"),
        ("Forest green", "#2e5a3a"), ("Sand", "#d8c8a8"), ("Graphite", "#3b3b3d"),
        ("Silver", "#d9d9d6"), ("Rose", "#e8b7b0"), ("Ochre", "#c8902e"),
    ]),
    "material": ("Material", AttributeKind.CHOICE, "", True,
                 [(material, "") for material in (
                     "Cotton", "Wool", "Linen", "Polyester", "Denim", "Oak", "Walnut", "Steel",
                     "Rattan", "Velvet",
                 )]),
    "screen-size": ("Screen size", AttributeKind.NUMBER, "in", True, []),
    "width": ("Width", AttributeKind.NUMBER, "cm", True, []),
    "waterproof": ("Waterproof", AttributeKind.BOOLEAN, "", True, []),
    "dual-sim": ("Dual SIM", AttributeKind.BOOLEAN, "", True, []),
    "author": ("Author", AttributeKind.TEXT, "", False, []),
    "pages": ("Pages", AttributeKind.NUMBER, "", True, []),
    "published": ("Published", AttributeKind.DATE, "", False, []),
    "genre": ("Genre", AttributeKind.MULTIPLE_CHOICE, "", True,
              [(genre, "") for genre in ("Crime", "Fantasy", "History", "Romance", "Travel")]),
}  # fmt: skip
# slug -> (name, has variants, attributes as (slug, is an axis)), axes first.
PRODUCT_TYPES: dict[str, tuple[str, bool, list[tuple[str, bool]]]] = {
    "apparel": ("Apparel", True, [
        ("size", True), ("colour", True), ("brand", False), ("material", False),
    ]),
    "shoes": ("Shoes", True, [
        ("shoe-size", True), ("colour", True), ("brand", False), ("waterproof", False),
    ]),
    "phone": ("Phone", True, [
        ("storage", True), ("colour", True), ("brand", False), ("screen-size", False),
        ("dual-sim", False),
    ]),
    "book": ("Book", False, [("author", False), ("pages", False), ("published", False),
                             ("genre", False)]),
    "furniture": ("Furniture", True, [("material", True), ("brand", False), ("width", False)]),
}  # fmt: skip

# The options of each type's choice values that its products draw from (the rest: all).
TYPE_OPTIONS: dict[tuple[str, str], list[str]] = {
    ("apparel", "material"): ["cotton", "wool", "linen", "polyester", "denim"],
    ("furniture", "material"): ["oak", "walnut", "steel", "rattan", "velvet"],
}

# How many options of each axis a product is sold in, (fewest, most), in the type's axis order.
AXIS_COUNTS: dict[str, list[tuple[int, int]]] = {
    "apparel": [(2, 4), (1, 3)],
    "shoes": [(3, 5), (1, 2)],
    "phone": [(1, 3), (1, 3)],
    "furniture": [(1, 2)],
}
# Number attributes' values: (lowest, step, how many steps).
NUMBERS: dict[str, tuple[str, str, int]] = {
    "screen-size": ("5.4", "0.1", 16),
    "width": ("40", "5", 37),
    "pages": ("80", "1", 900),
}
AUTHOR_FIRST = [
    "Ada",
    "Bram",
    "Clara",
    "Dmitri",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kaia",
    "Luca",
    "Mira",
    "Nils",
]
AUTHOR_LAST = [
    "Abbott",
    "Berg",
    "Castro",
    "Dube",
    "Eriksen",
    "Fontaine",
    "Gill",
    "Hale",
    "Ito",
    "Jansen",
    "Kowalski",
]


def option_slugs(attribute: str, product_type: str = "") -> list[str]:
    """Return the slugs of an attribute's options (those a type's products draw from)."""
    slugs = [slugify(value) for value, _colour in ATTRIBUTES[attribute][4]]
    allowed = TYPE_OPTIONS.get((product_type, attribute))
    return [slug for slug in slugs if allowed is None or slug in allowed]


def typed_product_data(
    rng: random.Random, product_type: str, sku: str, price: Decimal
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return drawn attribute values and variants (``product_create``'s ``attributes`` and
    ``variants``) for a product of ``product_type``: runs of consecutive options per axis."""
    rows = PRODUCT_TYPES[product_type][2]
    axes = [slug for slug, is_axis in rows if is_axis]
    attributes: dict[str, Any] = {}
    for slug, is_axis in rows:
        if is_axis:
            continue
        kind = ATTRIBUTES[slug][1]
        if kind in (AttributeKind.CHOICE, AttributeKind.SWATCH):
            attributes[slug] = rng.choice(option_slugs(slug, product_type))
        elif kind == AttributeKind.MULTIPLE_CHOICE:
            attributes[slug] = rng.sample(option_slugs(slug, product_type), rng.randint(1, 2))
        elif kind == AttributeKind.NUMBER:
            lowest, step, steps = NUMBERS[slug]
            attributes[slug] = str(Decimal(lowest) + Decimal(step) * rng.randrange(steps))
        elif kind == AttributeKind.BOOLEAN:
            attributes[slug] = rng.random() < 1 / 3
        elif kind == AttributeKind.DATE:
            attributes[slug] = f"{rng.randint(1960, 2025)}-{rng.randint(1, 12):02d}-01"
        else:
            attributes[slug] = f"{rng.choice(AUTHOR_FIRST)} {rng.choice(AUTHOR_LAST)}"
    runs = []
    for axis, (fewest, most) in zip(axes, AXIS_COUNTS.get(product_type, []), strict=True):
        slugs = option_slugs(axis, product_type)
        start, count = rng.randrange(len(slugs)), min(len(slugs), rng.randint(fewest, most))
        runs.append([slugs[(start + index) % len(slugs)] for index in range(count)])
    combinations: list[list[tuple[str, str, int]]] = [[]]
    for axis, run in zip(axes, runs, strict=True):
        combinations = [
            [*combination, (axis, slug, index)]
            for combination in combinations
            for index, slug in enumerate(run)
        ]
    variants = [
        {
            "sku": "-".join([sku, *(slug.upper() for _axis, slug, _index in combination)])
            if position
            else sku,
            # The first axis's later options cost more (larger sizes, more storage).
            "price": (price * (1 + Decimal("0.15") * combination[0][2])).quantize(Decimal("0.01"))
            if combination
            else price,
            "stock": 0 if rng.random() < 0.1 else rng.randint(1, 200),
            "is_active": position == 0 or rng.random() > 0.05,
            "position": position,
            "options": {axis: slug for axis, slug, _index in combination},
        }
        for position, combination in enumerate(combinations)
    ]
    return attributes, variants


def load_demo_product_types() -> list[ProductType]:
    """Create the attributes and product types (into a database that has none)."""
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
