"""Attribute values keep their attribute's kind and their place in the type (issue 13 slice 2):
frozen copies of apps/products/sql/ (see docs/database.md).

- products_attribute_kind_values: an attribute's kind does not change once products have values
  of it.
- products_type_attribute_values_delete, products_type_attribute_values_update: a type keeps,
  as a non-axis attribute, every attribute its products have values of.
"""

from django.db import migrations

KIND_VALUES = """
CREATE OR REPLACE FUNCTION products_attribute_check_kind_values() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM products_productattributevalue WHERE attribute_id = NEW.id) THEN
        RAISE EXCEPTION 'attribute % has product values: its kind stays %', NEW.slug, OLD.kind
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'attributes_attribute_kind_keeps_values';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_attribute_kind_values
BEFORE UPDATE OF kind ON attributes_attribute
FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind)
EXECUTE FUNCTION products_attribute_check_kind_values();
"""

TYPE_ATTRIBUTE_VALUES = """
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
"""

DROP_KIND_VALUES = """
DROP TRIGGER products_attribute_kind_values ON attributes_attribute;
DROP FUNCTION products_attribute_check_kind_values();
"""

DROP_TYPE_ATTRIBUTE_VALUES = """
DROP TRIGGER products_type_attribute_values_delete ON attributes_producttypeattribute;
DROP TRIGGER products_type_attribute_values_update ON attributes_producttypeattribute;
DROP FUNCTION products_type_attribute_check_values();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0010_variant_options_trigger"),
    ]

    operations = [
        migrations.RunSQL(KIND_VALUES, DROP_KIND_VALUES),
        migrations.RunSQL(TYPE_ATTRIBUTE_VALUES, DROP_TYPE_ATTRIBUTE_VALUES),
    ]
