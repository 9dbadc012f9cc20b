-- A product keeps at least one variant: at commit, a product that still exists and has lost
-- its last variant (deleted, or moved to another product) is refused
-- (products_product_requires_variant, reported by apps.core.exceptions). Deferred to the commit
-- so that a transaction may replace a product's only variant, and so that deleting a product,
-- which deletes its variants first, passes.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_variant_require_one() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM products_product WHERE id = OLD.product_id)
        AND NOT EXISTS (SELECT FROM products_variant WHERE product_id = OLD.product_id) THEN
        RAISE EXCEPTION 'product % would have no variant', OLD.product_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_requires_variant';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER products_product_requires_variant
AFTER DELETE OR UPDATE OF product_id ON products_variant
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION products_variant_require_one();
