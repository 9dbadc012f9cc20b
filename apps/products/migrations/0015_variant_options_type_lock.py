"""The variants' options check (products_variant_check_options) reads its product's type FOR KEY
SHARE before the type's axes: a product given a type while another transaction changes the
type's axes waits for it and is then checked against the axes it committed. A frozen copy of
apps/products/sql/products_variant_check_options.sql's function; reversing restores
products.0013's.
"""

from django.db import migrations

CHECK = """
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
    PERFORM FROM attributes_producttype product_type
    WHERE product_type.id = (
        SELECT product.product_type_id FROM products_product product
        WHERE product.id = checked_product_id
    )
    FOR KEY SHARE;
    SELECT coalesce(array_agg(type_attribute.attribute_id), '{}') INTO axis_ids
    FROM products_product product
    JOIN attributes_producttype product_type
        ON product_type.id = product.product_type_id AND product_type.has_variants
    JOIN attributes_producttypeattribute type_attribute
        ON type_attribute.product_type_id = product_type.id AND type_attribute.is_axis
    WHERE product.id = checked_product_id;
    -- The options read below stay until the commit: a concurrent delete of one waits, then
    -- sees these variants (products_option_check_variants).
    PERFORM FROM attributes_attributeoption option
    WHERE option.id IN (
        SELECT unnest(variant.option_ids) FROM products_variant variant
        WHERE variant.product_id = checked_product_id
            AND (TG_TABLE_NAME <> 'products_variant' OR variant.id = NEW.id)
    )
    FOR KEY SHARE OF option;
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
"""

PREVIOUS = """
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
    -- The options read below stay until the commit: a concurrent delete of one waits, then
    -- sees these variants (products_option_check_variants).
    PERFORM FROM attributes_attributeoption option
    WHERE option.id IN (
        SELECT unnest(variant.option_ids) FROM products_variant variant
        WHERE variant.product_id = checked_product_id
            AND (TG_TABLE_NAME <> 'products_variant' OR variant.id = NEW.id)
    )
    FOR KEY SHARE OF option;
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
"""


class Migration(migrations.Migration):
    dependencies = [("products", "0014_search_variants")]

    operations = [migrations.RunSQL(CHECK, PREVIOUS)]
