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
        touched := ARRAY(
            WITH changed AS (
                SELECT old_row.product_id AS old_product_id,
                       old_row.is_active AND cardinality(old_row.option_ids) > 0 AS old_counts,
                       new_row.product_id AS new_product_id,
                       new_row.is_active AND cardinality(new_row.option_ids) > 0 AS new_counts
                FROM old_rows old_row
                JOIN new_rows new_row ON new_row.id = old_row.id
                WHERE (old_row.option_ids, old_row.is_active, old_row.product_id)
                    IS DISTINCT FROM (new_row.option_ids, new_row.is_active, new_row.product_id)
            )
            SELECT old_product_id FROM changed WHERE old_counts
            UNION
            SELECT new_product_id FROM changed WHERE new_counts
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
