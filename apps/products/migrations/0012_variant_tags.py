"""The filtering read model of issue 13 slice 3 (VariantTags, table products_variant_tags) and
the option summary (CategoryOptionCount), kept by PostgreSQL: the type
products_option_count_change, the functions products_variant_tags_refresh and
products_variant_tags_follow and the latter's triggers, frozen copies of their files in
apps/products/sql (see docs/database.md).

The triggers are created before the backfill, in the same transaction: CREATE TRIGGER locks out
writes to the tables until the commit, so nothing is written in between that the backfill would
miss. The backfill is one INSERT ... SELECT of every product's rows and one count of the
summary (products_variant_tags_refresh over every product, without row locks: the migration's
tables are locked). Reversing it drops the objects and the two tables.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models

CHANGE_TYPE = """
CREATE TYPE products_option_count_change AS (
    category_id bigint,
    option_id bigint,
    products integer
);
"""

REFRESH = """
CREATE OR REPLACE FUNCTION products_variant_tags_refresh(
    product_ids bigint[], lock_products boolean DEFAULT true
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    changes products_option_count_change[];
    below_zero bigint;
BEGIN
    IF cardinality(product_ids) = 0 THEN
        RETURN;
    END IF;
    IF lock_products THEN
        PERFORM FROM products_product WHERE id = ANY(product_ids) ORDER BY id FOR NO KEY UPDATE;
    END IF;
    changes := ARRAY(
        SELECT ROW(tags.category_id, tag, -count(DISTINCT tags.product_id)::integer
               )::products_option_count_change
        FROM products_variant_tags tags CROSS JOIN LATERAL unnest(tags.tags) AS tag
        WHERE tags.product_id = ANY(product_ids) AND tags.listed AND tag > 0
        GROUP BY tags.category_id, tag
    );
    DELETE FROM products_variant_tags WHERE product_id = ANY(product_ids);
    INSERT INTO products_variant_tags (variant_id, product_id, category_id, listed, tags)
    SELECT variant.id, product.id, product.category_id, product.is_active,
           variant.option_ids || product.tags
    FROM (
        SELECT product.id, product.category_id, product.is_active,
               ARRAY(
                   SELECT value.option_id FROM products_productattributevalue value
                   WHERE value.product_id = product.id AND value.option_id IS NOT NULL
               ) || ARRAY(
                   SELECT -ancestor::bigint
                   FROM unnest(string_to_array(btrim(category.path, '/'), '/')) AS ancestor
               ) AS tags
        FROM products_product product
        JOIN products_category category ON category.id = product.category_id
        WHERE product.id = ANY(product_ids)
    ) AS product
    JOIN products_variant variant ON variant.product_id = product.id AND variant.is_active;
    changes := changes || ARRAY(
        SELECT ROW(tags.category_id, tag, count(DISTINCT tags.product_id)::integer
               )::products_option_count_change
        FROM products_variant_tags tags CROSS JOIN LATERAL unnest(tags.tags) AS tag
        WHERE tags.product_id = ANY(product_ids) AND tags.listed AND tag > 0
        GROUP BY tags.category_id, tag
    );
    IF cardinality(changes) = 0 THEN
        RETURN;
    END IF;
    -- Netted per row and written in key order: two writers never wait for each other in a
    -- cycle. A row would fall below 0 only if the summary had drifted from the read model.
    WITH written AS (
        INSERT INTO products_categoryoptioncount AS summary (category_id, option_id, products)
        SELECT change.category_id, change.option_id, sum(change.products)
        FROM unnest(changes) AS change
        GROUP BY change.category_id, change.option_id
        HAVING sum(change.products) <> 0
        ORDER BY change.category_id, change.option_id
        ON CONFLICT (category_id, option_id)
        DO UPDATE SET products = summary.products + excluded.products
        RETURNING summary.products
    )
    SELECT count(*) FILTER (WHERE products < 0) INTO below_zero FROM written;
    IF below_zero > 0 THEN
        RAISE EXCEPTION 'the option summary would count fewer than no products'
            USING ERRCODE = 'check_violation',
                  HINT = 'Recount it: manage.py rebuild_facet_counts.';
    END IF;
    DELETE FROM products_categoryoptioncount AS summary
    USING (SELECT DISTINCT change.category_id, change.option_id FROM unnest(changes) AS change)
        AS change
    WHERE summary.category_id = change.category_id AND summary.option_id = change.option_id
        AND summary.products = 0;
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
            touched := ARRAY(
                SELECT DISTINCT product_id FROM new_rows WHERE option_id IS NOT NULL
            );
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(
                SELECT DISTINCT product_id FROM old_rows WHERE option_id IS NOT NULL
            );
        ELSE
            touched := ARRAY(
                SELECT touched_product.id FROM (
                    SELECT earlier.product_id AS old_product_id, later.product_id AS new_product_id
                    FROM old_rows earlier JOIN new_rows later ON later.id = earlier.id
                    WHERE (earlier.option_id, earlier.product_id)
                        IS DISTINCT FROM (later.option_id, later.product_id)
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
            JOIN new_rows later ON later.id = earlier.id AND later.path <> earlier.path
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
SELECT products_variant_tags_refresh(ARRAY(SELECT id FROM products_product), false);
ANALYZE products_variant_tags;
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
DROP TYPE IF EXISTS products_option_count_change;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('attributes', '0001_initial'),
        ('products', '0011_attribute_value_guards'),
    ]

    operations = [
        migrations.CreateModel(
            name='CategoryOptionCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('products', models.IntegerField()),
                ('category', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='products.category')),
                ('option', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='attributes.attributeoption')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('category', 'option'), name='categoryoptioncount_key')],
            },
        ),
        migrations.CreateModel(
            name='VariantTags',
            fields=[
                ('variant', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='+', serialize=False, to='products.variant')),
                ('category_id', models.BigIntegerField()),
                ('listed', models.BooleanField()),
                ('tags', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('product', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='products.product')),
            ],
            options={
                'db_table': 'products_variant_tags',
                'indexes': [django.contrib.postgres.indexes.GinIndex(fields=['tags'], name='variant_tags_gin')],
            },
        ),
        migrations.RunSQL(CHANGE_TYPE + REFRESH + FOLLOW, DROP),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
