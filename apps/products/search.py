"""Product search in PostgreSQL: a stored, GIN-indexed full-text document, and a lexicon of
words for correcting misspelled terms by trigram similarity.

The document and the lexicon are written by a trigger in the same statement as each product
insert or edit, so a product is searchable inside the transaction that creates it.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, F, Q, QuerySet, Value, When

_CONFIG_NAME = re.compile(r"^[a-z_]{1,63}$")
_WORD = re.compile(r"\w+")
_LETTERS = re.compile(r"[^\W\d_]+")

# Set to 'on' for a transaction (SET LOCAL), the search trigger leaves the lexicon alone: the
# writer fills it itself, in one statement for all its rows (see apps.products.importing).
DEFER_LEXICON_SETTING = "catalogue.defer_search_lexicon"

# The trigger function; {config} is the text-search configuration, checked to be a bare name.
SEARCH_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION products_product_search_document() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    text_changed boolean := TG_OP = 'INSERT'
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.description IS DISTINCT FROM OLD.description;
BEGIN
    IF NOT text_changed AND NEW.search_vector IS NOT NULL THEN
        -- Nothing searchable changed: keep the stored document, whatever the writer sent.
        NEW.search_vector := OLD.search_vector;
        RETURN NEW;
    END IF;
    -- New or edited text, or a NULL document (search_reindex sets one to rebuild it).
    NEW.search_vector :=
        setweight(to_tsvector('{config}', coalesce(NEW.name, '')), 'A')
        || setweight(to_tsvector('{config}', coalesce(NEW.description, '')), 'B');
    -- A bulk writer (the product import) may defer the lexicon for the transaction and fill it
    -- in one set-based INSERT instead: row by row, this INSERT is the trigger's main cost.
    IF text_changed
        AND current_setting('{defer_setting}', true) IS DISTINCT FROM 'on' THEN
        -- Sorted, so that concurrent writers take the lexicon's row locks in one order.
        INSERT INTO products_searchterm (word)
        SELECT DISTINCT word
        FROM unnest(tsvector_to_array(
            to_tsvector('simple', coalesce(NEW.name, '') || ' ' || coalesce(NEW.description, ''))
        )) AS word
        -- Letters only, 3 to 100 of them. Not '^[[:alpha:]]{{3,100}}$': PostgreSQL's regex
        -- engine runs a bounded repetition several times slower, and this runs for every word.
        WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
        ORDER BY word
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$;
"""

SEARCH_TRIGGER = """
CREATE TRIGGER products_product_search
BEFORE INSERT OR UPDATE ON products_product
FOR EACH ROW EXECUTE FUNCTION products_product_search_document();
"""


def search_config() -> str:
    """Return the configured text-search configuration name, checked to be a bare name."""
    config = settings.CATALOGUE_SEARCH_CONFIG
    if not _CONFIG_NAME.match(config):
        raise ValueError(f"CATALOGUE_SEARCH_CONFIG must be a bare name, not {config!r}")
    return str(config)


def install_search_function(
    connection: BaseDatabaseWrapper, function: str = SEARCH_TRIGGER_FUNCTION
) -> None:
    """(Re)create the trigger function for the configured language.

    ``function`` is the function's SQL, formatted with ``config`` and ``defer_setting``: a
    migration passes the body it installs, so that it stays as it was when written.
    """
    config = search_config()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [config])
        if cursor.fetchone() is None:
            raise ValueError(f"PostgreSQL has no text-search configuration {config!r}")
        cursor.execute(function.format(config=config, defer_setting=DEFER_LEXICON_SETTING))


@dataclass(frozen=True)
class ProductSearch:
    """A resolved ``?search=``: the condition on products, their rank, and how it matched.

    ``mode`` is "fulltext" when the words matched as typed, "corrected" when full-text found
    nothing and misspelled words were replaced by the closest words of the catalogue.
    """

    query: str
    condition: Q
    rank: Any
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
    corrects only when that page is empty (see ``ProductFilter.corrected``).
    """
    typed = fulltext_search(text)
    if search_has_matches(products, typed):
        return typed
    return corrected_search(typed) or typed


def fulltext_search(text: str) -> ProductSearch:
    """Return the search for ``text`` as typed: its words in the full-text document, or an
    exact SKU (any case), which ranks above every text match. No query."""
    config = search_config()
    typed = SearchQuery(text, search_type="websearch", config=config)
    condition = Q(search_vector=typed) | Q(sku__iexact=text)
    rank = SearchRank(F("search_vector"), typed, cover_density=True) + Case(
        When(sku__iexact=text, then=Value(100.0)), default=Value(0.0)
    )
    return ProductSearch(text, condition, rank, mode="fulltext")


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
