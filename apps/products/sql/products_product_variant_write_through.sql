-- A write of price, stock or sku on a product with exactly one variant changes that variant
-- (and the summary trigger then rewrites the product from it): the product serializers, the
-- admin form, the bulk actions and the import's UPDATE keep working for one-variant products.
-- Only rows whose values differ from what the variant makes of them (its price and SKU; its
-- stock if it is active, else 0): the summary trigger's own UPDATE of a product is always
-- equal, and writes nothing back here.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_variant_write_through() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM new_rows) THEN
        -- A statement that changed no row still fires: without this, the summary trigger's
        -- empty UPDATE and this one's would fire each other without end.
        RETURN NULL;
    END IF;
    UPDATE products_variant AS variant
    SET price = product.price,
        stock = CASE
            WHEN product.stock IS DISTINCT FROM
                CASE WHEN variant.is_active THEN variant.stock ELSE 0 END
            THEN product.stock
            ELSE variant.stock
        END,
        sku = product.sku,
        updated_at = now()
    FROM new_rows AS product
    WHERE variant.product_id = product.id
        AND (product.price IS DISTINCT FROM variant.price
            OR product.sku IS DISTINCT FROM variant.sku
            OR product.stock IS DISTINCT FROM
                CASE WHEN variant.is_active THEN variant.stock ELSE 0 END)
        AND NOT EXISTS (
            SELECT FROM products_variant AS other
            WHERE other.product_id = product.id AND other.id <> variant.id
        );
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_variant_write_through
AFTER UPDATE ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_variant_write_through();
