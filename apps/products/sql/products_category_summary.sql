-- A category page's facets as the summaries count them, for apps.products.facets, as one JSON
-- object; summary_category is the category (its whole subtree), NULL the whole catalogue:
--   edges     the price bucket edges the summary was counted with (products_facet_price_edges)
--   facets    [in_stock, rating_floor, price_bucket, products] summed over the covering rows
--   children  [id, name, slug, products] of each active child (of each root with NULL), by
--             name then id
--   tags      [tag, products] of products_categorytagcount
--   numbers   [attribute_id, lowest, highest] of products_categorynumbercount, the numbers as
--             text (as stored: a JSON number would lose their places)
-- One call instead of four ORM queries, each compiled by Django and planned by PostgreSQL on
-- every request, which cost more than reading the few hundred rows (a department page: 4 ms of
-- its 17); PL/pgSQL plans each statement once a session. One statement, so one snapshot: a
-- recount that commits meanwhile cannot pair old edges with new counts.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_category_summary(summary_category bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    covering bigint[];  -- the categories whose rows count the subtree
    children bigint[];  -- the categories the category facet lists
BEGIN
    IF summary_category IS NULL THEN
        covering := ARRAY(SELECT id FROM products_category WHERE parent_id IS NULL);
        children := covering;
    ELSE
        covering := ARRAY[summary_category];
        children := ARRAY(SELECT id FROM products_category WHERE parent_id = summary_category);
    END IF;
    RETURN jsonb_build_object(
        'edges', (SELECT to_jsonb(stored.edges::text[]) FROM products_facet_price_edges stored),
        'facets', (
            SELECT coalesce(jsonb_agg(jsonb_build_array(
                counted.in_stock, counted.rating_floor, counted.price_bucket, counted.total
            )), '[]')
            FROM (
                SELECT facet.in_stock, facet.rating_floor, facet.price_bucket,
                    sum(facet.products) AS total
                FROM products_categoryfacetcount facet
                WHERE facet.category_id = ANY(covering)
                GROUP BY 1, 2, 3
            ) counted
        ),
        'children', (
            SELECT coalesce(jsonb_agg(jsonb_build_array(
                child.id, child.name, child.slug,
                coalesce((
                    SELECT sum(facet.products)
                    FROM products_categoryfacetcount facet
                    WHERE facet.category_id = child.id
                ), 0)
            ) ORDER BY child.name, child.id), '[]')
            FROM products_category child
            WHERE child.id = ANY(children) AND child.is_active
        ),
        'tags', (
            SELECT coalesce(jsonb_agg(jsonb_build_array(counted.tag, counted.total)), '[]')
            FROM (
                SELECT tagged.tag, sum(tagged.products) AS total
                FROM products_categorytagcount tagged
                WHERE tagged.category_id = ANY(covering)
                GROUP BY 1
            ) counted
        ),
        'numbers', (
            SELECT coalesce(jsonb_agg(jsonb_build_array(
                ranged.attribute_id, ranged.low::text, ranged.high::text
            )), '[]')
            FROM (
                SELECT numbered.attribute_id,
                    min(numbered.value) AS low, max(numbered.value) AS high
                FROM products_categorynumbercount numbered
                WHERE numbered.category_id = ANY(covering)
                GROUP BY 1
            ) ranged
        )
    );
END;
$$;
