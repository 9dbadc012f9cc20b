-- What Product.search_values of the given products should be: the distinct option values of
-- their active variants and their attribute values (text, and the option of a choice, multiple
-- choice or swatch), sorted, joined by spaces ('' for none). One row a product, set-based.
-- Read by products_product_search_values_refresh and products_variant_summarize, which write it.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_search_values(product_ids bigint[])
RETURNS TABLE (product_id bigint, search_values text)
LANGUAGE sql STABLE AS $$
    WITH touched AS (
        SELECT DISTINCT id FROM unnest(product_ids) AS touched (id)
    ), product_words AS (
        SELECT variant.product_id, option.value
        FROM touched
        JOIN products_variant variant ON variant.product_id = touched.id AND variant.is_active
        JOIN attributes_attributeoption option ON option.id = ANY (variant.option_ids)
        UNION
        SELECT attribute_value.product_id, coalesce(option.value, attribute_value.value_text)
        FROM touched
        JOIN products_productattributevalue attribute_value
            ON attribute_value.product_id = touched.id
        LEFT JOIN attributes_attributeoption option ON option.id = attribute_value.option_id
        WHERE attribute_value.option_id IS NOT NULL OR attribute_value.value_text IS NOT NULL
    )
    SELECT touched.id,
           coalesce(string_agg(product_words.value, ' ' ORDER BY product_words.value), '')
    FROM touched
    LEFT JOIN product_words ON product_words.product_id = touched.id
    GROUP BY touched.id;
$$;
