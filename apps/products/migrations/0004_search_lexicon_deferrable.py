"""Let a transaction defer the search lexicon: with ``catalogue.defer_search_lexicon`` set to
'on' (SET LOCAL), the product search trigger still writes each row's search document but leaves
the lexicon (products_searchterm) to the writer, which fills it in one statement for all its
rows. The product import does, for 100,000 rows at a time. The trigger's word rule stays
(letters only, 3 to 100 of them) but is written without a bounded repetition, which PostgreSQL's
regex engine runs several times slower.

Forward installs products_product_search_document as it was when this migration was written
(commit a8544e9); backward, the body it replaced. Both are frozen here; {config} is
settings.CATALOGUE_SEARCH_CONFIG, checked as apps.products.search checked it then.
"""

import re

from django.conf import settings
from django.db import migrations

DEFERRABLE_FUNCTION = """
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
        AND current_setting('catalogue.defer_search_lexicon', true) IS DISTINCT FROM 'on' THEN
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

# The function it replaced, before the lexicon could be deferred: what 0002_database_rules
# installed from commit 36dc82d to a8544e9, when it read the live apps.products.search. Frozen
# since, 0002 installs the first version (commit 5f172ae), which does not rebuild a NULL
# document; reversing this migration still restores this one, as it always did.
PREVIOUS_FUNCTION = """
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
    IF text_changed THEN
        -- Sorted, so that concurrent writers take the lexicon's row locks in one order.
        INSERT INTO products_searchterm (word)
        SELECT DISTINCT word
        FROM unnest(tsvector_to_array(
            to_tsvector('simple', coalesce(NEW.name, '') || ' ' || coalesce(NEW.description, ''))
        )) AS word
        WHERE word ~ '^[[:alpha:]]{{3,100}}$'
        ORDER BY word
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$;
"""


def install_search_function(schema_editor, function):  # type: ignore[no-untyped-def]
    config = settings.CATALOGUE_SEARCH_CONFIG
    if not re.match(r"^[a-z_]{1,63}$", config):
        raise ValueError(f"CATALOGUE_SEARCH_CONFIG must be a bare name, not {config!r}")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [config])
        if cursor.fetchone() is None:
            raise ValueError(f"PostgreSQL has no text-search configuration {config!r}")
        cursor.execute(function.format(config=config))


def install_deferrable(apps, schema_editor):  # type: ignore[no-untyped-def]
    install_search_function(schema_editor, DEFERRABLE_FUNCTION)


def install_previous(apps, schema_editor):  # type: ignore[no-untyped-def]
    install_search_function(schema_editor, PREVIOUS_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("products", "0003_admin_indexes")]

    operations = [migrations.RunPython(install_deferrable, install_previous)]
