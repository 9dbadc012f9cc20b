"""Writing a checked variant sheet, set-based, inside the caller's transaction.

The same statements whatever the number of rows: the products to write and the variants to
write are COPYed into two temporary tables; then one DELETE of the attribute values the sheet
replaces, one INSERT of the lexicon's new words, one UPDATE and one INSERT of products, (asked
to, one DELETE of the variants the sheet does not name,) one UPDATE and one INSERT of variants
(each auditing the variants it writes, in the same statement), one INSERT of the new attribute
values, and one INSERT of the products' audit entries. The summary trigger keeps each
product's price, stock and SKU from its variants in the statements that change them; a new
product's first variant is the one the database makes with it (its SKU, price and stock),
then updated with the rest of its row like any variant.
"""

import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from apps.core.services import audit_insert_sql, audit_parameters
from apps.users.models import User

from ..models import Product, Variant
from ..search import DEFER_LEXICON_SETTING
from ..services import check_variant_options
from .columns import COLUMNS_BY_HEADER
from .variant_checking import CheckedVariantSheet, SheetProduct, VariantRow
from .writing import AUDIT_ACTION, lexicon_insert

_PRODUCTS_TABLE = """
DROP TABLE IF EXISTS pg_temp.products_import_products;
CREATE TEMPORARY TABLE products_import_products (
    product_id bigint,  -- NULL for a new product
    slug text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    category_id bigint NOT NULL,
    is_active boolean NOT NULL,
    product_type_id bigint,
    sku text NOT NULL,  -- a new product's first variant's, as the database makes it
    price numeric(10, 2) NOT NULL,
    stock integer NOT NULL,
    before jsonb NOT NULL,
    after jsonb NOT NULL
) ON COMMIT DROP
"""
_PRODUCT_FIELDS = (
    "product_id, slug, name, description, category_id, is_active, product_type_id, sku, price, "
    "stock, before, after"
)
_VARIANTS_TABLE = """
DROP TABLE IF EXISTS pg_temp.products_import_variants;
CREATE TEMPORARY TABLE products_import_variants (
    product_slug text NOT NULL,
    sku text NOT NULL,
    inserts boolean NOT NULL,  -- false: the variant with this SKU exists (or is made first)
    price numeric(10, 2) NOT NULL,
    stock integer NOT NULL,
    is_active boolean NOT NULL,
    position smallint NOT NULL,
    option_ids bigint[] NOT NULL,
    before jsonb NOT NULL,
    after jsonb NOT NULL
) ON COMMIT DROP
"""
_VARIANT_FIELDS = (
    "product_slug, sku, inserts, price, stock, is_active, position, option_ids, before, after"
)

_DELETE_VALUES = """
DELETE FROM products_productattributevalue AS value
USING unnest(%s::bigint[], %s::bigint[]) AS gone (product_id, attribute_id)
WHERE value.product_id = gone.product_id AND value.attribute_id = gone.attribute_id
"""
_UPDATE_PRODUCTS = """
UPDATE products_product AS product
SET name = incoming.name, description = incoming.description,
    category_id = incoming.category_id, is_active = incoming.is_active,
    product_type_id = incoming.product_type_id, updated_at = %(now)s
FROM products_import_products AS incoming
WHERE product.id = incoming.product_id
"""
_INSERT_PRODUCTS = """
INSERT INTO products_product (
    slug, name, description, category_id, is_active, product_type_id, sku, price, stock,
    created_by_id, created_at, updated_at, rating_1_count, rating_2_count,
    rating_3_count, rating_4_count, rating_5_count, review_count, rating_sum
)
SELECT slug, name, description, category_id, is_active, product_type_id, sku, price, stock,
    %(created_by)s, %(now)s, %(now)s, 0, 0, 0, 0, 0, 0, 0
FROM products_import_products
WHERE product_id IS NULL
ORDER BY slug
"""
# Each write of variants audits them in the same statement, from the rows it returns.
_VARIANT_ENTRIES = """
entries AS (
    SELECT written.id::text AS object_id, written.sku || ' (' || incoming.product_slug || ')'
        AS object_repr, incoming.before, incoming.after
    FROM written JOIN products_import_variants AS incoming ON incoming.sku = written.sku
)
{audit}
"""
_UPDATE_VARIANTS = """
WITH written AS (
    UPDATE products_variant AS variant
    SET price = incoming.price, stock = incoming.stock, is_active = incoming.is_active,
        position = incoming.position, option_ids = incoming.option_ids, updated_at = %(now)s
    FROM products_import_variants AS incoming
    WHERE variant.sku = incoming.sku AND NOT incoming.inserts
    RETURNING variant.id, variant.sku
),
"""
_INSERT_VARIANTS = """
WITH written AS (
    INSERT INTO products_variant (
        product_id, sku, price, stock, is_active, position, option_ids, created_at, updated_at
    )
    SELECT product.id, incoming.sku, incoming.price, incoming.stock, incoming.is_active,
        incoming.position, incoming.option_ids, %(now)s, %(now)s
    FROM products_import_variants AS incoming
    JOIN products_product AS product ON product.slug = incoming.product_slug
    WHERE incoming.inserts
    ORDER BY product.id, incoming.position
    RETURNING id, sku
),
"""
_INSERT_VALUES = """
INSERT INTO products_productattributevalue (
    product_id, attribute_id, option_id, value_text, value_number, value_boolean, value_date
)
SELECT product.id, new.attribute_id, new.option_id, new.value_text, new.value_number,
    new.value_boolean, new.value_date
FROM unnest(
    %s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::numeric[], %s::boolean[], %s::date[]
) AS new (slug, attribute_id, option_id, value_text, value_number, value_boolean, value_date)
JOIN products_product AS product ON product.slug = new.slug
ORDER BY product.id
"""
# The variants of the sheet's products that it does not name, with remove_missing_variants.
_DELETE_VARIANTS = """
WITH written AS (
    DELETE FROM products_variant AS variant WHERE variant.id = ANY(%(removed)s::bigint[])
    RETURNING variant.id, variant.sku, variant.product_id, variant.price, variant.stock,
        variant.is_active, variant.position
),
entries AS (
    SELECT written.id::text AS object_id, written.sku || ' (' || product.slug || ')'
        AS object_repr,
        jsonb_build_object('price', written.price::text, 'stock', written.stock,
            'is_active', written.is_active, 'position', written.position) AS before,
        '{{}}'::jsonb AS after
    FROM written JOIN products_product AS product ON product.id = written.product_id
)
{audit}
"""
_PRODUCT_ENTRIES = """
WITH entries AS (
    SELECT product.id::text AS object_id, product.name || ' (' || product.slug || ')'
        AS object_repr, incoming.before, incoming.after
    FROM products_import_products AS incoming
    JOIN products_product AS product ON product.slug = incoming.slug
)
{audit}
"""


def write_variant_sheet(
    checked: CheckedVariantSheet, *, created_by: User | None, batch: uuid.UUID
) -> bool:
    """Write the products, attribute values and variants that ``checked`` (valid) decided to
    create or change, auditing each under ``batch``; return True if anything was written."""
    products = [product for product in checked.products if product.writes]
    rows = [row for product in checked.products for row in product.rows if row.writes]
    removed = [variant.id for product in checked.products for variant in product.removed]
    if not products and not rows and not removed:
        return False
    now = timezone.now()
    encoder = DjangoJSONEncoder()
    parameters = {"now": now, "created_by": created_by.pk if created_by else None}
    gone = [
        (product.product_id, attribute_id)
        for product in products
        if product.product_id is not None
        for attribute_id in sorted(product.replaced_attribute_ids)
    ]
    with connection.cursor() as cursor:
        cursor.execute(_PRODUCTS_TABLE)
        cursor.execute(_VARIANTS_TABLE)
        # COPY through psycopg directly: Django's cursor has no COPY of its own.
        with cursor.cursor.copy(
            f"COPY products_import_products ({_PRODUCT_FIELDS}) FROM STDIN"
        ) as copy:
            for product in products:
                copy.write_row(_product_values(product, encoder))
        with cursor.cursor.copy(
            f"COPY products_import_variants ({_VARIANT_FIELDS}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(_variant_values(row, encoder))
        cursor.execute("ANALYZE products_import_products")
        cursor.execute("ANALYZE products_import_variants")

        if gone:
            # First: a type that the product's values no longer fit is refused.
            cursor.execute(_DELETE_VALUES, [[pk for pk, _ in gone], [pk for _, pk in gone]])
        if products:
            cursor.execute("SELECT set_config(%s, 'on', true)", [DEFER_LEXICON_SETTING])
            searchable = (COLUMNS_BY_HEADER["name"], COLUMNS_BY_HEADER["description"])
            cursor.execute(lexicon_insert(searchable, table="products_import_products"))
            cursor.execute(_UPDATE_PRODUCTS, parameters)
            cursor.execute(_INSERT_PRODUCTS, parameters)
            cursor.execute("SELECT set_config(%s, 'off', true)", [DEFER_LEXICON_SETTING])
        variant_audit = audit_parameters(
            user=created_by, action=AUDIT_ACTION, model=Variant, batch=batch
        )
        if removed:
            # Before the new rows: they may take the combinations of the variants removed.
            cursor.execute(
                _DELETE_VARIANTS.format(audit=audit_insert_sql(source="entries")),
                {"removed": removed} | variant_audit,
            )
        if rows:
            audited = _VARIANT_ENTRIES.format(audit=audit_insert_sql(source="entries"))
            cursor.execute(_UPDATE_VARIANTS + audited, parameters | variant_audit)
            cursor.execute(_INSERT_VARIANTS + audited, parameters | variant_audit)
        values = [(product.slug, value) for product in products for value in product.new_values]
        if values:
            cursor.execute(
                _INSERT_VALUES,
                [
                    [slug for slug, _ in values],
                    [attribute_id for _, (attribute_id, _) in values],
                    *(
                        [stored[column] for _, (_, stored) in values]
                        for column in range(5)  # option, text, number, boolean, date
                    ),
                ],
            )
        audit = audit_insert_sql(source="entries")
        if products:
            cursor.execute(
                _PRODUCT_ENTRIES.format(audit=audit),
                audit_parameters(user=created_by, action=AUDIT_ACTION, model=Product, batch=batch),
            )
        cursor.execute("DROP TABLE pg_temp.products_import_products")
        # The variants' options now, not first at commit: a miss of the checks is then this
        # import's error, in its transaction.
        check_variant_options()
        cursor.execute("DROP TABLE pg_temp.products_import_variants")
    return True


def _product_values(product: SheetProduct, encoder: DjangoJSONEncoder) -> tuple[Any, ...]:
    values = {**(product.current or {}), **product.values}
    if "product_type_id" in product.values or product.current is None:
        values["product_type_id"] = product.product_type_id
    first = product.first
    return (
        product.product_id,
        product.slug,
        values["name"],
        values.get("description", ""),
        values["category_id"],
        values.get("is_active", True),
        values["product_type_id"],
        first.sku,
        first.price,
        first.stock or 0,
        encoder.encode(product.before),
        encoder.encode(product.after),
    )


def _variant_values(row: VariantRow, encoder: DjangoJSONEncoder) -> tuple[Any, ...]:
    variant = row.variant
    product = row.product
    if variant is not None:
        stock = variant.stock if row.stock is None else row.stock
        is_active = variant.is_active if row.is_active is None else row.is_active
        position = variant.position if row.position is None else row.position
        option_ids = variant.option_ids if row.option_ids is None else row.option_ids
    else:
        stock = row.stock or 0
        is_active = True if row.is_active is None else row.is_active
        assert row.position is not None, "a new variant's position is decided by the check"
        position = row.position
        option_ids = row.option_ids or ()
    # A new product's first row: its variant is made with the product, then written as this.
    inserts = variant is None and not (product.current is None and row is product.first)
    return (
        product.slug,
        row.sku,
        inserts,
        row.price,
        stock,
        is_active,
        position,
        list(option_ids),
        encoder.encode(row.before),
        encoder.encode(row.after),
    )
