"""The slugs of an import: those the sheet gives are checked, and new products without one get
one derived from the name, unique against the catalogue and the sheet."""

import itertools
from collections.abc import Iterable

from django.db import connection
from django.utils.text import slugify

from ..limits import SLUG_MAX_LENGTH
from .columns import SheetRow
from .report import ImportReport


def assign_slugs(rows: list[SheetRow], report: ImportReport) -> None:
    """Check the slugs the sheet gives and derive unique ones for new products without one.

    A derived slug is the name's; if taken, the name's and the SKU's; if that is taken too,
    numbered. Each round is one query for all the rows still without a slug.
    """
    given = [row for row in rows if row["slug"]]
    derived = [row for row in rows if not row["slug"] and row.product_id is None and row.valid]
    candidates = {row: _slug_base(row["name"]) for row in derived}
    taken = _taken_slugs([row["slug"] for row in given] + list(candidates.values()))

    claimed: dict[str, SheetRow] = {}
    for row in given:
        slug = row["slug"]
        holder_sku = taken.get(slug)
        if slug in claimed:
            row.valid = False
            report.add_error(
                row.number, "slug", f"Slug {slug} is also on row {claimed[slug].number}."
            )
        elif holder_sku is not None and holder_sku != row["sku"]:
            row.valid = False
            report.add_error(
                row.number, "slug", f"Slug {slug} belongs to the product {holder_sku}."
            )
        else:
            claimed[slug] = row

    for attempt in itertools.count():
        unresolved = []
        for row, slug in candidates.items():
            if slug in taken or slug in claimed:
                unresolved.append(row)
            else:
                row["slug"] = slug
                claimed[slug] = row
        if not unresolved:
            return
        if attempt == 4:  # five rounds: in practice the SKU alone settles it
            for row in unresolved:
                row.valid = False
                report.add_error(row.number, "slug", "No free slug found: give one.")
            return
        candidates = {row: _numbered_slug(row, attempt) for row in unresolved}
        taken = _taken_slugs(candidates.values())


def _taken_slugs(slugs: Iterable[str]) -> dict[str, str]:
    """Return, for each of ``slugs`` that a product has, that product's SKU (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT slug, sku FROM products_product WHERE slug = ANY(%s::text[])",
            [list(set(slugs))],
        )
        return dict(cursor.fetchall())


def _slug_base(name: str) -> str:
    # As apps.products.services._unique_slug: room left for a suffix.
    return slugify(name)[: SLUG_MAX_LENGTH - 8].strip("-") or "product"


def _numbered_slug(row: SheetRow, attempt: int) -> str:
    suffix = slugify(row["sku"]) or "item"
    if attempt:
        suffix = f"{suffix}-{attempt + 1}"
    base = _slug_base(row["name"])[: SLUG_MAX_LENGTH - len(suffix) - 1].strip("-")
    return f"{base}-{suffix}"[:SLUG_MAX_LENGTH]
