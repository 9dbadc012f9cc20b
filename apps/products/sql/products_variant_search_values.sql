-- After a statement on variants, refreshes the search values (products_product_search_values_refresh)
-- of the products whose active variants' options it changed: inserted or deleted active
-- variants with options, and updates of a variant's options, activity or product. Variants
-- without options (a product without a type, or its first variant made by
-- products_product_default_variant) and other updates (price, stock, SKU) cost no refresh.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_variant_search_values() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(
            SELECT DISTINCT product_id FROM new_rows
            WHERE is_active AND cardinality(option_ids) > 0
        );
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(
            SELECT DISTINCT product_id FROM old_rows
            WHERE is_active AND cardinality(option_ids) > 0
        );
    ELSE
        -- The variants whose options, activity or product the statement changed, as they were
        -- and as they are, where they count. By EXCEPT (hashed), not a join of the transition
        -- tables, which PostgreSQL guesses at one row each and joins in a nested loop: the
        -- square of the rows, hours for 100,000.
        touched := ARRAY(
            SELECT product_id FROM (
                SELECT id, product_id, option_ids FROM old_rows
                WHERE is_active AND cardinality(option_ids) > 0
                EXCEPT
                SELECT id, product_id, option_ids FROM new_rows
                WHERE is_active AND cardinality(option_ids) > 0
            ) AS counted_before
            UNION
            SELECT product_id FROM (
                SELECT id, product_id, option_ids FROM new_rows
                WHERE is_active AND cardinality(option_ids) > 0
                EXCEPT
                SELECT id, product_id, option_ids FROM old_rows
                WHERE is_active AND cardinality(option_ids) > 0
            ) AS counted_after
        );
    END IF;
    PERFORM products_product_search_values_refresh(touched);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_variant_search_values_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_search_values();

CREATE OR REPLACE TRIGGER products_variant_search_values_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_search_values();

CREATE OR REPLACE TRIGGER products_variant_search_values_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_search_values();
