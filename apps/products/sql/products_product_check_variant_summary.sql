-- A write of price, stock or sku on a product with several variants must equal its variants'
-- summary (which is what the summary trigger writes): anything else is refused, one constraint
-- name per field (products_product_price_from_variants, ..._stock_..., ..._sku_...), reported on
-- that field by apps.core.exceptions. The WHEN clause keeps it from running for any other
-- write: one-variant products (write-through) and writes that leave the three as they were.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_check_variant_summary() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    summary record;
BEGIN
    SELECT coalesce(min(price) FILTER (WHERE is_active), min(price)) AS price,
           least(coalesce(sum(stock) FILTER (WHERE is_active), 0), 2147483647)::integer
               AS stock,
           (array_agg(sku ORDER BY position, id))[1] AS sku,
           count(*) AS variants
    INTO summary
    FROM products_variant
    WHERE product_id = NEW.id;
    IF summary.variants <= 1 THEN
        RETURN NEW;
    END IF;
    IF NEW.price IS DISTINCT FROM OLD.price AND NEW.price IS DISTINCT FROM summary.price THEN
        RAISE EXCEPTION 'product % has several variants: change their prices', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_price_from_variants';
    END IF;
    IF NEW.stock IS DISTINCT FROM OLD.stock AND NEW.stock IS DISTINCT FROM summary.stock THEN
        RAISE EXCEPTION 'product % has several variants: change their stock', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_stock_from_variants';
    END IF;
    IF NEW.sku IS DISTINCT FROM OLD.sku AND NEW.sku IS DISTINCT FROM summary.sku THEN
        RAISE EXCEPTION 'product % has several variants: change their SKUs', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_sku_from_variants';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_check_variant_summary
BEFORE UPDATE ON products_product
FOR EACH ROW
WHEN ((OLD.variant_count > 1 OR NEW.variant_count > 1)
    AND (OLD.price IS DISTINCT FROM NEW.price
        OR OLD.stock IS DISTINCT FROM NEW.stock
        OR OLD.sku IS DISTINCT FROM NEW.sku))
EXECUTE FUNCTION products_product_check_variant_summary();
