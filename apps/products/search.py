"""Product search in PostgreSQL: a stored, GIN-indexed full-text document, and a lexicon of
words for correcting misspelled terms by trigram similarity.

The document and the lexicon are written by the trigger products_product_search (its function,
products_product_search_document, is in sql/products_product_search_document.sql) in the same
statement as each product insert or edit, so a product is searchable inside the transaction
that creates it. The document weights the name A, the description B, and C the product's
``search_values``: its active variants' option values and its text and option attribute values,
kept set-based by the variants' summary trigger (sql/products_variant_summarize.sql) and by
statement triggers on attribute values and options
(sql/products_product_search_values_refresh.sql). A search that is exactly a SKU (any case)
also finds the product of the variant that has it, and says which variant that is.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Case,
    F,
    JSONField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import BaseExpression
from django.db.models.functions import JSONObject

from apps.core.database_objects import database_object, install, register_placeholder

_CONFIG_NAME = re.compile(r"^[a-z_]{1,63}$")
_WORD = re.compile(r"\w+")
_LETTERS = re.compile(r"[^\W\d_]+")

# Set to 'on' for a transaction (SET LOCAL), the search trigger (products_product_search) leaves
# the lexicon alone: the writer fills it itself, in one statement for all its rows (see
# apps.products.sheets.writing).
DEFER_LEXICON_SETTING = "catalogue.defer_search_lexicon"
# On ('on', set_config(..., true)) only around the UPDATE of products_product_search_values_refresh
# and of products_variant_summarize: the search trigger takes Product.search_values from those
# writers only, and ignores it from any other.
SEARCH_VALUES_SETTING = "catalogue.search_values_refresh"


def search_config() -> str:
    """Return the configured text-search configuration name, checked to be a bare name."""
    config = settings.CATALOGUE_SEARCH_CONFIG
    if not _CONFIG_NAME.match(config):
        raise ValueError(f"CATALOGUE_SEARCH_CONFIG must be a bare name, not {config!r}")
    return str(config)


def installed_search_config(connection: BaseDatabaseWrapper) -> str:
    """Return the configured text-search configuration name, checked to be a bare name that
    ``connection``'s PostgreSQL knows."""
    config = search_config()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [config])
        if cursor.fetchone() is None:
            raise ValueError(f"PostgreSQL has no text-search configuration {config!r}")
    return config


def register_search_placeholders() -> None:
    """Give the values of the placeholders of sql/products_product_search_document.sql (the
    products app's ``ready()`` calls this, before anything installs or checks the file)."""
    register_placeholder("search_config", installed_search_config)
    register_placeholder("defer_lexicon_setting", lambda connection: DEFER_LEXICON_SETTING)
    register_placeholder("search_values_setting", lambda connection: SEARCH_VALUES_SETTING)


def install_search_function(connection: BaseDatabaseWrapper) -> None:
    """(Re)create the search trigger's function, products_product_search_document, from its
    SQL file for the configured language. The trigger itself is left as it is."""
    install(connection, [database_object("products_product_search_document")])


@dataclass(frozen=True)
class ProductSearch:
    """A resolved ``?search=``: the condition on products, their rank, how it matched, and for
    each product the variant whose SKU the search is (``matched_variant``: ``{"id", "sku"}`` or
    null).

    ``mode`` is "fulltext" when the words matched as typed, "corrected" when full-text found
    nothing and misspelled words were replaced by the closest words of the catalogue.
    """

    query: str
    condition: Q
    rank: Any
    matched_variant: BaseExpression
    mode: str
    corrected_terms: dict[str, list[str]] = field(default_factory=dict)

    def as_response(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "corrected_terms": self.corrected_terms}


def clean_search_text(text: str) -> str:
    """Return the search text trimmed, or raise ValidationError if it is too long or complex."""
    text = " ".join(text.split())
    if len(text) > settings.CATALOGUE_SEARCH_MAX_LENGTH:
        raise ValidationError(
            f"Use at most {settings.CATALOGUE_SEARCH_MAX_LENGTH} characters.", code="max_length"
        )
    if len(_WORD.findall(text)) > settings.CATALOGUE_SEARCH_MAX_TERMS:
        raise ValidationError(
            f"Use at most {settings.CATALOGUE_SEARCH_MAX_TERMS} words.", code="max_terms"
        )
    return text


def search_products(products: QuerySet[Any], text: str) -> ProductSearch:
    """Resolve ``text`` against ``products`` (already filtered): full-text first, then, if that
    finds nothing, full-text on the catalogue's words closest to the misspelled ones.

    The product list does the same in fewer queries: it reads the full-text page first and
    corrects only when that page is empty (see ``apps.products.listing.product_list_page``).
    """
    typed = fulltext_search(text)
    if search_has_matches(products, typed):
        return typed
    return corrected_search(typed) or typed


def fulltext_search(text: str) -> ProductSearch:
    """Return the search for ``text`` as typed: its words in the full-text document, or the
    exact SKU (any case) of any of a product's variants, which ranks above every text match and
    names the variant. No query."""
    config = search_config()
    typed = SearchQuery(text, search_type="websearch", config=config)
    # Not Q(pk__in=variants): PostgreSQL would test that subquery row by row, where an array
    # computed once (an InitPlan, by variant_sku_upper) joins the document's GIN index in a
    # BitmapOr, as the product's own SKU did.
    is_sku = _AnyOf(F("pk"), ArraySubquery(_variants_with_sku(text).values("product_id")))
    condition = Q(search_vector=typed) | Q(is_sku)
    rank = SearchRank(F("search_vector"), typed, cover_density=True) + Case(
        When(is_sku, then=Value(100.0)), default=Value(0.0)
    )
    # Read for the page's rows only (PostgreSQL evaluates it past the sort and the LIMIT).
    matched_variant = Subquery(
        _variants_with_sku(text)
        .filter(product=OuterRef("pk"))
        .order_by("position", "id")
        .values(json=JSONObject(id="id", sku="sku"))[:1],
        output_field=JSONField(),
    )
    return ProductSearch(text, condition, rank, matched_variant, mode="fulltext")


class _AnyOf(Lookup):
    """``lhs = ANY(rhs)``: the left side is one of the array on the right."""

    lookup_name = "any_of"

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def _variants_with_sku(text: str) -> QuerySet[Any]:
    """Return the variants whose SKU is ``text``, whatever the case (by variant_sku_upper)."""
    # By name: the app's ready() imports this module before the models are loaded.
    variant_model = apps.get_model("products", "Variant")
    return variant_model.objects.filter(sku__iexact=text)


def corrected_search(search: ProductSearch) -> ProductSearch | None:
    """Return ``search`` with each word replaced by the catalogue's closest words (one query),
    or None when no word has a close match."""
    corrections = _closest_words(_LETTERS.findall(search.query.lower()))
    if not corrections:
        return None
    raw = " & ".join("(" + " | ".join(words) + ")" for words in corrections.values())
    corrected = SearchQuery(raw, search_type="raw", config=search_config())
    return ProductSearch(
        search.query,
        Q(search_vector=corrected),
        SearchRank(F("search_vector"), corrected, cover_density=True),
        Value(None, output_field=JSONField()),
        mode="corrected",
        corrected_terms=corrections,
    )


def search_has_matches(products: QuerySet[Any], search: ProductSearch) -> bool:
    """Return whether any of ``products`` matches ``search``, by the indexes.

    Not ``exists()``: under ``LIMIT 1`` PostgreSQL expects a match within the first few hundred
    rows of a sequential scan, and for a word that matches nothing it reads the whole table
    (0.7 s at a million products). Under the search's count limit it takes the indexes instead.
    """
    matches = products.filter(search.condition).order_by().values("pk")
    return matches[: settings.CATALOGUE_SEARCH_EXACT_COUNT_LIMIT + 1].count() > 0


def _closest_words(terms: list[str]) -> dict[str, list[str]]:
    """Map each term to up to three catalogue words that look like it (pg_trgm), in one query."""
    terms = list(dict.fromkeys(term for term in terms if len(term) >= 3))
    if not terms:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.term, w.word
            FROM unnest(%s::text[]) WITH ORDINALITY AS t(term, position)
            CROSS JOIN LATERAL (
                SELECT word FROM products_searchterm
                WHERE word %% t.term
                ORDER BY similarity(word, t.term) DESC, word
                LIMIT 3
            ) AS w
            ORDER BY t.position
            """,
            [terms],
        )
        closest: dict[str, list[str]] = {}
        for term, word in cursor.fetchall():
            closest.setdefault(term, []).append(word)
    return closest
