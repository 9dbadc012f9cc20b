-- Counts what the given products add to the summaries, as the read model holds them now,
-- each count multiplied by sign (-1 before a refresh, 1 after it):
--   tags     per category (each ancestor of the product's, its own included) and tag, the
--            listed products that have the tag: a product's own (an option, a yes or no)
--            or an option of one of its active variants;
--   numbers  per category and number attribute and value, the listed products with it.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_variant_tags_counts(
    product_ids bigint[],
    sign integer,
    OUT tags products_tag_count_change[],
    OUT numbers products_number_count_change[]
)
LANGUAGE sql STABLE AS $$
    SELECT
        ARRAY(
            SELECT ROW(-ancestor, tag, sign * count(*)::integer)::products_tag_count_change
            FROM (
                SELECT product.product_id, ancestor, tag
                FROM products_product_tags product,
                     unnest(product.tags) AS ancestor,
                     unnest(product.tags) AS tag
                WHERE product.product_id IN (SELECT unnest(product_ids)) AND product.listed
                    AND ancestor < 0 AND tag > 0
                UNION
                SELECT product.product_id, ancestor, option
                FROM products_product_tags product
                JOIN products_variant_tags variant ON variant.product_id = product.product_id,
                     unnest(product.tags) AS ancestor,
                     unnest(variant.option_ids) AS option
                WHERE product.product_id IN (SELECT unnest(product_ids)) AND product.listed AND ancestor < 0
            ) AS product_tag
            GROUP BY ancestor, tag
        ),
        ARRAY(
            SELECT ROW(-ancestor, number.attribute_id, number.value, sign * count(*)::integer
                   )::products_number_count_change
            FROM products_product_tags product,
                 unnest(product.tags) AS ancestor,
                 unnest(product.number_attribute_ids, product.number_values)
                     AS number (attribute_id, value)
            WHERE product.product_id IN (SELECT unnest(product_ids)) AND product.listed AND ancestor < 0
            GROUP BY ancestor, number.attribute_id, number.value
        )
$$;
