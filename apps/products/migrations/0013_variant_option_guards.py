"""Guards of variants' options (issue 13, the gaps of slices 1-2): frozen copies of
apps/products/sql/ (see docs/database.md).

- variant_option_ids: a GIN index on products_variant.option_ids. The option ids are an array
  with no foreign key, so every question "which variants carry option X" (the trigger below on
  each option deleted, the admin's filter by option, `option_ids @> ARRAY[id]`) scanned every
  variant; with the index it is an index scan. Building it reads the variants once (seconds on
  millions of variants) and blocks writes of variants meanwhile.
- products_option_check_variants (triggers products_option_variants_delete, _update): an option
  that a variant carries is not deleted nor moved to another attribute.
- products_type_attribute_check_axes (triggers products_type_attribute_axes_insert, _update,
  _delete): a type's axes do not change under its products' variants.
- products_variant_check_options: reads the variants' options FOR KEY SHARE at commit, so that
  a concurrent delete of one waits and then sees the variant.
- Product.rating_average divides the sum as a numeric(10, 0), which holds any integer sum: the
  numeric(12, 4) it was cast to held sums below 10^8 only (20 million five-star reviews), past
  which the product's next review was a server error ("numeric field overflow"). PostgreSQL 15
  cannot change a generated column's expression, so the column is dropped (with its two
  indexes) and added again: the ADD rewrites the products table under an ACCESS EXCLUSIVE lock
  (reads wait too, with every index of the table rebuilt), then the two indexes are built.
  Measured on 100,000 products (benchmarks/generate_catalogue.py, PostgreSQL 15, 2 shared
  cores, load average 3 to 5): the ADD 1.6 s, the two indexes 0.2 s, the GIN index 0.03 s;
  `manage.py migrate products 0013` from 0011 took 2.9 s, back 2.6 s. A million products should
  take about ten times that (not measured), far below products.0007's UPDATE.
"""

from decimal import Decimal

import django.contrib.postgres.indexes
from django.db import migrations, models
from django.db.models.functions import Cast


def rating_average() -> models.GeneratedField:
    """Return Product.rating_average as it is now (the sum divided as a numeric(10, 0))."""
    return models.GeneratedField(
        expression=models.Case(
            models.When(review_count=0, then=models.Value(Decimal("0"))),
            default=Cast("rating_sum", models.DecimalField(max_digits=10, decimal_places=0))
            / models.F("review_count"),
        ),
        output_field=models.DecimalField(decimal_places=2, max_digits=3),
        db_persist=True,
    )


RATING_INDEXES = [
    models.Index(
        fields=["rating_average", "id"],
        condition=models.Q(is_active=True),
        name="product_active_rating",
    ),
    models.Index(
        fields=["category"],
        include=["id", "price", "stock", "rating_average"],
        condition=models.Q(is_active=True),
        name="product_active_category_facets",
    ),
]


OPTION_VARIANTS = """
CREATE OR REPLACE FUNCTION products_option_check_variants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM products_variant WHERE option_ids @> ARRAY[OLD.id]) THEN
        RAISE EXCEPTION 'variants have option % of attribute %', OLD.slug, OLD.attribute_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_option_used_by_variants';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_option_variants_delete
BEFORE DELETE ON attributes_attributeoption
FOR EACH ROW EXECUTE FUNCTION products_option_check_variants();

CREATE OR REPLACE TRIGGER products_option_variants_update
BEFORE UPDATE OF attribute_id ON attributes_attributeoption
FOR EACH ROW WHEN (OLD.attribute_id IS DISTINCT FROM NEW.attribute_id)
EXECUTE FUNCTION products_option_check_variants();
"""

DROP_OPTION_VARIANTS = """
DROP TRIGGER products_option_variants_delete ON attributes_attributeoption;
DROP TRIGGER products_option_variants_update ON attributes_attributeoption;
DROP FUNCTION products_option_check_variants();
"""

TYPE_AXES = """
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
"""

DROP_TYPE_AXES = """
DROP TRIGGER products_type_attribute_axes_insert ON attributes_producttypeattribute;
DROP TRIGGER products_type_attribute_axes_update ON attributes_producttypeattribute;
DROP TRIGGER products_type_attribute_axes_delete ON attributes_producttypeattribute;
DROP FUNCTION products_type_attribute_check_axes();
"""

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

PREVIOUS_OPTIONS_CHECK = """
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
"""


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0012_variant_tags"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="variant",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["option_ids"], name="variant_option_ids"
            ),
        ),
        migrations.RunSQL(OPTION_VARIANTS, DROP_OPTION_VARIANTS),
        migrations.RunSQL(TYPE_AXES, DROP_TYPE_AXES),
        migrations.RunSQL(OPTIONS_CHECK, PREVIOUS_OPTIONS_CHECK),
        *(
            migrations.RemoveIndex(model_name="product", name=index.name)
            for index in RATING_INDEXES
        ),
        migrations.RemoveField(model_name="product", name="rating_average"),
        migrations.AddField(
            model_name="product", name="rating_average", field=rating_average()
        ),
        *(migrations.AddIndex(model_name="product", index=index) for index in RATING_INDEXES),
    ]
