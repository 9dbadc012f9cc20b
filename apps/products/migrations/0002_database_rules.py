"""Rules and derived columns that PostgreSQL itself keeps, whoever writes.

- Category.path: set from the parent on insert and on a move, rewritten for the whole subtree
  when a category moves, never writable by clients. A move that would make a category its own
  ancestor is refused (products_category_no_cycle). An advisory lock serialises tree changes,
  so two concurrent moves (A under B, B under A) cannot close a loop together.
- Product.search_vector and the SearchTerm lexicon: see apps.products.search.
"""

from django.db import migrations

from apps.products.search import SEARCH_TRIGGER, install_search_function

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

DROP_SEARCH = """
DROP TRIGGER IF EXISTS products_product_search ON products_product;
DROP FUNCTION IF EXISTS products_product_search_document();
"""


def create_search_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    install_search_function(schema_editor.connection)
    schema_editor.execute(SEARCH_TRIGGER)


def drop_search_trigger(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(DROP_SEARCH)


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]

    operations = [
        migrations.RunSQL(CATEGORY_PATH, DROP_CATEGORY_PATH),
        migrations.RunPython(create_search_trigger, drop_search_trigger),
    ]
