-- After each statement on attribute values: product.updated, changes attributes, for the
-- products whose values it inserted, deleted or changed (a product's attribute values are part
-- of the product as the API shows it). The products are locked FOR NO KEY UPDATE first, in id
-- order, as products_variant_tags_refresh locks them: a value's write does not lock its product
-- otherwise, and the position of the product's event must be drawn under the product's lock
-- (docs/events.md). A product deleted by this statement (values deleted with it) is not there
-- to lock: its own trigger says product.deleted. The join of the old and new rows is hashed,
-- as in events_product_record.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION events_attribute_value_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
    ELSE
        touched := ARRAY(
            SELECT touched_product.id FROM (
                SELECT earlier.product_id AS old_product_id, later.product_id AS new_product_id
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
                WHERE (earlier.product_id, earlier.attribute_id, earlier.option_id,
                       earlier.value_text, earlier.value_number, earlier.value_boolean,
                       earlier.value_date)
                    IS DISTINCT FROM (later.product_id, later.attribute_id, later.option_id,
                                      later.value_text, later.value_number, later.value_boolean,
                                      later.value_date)
            ) AS changed, LATERAL (VALUES (old_product_id), (new_product_id))
                AS touched_product (id)
            GROUP BY touched_product.id
        );
    END IF;
    IF cardinality(touched) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM events_emit(ARRAY(
        SELECT ROW('product.updated', locked.id, locked.id, '{attributes}')::events_change
        FROM (
            -- = ANY, an index scan: not a join, which the function's enable_nestloop = off
            -- would make a hash join over every product.
            SELECT product.id FROM products_product AS product
            WHERE product.id = ANY (touched)
            ORDER BY product.id
            FOR NO KEY UPDATE
        ) AS locked
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_attribute_value_insert
AFTER INSERT ON products_productattributevalue
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_attribute_value_record();

CREATE OR REPLACE TRIGGER events_attribute_value_update
AFTER UPDATE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_attribute_value_record();

CREATE OR REPLACE TRIGGER events_attribute_value_delete
AFTER DELETE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_attribute_value_record();
