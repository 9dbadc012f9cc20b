"""The slugs of an import: those the sheet gives are checked, and new products without one get
one derived from the name, unique against the catalogue and the sheet.

Both are SQL over the staged rows (``staging``): a slug is compared with every other row's, of a
file of any size, without holding the rows.
"""

from typing import Any

from django.utils.text import slugify

from ..limits import SLUG_MAX_LENGTH
from .report import ImportReport
from .staging import reject

# A derived slug is tried as the name's, then the name's and the SKU's, then numbered: five
# rounds (in practice the SKU alone settles it).
ROUNDS = 5

# A slug the sheet gives is claimed by its first row whose SKU is that of the product which has
# the slug, if any; a later row asking for it, and a row asking for another product's slug,
# are refused.
_GIVEN_SLUGS = """
SELECT number, 'slug' AS header, CASE
        WHEN claimed_by < number THEN 'Slug ' || slug || ' is also on row ' || claimed_by || '.'
        ELSE 'Slug ' || slug || ' belongs to the product ' || holder_sku || '.'
    END AS message
FROM (
    SELECT incoming.number, incoming.slug, holder.sku AS holder_sku, min(incoming.number)
            FILTER (WHERE holder.sku IS NULL OR holder.sku = incoming.sku)
            OVER (PARTITION BY incoming.slug) AS claimed_by
    FROM products_import_rows AS incoming
    LEFT JOIN (
        SELECT slug, sku FROM products_product
        WHERE slug = ANY(ARRAY(SELECT slug FROM products_import_rows WHERE slug <> ''))
    ) AS holder ON holder.slug = incoming.slug
    WHERE incoming.slug <> ''
) AS given
WHERE claimed_by IS DISTINCT FROM number
"""
# The rows that derive a slug: new, valid, and given none.
_DERIVING = "incoming.slug = '' AND incoming.product_id IS NULL AND incoming.valid"
# Each round, each row still without a slug tries its candidate: the first row (in the sheet's
# order) of a candidate that neither a product nor another row has takes it.
_DERIVE = """
WITH candidate AS MATERIALIZED (
    SELECT number, {candidate} AS slug FROM products_import_rows AS incoming WHERE {deriving}
),
taken AS (
    SELECT slug FROM products_product WHERE slug = ANY(ARRAY(SELECT slug FROM candidate))
    UNION ALL
    SELECT slug FROM products_import_rows WHERE slug <> ''
)
UPDATE products_import_rows AS incoming SET slug = taker.slug
FROM (
    SELECT DISTINCT ON (slug) number, slug
    FROM candidate
    WHERE NOT EXISTS (SELECT FROM taken WHERE taken.slug = candidate.slug)
    ORDER BY slug, number
) AS taker
WHERE incoming.number = taker.number
"""
_UNRESOLVED = """
SELECT number, 'slug' AS header, 'No free slug found: give one.' AS message
FROM products_import_rows AS incoming WHERE {deriving}
"""


def slug_base(name: str) -> str:
    """Return the slug derived from a product's name, before any suffix."""
    # As apps.products.services._unique_slug: room left for a suffix.
    return slugify(name)[: SLUG_MAX_LENGTH - 8].strip("-") or "product"


def sku_slug(sku: str) -> str:
    """Return the suffix a derived slug takes from the product's SKU."""
    return slugify(sku) or "item"


def assign_slugs(cursor: Any, report: ImportReport) -> None:
    """Check the slugs the sheet gives and derive unique ones for new products without one.

    A derived slug is the name's (``slug_base``); if taken, the name's and the SKU's; if that is
    taken too, numbered. Each round is one statement for all the rows still without a slug.
    """
    reject(cursor, report, _GIVEN_SLUGS)
    for attempt in range(ROUNDS):
        cursor.execute(_DERIVE.format(candidate=_candidate(attempt), deriving=_DERIVING))
    reject(cursor, report, _UNRESOLVED.format(deriving=_DERIVING))


def _candidate(attempt: int) -> str:
    """Return the SQL of a row's candidate slug in round ``attempt`` (0: the name's)."""
    if attempt == 0:
        return "incoming.slug_base"
    suffix = "incoming.sku_slug" if attempt == 1 else f"(incoming.sku_slug || '-{attempt}')"
    # The name's slug cut to leave room for "-" and the suffix, and stripped of hyphens again.
    base = f"btrim(left(incoming.slug_base, {SLUG_MAX_LENGTH} - length({suffix}) - 1), '-')"
    return f"left({base} || '-' || {suffix}, {SLUG_MAX_LENGTH})"
