-- Rewrites Product.search_values of the given products, set-based: the distinct option values
-- of their active variants and their attribute values (text, and the option of a choice,
-- multiple choice or swatch), sorted, joined by spaces. Only products whose text changes are
-- updated; their search trigger (products_product_search_document) then rebuilds the document,
-- which weights these words C. The new words go into the lexicon in the same statement.
--
-- Run by the statement triggers of variants, attribute values and options
-- (products_variant_search_values, products_attribute_value_search_values,
-- products_option_search_values) with the products their statement touched, and by the
-- migration that fills the column. A product without variants is skipped: it is being deleted
-- (its variants go first), and has nothing to find.
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
    WITH touched AS (
        SELECT DISTINCT touched.id
        FROM unnest(product_ids) AS touched (id)
        WHERE EXISTS (SELECT FROM products_variant variant WHERE variant.product_id = touched.id)
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
    ), refreshed AS (
        SELECT touched.id,
               coalesce(string_agg(product_words.value, ' ' ORDER BY product_words.value), '')
                   AS search_values
        FROM touched
        LEFT JOIN product_words ON product_words.product_id = touched.id
        GROUP BY touched.id
    ), updated AS (
        UPDATE products_product product
        SET search_values = refreshed.search_values
        FROM refreshed
        WHERE product.id = refreshed.id
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
