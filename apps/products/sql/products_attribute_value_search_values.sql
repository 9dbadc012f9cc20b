-- After a statement on product attribute values, refreshes the search values
-- (products_product_search_values_refresh) of the products whose text or option values it
-- inserted, deleted or changed. Numbers, yes/no and dates are not searched.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_attribute_value_search_values() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(
            SELECT DISTINCT product_id FROM new_rows
            WHERE option_id IS NOT NULL OR value_text IS NOT NULL
        );
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(
            SELECT DISTINCT product_id FROM old_rows
            WHERE option_id IS NOT NULL OR value_text IS NOT NULL
        );
    ELSE
        touched := ARRAY(
            WITH changed AS (
                SELECT old_row.product_id AS old_product_id, new_row.product_id AS new_product_id
                FROM old_rows old_row
                JOIN new_rows new_row ON new_row.id = old_row.id
                WHERE (old_row.product_id, old_row.option_id, old_row.value_text)
                    IS DISTINCT FROM (new_row.product_id, new_row.option_id, new_row.value_text)
            )
            SELECT old_product_id FROM changed
            UNION
            SELECT new_product_id FROM changed
        );
    END IF;
    PERFORM products_product_search_values_refresh(touched);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_attribute_value_search_values_insert
AFTER INSERT ON products_productattributevalue
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_attribute_value_search_values();

CREATE OR REPLACE TRIGGER products_attribute_value_search_values_update
AFTER UPDATE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_attribute_value_search_values();

CREATE OR REPLACE TRIGGER products_attribute_value_search_values_delete
AFTER DELETE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_attribute_value_search_values();
