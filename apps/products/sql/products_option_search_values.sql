-- After a statement that renames options (attributes_attributeoption.value), refreshes the
-- search values (products_product_search_values_refresh) of the products that use them: by an
-- active variant's options (option_ids has no index of its own: the variants are scanned, once
-- per statement) or as an attribute value (by the values' index on option_id).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_option_search_values() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    renamed bigint[];
BEGIN
    -- By EXCEPT (hashed), not a join of the transition tables, which PostgreSQL guesses at
    -- one row each and joins in a nested loop.
    renamed := ARRAY(
        SELECT id FROM (SELECT id, value FROM new_rows EXCEPT SELECT id, value FROM old_rows)
            AS renamed_option
    );
    IF cardinality(renamed) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM products_product_search_values_refresh(ARRAY(
        SELECT product_id FROM products_variant
        WHERE is_active AND option_ids && renamed
        UNION
        SELECT product_id FROM products_productattributevalue
        WHERE option_id = ANY (renamed)
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_option_search_values
AFTER UPDATE ON attributes_attributeoption
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_option_search_values();
