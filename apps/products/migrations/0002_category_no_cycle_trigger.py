"""Refuse, in the database, any category update that would make a category its own ancestor.

The check constraint of 0001 refuses only a category that is its own parent; this trigger walks
the new parent's ancestors. An advisory lock serialises tree moves, so two concurrent moves
(A under B, B under A) cannot each pass the check and close a loop together.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION products_category_refuse_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('products_category_tree'));
    IF EXISTS (
        WITH RECURSIVE ancestors(id, parent_id) AS (
            SELECT id, parent_id FROM products_category WHERE id = NEW.parent_id
            UNION
            SELECT c.id, c.parent_id
            FROM products_category c JOIN ancestors a ON c.id = a.parent_id
        )
        SELECT 1 FROM ancestors WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'category % would become its own ancestor', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_category_no_cycle';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER products_category_no_cycle
BEFORE UPDATE OF parent_id ON products_category
FOR EACH ROW EXECUTE FUNCTION products_category_refuse_cycle();
"""

DROP = """
DROP TRIGGER IF EXISTS products_category_no_cycle ON products_category;
DROP FUNCTION IF EXISTS products_category_refuse_cycle();
"""


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
