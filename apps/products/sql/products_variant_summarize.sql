-- A product's price, price_max, stock, sku and variant_count summarise its variants, rewritten
-- after each statement that inserts, updates or deletes variants, whoever writes:
--   price          the lowest price of the active variants (of all, when none is active)
--   price_max      the highest price of the same variants
--   stock          the sum of the active variants' stock (at most the column's 2147483647)
--   sku            the SKU of the first variant by (position, id)
--   variant_count  how many variants it has
-- Only products whose summary changed are updated, and only those that still have variants (a
-- product being deleted loses its variants first). The UPDATE fires the products' own triggers
-- (facet summary, search), which keep the price and stock facets right; the write-through
-- trigger finds the product equal to its variants' summary and writes nothing back.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_variant_summarize() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
    ELSE
        touched := ARRAY(SELECT product_id FROM old_rows UNION SELECT product_id FROM new_rows);
    END IF;
    IF cardinality(touched) = 0 THEN
        -- A statement that changed no row still fires: without this, the write-through
        -- trigger's empty UPDATE and this one's would fire each other without end.
        RETURN NULL;
    END IF;
    UPDATE products_product AS product
    SET price = summary.price,
        price_max = summary.price_max,
        stock = summary.stock,
        sku = summary.sku,
        variant_count = summary.variant_count
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
    WHERE product.id = summary.product_id
        AND (product.price, product.price_max, product.stock, product.sku, product.variant_count)
            IS DISTINCT FROM
            (summary.price, summary.price_max, summary.stock, summary.sku, summary.variant_count);
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
