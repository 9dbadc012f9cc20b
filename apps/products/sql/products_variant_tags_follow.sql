-- After each statement that can change what the filtering read model holds, refreshes the
-- products it touched (products_variant_tags_refresh):
--   variants: inserted, deleted, or whose activity, options or product changed;
--   attribute values: inserted, deleted or changed;
--   products: whose category, activity or created_at changed (an insert makes its first
--             variant, which refreshes it);
--   categories: whose path (a move: their products' ancestors changed) or activity changed
--               (their own products' listed).
-- Writes of prices, stock, names and the like refresh nothing.
-- A change of this file needs a migration: see docs/database.md.

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
                SELECT id, category_id, is_active, created_at FROM new_rows
                EXCEPT SELECT id, category_id, is_active, created_at FROM old_rows
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

CREATE OR REPLACE TRIGGER products_variant_tags_variant_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_variant_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_variant_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_value_insert
AFTER INSERT ON products_productattributevalue
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_value_update
AFTER UPDATE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_value_delete
AFTER DELETE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_product_update
AFTER UPDATE ON products_product
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_category_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();
