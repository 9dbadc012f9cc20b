-- After each INSERT, UPDATE or DELETE statement on products: the products' rows before the
-- statement leave the facet summary (-1), those after it enter (+1), rolled up to every ancestor
-- category. The categories are locked FOR SHARE first, so that a concurrent move or
-- (de)activation of one of them waits for this transaction, or this one for it.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_facet_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    edges numeric[] := products_facet_edges();
    own products_facet_change[];  -- by each product's own category
BEGIN
    -- Active products only (their category's is_active is read below): each one's row before
    -- the statement counts -1, after it +1.
    IF TG_OP = 'INSERT' THEN
        own := ARRAY(
            SELECT ROW(category_id, stock > 0, floor(rating_average)::smallint,
                       width_bucket(price, edges)::smallint, count(*)::integer
                   )::products_facet_change
            FROM new_rows
            WHERE is_active
            GROUP BY category_id, stock > 0, floor(rating_average), width_bucket(price, edges)
        );
    ELSIF TG_OP = 'DELETE' THEN
        own := ARRAY(
            SELECT ROW(category_id, stock > 0, floor(rating_average)::smallint,
                       width_bucket(price, edges)::smallint, -count(*)::integer
                   )::products_facet_change
            FROM old_rows
            WHERE is_active
            GROUP BY category_id, stock > 0, floor(rating_average), width_bucket(price, edges)
        );
    ELSE
        own := ARRAY(
            SELECT ROW(category_id, in_stock, rating_floor, price_bucket, sum(products)::integer
                   )::products_facet_change
            FROM (
                SELECT category_id, stock > 0 AS in_stock,
                       floor(rating_average)::smallint AS rating_floor,
                       width_bucket(price, edges)::smallint AS price_bucket, -1 AS products
                FROM old_rows
                WHERE is_active
                UNION ALL
                SELECT category_id, stock > 0, floor(rating_average)::smallint,
                       width_bucket(price, edges)::smallint, 1
                FROM new_rows
                WHERE is_active
            ) AS product
            GROUP BY category_id, in_stock, rating_floor, price_bucket
            HAVING sum(products) <> 0
        );
    END IF;
    IF cardinality(own) = 0 THEN
        RETURN NULL;  -- no product changed rows (a review within the same whole star, a rename)
    END IF;
    -- Rolled up to every ancestor by the categories' path now. Locked (FOR SHARE, in id order)
    -- until this transaction ends: a concurrent move or (de)activation of one of them waits for
    -- it and then counts these products as this statement left them; one that came first has
    -- committed, and its outcome is what is read here.
    PERFORM products_facet_counts_apply(ARRAY(
        SELECT ROW(ancestor, change.in_stock, change.rating_floor, change.price_bucket,
                   change.products)::products_facet_change
        FROM unnest(own) AS change
        JOIN (
            SELECT id, path, is_active
            FROM products_category
            WHERE id IN (SELECT category_id FROM unnest(own))
            ORDER BY id
            FOR SHARE
        ) AS category ON category.id = change.category_id
        CROSS JOIN LATERAL
            unnest(string_to_array(btrim(category.path, '/'), '/')::bigint[]) AS ancestor
        WHERE category.is_active
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_facet_counts_insert
AFTER INSERT ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts();

CREATE OR REPLACE TRIGGER products_product_facet_counts_update
AFTER UPDATE ON products_product
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts();

CREATE OR REPLACE TRIGGER products_product_facet_counts_delete
AFTER DELETE ON products_product
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts();
