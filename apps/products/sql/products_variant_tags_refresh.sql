-- Rewrites the filtering read model (products_variant_tags) of the given products, and moves
-- their counts in the option summary (products_categoryoptioncount) from what they were to
-- what they are now.
--
-- A product's rows: one per active variant, whose tags are the variant's option ids, the
-- product's own option values (choice, multiple choice, swatch) and minus the ids of its
-- category and of every ancestor (so that one GIN index answers "in this subtree, with these
-- options on one variant"). The summary counts, per category (the product's own, not rolled
-- up) and option, the active products with that option on an active variant or as a value.
--
-- The products are locked first (FOR NO KEY UPDATE, in id order), so that two transactions
-- refreshing one product go one at a time and each reads the other's committed rows: the
-- summary moves by differences, which must not be counted twice. A rebuild, which locks the
-- tables itself, passes lock_products false. Set-based: one statement per step whatever the
-- number of products.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_variant_tags_refresh(
    product_ids bigint[], lock_products boolean DEFAULT true
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    changes products_option_count_change[];
    below_zero bigint;
BEGIN
    IF cardinality(product_ids) = 0 THEN
        RETURN;
    END IF;
    IF lock_products THEN
        PERFORM FROM products_product WHERE id = ANY(product_ids) ORDER BY id FOR NO KEY UPDATE;
    END IF;
    changes := ARRAY(
        SELECT ROW(tags.category_id, tag, -count(DISTINCT tags.product_id)::integer
               )::products_option_count_change
        FROM products_variant_tags tags CROSS JOIN LATERAL unnest(tags.tags) AS tag
        WHERE tags.product_id = ANY(product_ids) AND tags.listed AND tag > 0
        GROUP BY tags.category_id, tag
    );
    DELETE FROM products_variant_tags WHERE product_id = ANY(product_ids);
    INSERT INTO products_variant_tags (variant_id, product_id, category_id, listed, tags)
    SELECT variant.id, product.id, product.category_id, product.is_active,
           variant.option_ids || product.tags
    FROM (
        SELECT product.id, product.category_id, product.is_active,
               ARRAY(
                   SELECT value.option_id FROM products_productattributevalue value
                   WHERE value.product_id = product.id AND value.option_id IS NOT NULL
               ) || ARRAY(
                   SELECT -ancestor::bigint
                   FROM unnest(string_to_array(btrim(category.path, '/'), '/')) AS ancestor
               ) AS tags
        FROM products_product product
        JOIN products_category category ON category.id = product.category_id
        WHERE product.id = ANY(product_ids)
    ) AS product
    JOIN products_variant variant ON variant.product_id = product.id AND variant.is_active;
    changes := changes || ARRAY(
        SELECT ROW(tags.category_id, tag, count(DISTINCT tags.product_id)::integer
               )::products_option_count_change
        FROM products_variant_tags tags CROSS JOIN LATERAL unnest(tags.tags) AS tag
        WHERE tags.product_id = ANY(product_ids) AND tags.listed AND tag > 0
        GROUP BY tags.category_id, tag
    );
    IF cardinality(changes) = 0 THEN
        RETURN;
    END IF;
    -- Netted per row and written in key order: two writers never wait for each other in a
    -- cycle. A row would fall below 0 only if the summary had drifted from the read model.
    WITH written AS (
        INSERT INTO products_categoryoptioncount AS summary (category_id, option_id, products)
        SELECT change.category_id, change.option_id, sum(change.products)
        FROM unnest(changes) AS change
        GROUP BY change.category_id, change.option_id
        HAVING sum(change.products) <> 0
        ORDER BY change.category_id, change.option_id
        ON CONFLICT (category_id, option_id)
        DO UPDATE SET products = summary.products + excluded.products
        RETURNING summary.products
    )
    SELECT count(*) FILTER (WHERE products < 0) INTO below_zero FROM written;
    IF below_zero > 0 THEN
        RAISE EXCEPTION 'the option summary would count fewer than no products'
            USING ERRCODE = 'check_violation',
                  HINT = 'Recount it: manage.py rebuild_facet_counts.';
    END IF;
    DELETE FROM products_categoryoptioncount AS summary
    USING (SELECT DISTINCT change.category_id, change.option_id FROM unnest(changes) AS change)
        AS change
    WHERE summary.category_id = change.category_id AND summary.option_id = change.option_id
        AND summary.products = 0;
END;
$$;
