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
        -- The values the statement changed, as they were and as they are. By EXCEPT (hashed),
        -- not a join of the transition tables, which PostgreSQL guesses at one row each and
        -- joins in a nested loop: the square of the rows.
        touched := ARRAY(
            SELECT product_id FROM (
                SELECT id, product_id, option_id, value_text FROM old_rows
                EXCEPT
                SELECT id, product_id, option_id, value_text FROM new_rows
            ) AS changed_before
            UNION
            SELECT product_id FROM (
                SELECT id, product_id, option_id, value_text FROM new_rows
                EXCEPT
                SELECT id, product_id, option_id, value_text FROM old_rows
            ) AS changed_after
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
