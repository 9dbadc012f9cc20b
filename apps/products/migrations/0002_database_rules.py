"""Rules and derived columns that PostgreSQL itself keeps, whoever writes.

- Category.path: set from the parent on insert and on a move, rewritten for the whole subtree
  when a category moves, never writable by clients. A move that would make a category its own
  ancestor is refused (products_category_no_cycle). An advisory lock serialises tree changes,
  so two concurrent moves (A under B, B under A) cannot close a loop together.
- Product.search_vector and the SearchTerm lexicon: the trigger products_product_search and its
  function products_product_search_document (see apps.products.search).

The search function is frozen here as this migration was written (commit 5f172ae); later
migrations replace it. Its {config} is settings.CATALOGUE_SEARCH_CONFIG, checked as
apps.products.search checked it then.
"""

import re

from django.conf import settings
from django.db import migrations

CATEGORY_PATH = """
CREATE FUNCTION products_category_set_path() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent_path text;
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;  -- the subtree rewrite below sets descendants' paths itself
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id THEN
        NEW.path := OLD.path;  -- not moved: the stored path stands, whatever was sent
        RETURN NEW;
    END IF;
    IF NEW.parent_id IS NULL THEN
        NEW.path := '/' || NEW.id || '/';
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('products_category_tree'));
    SELECT path INTO parent_path FROM products_category WHERE id = NEW.parent_id;
    IF parent_path LIKE '%/' || NEW.id || '/%' THEN
        RAISE EXCEPTION 'category % would become its own ancestor', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_category_no_cycle';
    END IF;
    NEW.path := parent_path || NEW.id || '/';
    RETURN NEW;
END;
$$;

CREATE TRIGGER products_category_path
BEFORE INSERT OR UPDATE ON products_category
FOR EACH ROW EXECUTE FUNCTION products_category_set_path();

CREATE FUNCTION products_category_move_subtree() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products_category
    SET path = NEW.path || substr(path, length(OLD.path) + 1)
    WHERE path LIKE OLD.path || '_%';
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_category_subtree
AFTER UPDATE ON products_category
FOR EACH ROW WHEN (NEW.path IS DISTINCT FROM OLD.path)
EXECUTE FUNCTION products_category_move_subtree();
"""

DROP_CATEGORY_PATH = """
DROP TRIGGER IF EXISTS products_category_subtree ON products_category;
DROP TRIGGER IF EXISTS products_category_path ON products_category;
DROP FUNCTION IF EXISTS products_category_move_subtree();
DROP FUNCTION IF EXISTS products_category_set_path();
"""

SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION products_product_search_document() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.name IS NOT DISTINCT FROM OLD.name
       AND NEW.description IS NOT DISTINCT FROM OLD.description THEN
        -- Nothing searchable changed; ignore whatever the writer sent for the document.
        NEW.search_vector := OLD.search_vector;
        RETURN NEW;
    END IF;
    NEW.search_vector :=
        setweight(to_tsvector('{config}', coalesce(NEW.name, '')), 'A')
        || setweight(to_tsvector('{config}', coalesce(NEW.description, '')), 'B');
    -- Sorted, so that concurrent writers take the lexicon's row locks in one order.
    INSERT INTO products_searchterm (word)
    SELECT DISTINCT word
    FROM unnest(tsvector_to_array(
        to_tsvector('simple', coalesce(NEW.name, '') || ' ' || coalesce(NEW.description, ''))
    )) AS word
    WHERE word ~ '^[[:alpha:]]{{3,100}}$'
    ORDER BY word
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END;
$$;
"""

SEARCH_TRIGGER = """
CREATE TRIGGER products_product_search
BEFORE INSERT OR UPDATE ON products_product
FOR EACH ROW EXECUTE FUNCTION products_product_search_document();
"""

DROP_SEARCH = """
DROP TRIGGER IF EXISTS products_product_search ON products_product;
DROP FUNCTION IF EXISTS products_product_search_document();
"""


def create_search_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    config = settings.CATALOGUE_SEARCH_CONFIG
    if not re.match(r"^[a-z_]{1,63}$", config):
        raise ValueError(f"CATALOGUE_SEARCH_CONFIG must be a bare name, not {config!r}")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [config])
        if cursor.fetchone() is None:
            raise ValueError(f"PostgreSQL has no text-search configuration {config!r}")
        cursor.execute(SEARCH_FUNCTION.format(config=config))
    schema_editor.execute(SEARCH_TRIGGER)


def drop_search_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(DROP_SEARCH)


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]

    operations = [
        migrations.RunSQL(CATEGORY_PATH, DROP_CATEGORY_PATH),
        migrations.RunPython(create_search_trigger, drop_search_trigger),
    ]
