"""The variant sheet, declared once: one row per variant, its product's columns beside it.

::

    product, sku, name, description, category, is_active, product_type,
    price, stock, active, position, option:<axis slug>..., attribute:<attribute slug>...

``product`` is the key of the product: its slug (its handle, as Shopify's sheets have it), the
same on each of its rows. ``sku`` is the key of the variant (unique across the catalogue). The
product's columns (``name`` ... ``product_type`` and every ``attribute:`` column) are read from
the product's first row; its next rows repeat them (as the export writes them) or leave them
blank, and a value that differs from the first row's is an error. The variant's columns
(``sku``, ``price``, ``stock``, ``active``, ``position``, every ``option:`` column) are each
row's own.

A sheet without a ``product`` column is the one-variant sheet (``columns.PRODUCT_COLUMNS``,
keyed by SKU), which imports as it always has.
"""

import re
from dataclasses import dataclass

from ..limits import (
    CATEGORY_REFERENCE_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PRICE_DECIMAL_PLACES,
    PRICE_MAX,
    SKU_MAX_LENGTH,
    SLUG_MAX_LENGTH,
    STOCK_MAX,
)
from .cells import (
    Amount,
    Boolean,
    CategoryReference,
    Cell,
    LongText,
    OptionalWholeNumber,
    RequiredSlug,
    Slug,
    Text,
    WholeNumber,
    shorten,
)
from .errors import ImportFileError

PRODUCT_KEY = "product"
OPTION_PREFIX = "option:"
ATTRIBUTE_PREFIX = "attribute:"
# Several options of a multiple choice attribute in one cell.
MULTIPLE_SEPARATOR = "|"


@dataclass(frozen=True)
class VariantSheetColumn:
    """One fixed column of the variant sheet: of the product (read from its first row) or of
    the variant (each row's own)."""

    header: str
    cell: Cell
    field: str  # the product's or the variant's database column
    of_product: bool
    required: bool = False  # the sheet must have the column


FIXED_COLUMNS = (
    VariantSheetColumn("product", RequiredSlug(SLUG_MAX_LENGTH), "slug", True, required=True),
    VariantSheetColumn("sku", Text("SKU", SKU_MAX_LENGTH), "sku", False, required=True),
    VariantSheetColumn("name", Text("name", NAME_MAX_LENGTH), "name", True, required=True),
    VariantSheetColumn("description", LongText(DESCRIPTION_MAX_LENGTH), "description", True),
    VariantSheetColumn(
        "category",
        CategoryReference("category (its slug or id)", CATEGORY_REFERENCE_MAX_LENGTH),
        "category_id",
        True,
        required=True,
    ),
    VariantSheetColumn("is_active", Boolean(), "is_active", True),
    # A product type's slug; blank: no type.
    VariantSheetColumn("product_type", Slug(SLUG_MAX_LENGTH), "product_type_id", True),
    VariantSheetColumn(
        "price",
        Amount("price", "19.99", maximum=PRICE_MAX, decimal_places=PRICE_DECIMAL_PLACES),
        "price",
        False,
        required=True,
    ),
    VariantSheetColumn("stock", WholeNumber("stock", "12", maximum=STOCK_MAX), "stock", False),
    VariantSheetColumn("active", Boolean(), "is_active", False),
    # Blank: an existing variant keeps its position, a new one goes after the product's last.
    VariantSheetColumn(
        "position", OptionalWholeNumber("position", "0", maximum=32_767), "position", False
    ),
)
FIXED_HEADERS = tuple(column.header for column in FIXED_COLUMNS)
FIXED_BY_HEADER = {column.header: column for column in FIXED_COLUMNS}
REQUIRED_VARIANT_HEADERS = tuple(column.header for column in FIXED_COLUMNS if column.required)
PRODUCT_FIXED_COLUMNS = tuple(column for column in FIXED_COLUMNS if column.of_product)


@dataclass(frozen=True)
class VariantSheetLayout:
    """Where each column of a variant sheet is: the fixed ones by header, the option and
    attribute columns by the attribute's slug."""

    headers: tuple[str, ...]  # as checked: the prefixes normalised, slugs as written
    fixed: dict[str, int]
    options: dict[str, int]
    attributes: dict[str, int]


def is_variant_sheet(names: list[str]) -> bool:
    """Return True if a header row (normalised) is the variant sheet's: it has ``product``."""
    return PRODUCT_KEY in names


def normalise_header(cell: str) -> str:
    """Return a header cell's column name: lower case, "-" and spaces as "_"; an option or
    attribute column keeps its slug as written (a slug may have hyphens)."""
    text = cell.strip()
    prefix, colon, slug = text.partition(":")
    prefix = re.sub(r"[\s-]+", "_", prefix.strip().lower())
    if colon:
        return f"{prefix}:{slug.strip()}"
    return prefix


def variant_sheet_layout(names: list[str]) -> VariantSheetLayout:
    """Check a variant sheet's header row (normalised, no blank or repeated name) and return its
    layout; raise ImportFileError naming what is wrong."""
    fixed: dict[str, int] = {}
    options: dict[str, int] = {}
    attributes: dict[str, int] = {}
    unknown = []
    for position, name in enumerate(names):
        if name in FIXED_BY_HEADER:
            fixed[name] = position
        elif name.startswith(OPTION_PREFIX) and name[len(OPTION_PREFIX) :]:
            options[name[len(OPTION_PREFIX) :]] = position
        elif name.startswith(ATTRIBUTE_PREFIX) and name[len(ATTRIBUTE_PREFIX) :]:
            attributes[name[len(ATTRIBUTE_PREFIX) :]] = position
        else:
            unknown.append(shorten(name))
    expected = (
        f"{', '.join(FIXED_HEADERS)}, {OPTION_PREFIX}<axis slug> and "
        f"{ATTRIBUTE_PREFIX}<attribute slug>"
    )
    if unknown:
        listed = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise ImportFileError(f"Unknown columns: {listed}. The columns are: {expected}.")
    missing = [header for header in REQUIRED_VARIANT_HEADERS if header not in fixed]
    if missing:
        raise ImportFileError(
            f"Missing columns: {', '.join(missing)}. The columns are: {expected} (only "
            f"{', '.join(REQUIRED_VARIANT_HEADERS)} are required)."
        )
    return VariantSheetLayout(tuple(names), fixed, options, attributes)
