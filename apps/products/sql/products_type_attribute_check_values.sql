-- A product type keeps, as a non-axis attribute, every attribute its products have values of:
-- removing it from the type, or making it an axis, is refused while they do
-- (products_type_attribute_keeps_values, reported by apps.core.exceptions on `attributes`).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_type_attribute_check_values() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT FROM products_productattributevalue value
        JOIN products_product product ON product.id = value.product_id
        WHERE product.product_type_id = OLD.product_type_id
            AND value.attribute_id = OLD.attribute_id
    ) THEN
        RAISE EXCEPTION 'products of type % have values of attribute %', OLD.product_type_id,
            OLD.attribute_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_type_attribute_keeps_values';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_type_attribute_values_delete
BEFORE DELETE ON attributes_producttypeattribute
FOR EACH ROW EXECUTE FUNCTION products_type_attribute_check_values();

CREATE OR REPLACE TRIGGER products_type_attribute_values_update
BEFORE UPDATE OF product_type_id, attribute_id, is_axis ON attributes_producttypeattribute
FOR EACH ROW
WHEN (OLD.product_type_id IS DISTINCT FROM NEW.product_type_id
    OR OLD.attribute_id IS DISTINCT FROM NEW.attribute_id
    OR (NEW.is_axis AND NOT OLD.is_axis))
EXECUTE FUNCTION products_type_attribute_check_values();
