-- Rewrites the filtering read model of the given products, and moves their counts in the
-- summaries from what they were to what they are now.
--
-- The read model (apps.products.models.VariantTags, ProductTags):
--   products_variant_tags  one row per active variant: its product's listed and created_at
--                          (a shopper's page filtered by tags is sorted on the rows), its
--                          options (option_ids) and, in tags,
--                          its options, its product's tags and minus the ids of the product's
--                          category and of every ancestor, so that one GIN index answers "in
--                          this subtree, with these options on one variant";
--   products_product_tags  one row per product with an active variant: listed (the product and
--                          its category are active: shoppers see it), its tags (its option
--                          values, its yes-or-no values as products_yes_no_tag(attribute,
--                          value), minus its categories' ids) and its numbers.
-- The summaries (CategoryTagCount, CategoryNumberCount) count the listed products per category
-- (each ancestor's rows count its whole subtree) and tag, or number value.
--
-- The products are locked first (FOR NO KEY UPDATE, in id order), so that two transactions
-- refreshing one product go one at a time and each reads the other's committed rows: the
-- summaries move by differences, which must not be counted twice. A rebuild, which locks the
-- tables itself, passes lock_products false. Set-based: one statement per step whatever the
-- number of products. The products are matched as IN (SELECT unnest(product_ids)), not
-- = ANY(product_ids): a semi-join, where = ANY over a parameter would search the whole array
-- for each row (hours for a rebuild of 100,000 products).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_variant_tags_refresh(
    product_ids bigint[], lock_products boolean DEFAULT true
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    earlier_tags products_tag_count_change[];
    earlier_numbers products_number_count_change[];
    later_tags products_tag_count_change[];
    later_numbers products_number_count_change[];
    below_zero bigint;
BEGIN
    IF cardinality(product_ids) = 0 THEN
        RETURN;
    END IF;
    IF lock_products THEN
        PERFORM FROM products_product WHERE id IN (SELECT unnest(product_ids))
        ORDER BY id FOR NO KEY UPDATE;
    END IF;
    SELECT tags, numbers INTO earlier_tags, earlier_numbers
    FROM products_variant_tags_counts(product_ids, -1);
    DELETE FROM products_variant_tags WHERE product_id IN (SELECT unnest(product_ids));
    DELETE FROM products_product_tags WHERE product_id IN (SELECT unnest(product_ids));
    INSERT INTO products_product_tags
        (product_id, listed, tags, number_attribute_ids, number_values)
    SELECT product.id, product.is_active AND category.is_active,
           coalesce(own.tags, '{}') || ARRAY(
               SELECT -ancestor::bigint
               FROM unnest(string_to_array(btrim(category.path, '/'), '/')) AS ancestor
           ),
           coalesce(own.number_attribute_ids, '{}'),
           coalesce(own.number_values, '{}')
    FROM products_product product
    JOIN products_category category ON category.id = product.category_id
    LEFT JOIN (
        SELECT value.product_id,
               array_agg(coalesce(
                   value.option_id,
                   products_yes_no_tag(value.attribute_id, value.value_boolean)
               )) FILTER (WHERE value.option_id IS NOT NULL OR value.value_boolean IS NOT NULL)
                   AS tags,
               array_agg(value.attribute_id ORDER BY value.id)
                   FILTER (WHERE value.value_number IS NOT NULL) AS number_attribute_ids,
               array_agg(value.value_number ORDER BY value.id)
                   FILTER (WHERE value.value_number IS NOT NULL) AS number_values
        FROM products_productattributevalue value
        WHERE value.product_id IN (SELECT unnest(product_ids))
        GROUP BY value.product_id
    ) AS own ON own.product_id = product.id
    WHERE product.id IN (SELECT unnest(product_ids))
        AND EXISTS (
            SELECT FROM products_variant variant
            WHERE variant.product_id = product.id AND variant.is_active
        );
    INSERT INTO products_variant_tags
        (variant_id, product_id, listed, created_at, option_ids, tags)
    SELECT variant.id, product.product_id, product.listed, own.created_at, variant.option_ids,
           variant.option_ids || product.tags
    FROM products_product_tags product
    JOIN products_product own ON own.id = product.product_id
    JOIN products_variant variant
        ON variant.product_id = product.product_id AND variant.is_active
    WHERE product.product_id IN (SELECT unnest(product_ids));
    SELECT tags, numbers INTO later_tags, later_numbers
    FROM products_variant_tags_counts(product_ids, 1);

    -- Netted per row and written in key order: two writers never wait for each other in a
    -- cycle. A row would fall below 0 only if a summary had drifted from the read model.
    WITH written AS (
        INSERT INTO products_categorytagcount AS summary (category_id, tag, products)
        SELECT change.category_id, change.tag, sum(change.products)
        FROM unnest(earlier_tags || later_tags) AS change
        GROUP BY change.category_id, change.tag
        HAVING sum(change.products) <> 0
        ORDER BY change.category_id, change.tag
        ON CONFLICT (category_id, tag)
        DO UPDATE SET products = summary.products + excluded.products
        RETURNING summary.products
    )
    SELECT count(*) FILTER (WHERE products < 0) INTO below_zero FROM written;
    WITH written AS (
        INSERT INTO products_categorynumbercount AS summary
            (category_id, attribute_id, value, products)
        SELECT change.category_id, change.attribute_id, change.value, sum(change.products)
        FROM unnest(earlier_numbers || later_numbers) AS change
        GROUP BY change.category_id, change.attribute_id, change.value
        HAVING sum(change.products) <> 0
        ORDER BY change.category_id, change.attribute_id, change.value
        ON CONFLICT (category_id, attribute_id, value)
        DO UPDATE SET products = summary.products + excluded.products
        RETURNING summary.products
    )
    SELECT below_zero + count(*) FILTER (WHERE products < 0) INTO below_zero FROM written;
    IF below_zero > 0 THEN
        RAISE EXCEPTION 'the attribute summary would count fewer than no products'
            USING ERRCODE = 'check_violation',
                  HINT = 'Recount it: manage.py rebuild_facet_counts.';
    END IF;
    DELETE FROM products_categorytagcount AS summary
    USING unnest(earlier_tags || later_tags) AS change
    WHERE summary.category_id = change.category_id AND summary.tag = change.tag
        AND summary.products = 0;
    DELETE FROM products_categorynumbercount AS summary
    USING unnest(earlier_numbers || later_numbers) AS change
    WHERE summary.category_id = change.category_id AND summary.attribute_id = change.attribute_id
        AND summary.value = change.value AND summary.products = 0;
END;
$$;
