-- A product type with variant axes keeps has_variants on (attributes_type_with_axes_has_variants,
-- reported on ``has_variants`` by apps.core.exceptions). The row is locked by the UPDATE, and
-- the writers of axes read it FOR SHARE: they wait for each other.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION attributes_product_type_check_variants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM attributes_producttypeattribute WHERE product_type_id = NEW.id AND is_axis
    ) THEN
        RAISE EXCEPTION 'product type % has variant axes: it keeps its variants', NEW.id
            USING ERRCODE = 'check_violation',
                CONSTRAINT = 'attributes_type_with_axes_has_variants';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER attributes_product_type_variants
BEFORE UPDATE OF has_variants ON attributes_producttype
FOR EACH ROW WHEN (OLD.has_variants AND NOT NEW.has_variants)
EXECUTE FUNCTION attributes_product_type_check_variants();
