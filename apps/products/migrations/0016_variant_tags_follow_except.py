"""The filtering read model's follow trigger (products_variant_tags_follow) finds an update's
changed rows by EXCEPT of the transition tables, both ways, instead of joining old_rows to
new_rows on id: PostgreSQL guessed the transition tables at a few rows and joined them in a
nested loop, quadratic in the statement's rows (an import's UPDATE of 100,000 variants spent
minutes in it). A frozen copy of apps/products/sql/products_variant_tags_follow.sql's function
(the triggers are unchanged); reversing restores products.0012's.
"""

from django.db import migrations

FOLLOW = """
CREATE OR REPLACE FUNCTION products_variant_tags_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    -- An update's changed rows are found by EXCEPT of the transition tables, both ways (the
    -- old row's product and the new row's), never by joining old_rows to new_rows on id:
    -- PostgreSQL guesses a transition table at a few rows and joins them in a nested loop,
    -- quadratic in the statement's rows (an import's UPDATE of 100,000 variants took minutes).
    -- EXCEPT is hashed.
    IF TG_TABLE_NAME = 'products_variant' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT product_id FROM (
                    (SELECT id, is_active, option_ids, product_id FROM new_rows
                     EXCEPT SELECT id, is_active, option_ids, product_id FROM old_rows)
                    UNION ALL
                    (SELECT id, is_active, option_ids, product_id FROM old_rows
                     EXCEPT SELECT id, is_active, option_ids, product_id FROM new_rows)
                ) AS changed
                GROUP BY product_id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_productattributevalue' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT product_id FROM (
                    (SELECT id, product_id, option_id, value_boolean, value_number FROM new_rows
                     EXCEPT
                     SELECT id, product_id, option_id, value_boolean, value_number FROM old_rows)
                    UNION ALL
                    (SELECT id, product_id, option_id, value_boolean, value_number FROM old_rows
                     EXCEPT
                     SELECT id, product_id, option_id, value_boolean, value_number FROM new_rows)
                ) AS changed
                GROUP BY product_id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_product' THEN
        touched := ARRAY(
            SELECT id FROM (
                SELECT id, category_id, is_active FROM new_rows
                EXCEPT SELECT id, category_id, is_active FROM old_rows
            ) AS changed
        );
    ELSE
        touched := ARRAY(
            SELECT product.id
            FROM (
                SELECT id, path, is_active FROM new_rows
                EXCEPT SELECT id, path, is_active FROM old_rows
            ) AS changed
            JOIN products_product product ON product.category_id = changed.id
        );
    END IF;
    PERFORM products_variant_tags_refresh(touched);
    RETURN NULL;
END;
$$;
"""

FOLLOW_BEFORE = """
CREATE OR REPLACE FUNCTION products_variant_tags_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_TABLE_NAME = 'products_variant' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT touched_product.id FROM (
                    SELECT earlier.product_id AS old_product_id, later.product_id AS new_product_id
                    FROM old_rows earlier JOIN new_rows later ON later.id = earlier.id
                    WHERE (earlier.is_active, earlier.option_ids, earlier.product_id)
                        IS DISTINCT FROM (later.is_active, later.option_ids, later.product_id)
                ) AS changed, LATERAL (VALUES (old_product_id), (new_product_id))
                    AS touched_product (id)
                GROUP BY touched_product.id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_productattributevalue' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT touched_product.id FROM (
                    SELECT earlier.product_id AS old_product_id, later.product_id AS new_product_id
                    FROM old_rows earlier JOIN new_rows later ON later.id = earlier.id
                    WHERE (earlier.product_id, earlier.option_id, earlier.value_boolean,
                           earlier.value_number)
                        IS DISTINCT FROM (later.product_id, later.option_id, later.value_boolean,
                                          later.value_number)
                ) AS changed, LATERAL (VALUES (old_product_id), (new_product_id))
                    AS touched_product (id)
                GROUP BY touched_product.id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_product' THEN
        touched := ARRAY(
            SELECT later.id
            FROM old_rows earlier JOIN new_rows later ON later.id = earlier.id
            WHERE (earlier.category_id, earlier.is_active)
                IS DISTINCT FROM (later.category_id, later.is_active)
        );
    ELSE
        touched := ARRAY(
            SELECT product.id
            FROM old_rows earlier
            JOIN new_rows later ON later.id = earlier.id
                AND (later.path, later.is_active) IS DISTINCT FROM (earlier.path, earlier.is_active)
            JOIN products_product product ON product.category_id = later.id
        );
    END IF;
    PERFORM products_variant_tags_refresh(touched);
    RETURN NULL;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("products", "0015_variant_options_type_lock")]

    operations = [migrations.RunSQL(FOLLOW, FOLLOW_BEFORE)]
