"""Writing products out as the variant sheet (see ``variant_columns``), in the columns an import
reads back unchanged: one row per variant, its product's columns repeated on each."""

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO, Any

from django.db.models import JSONField, QuerySet
from django.db.models.expressions import RawSQL

from apps.attributes.models import (
    KINDS_WITH_OPTIONS,
    Attribute,
    AttributeOption,
    ProductTypeAttribute,
)

from ..limits import XLSX_MAX_ROWS
from ..models import Product
from .errors import ImportFileError
from .typed_cells import StoredValue, attribute_text, option_texts
from .variant_columns import ATTRIBUTE_PREFIX, FIXED_COLUMNS, FIXED_HEADERS, OPTION_PREFIX
from .xlsx_reader import xlsx_escape

_CHUNK_ROWS = 2_000

# Each product's variants and attribute values, as JSON built by PostgreSQL in the products'
# query: one query streams the sheet, whatever the number of variants.
_VARIANTS_SQL = """
    SELECT jsonb_agg(jsonb_build_array(
        variant.sku, variant.price::text, variant.stock, variant.is_active, variant.position,
        variant.option_ids
    ) ORDER BY variant.position, variant.id)
    FROM products_variant AS variant WHERE variant.product_id = products_product.id
"""
_VALUES_SQL = """
    SELECT jsonb_agg(jsonb_build_array(
        value.attribute_id, value.option_id, value.value_text, value.value_number::text,
        value.value_boolean, value.value_date::text
    ))
    FROM products_productattributevalue AS value WHERE value.product_id = products_product.id
"""


@dataclass
class _SheetAttributes:
    """The option and attribute columns of an export: the axes and the other attributes of the
    types of the products exported, with their options."""

    axes: list[Attribute]
    values: list[Attribute]
    options: dict[int, AttributeOption]

    @classmethod
    def of(cls, products: QuerySet[Product]) -> "_SheetAttributes":
        """Read the attributes of the exported products' types (three queries)."""
        stored_type_ids = products.order_by().values_list("product_type_id", flat=True).distinct()
        type_ids = {type_id for type_id in stored_type_ids if type_id is not None}
        axes: dict[int, Attribute] = {}
        values: dict[int, Attribute] = {}
        # In the types' order (an attribute of several types where it first comes).
        type_attributes = (
            ProductTypeAttribute.objects.filter(product_type_id__in=type_ids)
            .select_related("attribute", "product_type")
            .order_by("position", "product_type_id", "id")
        )
        for type_attribute in type_attributes:
            attribute = type_attribute.attribute
            axis = type_attribute.is_axis and type_attribute.product_type.has_variants
            (axes if axis else values).setdefault(attribute.pk, attribute)
        options = (
            {
                option.pk: option
                for option in AttributeOption.objects.filter(
                    attribute_id__in=[*axes, *values], attribute__kind__in=KINDS_WITH_OPTIONS
                )
            }
            if axes or values
            else {}
        )
        return cls(list(axes.values()), list(values.values()), options)

    @property
    def headers(self) -> tuple[str, ...]:
        return (
            *(f"{OPTION_PREFIX}{attribute.slug}" for attribute in self.axes),
            *(f"{ATTRIBUTE_PREFIX}{attribute.slug}" for attribute in self.values),
        )


def export_rows(products: QuerySet[Product]) -> Iterator[tuple[Any, ...]]:
    """Yield ``products`` as the variant sheet's rows (one per variant, the product's columns
    repeated on each), header first, streaming from the database."""
    attributes = _SheetAttributes.of(products)
    yield (*FIXED_HEADERS, *attributes.headers)
    axis_slugs = {attribute.pk: attribute.slug for attribute in attributes.axes}
    rows = products.annotate(
        sheet_variants=RawSQL(_VARIANTS_SQL, (), output_field=JSONField()),  # noqa: S611
        sheet_values=RawSQL(_VALUES_SQL, (), output_field=JSONField()),  # noqa: S611
    ).values_list(
        "slug",
        "name",
        "description",
        "category__slug",
        "is_active",
        "product_type__slug",
        "sheet_variants",
        "sheet_values",
    )
    for slug, name, description, category, is_active, type_slug, variants, values in rows.iterator(
        chunk_size=_CHUNK_ROWS
    ):
        stored: dict[int, list[StoredValue]] = defaultdict(list)
        for attribute_id, option_id, text, number, boolean, day in values or ():
            stored[attribute_id].append(
                (
                    option_id,
                    text,
                    Decimal(number) if number is not None else None,
                    boolean,
                    date.fromisoformat(day) if day is not None else None,
                )
            )
        attribute_cells = [
            attribute_text(attribute, stored.get(attribute.pk, ()), attributes.options)
            for attribute in attributes.values
        ]
        for sku, price, stock, active, position, option_ids in variants or ():
            options = option_texts(option_ids, attributes.options, axis_slugs)
            yield (
                slug,
                sku,
                name,
                description,
                category,
                is_active,
                type_slug or "",
                Decimal(price),
                stock,
                active,
                position,
                *(options.get(attribute.slug, "") for attribute in attributes.axes),
                *attribute_cells,
            )


def export_csv(products: QuerySet[Product]) -> Iterator[bytes]:
    """Yield ``products`` as a UTF-8 CSV file (with the byte-order mark Excel looks for)."""
    # Cells that look like formulas (=, +, -, @) are written as they are: prefixing them would
    # change the data on the way back in. The catalogue is written by staff only.
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    rows = export_rows(products)
    header = next(rows)
    writer.writerow(header)
    renderers: list[Callable[[Any], str]] = [column.cell.render for column in FIXED_COLUMNS]
    renderers += [str] * (len(header) - len(renderers))  # option and attribute cells: text
    for count, row in enumerate(rows, start=2):
        writer.writerow([render(value) for render, value in zip(renderers, row, strict=True)])
        if count % _CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def export_xlsx(products: QuerySet[Product], file: IO[bytes]) -> int:
    """Write ``products`` into ``file`` as an XLSX workbook; return the number of rows (of
    variants).

    Raise ImportFileError if there are more than an Excel sheet holds.
    """
    # Imported here: openpyxl adds 8 MB to every worker, and only exports use it.
    from openpyxl import Workbook  # type: ignore[import-untyped]  # noqa: PLC0415

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Products")
    rows = export_rows(products)
    sheet.append(next(rows))
    count = 0
    for row in rows:
        count += 1
        if count > XLSX_MAX_ROWS:
            raise ImportFileError(
                f"An XLSX sheet holds at most {XLSX_MAX_ROWS:,} variants: export CSV instead."
            )
        # Numbers and booleans as they are: a workbook has cells of those types.
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(file)
    return count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = xlsx_escape(value)
    if value.startswith("="):
        # openpyxl would store it as a formula; keep it text, as it came.
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]  # noqa: PLC0415

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value
