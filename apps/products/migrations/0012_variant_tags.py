"""The filtering read model of issue 13 slice 3 (VariantTags, ProductTags) and its summaries
(CategoryTagCount, CategoryNumberCount), kept by PostgreSQL: the types
products_tag_count_change and products_number_count_change, the functions products_yes_no_tag,
products_variant_tags_counts, products_variant_tags_refresh and products_variant_tags_follow
with the latter's triggers, frozen copies of their files in apps/products/sql (see
docs/database.md).

The triggers are created before the backfill, in the same transaction: CREATE TRIGGER locks out
writes to the tables until the commit, so nothing is written in between that the backfill would
miss. The backfill is products_variant_tags_refresh over every product, 50,000 at a time,
without row locks (the tables are locked): set-based, one statement per step. Reversing it drops the objects and the
four tables.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models

TAG_COUNT_CHANGE = """
CREATE TYPE products_tag_count_change AS (
    category_id bigint,
    tag bigint,
    products integer
);
"""

NUMBER_COUNT_CHANGE = """
CREATE TYPE products_number_count_change AS (
    category_id bigint,
    attribute_id bigint,
    value numeric(18, 6),
    products integer
);
"""

YES_NO_TAG = """
CREATE OR REPLACE FUNCTION products_yes_no_tag(attribute_id bigint, value boolean)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 1152921504606846976 + 2 * attribute_id + value::integer
$$;
"""

COUNTS = """
CREATE OR REPLACE FUNCTION products_variant_tags_counts(
    product_ids bigint[],
    sign integer,
    OUT tags products_tag_count_change[],
    OUT numbers products_number_count_change[]
)
LANGUAGE sql STABLE AS $$
    SELECT
        ARRAY(
            SELECT ROW(-ancestor, tag, sign * count(*)::integer)::products_tag_count_change
            FROM (
                SELECT product.product_id, ancestor, tag
                FROM products_product_tags product,
                     unnest(product.tags) AS ancestor,
                     unnest(product.tags) AS tag
                WHERE product.product_id IN (SELECT unnest(product_ids)) AND product.listed
                    AND ancestor < 0 AND tag > 0
                UNION
                SELECT product.product_id, ancestor, option
                FROM products_product_tags product
                JOIN products_variant_tags variant ON variant.product_id = product.product_id,
                     unnest(product.tags) AS ancestor,
                     unnest(variant.option_ids) AS option
                WHERE product.product_id IN (SELECT unnest(product_ids)) AND product.listed AND ancestor < 0
            ) AS product_tag
            GROUP BY ancestor, tag
        ),
        ARRAY(
            SELECT ROW(-ancestor, number.attribute_id, number.value, sign * count(*)::integer
                   )::products_number_count_change
            FROM products_product_tags product,
                 unnest(product.tags) AS ancestor,
                 unnest(product.number_attribute_ids, product.number_values)
                     AS number (attribute_id, value)
            WHERE product.product_id IN (SELECT unnest(product_ids)) AND product.listed AND ancestor < 0
            GROUP BY ancestor, number.attribute_id, number.value
        )
$$;
"""

REFRESH = """
CREATE OR REPLACE FUNCTION products_variant_tags_refresh(
    product_ids bigint[], lock_products boolean DEFAULT true
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    earlier_tags products_tag_count_change[];
    earlier_numbers products_number_count_change[];
    later_tags products_tag_count_change[];
    later_numbers products_number_count_change[];
    below_zero bigint;
BEGIN
    IF cardinality(product_ids) = 0 THEN
        RETURN;
    END IF;
    IF lock_products THEN
        PERFORM FROM products_product WHERE id IN (SELECT unnest(product_ids))
        ORDER BY id FOR NO KEY UPDATE;
    END IF;
    SELECT tags, numbers INTO earlier_tags, earlier_numbers
    FROM products_variant_tags_counts(product_ids, -1);
    DELETE FROM products_variant_tags WHERE product_id IN (SELECT unnest(product_ids));
    DELETE FROM products_product_tags WHERE product_id IN (SELECT unnest(product_ids));
    INSERT INTO products_product_tags
        (product_id, listed, tags, number_attribute_ids, number_values)
    SELECT product.id, product.is_active AND category.is_active,
           coalesce(own.tags, '{}') || ARRAY(
               SELECT -ancestor::bigint
               FROM unnest(string_to_array(btrim(category.path, '/'), '/')) AS ancestor
           ),
           coalesce(own.number_attribute_ids, '{}'),
           coalesce(own.number_values, '{}')
    FROM products_product product
    JOIN products_category category ON category.id = product.category_id
    LEFT JOIN (
        SELECT value.product_id,
               array_agg(coalesce(
                   value.option_id,
                   products_yes_no_tag(value.attribute_id, value.value_boolean)
               )) FILTER (WHERE value.option_id IS NOT NULL OR value.value_boolean IS NOT NULL)
                   AS tags,
               array_agg(value.attribute_id ORDER BY value.id)
                   FILTER (WHERE value.value_number IS NOT NULL) AS number_attribute_ids,
               array_agg(value.value_number ORDER BY value.id)
                   FILTER (WHERE value.value_number IS NOT NULL) AS number_values
        FROM products_productattributevalue value
        WHERE value.product_id IN (SELECT unnest(product_ids))
        GROUP BY value.product_id
    ) AS own ON own.product_id = product.id
    WHERE product.id IN (SELECT unnest(product_ids))
        AND EXISTS (
            SELECT FROM products_variant variant
            WHERE variant.product_id = product.id AND variant.is_active
        );
    INSERT INTO products_variant_tags (variant_id, product_id, listed, option_ids, tags)
    SELECT variant.id, product.product_id, product.listed, variant.option_ids,
           variant.option_ids || product.tags
    FROM products_product_tags product
    JOIN products_variant variant
        ON variant.product_id = product.product_id AND variant.is_active
    WHERE product.product_id IN (SELECT unnest(product_ids));
    SELECT tags, numbers INTO later_tags, later_numbers
    FROM products_variant_tags_counts(product_ids, 1);

    -- Netted per row and written in key order: two writers never wait for each other in a
    -- cycle. A row would fall below 0 only if a summary had drifted from the read model.
    WITH written AS (
        INSERT INTO products_categorytagcount AS summary (category_id, tag, products)
        SELECT change.category_id, change.tag, sum(change.products)
        FROM unnest(earlier_tags || later_tags) AS change
        GROUP BY change.category_id, change.tag
        HAVING sum(change.products) <> 0
        ORDER BY change.category_id, change.tag
        ON CONFLICT (category_id, tag)
        DO UPDATE SET products = summary.products + excluded.products
        RETURNING summary.products
    )
    SELECT count(*) FILTER (WHERE products < 0) INTO below_zero FROM written;
    WITH written AS (
        INSERT INTO products_categorynumbercount AS summary
            (category_id, attribute_id, value, products)
        SELECT change.category_id, change.attribute_id, change.value, sum(change.products)
        FROM unnest(earlier_numbers || later_numbers) AS change
        GROUP BY change.category_id, change.attribute_id, change.value
        HAVING sum(change.products) <> 0
        ORDER BY change.category_id, change.attribute_id, change.value
        ON CONFLICT (category_id, attribute_id, value)
        DO UPDATE SET products = summary.products + excluded.products
        RETURNING summary.products
    )
    SELECT below_zero + count(*) FILTER (WHERE products < 0) INTO below_zero FROM written;
    IF below_zero > 0 THEN
        RAISE EXCEPTION 'the attribute summary would count fewer than no products'
            USING ERRCODE = 'check_violation',
                  HINT = 'Recount it: manage.py rebuild_facet_counts.';
    END IF;
    DELETE FROM products_categorytagcount AS summary
    USING unnest(earlier_tags || later_tags) AS change
    WHERE summary.category_id = change.category_id AND summary.tag = change.tag
        AND summary.products = 0;
    DELETE FROM products_categorynumbercount AS summary
    USING unnest(earlier_numbers || later_numbers) AS change
    WHERE summary.category_id = change.category_id AND summary.attribute_id = change.attribute_id
        AND summary.value = change.value AND summary.products = 0;
END;
$$;
"""

FOLLOW = """
CREATE OR REPLACE FUNCTION products_variant_tags_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_TABLE_NAME = 'products_variant' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT touched_product.id FROM (
                    SELECT earlier.product_id AS old_product_id, later.product_id AS new_product_id
                    FROM old_rows earlier JOIN new_rows later ON later.id = earlier.id
                    WHERE (earlier.is_active, earlier.option_ids, earlier.product_id)
                        IS DISTINCT FROM (later.is_active, later.option_ids, later.product_id)
                ) AS changed, LATERAL (VALUES (old_product_id), (new_product_id))
                    AS touched_product (id)
                GROUP BY touched_product.id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_productattributevalue' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT touched_product.id FROM (
                    SELECT earlier.product_id AS old_product_id, later.product_id AS new_product_id
                    FROM old_rows earlier JOIN new_rows later ON later.id = earlier.id
                    WHERE (earlier.product_id, earlier.option_id, earlier.value_boolean,
                           earlier.value_number)
                        IS DISTINCT FROM (later.product_id, later.option_id, later.value_boolean,
                                          later.value_number)
                ) AS changed, LATERAL (VALUES (old_product_id), (new_product_id))
                    AS touched_product (id)
                GROUP BY touched_product.id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_product' THEN
        touched := ARRAY(
            SELECT later.id
            FROM old_rows earlier JOIN new_rows later ON later.id = earlier.id
            WHERE (earlier.category_id, earlier.is_active)
                IS DISTINCT FROM (later.category_id, later.is_active)
        );
    ELSE
        touched := ARRAY(
            SELECT product.id
            FROM old_rows earlier
            JOIN new_rows later ON later.id = earlier.id
                AND (later.path, later.is_active) IS DISTINCT FROM (earlier.path, earlier.is_active)
            JOIN products_product product ON product.category_id = later.id
        );
    END IF;
    PERFORM products_variant_tags_refresh(touched);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_variant_tags_variant_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_variant_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_variant_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_value_insert
AFTER INSERT ON products_productattributevalue
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_value_update
AFTER UPDATE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_value_delete
AFTER DELETE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_product_update
AFTER UPDATE ON products_product
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();

CREATE OR REPLACE TRIGGER products_variant_tags_category_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_tags_follow();
"""

BACKFILL = """
LOCK TABLE products_category, products_product, products_variant,
    products_productattributevalue IN SHARE ROW EXCLUSIVE MODE;
DO $$
DECLARE
    low bigint;
    high bigint;
BEGIN
    SELECT min(id), max(id) INTO low, high FROM products_product;
    WHILE low <= high LOOP
        PERFORM products_variant_tags_refresh(
            ARRAY(SELECT id FROM products_product WHERE id >= low AND id < low + 50000), false
        );
        low := low + 50000;
    END LOOP;
END
$$;
ANALYZE products_variant_tags;
ANALYZE products_product_tags;
"""

DROP = """
DROP TRIGGER IF EXISTS products_variant_tags_variant_insert ON products_variant;
DROP TRIGGER IF EXISTS products_variant_tags_variant_update ON products_variant;
DROP TRIGGER IF EXISTS products_variant_tags_variant_delete ON products_variant;
DROP TRIGGER IF EXISTS products_variant_tags_value_insert ON products_productattributevalue;
DROP TRIGGER IF EXISTS products_variant_tags_value_update ON products_productattributevalue;
DROP TRIGGER IF EXISTS products_variant_tags_value_delete ON products_productattributevalue;
DROP TRIGGER IF EXISTS products_variant_tags_product_update ON products_product;
DROP TRIGGER IF EXISTS products_variant_tags_category_update ON products_category;
DROP FUNCTION IF EXISTS products_variant_tags_follow();
DROP FUNCTION IF EXISTS products_variant_tags_refresh(bigint[], boolean);
DROP FUNCTION IF EXISTS products_variant_tags_counts(bigint[], integer);
DROP FUNCTION IF EXISTS products_yes_no_tag(bigint, boolean);
DROP TYPE IF EXISTS products_number_count_change;
DROP TYPE IF EXISTS products_tag_count_change;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('attributes', '0001_initial'),
        ('products', '0011_attribute_value_guards'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProductTags',
            fields=[
                ('product', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='+', serialize=False, to='products.product')),
                ('listed', models.BooleanField()),
                ('tags', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('number_attribute_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('number_values', django.contrib.postgres.fields.ArrayField(base_field=models.DecimalField(decimal_places=6, max_digits=18), size=None)),
            ],
            options={
                'db_table': 'products_product_tags',
            },
        ),
        migrations.CreateModel(
            name='CategoryNumberCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('value', models.DecimalField(decimal_places=6, max_digits=18)),
                ('products', models.IntegerField()),
                ('attribute', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='attributes.attribute')),
                ('category', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='products.category')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('category', 'attribute', 'value'), name='categorynumbercount_key')],
            },
        ),
        migrations.CreateModel(
            name='CategoryTagCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tag', models.BigIntegerField()),
                ('products', models.IntegerField()),
                ('category', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='products.category')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('category', 'tag'), name='categorytagcount_key')],
            },
        ),
        migrations.CreateModel(
            name='VariantTags',
            fields=[
                ('variant', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='+', serialize=False, to='products.variant')),
                ('listed', models.BooleanField()),
                ('option_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('tags', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('product', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='products.product')),
            ],
            options={
                'db_table': 'products_variant_tags',
                'indexes': [django.contrib.postgres.indexes.GinIndex(fields=['tags'], name='variant_tags_gin')],
            },
        ),
        migrations.AddIndex(
            model_name="productattributevalue",
            index=models.Index(fields=["product"], name="attribute_value_product"),
        ),
        migrations.RunSQL(
            TAG_COUNT_CHANGE + NUMBER_COUNT_CHANGE + YES_NO_TAG + COUNTS + REFRESH + FOLLOW, DROP
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
