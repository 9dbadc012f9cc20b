-- A variant's options are one option of each variant axis of its product's type: none for a
-- product without a type or whose type has no variants (which so has one variant, by the
-- unique (product, option_ids)). Checked at commit, because a product's first variant is made
-- by products_product_default_variant without options before its writer gives them: after a
-- variant's options change (products_variant_options, products_variant_options_of_axes, a 400
-- on `options`) and after a product's type changes, for all its variants
-- (products_product_variant_options, products_product_type_fits_variants, a 400 on
-- `product_type`). The services check it before they return (SET CONSTRAINTS ... IMMEDIATE).
-- It reads the variants' options FOR KEY SHARE, against their concurrent deletion
-- (products_option_check_variants), and the product's type FOR KEY SHARE first, so that a
-- concurrent change of the type's axes (products_type_attribute_check_axes locks the type FOR
-- UPDATE) is waited for and then read. (The product's own foreign key to its type took that
-- lock before, but its check runs at commit in the order the events were queued, after this
-- one once a later statement rewrites the product row.)
-- A change of this file needs a migration: see docs/database.md.

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

CREATE CONSTRAINT TRIGGER products_variant_options
AFTER INSERT OR UPDATE OF option_ids, product_id ON products_variant
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION products_variant_check_options();

CREATE CONSTRAINT TRIGGER products_product_variant_options
AFTER UPDATE OF product_type_id ON products_product
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (OLD.product_type_id IS DISTINCT FROM NEW.product_type_id)
EXECUTE FUNCTION products_variant_check_options();
