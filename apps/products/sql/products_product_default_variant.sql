-- Every product has at least one variant: each product a statement inserts gets one, with the
-- product's SKU, price and stock, active, first. So every writer of products (the API, the
-- admin, the import's INSERT, the demo loader, the benchmark generator, raw SQL) keeps working
-- as it did before variants, and the product is the exact summary of its variant.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_default_variant() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO products_variant
        (created_at, updated_at, product_id, sku, price, stock, is_active, position, option_ids)
    SELECT created_at, updated_at, id, sku, price, stock, true, 0, '{}'
    FROM new_rows
    ORDER BY id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_default_variant
AFTER INSERT ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_product_default_variant();
