"""Checking a variant sheet (one row per variant, see ``variant_columns``) against itself and the
catalogue, and deciding what each row does.

Products are matched by slug (the ``product`` column), variants by SKU. A product's columns come
from its first row; its attribute values are checked by ``product_attributes_validate`` and each
row's options by ``variant_options_resolve`` against the product's type (the same rules as the
API's, errors named by row and column). Variants of a product that the sheet does not name are
left as they are. Checking costs a fixed number of queries whatever the number of rows.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from apps.attributes.models import (
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductType,
    ProductTypeAttribute,
)

from ..attribute_values import (
    NO_TYPE_MESSAGE,
    OPTIONS_FIELD,
    TypeAttributes,
    product_attributes_validate,
    variant_options_resolve,
)
from ..models import Category
from .cells import CategoryReference, shorten
from .errors import CellError, ImportFileError
from .reading import Rows, cyclic_gc_paused
from .report import SAMPLE_SIZE, ImportReport, RowChange
from .typed_cells import StoredValue, attribute_raw, attribute_text, option_texts
from .variant_columns import (
    ATTRIBUTE_PREFIX,
    FIXED_BY_HEADER,
    OPTION_PREFIX,
    PRODUCT_FIXED_COLUMNS,
    VariantSheetLayout,
    variant_sheet_layout,
)

HEADER_ROW = 1
# The variant's fields a row sets, as the audit trail and the report name them.
VARIANT_FIELDS = ("price", "stock", "is_active", "position", "options")
_VARIANT_HEADERS = {"is_active": "active"}


# A value to write: (attribute id, the stored value).
NewValue = tuple[int, StoredValue]


@dataclass(slots=True)
class CurrentVariant:
    id: int
    product_id: int
    product_slug: str
    sku: str
    price: Decimal
    stock: int
    is_active: bool
    position: int
    option_ids: tuple[int, ...]


@dataclass(slots=True, eq=False)
class VariantRow:
    """One data row: one variant, and (on its product's first row) its product."""

    number: int
    cells: list[str]
    product: "SheetProduct"
    valid: bool = True
    sku: str = ""
    price: Decimal = Decimal(0)
    stock: int | None = None
    is_active: bool | None = None
    position: int | None = None
    option_ids: tuple[int, ...] | None = None  # None: the variant keeps its options
    variant: CurrentVariant | None = None  # the variant with this SKU, if it is this product's
    # Decided: the variant's fields (the report's and the audit's texts) before and after.
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    writes: bool = False


@dataclass(slots=True, eq=False)
class SheetProduct:
    """The rows of one product, and what they make of it."""

    slug: str
    rows: list[VariantRow] = field(default_factory=list)
    # The product's fields from its first row (the sheet's columns only): field -> value.
    values: dict[str, Any] = field(default_factory=dict)
    # The first row's texts of the product's columns: header -> text, to compare the next rows'.
    texts: dict[str, str] = field(default_factory=dict)
    product_id: int | None = None
    current: dict[str, Any] | None = None  # the product's fields as stored
    variants: list[CurrentVariant] = field(default_factory=list)  # all of its stored variants
    # Those the sheet does not name, to delete (``remove_missing_variants``).
    removed: list[CurrentVariant] = field(default_factory=list)
    product_type_id: int | None = None  # as it will be
    # Its attribute values to write (attribute ids replaced, the rows that replace them).
    replaced_attribute_ids: set[int] = field(default_factory=set)
    new_values: list["NewValue"] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    writes: bool = False

    @property
    def first(self) -> VariantRow:
        return self.rows[0]


@dataclass
class Catalogue:
    """The attributes, options and types a sheet refers to, read once."""

    types_by_slug: dict[str, ProductType] = field(default_factory=dict)
    types: dict[int, TypeAttributes] = field(default_factory=dict)
    attributes_by_slug: dict[str, Attribute] = field(default_factory=dict)
    attributes: dict[int, Attribute] = field(default_factory=dict)
    options: dict[int, AttributeOption] = field(default_factory=dict)
    type_slugs: dict[int, str] = field(default_factory=dict)

    # Each distinct attribute cell checked once: (type, slug, text) -> values or messages.
    checked_cells: dict[tuple[int, str, str], tuple[list[NewValue], list[str]]] = field(
        default_factory=dict
    )

    def attribute_cell(
        self, type_id: int, loaded: TypeAttributes, slug: str, text: str
    ) -> tuple[list[NewValue], list[str]]:
        """Return an attribute cell's values, or the messages saying what is wrong with it, as
        ``product_attributes_validate`` finds them for a product of the type ``type_id``."""
        key = (type_id, slug, text)
        checked = self.checked_cells.get(key)
        if checked is None:
            try:
                raw = attribute_raw(self.attributes_by_slug[slug], text)
                # It asks only whether there is a type: the type's attributes are ``loaded``.
                values = product_attributes_validate(
                    ProductType(pk=type_id), {slug: raw}, loaded=loaded
                )
                checked = (
                    [
                        (
                            value.attribute_id,
                            (
                                value.option_id,
                                value.value_text,
                                value.value_number,
                                value.value_boolean,
                                value.value_date,
                            ),
                        )
                        for value in values
                    ],
                    [],
                )
            except CellError as error:
                checked = ([], [str(error)])
            except ValidationError as error:
                checked = ([], [m for messages in error.message_dict.values() for m in messages])
            self.checked_cells[key] = checked
        return checked

    def of_type(self, type_id: int | None) -> TypeAttributes:
        return self.types.get(type_id, _NO_TYPE) if type_id is not None else _NO_TYPE


_NO_TYPE = TypeAttributes()


@dataclass
class CheckedVariantSheet:
    report: ImportReport
    layout: VariantSheetLayout
    products: list[SheetProduct]  # every product of the sheet, in its order
    catalogue: Catalogue


def check_variant_sheet(
    headers: tuple[str, ...],
    data_rows: Rows,
    file_format: str,
    *,
    lock_products: bool = False,
    remove_missing_variants: bool = False,
) -> CheckedVariantSheet:
    """Parse and check every row of a variant sheet and decide what each one does.

    With ``lock_products`` (in a transaction) the products the sheet names are locked as they
    are read, in id order: nothing changes them or their variants between this decision and the
    write. With ``remove_missing_variants``, the variants of the sheet's products that it does
    not name are deleted; without, they are left as they are.
    """
    layout = variant_sheet_layout(list(headers))
    report = ImportReport(file_format=file_format, columns=headers)
    with cyclic_gc_paused():
        products, rows = _parse_rows(data_rows, layout, report)
    if not rows:
        raise ImportFileError("The file has a header row but no products.")
    report.row_count = len(rows)

    _check_repeated_skus(rows, report)
    _resolve_categories(products, report)
    catalogue = _load_catalogue(products, layout, report)
    _match_products(products, lock=lock_products)
    _load_types_of_products(products, catalogue)
    _match_variants(products, rows, report)
    current_values = _current_values(products)
    with cyclic_gc_paused():
        for product in products:
            _check_product(
                product, layout, catalogue, report, remove_missing=remove_missing_variants
            )
        _decide(products, catalogue, current_values, report)
    report.invalid += sum(1 for row in rows if not row.product.slug)
    report.errors.sort(key=lambda error: (error.row, _column_order(layout, error.column)))
    return CheckedVariantSheet(report, layout, products, catalogue)


def _column_order(layout: VariantSheetLayout, column: str) -> int:
    try:
        return layout.headers.index(column)
    except ValueError:
        return -1


# --- Parsing ------------------------------------------------------------------------------------


def _parse_rows(
    data_rows: Iterable[tuple[int, list[str]]], layout: VariantSheetLayout, report: ImportReport
) -> tuple[list[SheetProduct], list[VariantRow]]:
    """Parse each row's cells into its variant's values and (on a product's first row) its
    product's, recording each bad cell in ``report``."""
    parser = _RowParser(layout, report)
    rows = [parser.parse(number, cells) for number, cells in data_rows]
    return list(parser.products.values()), rows


class _RowParser:
    """Parses the rows of one sheet, grouping them by product."""

    def __init__(self, layout: VariantSheetLayout, report: ImportReport) -> None:
        fixed = layout.fixed
        self.layout = layout
        self.report = report
        self.width = len(layout.headers)
        self.key_at = fixed["product"]
        self.product_columns = [
            (column, fixed[column.header])
            for column in PRODUCT_FIXED_COLUMNS
            if column.header in fixed and column.header != "product"
        ]
        self.attribute_columns = [
            (f"{ATTRIBUTE_PREFIX}{slug}", at) for slug, at in layout.attributes.items()
        ]
        self.variant_columns = [
            (FIXED_BY_HEADER[header], fixed[header])
            for header in ("sku", "price", "stock", "active", "position")
            if header in fixed
        ]
        self.products: dict[str, SheetProduct] = {}
        self.unnamed = SheetProduct("")  # the rows whose product cell did not parse

    def parse(self, number: int, row_cells: list[str]) -> VariantRow:
        cells, valid = self._cells(number, row_cells)
        try:
            slug = FIXED_BY_HEADER["product"].cell.parse(cells[self.key_at])
            product = self.products.get(slug)
            if product is None:
                product = self.products[slug] = SheetProduct(slug)
        except CellError as error:
            self.report.add_error(number, "product", str(error))
            product = self.unnamed
            valid = False
        row = VariantRow(number, cells, product, valid=valid)
        first = not product.rows
        product.rows.append(row)
        self._variant_cells(row)
        if first:
            self._product_cells(row, product)
        else:
            self._repeated_product_cells(row, product)
        return row

    def _cells(self, number: int, cells: list[str]) -> tuple[list[str], bool]:
        """Return the row's cells, as many as the header names, and whether they are usable."""
        width = self.width
        valid = True
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            self.report.add_error(
                number, "", f"The row has {len(cells)} cells but the header names {width}."
            )
            valid = False
        # A short row (a spreadsheet drops trailing empty cells) reads as blank cells.
        cells = cells[:width] + [""] * (width - len(cells))
        for at, text in enumerate(cells):
            if "\x00" in text:  # PostgreSQL text cannot hold it
                self.report.add_error(
                    number, self.layout.headers[at], "The cell contains a NUL character."
                )
                cells[at] = ""
                valid = False
        return cells, valid

    def _variant_cells(self, row: VariantRow) -> None:
        for column, at in self.variant_columns:
            try:
                value = column.cell.parse(row.cells[at])
            except CellError as error:
                row.valid = False
                self.report.add_error(row.number, column.header, str(error))
                continue
            setattr(row, "is_active" if column.header == "active" else column.header, value)

    def _product_cells(self, row: VariantRow, product: SheetProduct) -> None:
        for column, at in self.product_columns:
            text = row.cells[at]
            product.texts[column.header] = text
            try:
                product.values[column.field] = column.cell.parse(text)
            except CellError as error:
                row.valid = False
                self.report.add_error(row.number, column.header, str(error))
        for header, at in self.attribute_columns:
            product.texts[header] = row.cells[at]

    def _repeated_product_cells(self, row: VariantRow, product: SheetProduct) -> None:
        """Check that a product's next row leaves its product's cells blank or repeats them."""
        for column, at in self.product_columns:
            text = row.cells[at]
            if text.strip() and not _same(column.cell, text, product.texts[column.header]):
                row.valid = False
                self.report.add_error(row.number, column.header, _disagrees(product, text))
        for header, at in self.attribute_columns:
            text = row.cells[at].strip()
            if text and text != product.texts[header].strip():
                row.valid = False
                self.report.add_error(row.number, header, _disagrees(product, text))


def _same(cell: Any, text: str, first: str) -> bool:
    if text == first or text.strip() == first.strip():
        return True
    try:
        return bool(cell.parse(text) == cell.parse(first))
    except CellError:
        return False


def _disagrees(product: SheetProduct, text: str) -> str:
    return (
        f"“{shorten(text.strip())}” differs from the product's first row (row "
        f"{product.first.number}): leave it blank on the next rows, or repeat the first row's."
    )


def _check_repeated_skus(rows: list[VariantRow], report: ImportReport) -> None:
    first_row: dict[str, int] = {}
    for row in rows:
        if not row.sku:
            continue
        if row.sku in first_row:
            row.valid = False
            report.add_error(
                row.number, "sku", f"SKU {row.sku} is also on row {first_row[row.sku]}."
            )
        else:
            first_row[row.sku] = row.number


def _resolve_categories(products: list[SheetProduct], report: ImportReport) -> None:
    column = FIXED_BY_HEADER["category"]
    cell = column.cell
    assert isinstance(cell, CategoryReference)
    references = {p.values["category_id"] for p in products if p.values.get("category_id")}
    ids = cell.resolve(references)
    for product in products:
        reference = product.values.get("category_id")
        if not reference:
            continue
        category_id = ids.get(reference)
        if category_id is None:
            product.first.valid = False
            report.add_error(product.first.number, "category", cell.unknown(reference))
        product.values["category_id"] = category_id


# --- The catalogue ------------------------------------------------------------------------------


def _load_catalogue(
    products: list[SheetProduct], layout: VariantSheetLayout, report: ImportReport
) -> Catalogue:
    """Read the types the sheet names and the attributes of its columns (two queries), and
    report a type or a column that names nothing."""
    catalogue = Catalogue()
    type_slugs = {p.values["product_type_id"] for p in products if p.values.get("product_type_id")}
    if type_slugs:
        catalogue.types_by_slug = {
            product_type.slug: product_type
            for product_type in ProductType.objects.filter(slug__in=type_slugs)
        }
    for product in products:
        slug = product.values.get("product_type_id")
        if slug and slug not in catalogue.types_by_slug:
            product.first.valid = False
            report.add_error(
                product.first.number,
                "product_type",
                f"No product type has the slug “{shorten(slug)}”.",
            )
    column_slugs = set(layout.options) | set(layout.attributes)
    if column_slugs:
        catalogue.attributes_by_slug = {
            attribute.slug: attribute
            for attribute in Attribute.objects.filter(slug__in=column_slugs)
        }
    for prefix, slugs in ((OPTION_PREFIX, layout.options), (ATTRIBUTE_PREFIX, layout.attributes)):
        for slug in slugs:
            if slug not in catalogue.attributes_by_slug:
                report.add_error(
                    HEADER_ROW,
                    f"{prefix}{slug}",
                    f"No attribute has the slug “{shorten(slug)}”: rename or remove the column.",
                )
    return catalogue


def _load_types_of_products(products: list[SheetProduct], catalogue: Catalogue) -> None:
    """Read the attributes and options of the types the sheet names or its products have
    (two queries)."""
    type_ids: set[int] = {product_type.pk for product_type in catalogue.types_by_slug.values()}
    type_ids |= {
        p.current["product_type_id"]
        for p in products
        if p.current is not None and p.current["product_type_id"] is not None
    }
    if not type_ids:
        return
    catalogue.type_slugs = dict(
        ProductType.objects.filter(pk__in=type_ids).values_list("pk", "slug")
    )
    types: dict[int, TypeAttributes] = {}
    type_attributes = (
        ProductTypeAttribute.objects.filter(product_type_id__in=type_ids)
        .select_related("attribute", "product_type")
        .order_by("product_type_id", "position", "id")
    )
    for type_attribute in type_attributes:
        loaded = types.setdefault(type_attribute.product_type_id, TypeAttributes())
        attribute = type_attribute.attribute
        catalogue.attributes[attribute.pk] = attribute
        axis = type_attribute.is_axis and type_attribute.product_type.has_variants
        (loaded.axes if axis else loaded.values)[attribute.slug] = attribute
    for type_id in type_ids:
        types.setdefault(type_id, TypeAttributes())
    with_options = [
        attribute.pk
        for attribute in catalogue.attributes.values()
        if attribute.kind
        in (AttributeKind.CHOICE, AttributeKind.MULTIPLE_CHOICE, AttributeKind.SWATCH)
    ]
    for option in AttributeOption.objects.filter(attribute_id__in=with_options):
        catalogue.options[option.pk] = option
        for loaded in types.values():
            loaded.options.setdefault(option.attribute_id, {})[option.slug] = option
    catalogue.types = types


def _match_products(products: list[SheetProduct], *, lock: bool) -> None:
    """Attach to each product of the sheet the stored product with its slug (one query)."""
    named = {product.slug: product for product in products if product.slug}
    query = (
        "SELECT id, slug, name, description, category_id, is_active, product_type_id"
        " FROM products_product WHERE slug = ANY(%s::text[])"
    )
    if lock:
        query += " ORDER BY id FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(query, [list(named)])
        for pk, slug, name, description, category_id, is_active, type_id in cursor.fetchall():
            product = named[slug]
            product.product_id = pk
            product.current = {
                "name": name,
                "description": description,
                "category_id": category_id,
                "is_active": is_active,
                "product_type_id": type_id,
            }


def _match_variants(
    products: list[SheetProduct], rows: list[VariantRow], report: ImportReport
) -> None:
    """Read the variants of the sheet's products and those with its SKUs (one query); attach
    each row to its variant, or report a SKU that is another product's."""
    product_ids = [p.product_id for p in products if p.product_id is not None]
    skus = [row.sku for row in rows if row.sku]
    by_sku: dict[str, CurrentVariant] = {}
    by_product: dict[int, list[CurrentVariant]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT variant.id, variant.product_id, product.slug, variant.sku, variant.price,"
            " variant.stock, variant.is_active, variant.position, variant.option_ids"
            " FROM products_variant AS variant"
            " JOIN products_product AS product ON product.id = variant.product_id"
            " WHERE variant.product_id = ANY(%s::bigint[]) OR variant.sku = ANY(%s::text[])"
            " ORDER BY variant.product_id, variant.position, variant.id",
            [product_ids, skus],
        )
        for (
            pk,
            product_id,
            slug,
            sku,
            price,
            stock,
            is_active,
            position,
            option_ids,
        ) in cursor.fetchall():
            variant = CurrentVariant(
                pk, product_id, slug, sku, price, stock, is_active, position, tuple(option_ids)
            )
            by_sku[variant.sku] = variant
            by_product[variant.product_id].append(variant)
    for product in products:
        if product.product_id is not None:
            product.variants = by_product.get(product.product_id, [])
    for row in rows:
        found = by_sku.get(row.sku)
        if found is None:
            continue
        variant = found
        if variant.product_id == row.product.product_id:
            row.variant = variant
        else:
            row.valid = False
            report.add_error(
                row.number,
                "sku",
                f"SKU {row.sku} is a variant of the product {variant.product_slug}.",
            )


def _current_values(products: list[SheetProduct]) -> dict[int, dict[int, list[StoredValue]]]:
    """Return the stored attribute values of the sheet's products: product id -> attribute id
    -> values (one query)."""
    product_ids = [p.product_id for p in products if p.product_id is not None]
    values: dict[int, dict[int, list[StoredValue]]] = defaultdict(lambda: defaultdict(list))
    if not product_ids:
        return values
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id, attribute_id, option_id, value_text, value_number,"
            " value_boolean, value_date FROM products_productattributevalue"
            " WHERE product_id = ANY(%s::bigint[])",
            [product_ids],
        )
        for product_id, attribute_id, *stored in cursor.fetchall():
            option_id, text, number, boolean, day = stored
            values[product_id][attribute_id].append((option_id, text, number, boolean, day))
    return values


# --- Checking each product ------------------------------------------------------------------------


def _check_product(
    product: SheetProduct,
    layout: VariantSheetLayout,
    catalogue: Catalogue,
    report: ImportReport,
    *,
    remove_missing: bool,
) -> None:
    """Check a product's type, attribute values and its rows' options, SKUs and combinations."""
    if not product.slug or not _resolve_type(product, catalogue):
        return
    current = product.current
    loaded = catalogue.of_type(product.product_type_id)
    type_changed = current is not None and current["product_type_id"] != product.product_type_id
    _check_attributes(product, layout, catalogue, loaded, report)
    # A sheet without any option column of the type's axes leaves an existing variant's options
    # as they are (the type unchanged).
    keeps_options = not type_changed and not any(slug in layout.options for slug in loaded.axes)
    for row in product.rows:
        if not (keeps_options and row.variant is not None):
            _check_options(row, layout, catalogue, loaded, report)

    named = {row.variant.id for row in product.rows if row.variant is not None}
    missing = [variant for variant in product.variants if variant.id not in named]
    if remove_missing:
        product.removed = missing
        missing = []
    _check_combinations(product, loaded, missing, report)
    if type_changed and missing:
        _check_missing_fit(product, catalogue, loaded, missing, report)
    count = len(missing) + len(product.rows)
    limit = settings.CATALOGUE_MAX_VARIANTS_PER_PRODUCT
    if count > limit:
        product.first.valid = False
        report.add_error(
            product.first.number,
            "sku",
            f"A product has at most {limit:,} variants: this one would have {count:,}.",
        )


def _resolve_type(product: SheetProduct, catalogue: Catalogue) -> bool:
    """Set the product's type as it will be; return False if the sheet names none that exists
    (reported)."""
    current = product.current
    if "product_type_id" not in product.values:
        product.product_type_id = current["product_type_id"] if current else None
        return True
    slug = product.values["product_type_id"]
    product_type = catalogue.types_by_slug.get(slug) if slug else None
    if slug and product_type is None:
        return False
    product.product_type_id = product_type.pk if product_type else None
    return True


def _check_options(
    row: VariantRow,
    layout: VariantSheetLayout,
    catalogue: Catalogue,
    loaded: TypeAttributes,
    report: ImportReport,
) -> None:
    """Resolve a row's option cells to its variant's option ids, one per axis of the type."""
    raw = {}
    for slug, at in layout.options.items():
        text = row.cells[at].strip()
        if text and slug in catalogue.attributes_by_slug:  # an unknown column is reported
            raw[slug] = text
    try:
        row.option_ids = tuple(variant_options_resolve(loaded, raw))
    except ValidationError as error:
        row.valid = False
        for key, messages in error.message_dict.items():
            if key != OPTIONS_FIELD:
                column = OPTION_PREFIX + key.removeprefix(f"{OPTIONS_FIELD}.")
                for message in messages:
                    report.add_error(row.number, column, message)
                continue
            for axis in loaded.axes:
                if axis not in raw:
                    report.add_error(
                        row.number,
                        f"{OPTION_PREFIX}{axis}",
                        f"Give an option of the axis {axis} (the product's type has variants "
                        "by it).",
                    )


def _check_combinations(
    product: SheetProduct,
    loaded: TypeAttributes,
    missing: list[CurrentVariant],
    report: ImportReport,
) -> None:
    """Refuse a combination of options twice in one product: among its rows, and between a
    row and a variant the sheet leaves be."""
    column = f"{OPTION_PREFIX}{next(iter(loaded.axes))}" if loaded.axes else "product_type"
    holders: dict[tuple[int, ...], str] = {
        variant.option_ids: f"the variant {variant.sku}'s (not in the sheet)" for variant in missing
    }
    for row in product.rows:
        if row.option_ids is not None:
            combination = row.option_ids
        elif row.variant is not None:
            combination = row.variant.option_ids
        else:
            continue  # its options did not resolve: reported
        holder = holders.get(combination)
        if holder is not None:
            row.valid = False
            report.add_error(row.number, column, _repeated(loaded, holder))
        else:
            holders[combination] = f"row {row.number}'s"


def _check_missing_fit(
    product: SheetProduct,
    catalogue: Catalogue,
    loaded: TypeAttributes,
    missing: list[CurrentVariant],
    report: ImportReport,
) -> None:
    """Refuse a type change that the product's variants not in the sheet do not fit."""
    axes = sorted(attribute.pk for attribute in loaded.axes.values())
    unfit = [
        variant.sku
        for variant in missing
        if sorted(_attribute_of(catalogue, option_id) or 0 for option_id in variant.option_ids)
        != axes
    ]
    if unfit:
        product.first.valid = False
        listed = ", ".join(unfit[:5]) + (" …" if len(unfit) > 5 else "")
        report.add_error(
            product.first.number,
            "product_type",
            f"The product's variants {listed} are not in the sheet and their options do not fit "
            "this type: give a row for each.",
        )


def _attribute_of(catalogue: Catalogue, option_id: int) -> int | None:
    option = catalogue.options.get(option_id)
    return option.attribute_id if option is not None else None


def _repeated(loaded: TypeAttributes, holder: str) -> str:
    if not loaded.axes:
        return (
            "A product whose type has no variant axes has one variant: this row would add a "
            f"second, and that one is {holder}."
        )
    return f"This combination of options is also {holder}."


def _check_attributes(
    product: SheetProduct,
    layout: VariantSheetLayout,
    catalogue: Catalogue,
    loaded: TypeAttributes,
    report: ImportReport,
) -> None:
    """Read the product's attribute cells (its first row's) into values checked against its
    type, and note which of its attributes the sheet replaces."""
    first = product.first
    product.new_values = []
    for slug in layout.attributes:
        header = f"{ATTRIBUTE_PREFIX}{slug}"
        text = product.texts.get(header, "")
        attribute = catalogue.attributes_by_slug.get(slug)
        if not text.strip() or attribute is None:
            continue
        if product.product_type_id is None:
            first.valid = False
            report.add_error(first.number, header, NO_TYPE_MESSAGE)
            continue
        values, messages = catalogue.attribute_cell(product.product_type_id, loaded, slug, text)
        if messages:
            first.valid = False
            for message in messages:
                report.add_error(first.number, header, message)
        else:
            product.new_values.extend(values)
    # Replaced: the type's attributes that have a column, and every attribute the product has a
    # value of that its (new) type lacks.
    product.replaced_attribute_ids = {
        attribute.pk for slug, attribute in loaded.values.items() if slug in layout.attributes
    }


# --- Deciding -----------------------------------------------------------------------------------


def _decide(
    products: list[SheetProduct],
    catalogue: Catalogue,
    current_values: dict[int, dict[int, list[StoredValue]]],
    report: ImportReport,
) -> None:
    """Decide what each valid row does to its variant and (its product's first row) to its
    product; count them in ``report`` with a sample of the changes."""
    sampled_new = sampled_changed = 0
    for product in products:
        product_valid = product.slug and all(row.valid for row in product.rows)
        if product_valid:
            _decide_product(product, catalogue, current_values)
            _decide_variants(product, catalogue)
            report.variants_removed += len(product.removed)
        for row in product.rows:
            if not row.valid or not product_valid:
                report.invalid += 1
                continue
            changes = dict(_changes(row.before, row.after, new=row.variant is None))
            if row is product.first:
                changes = (
                    dict(_changes(product.before, product.after, new=product.current is None))
                    | changes
                )
            if row.variant is None:
                report.new += 1
                if sampled_new < SAMPLE_SIZE:
                    sampled_new += 1
                    report.samples.append(RowChange(row.number, row.sku, True, changes))
            elif changes:
                report.changed += 1
                if sampled_changed < SAMPLE_SIZE:
                    sampled_changed += 1
                    report.samples.append(RowChange(row.number, row.sku, False, changes))
            else:
                report.unchanged += 1
    _label_categories(report)


def _label_categories(report: ImportReport) -> None:
    """Show the sample's categories by slug rather than id (one query, for the sample only)."""
    ids = {
        value
        for change in report.samples
        for value in change.changes.get("category", ())
        if value.isdigit()
    }
    if not ids:
        return
    slugs = {str(pk): slug for pk, slug in categories_named(int(pk) for pk in ids).items()}
    for change in report.samples:
        if "category" in change.changes:
            before, after = change.changes["category"]
            change.changes["category"] = (slugs.get(before, before), slugs.get(after, after))


def _changes(
    before: dict[str, Any], after: dict[str, Any], *, new: bool
) -> Iterable[tuple[str, tuple[str, str]]]:
    for key, value in after.items():
        yield _VARIANT_HEADERS.get(key, key), ("" if new else _text(before.get(key)), _text(value))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{key}={option}" for key, option in value.items())
    return shorten(str(value), 80)


def _decide_product(
    product: SheetProduct,
    catalogue: Catalogue,
    current_values: dict[int, dict[int, list[StoredValue]]],
) -> None:
    """Decide the product's fields and attribute values, before and after (the attribute values
    compared as the sheet's text), and whether the product is written."""
    current = product.current
    values = dict(product.values)
    if "product_type_id" in values:
        values["product_type_id"] = product.product_type_id
    stored = current_values.get(product.product_id, {}) if product.product_id else {}
    loaded = catalogue.of_type(product.product_type_id)
    of_type = {attribute.pk for attribute in loaded.values.values()}
    # Every stored value of an attribute the (new) type lacks goes.
    product.replaced_attribute_ids |= {pk for pk in stored if pk not in of_type}
    new_by_attribute: dict[int, list[StoredValue]] = defaultdict(list)
    for attribute_id, value in product.new_values:
        new_by_attribute[attribute_id].append(value)
    attribute_changes: dict[str, tuple[str, str]] = {}
    changed_attribute_ids = set()
    for attribute_id in sorted(product.replaced_attribute_ids):
        attribute = catalogue.attributes[attribute_id]
        before = attribute_text(attribute, stored.get(attribute_id, []), catalogue.options)
        after = attribute_text(attribute, new_by_attribute.get(attribute_id, []), catalogue.options)
        if before != after:
            attribute_changes[f"{ATTRIBUTE_PREFIX}{attribute.slug}"] = (before, after)
            changed_attribute_ids.add(attribute_id)
    # Only the attributes whose values change are written.
    product.replaced_attribute_ids = changed_attribute_ids
    product.new_values = [
        value for value in product.new_values if value[0] in changed_attribute_ids
    ]

    labels = {"category_id": "category", "product_type_id": "product_type"}
    if current is None:
        product.after = {
            labels.get(key, key): _label(key, value, catalogue) for key, value in values.items()
        }
        product.after |= {key: after for key, (_, after) in attribute_changes.items()}
        product.writes = True
        return
    for key, value in values.items():
        if value != current[key]:
            product.before[labels.get(key, key)] = _label(key, current[key], catalogue)
            product.after[labels.get(key, key)] = _label(key, value, catalogue)
    for key, (before, after) in attribute_changes.items():
        product.before[key] = before
        product.after[key] = after
    product.writes = bool(product.after)


def _label(key: str, value: Any, catalogue: Catalogue) -> Any:
    if key == "product_type_id":
        return "" if value is None else catalogue.type_slugs.get(value, value)
    return value


def _decide_variants(product: SheetProduct, catalogue: Catalogue) -> None:
    """Decide each row's variant's values, before and after, and whether it is written."""
    # Options shown by their attribute's slug, whichever type's (a type change changes axes).
    slugs = {attribute.pk: attribute.slug for attribute in catalogue.attributes.values()}
    positions = [variant.position for variant in product.variants]
    positions += [row.position for row in product.rows if row.position is not None]
    next_position = max(positions, default=-1) + 1
    for row in product.rows:
        variant = row.variant
        after: dict[str, Any] = {"price": row.price}
        if row.stock is not None:
            after["stock"] = row.stock
        if row.is_active is not None:
            after["is_active"] = row.is_active
        if row.position is not None:
            after["position"] = row.position
        elif variant is None:
            after["position"] = row.position = next_position
            next_position += 1
        if row.option_ids is not None:
            after["options"] = option_texts(row.option_ids, catalogue.options, slugs)
        if variant is None:
            row.after = after
            row.writes = True
            continue
        before = {
            "price": variant.price,
            "stock": variant.stock,
            "is_active": variant.is_active,
            "position": variant.position,
            "options": option_texts(variant.option_ids, catalogue.options, slugs),
        }
        for key, value in after.items():
            if key == "options":  # compared by id: the texts are those of the loaded types
                changed = row.option_ids != variant.option_ids
            else:
                changed = value != before[key]
            if changed:
                row.before[key] = before[key]
                row.after[key] = value
        row.writes = bool(row.after)


def categories_named(ids: Iterable[int]) -> dict[int, str]:
    """Return the slug of each category of ``ids`` (one query)."""
    return dict(Category.objects.filter(pk__in=set(ids)).values_list("pk", "slug"))
