"""A category page's summaries (the four facets' counts, its children's counts, the attribute
facets' counts and number ranges) come from one PL/pgSQL function, products_category_summary,
instead of four ORM queries that Django compiled and PostgreSQL planned on every request (4 ms
of a department page's 17). A frozen copy of apps/products/sql/products_category_summary.sql;
reversing drops it.
"""

from django.db import migrations

SUMMARY = """
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
"""

DROP_SUMMARY = "DROP FUNCTION products_category_summary(bigint)"


class Migration(migrations.Migration):
    dependencies = [("products", "0019_import_jobs")]

    operations = [migrations.RunSQL(SUMMARY, DROP_SUMMARY)]
