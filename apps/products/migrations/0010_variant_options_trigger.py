"""Variants' options fit the product's type (issue 13 slice 2): the function
products_variant_check_options and its constraint triggers products_variant_options and
products_product_variant_options (deferred to the commit), frozen copies of
apps/products/sql/products_variant_check_options.sql (see docs/database.md).

No product has a type yet, so every variant must have no options: any that have some (given
made-up ids under slice 1) would be refused by the next write to them, not by this migration.
"""

from django.db import migrations

OPTIONS_CHECK = """
CREATE OR REPLACE FUNCTION products_variant_check_options() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    checked_product_id bigint;
    axis_ids bigint[];
BEGIN
    -- Two statements: PL/pgSQL would resolve both fields of a CASE on either table's row.
    IF TG_TABLE_NAME = 'products_variant' THEN
        checked_product_id := NEW.product_id;
    ELSE
        checked_product_id := NEW.id;
    END IF;
    SELECT coalesce(array_agg(type_attribute.attribute_id), '{}') INTO axis_ids
    FROM products_product product
    JOIN attributes_producttype product_type
        ON product_type.id = product.product_type_id AND product_type.has_variants
    JOIN attributes_producttypeattribute type_attribute
        ON type_attribute.product_type_id = product_type.id AND type_attribute.is_axis
    WHERE product.id = checked_product_id;
    -- The variants as they are at commit (the row may have changed since, or be gone).
    IF EXISTS (
        SELECT FROM products_variant variant
        WHERE variant.product_id = checked_product_id
            AND (TG_TABLE_NAME <> 'products_variant' OR variant.id = NEW.id)
            AND NOT (
                cardinality(variant.option_ids) = cardinality(axis_ids)
                AND (
                    SELECT count(DISTINCT option.attribute_id)
                    FROM attributes_attributeoption option
                    WHERE option.id = ANY(variant.option_ids)
                        AND option.attribute_id = ANY(axis_ids)
                ) = cardinality(axis_ids)
            )
    ) THEN
        IF TG_TABLE_NAME = 'products_variant' THEN
            RAISE EXCEPTION 'variant % needs one option of each axis of its type', NEW.id
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'products_variant_options_of_axes';
        END IF;
        RAISE EXCEPTION 'the variants of product % do not fit the axes of its type', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_product_type_fits_variants';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER products_variant_options
AFTER INSERT OR UPDATE OF option_ids, product_id ON products_variant
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION products_variant_check_options();

CREATE CONSTRAINT TRIGGER products_product_variant_options
AFTER UPDATE OF product_type_id ON products_product
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (OLD.product_type_id IS DISTINCT FROM NEW.product_type_id)
EXECUTE FUNCTION products_variant_check_options();
"""

DROP_OPTIONS_CHECK = """
DROP TRIGGER products_product_variant_options ON products_product;
DROP TRIGGER products_variant_options ON products_variant;
DROP FUNCTION products_variant_check_options();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0009_attribute_value_triggers"),
    ]

    operations = [
        migrations.RunSQL(OPTIONS_CHECK, DROP_OPTIONS_CHECK),
    ]
