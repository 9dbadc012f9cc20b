"""Attribute values fit the product's type (issue 13 slice 2): the triggers, frozen copies of
apps/products/sql/ (see docs/database.md).

- products_attribute_value_check: a value's attribute is a non-axis attribute of the product's
  type, its column is the kind's, its option the attribute's, one option per choice or swatch.
- products_product_type_values: a product's type changes only if its values fit the new type.

No product has values or a type yet: nothing to backfill or check.
"""

from django.db import migrations

VALUE_CHECK = """
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
"""

TYPE_VALUES = """
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
"""

DROP_VALUE_CHECK = """
DROP TRIGGER products_attribute_value_check ON products_productattributevalue;
DROP FUNCTION products_attribute_value_check();
"""

DROP_TYPE_VALUES = """
DROP TRIGGER products_product_type_values ON products_product;
DROP FUNCTION products_product_check_type_values();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0008_product_type_attribute_values"),
    ]

    operations = [
        migrations.RunSQL(VALUE_CHECK, DROP_VALUE_CHECK),
        migrations.RunSQL(TYPE_VALUES, DROP_TYPE_VALUES),
    ]
