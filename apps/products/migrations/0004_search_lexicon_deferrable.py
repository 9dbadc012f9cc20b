"""Let a transaction defer the search lexicon: with ``catalogue.defer_search_lexicon`` set to
'on' (SET LOCAL), the product search trigger still writes each row's search document but leaves
the lexicon (products_searchterm) to the writer, which fills it in one statement for all its
rows. The product import does, for 100,000 rows at a time. The trigger's word rule stays
(letters only, 3 to 100 of them) but is written without a bounded repetition, which PostgreSQL's
regex engine runs several times slower.

Forward installs the function as apps.products.search defines it now; backward, the body it
replaces, kept here as it was.
"""

from django.db import migrations

from apps.products.search import install_search_function

# The trigger function of 0002_database_rules, before the lexicon could be deferred.
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


def install_deferrable(apps, schema_editor):  # type: ignore[no-untyped-def]
    install_search_function(schema_editor.connection)


def install_previous(apps, schema_editor):  # type: ignore[no-untyped-def]
    install_search_function(schema_editor.connection, PREVIOUS_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("products", "0003_admin_indexes")]

    operations = [migrations.RunPython(install_deferrable, install_previous)]
