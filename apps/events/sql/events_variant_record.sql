-- After each statement on variants: variant.created, variant.deleted (a deleted product's
-- variants too), and variant.updated for the variants whose shown columns changed, with their
-- names: is_active, options (option_ids), position, price, product (product_id), sku, stock.
-- Not a change: updated_at. Each event carries the variant's product (after a move, the new
-- one). The join of the old and new rows is hashed, as in events_product_record.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION events_variant_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('variant.created', id, product_id, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('variant.deleted', id, product_id, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('variant.updated', id, product_id, changes)::events_change
            FROM (
                SELECT later.id, later.product_id, array_remove(ARRAY[
                    CASE WHEN earlier.is_active IS DISTINCT FROM later.is_active
                        THEN 'is_active' END,
                    CASE WHEN earlier.option_ids IS DISTINCT FROM later.option_ids
                        THEN 'options' END,
                    CASE WHEN earlier.position IS DISTINCT FROM later.position
                        THEN 'position' END,
                    CASE WHEN earlier.price IS DISTINCT FROM later.price THEN 'price' END,
                    CASE WHEN earlier.product_id IS DISTINCT FROM later.product_id
                        THEN 'product' END,
                    CASE WHEN earlier.sku IS DISTINCT FROM later.sku THEN 'sku' END,
                    CASE WHEN earlier.stock IS DISTINCT FROM later.stock THEN 'stock' END
                ], NULL) AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ) AS changed
            WHERE cardinality(changes) > 0
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_variant_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_variant_record();

CREATE OR REPLACE TRIGGER events_variant_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_variant_record();

CREATE OR REPLACE TRIGGER events_variant_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_variant_record();
