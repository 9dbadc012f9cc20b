-- A product's attribute value must fit the product's type, whoever writes it: the attribute is
-- one of the type's non-axis attributes (products_attribute_value_of_type), the value is in the
-- column of the attribute's kind (products_attribute_value_kind), an option is one of the
-- attribute's (products_attribute_value_option_of_attribute), and a choice or swatch attribute
-- has one option per product (products_attribute_value_one_option; a multiple choice may have
-- several). Each is reported by apps.core.exceptions on `attributes.<slug>`: the error's COLUMN
-- is the attribute's slug. The product row is locked first (FOR NO KEY UPDATE, which the
-- values' foreign key checks do not wait for) so that two writers of one product's values go
-- one at a time and the one-option rule holds under concurrency.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_attribute_value_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    type_id bigint;
    attribute_slug text;
    attribute_kind text;
    is_axis boolean;
    value_fits boolean;
BEGIN
    SELECT product_type_id INTO type_id
    FROM products_product WHERE id = NEW.product_id FOR NO KEY UPDATE;
    SELECT slug, kind INTO attribute_slug, attribute_kind
    FROM attributes_attribute WHERE id = NEW.attribute_id;
    SELECT type_attribute.is_axis INTO is_axis
    FROM attributes_producttypeattribute type_attribute
    WHERE type_attribute.product_type_id = type_id
        AND type_attribute.attribute_id = NEW.attribute_id;
    IF type_id IS NULL OR is_axis IS NULL OR is_axis THEN
        RAISE EXCEPTION 'attribute % is not a non-axis attribute of the type of product %',
            attribute_slug, NEW.product_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_attribute_value_of_type',
                  COLUMN = attribute_slug;
    END IF;
    value_fits := CASE attribute_kind
        WHEN 'text' THEN NEW.value_text IS NOT NULL
        WHEN 'number' THEN NEW.value_number IS NOT NULL
        WHEN 'boolean' THEN NEW.value_boolean IS NOT NULL
        WHEN 'date' THEN NEW.value_date IS NOT NULL
        ELSE NEW.option_id IS NOT NULL
    END;
    IF NOT value_fits THEN
        RAISE EXCEPTION 'a value of attribute % (%) is not a %', attribute_slug, attribute_kind,
            attribute_kind
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_attribute_value_kind',
                  COLUMN = attribute_slug;
    END IF;
    IF NEW.option_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (
        SELECT FROM attributes_attributeoption
        WHERE id = NEW.option_id AND attribute_id = NEW.attribute_id
    ) THEN
        RAISE EXCEPTION 'option % is not an option of attribute %', NEW.option_id, attribute_slug
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_attribute_value_option_of_attribute',
                  COLUMN = attribute_slug;
    END IF;
    IF attribute_kind <> 'multiple_choice' AND EXISTS (
        SELECT FROM products_productattributevalue other
        WHERE other.product_id = NEW.product_id AND other.attribute_id = NEW.attribute_id
            AND other.id <> NEW.id
    ) THEN
        RAISE EXCEPTION 'product % already has an option of attribute %', NEW.product_id,
            attribute_slug
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_attribute_value_one_option',
                  COLUMN = attribute_slug;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_attribute_value_check
BEFORE INSERT OR UPDATE ON products_productattributevalue
FOR EACH ROW EXECUTE FUNCTION products_attribute_value_check();
