-- A product's type changes only if the product's attribute values all fit the new type: each
-- value's attribute is one of the new type's non-axis attributes (none without a type).
-- Otherwise products_product_type_keeps_values, reported by apps.core.exceptions on
-- `product_type`. A write that replaces the values deletes them first (the services do).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_check_type_values() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT FROM products_productattributevalue value
        WHERE value.product_id = NEW.id
            AND NOT EXISTS (
                SELECT FROM attributes_producttypeattribute type_attribute
                WHERE type_attribute.product_type_id = NEW.product_type_id
                    AND type_attribute.attribute_id = value.attribute_id
                    AND NOT type_attribute.is_axis
            )
    ) THEN
        RAISE EXCEPTION 'product % has values of attributes that type % lacks', NEW.id,
            NEW.product_type_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_type_keeps_values';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_type_values
BEFORE UPDATE OF product_type_id ON products_product
FOR EACH ROW WHEN (OLD.product_type_id IS DISTINCT FROM NEW.product_type_id)
EXECUTE FUNCTION products_product_check_type_values();
