-- A product's price, price_max, stock, sku and variant_count summarise its variants, rewritten
-- after each statement that inserts, updates or deletes variants, whoever writes:
--   price          the lowest price of the active variants (of all, when none is active)
--   price_max      the highest price of the same variants
--   stock          the sum of the active variants' stock (at most the column's 2147483647)
--   sku            the SKU of the first variant by (position, id)
--   variant_count  how many variants it has
-- In the same UPDATE, its search_values (products_product_search_values), for the products
-- whose active variants' options the statement changed: inserted or deleted active variants
-- with options, and variants whose options, activity or product changed (one write of each
-- product, not two). Its new words go into the lexicon in the same statement.
-- Only products whose summary changed are updated, and only those that still have variants (a
-- product being deleted loses its variants first). The UPDATE fires the products' own triggers
-- (facet summary, search), which keep the price and stock facets right; the write-through
-- trigger finds the product equal to its variants' summary and writes nothing back.
--
-- Placeholders (apps.core.database_objects), filled by apps.products.search:
--   ${search_values_setting}  the setting under which the search trigger takes search_values
--                             from the writer (on for this function's UPDATE only)
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_variant_summarize() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
    searched bigint[];
    previous_setting text := current_setting('${search_values_setting}', true);
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        searched := ARRAY(
            SELECT DISTINCT product_id FROM new_rows
            WHERE is_active AND cardinality(option_ids) > 0
        );
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        searched := ARRAY(
            SELECT DISTINCT product_id FROM old_rows
            WHERE is_active AND cardinality(option_ids) > 0
        );
    ELSE
        touched := ARRAY(SELECT product_id FROM old_rows UNION SELECT product_id FROM new_rows);
        -- The variants whose options, activity or product changed, as they were and as they
        -- are, where their options count. By EXCEPT (hashed), not a join of the transition
        -- tables, which PostgreSQL guesses at one row each and joins in a nested loop: the
        -- square of the rows, hours for 100,000.
        searched := ARRAY(
            SELECT product_id FROM (
                SELECT id, product_id, option_ids FROM old_rows
                WHERE is_active AND cardinality(option_ids) > 0
                EXCEPT
                SELECT id, product_id, option_ids FROM new_rows
                WHERE is_active AND cardinality(option_ids) > 0
            ) AS counted_before
            UNION
            SELECT product_id FROM (
                SELECT id, product_id, option_ids FROM new_rows
                WHERE is_active AND cardinality(option_ids) > 0
                EXCEPT
                SELECT id, product_id, option_ids FROM old_rows
                WHERE is_active AND cardinality(option_ids) > 0
            ) AS counted_after
        );
    END IF;
    IF cardinality(touched) = 0 THEN
        -- A statement that changed no row still fires: without this, the write-through
        -- trigger's empty UPDATE and this one's would fire each other without end.
        RETURN NULL;
    END IF;
    PERFORM set_config('${search_values_setting}', 'on', true);
    WITH updated AS (
        UPDATE products_product AS product
        SET price = summary.price,
            price_max = summary.price_max,
            stock = summary.stock,
            sku = summary.sku,
            variant_count = summary.variant_count,
            search_values = coalesce(refreshed.search_values, product.search_values)
        FROM (
            SELECT product_id,
                   coalesce(min(price) FILTER (WHERE is_active), min(price)) AS price,
                   coalesce(max(price) FILTER (WHERE is_active), max(price)) AS price_max,
                   least(coalesce(sum(stock) FILTER (WHERE is_active), 0), 2147483647)::integer
                       AS stock,
                   (array_agg(sku ORDER BY position, id))[1] AS sku,
                   count(*)::integer AS variant_count
            FROM products_variant
            WHERE product_id = ANY (touched)
            GROUP BY product_id
        ) AS summary
        LEFT JOIN products_product_search_values(searched) AS refreshed
            ON refreshed.product_id = summary.product_id
        WHERE product.id = summary.product_id
            AND (product.price, product.price_max, product.stock, product.sku,
                 product.variant_count, product.search_values)
                IS DISTINCT FROM
                (summary.price, summary.price_max, summary.stock, summary.sku,
                 summary.variant_count, coalesce(refreshed.search_values, product.search_values))
        RETURNING product.search_values, refreshed.product_id IS NOT NULL AS is_refreshed
    )
    -- The lexicon's rule, as in products_product_search_document; sorted, so that concurrent
    -- writers take the lexicon's row locks in one order.
    INSERT INTO products_searchterm (word)
    SELECT DISTINCT word
    FROM updated, unnest(tsvector_to_array(to_tsvector('simple', updated.search_values))) AS word
    WHERE updated.is_refreshed
        AND word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
    ORDER BY word
    ON CONFLICT DO NOTHING;
    PERFORM set_config('${search_values_setting}', coalesce(previous_setting, ''), true);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_variant_summary_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();

CREATE OR REPLACE TRIGGER products_variant_summary_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();

CREATE OR REPLACE TRIGGER products_variant_summary_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();
