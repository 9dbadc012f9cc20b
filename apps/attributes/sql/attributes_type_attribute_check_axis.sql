-- A variant axis is a choice or swatch attribute of a product type with variants
-- (attributes_axis_of_choice_or_swatch, attributes_axis_of_type_with_variants, reported on
-- ``attributes`` by apps.core.exceptions). The attribute and the type are read FOR SHARE, so
-- that a concurrent change of the kind or of has_variants waits for this write or this write
-- for it.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION attributes_type_attribute_check_axis() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.is_axis THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM attributes_attribute
        WHERE id = NEW.attribute_id AND kind IN ('choice', 'swatch') FOR SHARE
    ) THEN
        RAISE EXCEPTION 'attribute % is not a choice or swatch attribute: it cannot be an axis',
            NEW.attribute_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'attributes_axis_of_choice_or_swatch';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM attributes_producttype
        WHERE id = NEW.product_type_id AND has_variants FOR SHARE
    ) THEN
        RAISE EXCEPTION 'product type % has no variants: it has no axes', NEW.product_type_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'attributes_axis_of_type_with_variants';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER attributes_type_attribute_axis
BEFORE INSERT OR UPDATE ON attributes_producttypeattribute
FOR EACH ROW EXECUTE FUNCTION attributes_type_attribute_check_axis();
