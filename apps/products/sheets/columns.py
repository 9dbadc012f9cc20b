"""The product sheet, declared once: one Column per sheet column, in the sheet's order.

Everything else is derived from these declarations: the header check, the parsing of each row,
the comparison with the product and the dry-run report, the import's temporary table, COPY and
UPDATE/INSERT column lists, the audit trail's values, and the export.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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
from .cells import Amount, Boolean, CategoryReference, Cell, LongText, Slug, Text, WholeNumber


@dataclass(frozen=True)
class Column:
    """One column of the sheet and the product field it sets."""

    header: str  # as the sheet's first row names it (any case; "-" or spaces for "_")
    cell: Cell  # how its cells parse, and how its values render as text
    field: str  # the product's database column
    sql_type: str  # the type of its column in the import's staging table
    # A new product's value when the sheet leaves the column out (and a cell's that did not
    # parse, in a row that is then not written).
    default: Any
    required: bool = False  # the sheet must have the column
    key: bool = False  # products are matched by it; never changed
    # A blank cell keeps the product's value (a new product's is derived by the checks).
    blank_keeps_current: bool = False
    export_lookup: str = ""  # what the export reads, if not ``field``
    # Part of the search document's text (the search trigger's name || ' ' || description).
    searchable: bool = False
    # The audit trail's value of the field of ``{row}`` (SQL, "{field}" filled in); None for a
    # field the write names otherwise (the category, as {id, name}).
    audit_sql: str | None = "to_jsonb({row}.{field})"

    @property
    def exported(self) -> str:
        return self.export_lookup or self.field

    def audit_value(self, row: str) -> str:
        assert self.audit_sql is not None, f"{self.header} is audited by the write, not here"
        return self.audit_sql.format(row=row, field=self.field)


PRODUCT_COLUMNS = (
    Column(
        "sku",
        Text("SKU", SKU_MAX_LENGTH),
        field="sku",
        sql_type="text",
        default="",
        required=True,
        key=True,
        audit_sql=None,  # the key: in every entry's object_repr
    ),
    Column(
        "name",
        Text("name", NAME_MAX_LENGTH),
        field="name",
        sql_type="text",
        default="",
        required=True,
        searchable=True,
    ),
    Column(
        "slug",
        Slug(SLUG_MAX_LENGTH),
        field="slug",
        sql_type="text",
        default="",
        blank_keeps_current=True,
    ),
    Column(
        "description",
        LongText(DESCRIPTION_MAX_LENGTH),
        field="description",
        sql_type="text",
        default="",
        searchable=True,
    ),
    Column(
        "price",
        Amount("price", "19.99", maximum=PRICE_MAX, decimal_places=PRICE_DECIMAL_PLACES),
        field="price",
        sql_type="numeric(10, 2)",
        default=Decimal(0),
        required=True,
        audit_sql="to_jsonb({row}.{field}::text)",  # as the bulk actions store a price: text
    ),
    Column(
        "stock",
        WholeNumber("stock", "12", maximum=STOCK_MAX),
        field="stock",
        sql_type="integer",
        default=0,
    ),
    Column(
        "is_active",
        Boolean(),
        field="is_active",
        sql_type="boolean",
        default=True,
    ),
    Column(
        "category",
        CategoryReference("category (its slug or id)", CATEGORY_REFERENCE_MAX_LENGTH),
        field="category_id",
        sql_type="bigint",
        default="",  # the reference as written; an id once resolved
        required=True,
        export_lookup="category__slug",
        audit_sql=None,
    ),
)

HEADERS = tuple(column.header for column in PRODUCT_COLUMNS)
REQUIRED_HEADERS = tuple(column.header for column in PRODUCT_COLUMNS if column.required)
OPTIONAL_HEADERS = tuple(column.header for column in PRODUCT_COLUMNS if not column.required)
COLUMNS_BY_HEADER = {column.header: column for column in PRODUCT_COLUMNS}
# Where each column's value is in a row's values, and a row's values before its cells are read.
POSITION = {column.header: position for position, column in enumerate(PRODUCT_COLUMNS)}
DEFAULT_VALUES = tuple(column.default for column in PRODUCT_COLUMNS)
KEY = next(column for column in PRODUCT_COLUMNS if column.key)

# The dry-run report lists a changed product's fields in this order, which it has always used
# (price after the optional columns): kept, so that the preview page reads as it did.
CHANGES_ORDER = ("name", "slug", "description", "stock", "is_active", "price", "category")


def sheet_columns(headers: tuple[str, ...]) -> tuple[Column, ...]:
    """Return the columns of a sheet whose (checked) header row names ``headers``."""
    return tuple(COLUMNS_BY_HEADER[header] for header in headers)


@dataclass(slots=True, eq=False)  # compared and hashed by identity: rows key dicts
class SheetRow:
    """One data row of a sheet, and the product that has its SKU, if one does."""

    number: int  # as a spreadsheet shows it: the header is row 1
    # One value per column of PRODUCT_COLUMNS, parsed; the column's default where the cell did
    # not parse (the row is then invalid) or the sheet has no such column.
    values: list[Any]
    valid: bool = True
    product_id: int | None = None
    current: tuple[Any, ...] | None = None  # the product's values, in the order of ``values``
    # The product's variants (price, stock and SKU are their summary when it has several).
    variant_count: int = 1

    def __getitem__(self, header: str) -> Any:
        return self.values[POSITION[header]]

    def __setitem__(self, header: str, value: Any) -> None:
        self.values[POSITION[header]] = value
