-- After an UPDATE or DELETE statement on categories: each category moved (a new path, the
-- descendants' included through products_category_move_subtree's nested UPDATE) or
-- (de)activated takes its own products out of its old ancestors' facet counts and into its new
-- ones; a deleted one takes them out.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_category_facet_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    edges numeric[] := products_facet_edges();
    -- Where each changed category's own products leave (-1) and enter (+1).
    category_ids bigint[];
    paths text[];
    signs integer[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(id), array_agg(path), array_agg(-1)
        INTO category_ids, paths, signs
        FROM old_rows
        WHERE is_active;
    ELSE
        -- A move changes the path (the path trigger rewrites the descendants' in a nested
        -- statement, which comes through here too); a new name or slug changes nothing.
        SELECT array_agg(side.category_id), array_agg(side.path), array_agg(side.sign)
        INTO category_ids, paths, signs
        FROM old_rows AS before
        JOIN new_rows AS after ON after.id = before.id
        CROSS JOIN LATERAL (
            SELECT before.id, before.path, -1 WHERE before.is_active
            UNION ALL
            SELECT after.id, after.path, 1 WHERE after.is_active
        ) AS side (category_id, path, sign)
        WHERE before.path IS DISTINCT FROM after.path
            OR before.is_active IS DISTINCT FROM after.is_active;
    END IF;
    IF category_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM products_facet_counts_apply(ARRAY(
        SELECT ROW(ancestor, own.in_stock, own.rating_floor, own.price_bucket,
                   side.sign * own.products)::products_facet_change
        FROM (
            SELECT category_id, stock > 0 AS in_stock,
                   floor(rating_average)::smallint AS rating_floor,
                   width_bucket(price, edges)::smallint AS price_bucket,
                   count(*)::integer AS products
            FROM products_product
            WHERE category_id = ANY (category_ids) AND is_active
            GROUP BY 1, 2, 3, 4
        ) AS own
        JOIN unnest(category_ids, paths, signs) AS side (category_id, path, sign)
            ON side.category_id = own.category_id
        CROSS JOIN LATERAL
            unnest(string_to_array(btrim(side.path, '/'), '/')::bigint[]) AS ancestor
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_category_facet_counts_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_category_facet_counts();

CREATE OR REPLACE TRIGGER products_category_facet_counts_delete
AFTER DELETE ON products_category
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_category_facet_counts();
