-- After each statement on products: product.created, product.deleted, and product.updated for
-- the products whose shown columns changed, with their names:
--   category      category_id
--   description, is_active, name, sku, slug, stock
--   price         price, price_max (the price range)
--   product_type  product_type_id
--   rating        rating_1_count ... rating_5_count, review_count, rating_sum
-- Not changes: updated_at, created_by_id, variant_count (a variant's own events say it),
-- search_vector and search_values (the search's). An UPDATE that changes none of them emits
-- nothing. The summary trigger's rewrite of price and stock from the variants is a change of
-- the product like any other.
-- The old and new rows are joined by a hash (or merge) join: PL/pgSQL plans this statement once
-- per session, with the row counts of its first transition tables, and a nested loop planned
-- for one row is the square of the rows for 100,000 (the function's SET enable_nestloop).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION events_product_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('product.created', id, id, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('product.deleted', id, id, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('product.updated', id, id, changes)::events_change
            FROM (
                SELECT later.id, array_remove(ARRAY[
                    CASE WHEN earlier.category_id IS DISTINCT FROM later.category_id
                        THEN 'category' END,
                    CASE WHEN earlier.description IS DISTINCT FROM later.description
                        THEN 'description' END,
                    CASE WHEN earlier.is_active IS DISTINCT FROM later.is_active
                        THEN 'is_active' END,
                    CASE WHEN earlier.name IS DISTINCT FROM later.name THEN 'name' END,
                    CASE WHEN (earlier.price, earlier.price_max)
                        IS DISTINCT FROM (later.price, later.price_max) THEN 'price' END,
                    CASE WHEN earlier.product_type_id IS DISTINCT FROM later.product_type_id
                        THEN 'product_type' END,
                    CASE WHEN (earlier.rating_1_count, earlier.rating_2_count,
                               earlier.rating_3_count, earlier.rating_4_count,
                               earlier.rating_5_count, earlier.review_count, earlier.rating_sum)
                        IS DISTINCT FROM (later.rating_1_count, later.rating_2_count,
                                          later.rating_3_count, later.rating_4_count,
                                          later.rating_5_count, later.review_count,
                                          later.rating_sum)
                        THEN 'rating' END,
                    CASE WHEN earlier.sku IS DISTINCT FROM later.sku THEN 'sku' END,
                    CASE WHEN earlier.slug IS DISTINCT FROM later.slug THEN 'slug' END,
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

CREATE OR REPLACE TRIGGER events_product_insert
AFTER INSERT ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_product_record();

CREATE OR REPLACE TRIGGER events_product_update
AFTER UPDATE ON products_product
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_product_record();

CREATE OR REPLACE TRIGGER events_product_delete
AFTER DELETE ON products_product
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_product_record();
