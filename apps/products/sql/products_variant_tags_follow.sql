-- After each statement that can change what the filtering read model holds, refreshes the
-- products it touched (products_variant_tags_refresh):
--   variants: inserted, deleted, or whose activity, options or product changed;
--   attribute values: inserted, deleted or changed;
--   products: whose category or activity changed (an insert makes its first variant, which
--             refreshes it);
--   categories: whose path (a move: their products' ancestors changed) or activity changed
--               (their own products' listed).
-- Writes of prices, stock, names and the like refresh nothing.
-- A change of this file needs a migration: see docs/database.md.

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
