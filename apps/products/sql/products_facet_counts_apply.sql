-- Add changes to the facet summary (products_categoryfacetcount) in key order, delete the rows
-- that fall to 0, and refuse a count below 0 (a drifted summary).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_facet_counts_apply(changes products_facet_change[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    emptied bigint[];
    below_zero bigint;
BEGIN
    -- The changes of one row are summed, and a row whose changes cancel out is not written
    -- (nor locked). The others are written in key order: two writers lock rows in one order.
    WITH netted AS (
        SELECT category_id, in_stock, rating_floor, price_bucket,
               sum(products)::integer AS products
        FROM unnest(changes)
        GROUP BY category_id, in_stock, rating_floor, price_bucket
        HAVING sum(products) <> 0
    ), written AS (
        INSERT INTO products_categoryfacetcount AS facet
            (category_id, in_stock, rating_floor, price_bucket, products)
        SELECT category_id, in_stock, rating_floor, price_bucket, products
        FROM netted
        ORDER BY category_id, in_stock, rating_floor, price_bucket
        ON CONFLICT (category_id, in_stock, rating_floor, price_bucket)
        DO UPDATE SET products = facet.products + excluded.products
        RETURNING facet.id, facet.category_id, facet.products
    )
    SELECT array_agg(id ORDER BY id) FILTER (WHERE products = 0),
           min(category_id) FILTER (WHERE products < 0)
    INTO emptied, below_zero
    FROM written;
    -- Not a CHECK constraint: PostgreSQL tests one on the row an INSERT proposes (a change of
    -- -1) before it looks for the row to update.
    IF below_zero IS NOT NULL THEN
        RAISE EXCEPTION 'the facet counts of category % would fall below 0', below_zero
            USING ERRCODE = 'check_violation',
                  HINT = 'The summary has drifted: run manage.py rebuild_facet_counts.';
    END IF;
    -- A category without products has no rows, so that deleting it leaves none behind. The
    -- rows are locked by the upsert: nobody can have counted into them since.
    IF emptied IS NOT NULL THEN
        DELETE FROM products_categoryfacetcount WHERE id = ANY (emptied);
    END IF;
END;
$$;
