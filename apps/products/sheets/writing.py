"""Writing a checked sheet, set-based, inside the caller's transaction.

The rows to write (new, or changed: decided by the check) are those of the check's staging table
(``staging``) that it marked ``writes``; one INSERT adds the words of their new text to the
search lexicon; one UPDATE changes the products the rows name by id, and one INSERT ... ON
CONFLICT adds the new ones. The UPDATE and the INSERT
each record an audit entry per product they write, in the same statement, under one batch.
Every column list is derived from the column declarations.
"""

import uuid

from django.db import connection
from django.utils import timezone

from apps.core.services import audit_insert_sql, audit_parameters, register_audit_action
from apps.users.models import User

from ..models import Product
from ..search import DEFER_LEXICON_SETTING
from .columns import KEY, PRODUCT_COLUMNS, Column
from .staging import FIELDS, TABLE

AUDIT_ACTION = "products.import"
register_audit_action(AUDIT_ACTION, label="Import products")

# The lexicon's words of the rows whose text is new, by the search trigger's rule. Each distinct
# word is checked once, not once per row it is in (100,000 rows of 30 words: 3.5 s, not 18).
_LEXICON_INSERT = """
WITH words AS MATERIALIZED (
    SELECT DISTINCT word
    FROM {table} AS incoming
    CROSS JOIN LATERAL unnest(tsvector_to_array(
        to_tsvector('simple', {text})
    )) AS word
    WHERE {written} AND NOT EXISTS (
        SELECT 1 FROM products_product AS product
        WHERE product.id = incoming.product_id AND {text_is_same}
    )
)
INSERT INTO products_searchterm (word)
SELECT word FROM words
WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
ORDER BY word  -- the search trigger's order: concurrent writers lock the words in one order
ON CONFLICT DO NOTHING
"""


def _audit_values(row: str, *, unless_as_in: str | None = None) -> str:
    """Return a jsonb object of ``row``'s fields, or of those that differ in ``unless_as_in``.

    Built in the RETURNING list of the write: the rows it hands on carry these few values
    rather than every column twice (descriptions included).
    """
    pairs = []
    for column in PRODUCT_COLUMNS:
        if column.audit_sql is None:
            continue
        value = column.audit_value(row)
        if unless_as_in is not None:
            value = (
                f"CASE WHEN {row}.{column.field} IS DISTINCT FROM {unless_as_in}.{column.field} "
                f"THEN {value} END"
            )
        pairs.append(f"'{column.header}', {value}")
    # A field left out above is an SQL NULL, a JSON null once built: stripped.
    return f"jsonb_strip_nulls(jsonb_build_object({', '.join(pairs)}))"


# The audit entries (see audit_insert_sql) of the rows a write returns: id, sku, name, before
# and after (_audit_values), and the category ids before and after when they differ, which
# are named here (as the bulk actions do).
_AUDIT_ENTRIES = """
SELECT written.id::text AS object_id, written.name || ' (' || written.sku || ')' AS object_repr,
    written.before || CASE WHEN written.before_category_id IS NULL THEN '{}'::jsonb ELSE
        jsonb_build_object('category', jsonb_build_object(
            'id', written.before_category_id, 'name', category_before.name))
    END AS before,
    written.after || CASE WHEN written.after_category_id IS NULL THEN '{}'::jsonb ELSE
        jsonb_build_object('category', jsonb_build_object(
            'id', written.after_category_id, 'name', category_after.name))
    END AS after
FROM written
LEFT JOIN products_category AS category_before ON category_before.id = written.before_category_id
LEFT JOIN products_category AS category_after ON category_after.id = written.after_category_id
"""
# Returned by the UPDATE: what changed, before and after.
_RETURNING_CHANGES = f"""
    product.id, product.sku, product.name,
    {_audit_values("previous", unless_as_in="product")} AS before,
    {_audit_values("product", unless_as_in="previous")} AS after,
    CASE WHEN previous.category_id <> product.category_id THEN previous.category_id END
        AS before_category_id,
    CASE WHEN previous.category_id <> product.category_id THEN product.category_id END
        AS after_category_id
"""
# Returned by the INSERT: everything, after.
_RETURNING_CREATED = f"""
    product.id, product.sku, product.name, '{{}}'::jsonb AS before,
    {_audit_values("product")} AS after,
    NULL::bigint AS before_category_id, product.category_id AS after_category_id
"""

# Only the rows the check found changed, by id: their products were locked when it read them.
_UPDATE = f"""
WITH written AS (
    UPDATE products_product AS product SET {{assignments}}, updated_at = %(now)s
    FROM {TABLE} AS incoming
    JOIN products_product AS previous ON previous.id = incoming.product_id
    WHERE product.id = incoming.product_id AND incoming.writes
    RETURNING {{returning}}
),
entries AS ({{entries}}),
audited AS ({{audit}})
SELECT count(*) FROM written
"""  # noqa: S608 (the staging table's name)
# The new rows. ON CONFLICT covers a product created with one of their SKUs since the check, by
# another writer: the one case decided here rather than by the check, which never saw it
# (audited with its values after only, since those before were never read).
_INSERT = f"""
WITH written AS (
    INSERT INTO products_product AS product (
        {FIELDS},
        created_by_id, created_at, updated_at, rating_1_count, rating_2_count,
        rating_3_count, rating_4_count, rating_5_count, review_count, rating_sum
    )
    SELECT {{incoming}}, %(created_by)s, %(now)s, %(now)s, 0, 0, 0, 0, 0, 0, 0
    FROM {TABLE} AS incoming
    WHERE incoming.product_id IS NULL AND incoming.writes
    ON CONFLICT ({KEY.field}) DO UPDATE SET {{assignments}}, updated_at = %(now)s
        WHERE {{differs}}
    RETURNING {{returning}}, (xmax = 0) AS inserted
),
entries AS ({{entries}}),
audited AS ({{audit}})
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""  # noqa: S608 (names from the column declarations)


def write_rows(
    columns: tuple[Column, ...], *, created_by: User | None, batch: uuid.UUID
) -> tuple[int, int]:
    """Create or change the products of the staged rows that the check marked to write (each
    new, or changed in the sheet's ``columns``), auditing each under ``batch``; return how
    many were created and changed."""
    assigned = [column for column in columns if not column.key]
    parameters = {
        "now": timezone.now(),
        "created_by": created_by.pk if created_by else None,
        **audit_parameters(user=created_by, action=AUDIT_ACTION, model=Product, batch=batch),
    }
    audit = {"entries": _AUDIT_ENTRIES, "audit": audit_insert_sql(source="entries")}
    with connection.cursor() as cursor:
        # The search trigger still writes each row's search document, but leaves the lexicon
        # to this one INSERT: row by row, it was most of the time of a large import (100,000
        # new products of 30-word descriptions: about 18 of 35 CPU seconds).
        cursor.execute("SELECT set_config(%s, 'on', true)", [DEFER_LEXICON_SETTING])
        cursor.execute(lexicon_insert(columns, written="incoming.writes"))
        cursor.execute(
            _UPDATE.format(
                assignments=_assignments(assigned, "incoming"),
                returning=_RETURNING_CHANGES,
                **audit,
            ),
            parameters,
        )
        (changed,) = cursor.fetchone()
        cursor.execute(
            _INSERT.format(
                incoming=", ".join(f"incoming.{column.field}" for column in PRODUCT_COLUMNS),
                assignments=_assignments(assigned, "EXCLUDED"),
                differs=_differs(assigned, "EXCLUDED"),
                returning=_RETURNING_CREATED,
                **audit,
            ),
            parameters,
        )
        created, changed_meanwhile = cursor.fetchone()
        # Later writes of the same transaction (an enclosing one) fill the lexicon themselves.
        cursor.execute("SELECT set_config(%s, 'off', true)", [DEFER_LEXICON_SETTING])
        cursor.execute(f"DROP TABLE pg_temp.{TABLE}")
    return created, changed + changed_meanwhile


def _assignments(columns: list[Column], source: str) -> str:
    return ", ".join(f"{column.field} = {source}.{column.field}" for column in columns)


def _differs(columns: list[Column], source: str) -> str:
    products = ", ".join(f"product.{column.field}" for column in columns)
    incoming = ", ".join(f"{source}.{column.field}" for column in columns)
    return f"({products}) IS DISTINCT FROM ({incoming})"


def lexicon_insert(columns: tuple[Column, ...], table: str = TABLE, written: str = "true") -> str:
    """Return the INSERT of the lexicon's words of the rows of ``table`` (those for which the
    SQL ``written`` holds) whose text is new (``table`` has the product's id or NULL, and its
    searchable columns)."""
    searchable = [column for column in PRODUCT_COLUMNS if column.searchable]
    # A text column the sheet leaves out keeps the product's text, and its words with it.
    compared = [column for column in searchable if column in columns]
    return _LEXICON_INSERT.format(
        table=table,
        written=written,
        text=" || ' ' || ".join(f"incoming.{column.field}" for column in searchable),
        text_is_same=" AND ".join(
            f"product.{column.field} = incoming.{column.field}" for column in compared
        ),
    )
