-- Rewrites Product.search_values of the given products (products_product_search_values), in
-- one UPDATE of those whose text changes; their search trigger (products_product_search_document)
-- then rebuilds the document, which weights these words C. The new words go into the lexicon
-- in the same statement.
--
-- Run by the statement triggers of attribute values and options
-- (products_attribute_value_search_values, products_option_search_values) with the products
-- their statement touched, and by the migration that fills the column; variants' changes are
-- written by products_variant_summarize, in the UPDATE that writes the products' summary. A
-- product without variants is skipped: it is being deleted (its variants go first).
--
-- Placeholders (apps.core.database_objects), filled by apps.products.search:
--   ${search_values_setting}  the setting under which the search trigger takes search_values
--                             from the writer (on for this function's UPDATE only)
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_search_values_refresh(product_ids bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    previous_setting text := current_setting('${search_values_setting}', true);
BEGIN
    IF cardinality(product_ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('${search_values_setting}', 'on', true);
    WITH updated AS (
        UPDATE products_product product
        SET search_values = refreshed.search_values
        FROM products_product_search_values(ARRAY(
            SELECT touched.id FROM unnest(product_ids) AS touched (id)
            WHERE EXISTS (
                SELECT FROM products_variant variant WHERE variant.product_id = touched.id
            )
        )) AS refreshed
        WHERE product.id = refreshed.product_id
            AND product.search_values IS DISTINCT FROM refreshed.search_values
        RETURNING product.search_values
    )
    -- The lexicon's rule, as in products_product_search_document; sorted, so that concurrent
    -- writers take the lexicon's row locks in one order.
    INSERT INTO products_searchterm (word)
    SELECT DISTINCT word
    FROM updated, unnest(tsvector_to_array(to_tsvector('simple', updated.search_values))) AS word
    WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
    ORDER BY word
    ON CONFLICT DO NOTHING;
    PERFORM set_config('${search_values_setting}', coalesce(previous_setting, ''), true);
END;
$$;
