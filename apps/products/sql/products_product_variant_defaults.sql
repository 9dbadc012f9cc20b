-- A product with one variant is the summary of that variant: its highest price is its price.
-- A new product is inserted so (it gets one variant, from products_product_default_variant,
-- after the statement), and a price written to a one-variant product moves price_max with it
-- before the row is written: otherwise the summary trigger, after the write-through, would
-- update each such product a second time only to set price_max.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_variant_defaults() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.variant_count := 1;
    END IF;
    NEW.price_max := NEW.price;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_variant_defaults_insert
BEFORE INSERT ON products_product
FOR EACH ROW EXECUTE FUNCTION products_product_variant_defaults();

CREATE OR REPLACE TRIGGER products_product_variant_defaults_update
BEFORE UPDATE ON products_product
FOR EACH ROW
WHEN (NEW.variant_count = 1 AND NEW.price_max IS DISTINCT FROM NEW.price)
EXECUTE FUNCTION products_product_variant_defaults();
