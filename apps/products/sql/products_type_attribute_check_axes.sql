-- A product type's variant axes stay as its products' variants have them: an axis added to a
-- type whose products have variants (which lack an option of it) is refused
-- (products_type_axis_added_under_variants), and an axis removed while variants carry options
-- of it (products_type_axis_removed_under_variants), both reported on `attributes` by
-- apps.core.exceptions. Adding means a new axis row, an attribute made an axis, or an axis row
-- moved to this type or attribute; removing the reverse. Without it the variants would be
-- refused only at their product's next write (products_variant_check_options).
-- Turning has_variants off needs the axes gone first (attributes_product_type_check_variants),
-- so this holds it too. The type row is locked FOR UPDATE, which the foreign key checks of
-- products written with the type (FOR KEY SHARE) wait for, and the other way round: a
-- product given the type at the same time is seen here, or sees the new axes at its commit.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_type_attribute_check_axes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.is_axis AND (
        TG_OP = 'DELETE'
        OR NOT NEW.is_axis
        OR NEW.product_type_id IS DISTINCT FROM OLD.product_type_id
        OR NEW.attribute_id IS DISTINCT FROM OLD.attribute_id
    ) THEN
        PERFORM FROM attributes_producttype WHERE id = OLD.product_type_id FOR UPDATE;
        IF EXISTS (
            SELECT FROM products_variant variant
            JOIN products_product product ON product.id = variant.product_id
            WHERE product.product_type_id = OLD.product_type_id
                AND variant.option_ids && ARRAY(
                    SELECT option.id FROM attributes_attributeoption option
                    WHERE option.attribute_id = OLD.attribute_id
                )
        ) THEN
            RAISE EXCEPTION 'variants of products of type % have options of axis %',
                OLD.product_type_id, OLD.attribute_id
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'products_type_axis_removed_under_variants';
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.is_axis AND (
        TG_OP = 'INSERT'
        OR NOT OLD.is_axis
        OR NEW.product_type_id IS DISTINCT FROM OLD.product_type_id
        OR NEW.attribute_id IS DISTINCT FROM OLD.attribute_id
    ) THEN
        PERFORM FROM attributes_producttype WHERE id = NEW.product_type_id FOR UPDATE;
        IF EXISTS (
            SELECT FROM products_variant variant
            JOIN products_product product ON product.id = variant.product_id
            WHERE product.product_type_id = NEW.product_type_id
        ) THEN
            RAISE EXCEPTION 'products of type % have variants without an option of axis %',
                NEW.product_type_id, NEW.attribute_id
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'products_type_axis_added_under_variants';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_type_attribute_axes_insert
BEFORE INSERT ON attributes_producttypeattribute
FOR EACH ROW WHEN (NEW.is_axis)
EXECUTE FUNCTION products_type_attribute_check_axes();

CREATE OR REPLACE TRIGGER products_type_attribute_axes_update
BEFORE UPDATE OF product_type_id, attribute_id, is_axis ON attributes_producttypeattribute
FOR EACH ROW
WHEN ((OLD.is_axis OR NEW.is_axis) AND (
    OLD.is_axis IS DISTINCT FROM NEW.is_axis
    OR OLD.product_type_id IS DISTINCT FROM NEW.product_type_id
    OR OLD.attribute_id IS DISTINCT FROM NEW.attribute_id))
EXECUTE FUNCTION products_type_attribute_check_axes();

CREATE OR REPLACE TRIGGER products_type_attribute_axes_delete
BEFORE DELETE ON attributes_producttypeattribute
FOR EACH ROW WHEN (OLD.is_axis)
EXECUTE FUNCTION products_type_attribute_check_axes();
