"""The transactional outbox (issue 14): the table events_event (the model Event), and the
objects that fill it, frozen copies of their files in apps/events/sql (see docs/database.md and
docs/events.md): the type events_change, the function events_emit, and the trigger functions
events_product_record, events_variant_record, events_category_record, events_image_record,
events_review_record and events_attribute_value_record with their triggers. Nothing is
backfilled: the outbox holds the changes committed from now on. Reversing it drops them all.
"""

import apps.events.models
import django.contrib.postgres.fields
import django.contrib.postgres.functions
from django.db import migrations, models

CHANGE = """
CREATE TYPE events_change AS (
    type text,
    entity_id bigint,
    product_id bigint,
    changes text[]
);
"""

EMIT = """
CREATE OR REPLACE FUNCTION events_emit(emitted events_change[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(emitted) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO events_event AS event (type, entity, entity_id, product_id, changes)
    SELECT change.type, split_part(change.type, '.', 1), change.entity_id, change.product_id,
           change.changes
    FROM unnest(emitted) AS change
    ON CONFLICT (entity_id, entity, transaction_id) DO UPDATE
    SET type = CASE
            WHEN split_part(excluded.type, '.', 2) IN ('created', 'deleted') THEN excluded.type
            WHEN split_part(event.type, '.', 2) = 'created' THEN event.type
            ELSE excluded.type
        END,
        changes = CASE
            WHEN split_part(excluded.type, '.', 2) IN ('created', 'deleted')
                OR split_part(event.type, '.', 2) = 'created'
            THEN '{}'
            ELSE ARRAY(SELECT DISTINCT unnest(event.changes || excluded.changes) ORDER BY 1)
        END,
        product_id = excluded.product_id
    WHERE event.product_id IS DISTINCT FROM excluded.product_id
        OR NOT (
            (split_part(event.type, '.', 2) = 'created'
                AND split_part(excluded.type, '.', 2) NOT IN ('created', 'deleted'))
            OR (event.type = excluded.type AND event.changes @> excluded.changes)
        );
END;
$$;
"""

PRODUCT = """
CREATE OR REPLACE FUNCTION events_product_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('product.created', id, id, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('product.deleted', id, id, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('product.updated', id, id, changes)::events_change
            FROM (
                SELECT later.id, array_remove(ARRAY[
                    CASE WHEN earlier.category_id IS DISTINCT FROM later.category_id
                        THEN 'category' END,
                    CASE WHEN earlier.description IS DISTINCT FROM later.description
                        THEN 'description' END,
                    CASE WHEN earlier.is_active IS DISTINCT FROM later.is_active
                        THEN 'is_active' END,
                    CASE WHEN earlier.name IS DISTINCT FROM later.name THEN 'name' END,
                    CASE WHEN (earlier.price, earlier.price_max)
                        IS DISTINCT FROM (later.price, later.price_max) THEN 'price' END,
                    CASE WHEN earlier.product_type_id IS DISTINCT FROM later.product_type_id
                        THEN 'product_type' END,
                    CASE WHEN (earlier.rating_1_count, earlier.rating_2_count,
                               earlier.rating_3_count, earlier.rating_4_count,
                               earlier.rating_5_count, earlier.review_count, earlier.rating_sum)
                        IS DISTINCT FROM (later.rating_1_count, later.rating_2_count,
                                          later.rating_3_count, later.rating_4_count,
                                          later.rating_5_count, later.review_count,
                                          later.rating_sum)
                        THEN 'rating' END,
                    CASE WHEN earlier.sku IS DISTINCT FROM later.sku THEN 'sku' END,
                    CASE WHEN earlier.slug IS DISTINCT FROM later.slug THEN 'slug' END,
                    CASE WHEN earlier.stock IS DISTINCT FROM later.stock THEN 'stock' END
                ], NULL) AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ) AS changed
            WHERE cardinality(changes) > 0
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_product_insert
AFTER INSERT ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_product_record();

CREATE OR REPLACE TRIGGER events_product_update
AFTER UPDATE ON products_product
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_product_record();

CREATE OR REPLACE TRIGGER events_product_delete
AFTER DELETE ON products_product
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_product_record();
"""

VARIANT = """
CREATE OR REPLACE FUNCTION events_variant_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('variant.created', id, product_id, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('variant.deleted', id, product_id, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('variant.updated', id, product_id, changes)::events_change
            FROM (
                SELECT later.id, later.product_id, array_remove(ARRAY[
                    CASE WHEN earlier.is_active IS DISTINCT FROM later.is_active
                        THEN 'is_active' END,
                    CASE WHEN earlier.option_ids IS DISTINCT FROM later.option_ids
                        THEN 'options' END,
                    CASE WHEN earlier.position IS DISTINCT FROM later.position
                        THEN 'position' END,
                    CASE WHEN earlier.price IS DISTINCT FROM later.price THEN 'price' END,
                    CASE WHEN earlier.product_id IS DISTINCT FROM later.product_id
                        THEN 'product' END,
                    CASE WHEN earlier.sku IS DISTINCT FROM later.sku THEN 'sku' END,
                    CASE WHEN earlier.stock IS DISTINCT FROM later.stock THEN 'stock' END
                ], NULL) AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ) AS changed
            WHERE cardinality(changes) > 0
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_variant_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_variant_record();

CREATE OR REPLACE TRIGGER events_variant_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_variant_record();

CREATE OR REPLACE TRIGGER events_variant_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_variant_record();
"""

CATEGORY = """
CREATE OR REPLACE FUNCTION events_category_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('category.created', id, NULL, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('category.deleted', id, NULL, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('category.updated', id, NULL, changes)::events_change
            FROM (
                SELECT later.id, array_remove(ARRAY[
                    CASE WHEN earlier.path IS DISTINCT FROM later.path THEN 'breadcrumbs' END,
                    CASE WHEN earlier.description IS DISTINCT FROM later.description
                        THEN 'description' END,
                    CASE WHEN earlier.is_active IS DISTINCT FROM later.is_active
                        THEN 'is_active' END,
                    CASE WHEN earlier.name IS DISTINCT FROM later.name THEN 'name' END,
                    CASE WHEN earlier.parent_id IS DISTINCT FROM later.parent_id
                        THEN 'parent' END,
                    CASE WHEN earlier.slug IS DISTINCT FROM later.slug THEN 'slug' END
                ], NULL) AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ) AS changed
            WHERE cardinality(changes) > 0
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_category_insert
AFTER INSERT ON products_category
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_category_record();

CREATE OR REPLACE TRIGGER events_category_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_category_record();

CREATE OR REPLACE TRIGGER events_category_delete
AFTER DELETE ON products_category
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_category_record();
"""

IMAGE = """
CREATE OR REPLACE FUNCTION events_image_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('image.created', id, product_id, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('image.deleted', id, product_id, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('image.updated', id, product_id, changes)::events_change
            FROM (
                SELECT later.id, later.product_id, array_remove(ARRAY[
                    CASE WHEN earlier.alt_text IS DISTINCT FROM later.alt_text
                        THEN 'alt_text' END,
                    CASE WHEN (earlier.image, earlier.width, earlier.height)
                        IS DISTINCT FROM (later.image, later.width, later.height)
                        THEN 'image' END,
                    CASE WHEN earlier.position IS DISTINCT FROM later.position
                        THEN 'position' END,
                    CASE WHEN earlier.product_id IS DISTINCT FROM later.product_id
                        THEN 'product' END
                ], NULL) AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ) AS changed
            WHERE cardinality(changes) > 0
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_image_insert
AFTER INSERT ON products_productimage
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_image_record();

CREATE OR REPLACE TRIGGER events_image_update
AFTER UPDATE ON products_productimage
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_image_record();

CREATE OR REPLACE TRIGGER events_image_delete
AFTER DELETE ON products_productimage
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_image_record();
"""

REVIEW = """
CREATE OR REPLACE FUNCTION events_review_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    PERFORM events_emit(ARRAY(
        SELECT ROW(
            CASE WHEN later.is_hidden THEN 'review.hidden' ELSE 'review.shown' END,
            later.id, later.product_id, '{}'
        )::events_change
        FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
        WHERE earlier.is_hidden IS DISTINCT FROM later.is_hidden
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_review_update
AFTER UPDATE ON reviews_review
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_review_record();
"""

ATTRIBUTE_VALUE = """
CREATE OR REPLACE FUNCTION events_attribute_value_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
    ELSE
        touched := ARRAY(
            SELECT touched_product.id FROM (
                SELECT earlier.product_id AS old_product_id, later.product_id AS new_product_id
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
                WHERE (earlier.product_id, earlier.attribute_id, earlier.option_id,
                       earlier.value_text, earlier.value_number, earlier.value_boolean,
                       earlier.value_date)
                    IS DISTINCT FROM (later.product_id, later.attribute_id, later.option_id,
                                      later.value_text, later.value_number, later.value_boolean,
                                      later.value_date)
            ) AS changed, LATERAL (VALUES (old_product_id), (new_product_id))
                AS touched_product (id)
            GROUP BY touched_product.id
        );
    END IF;
    IF cardinality(touched) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM events_emit(ARRAY(
        SELECT ROW('product.updated', locked.id, locked.id, '{attributes}')::events_change
        FROM (
            -- = ANY, an index scan: not a join, which the function's enable_nestloop = off
            -- would make a hash join over every product.
            SELECT product.id FROM products_product AS product
            WHERE product.id = ANY (touched)
            ORDER BY product.id
            FOR NO KEY UPDATE
        ) AS locked
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_attribute_value_insert
AFTER INSERT ON products_productattributevalue
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_attribute_value_record();

CREATE OR REPLACE TRIGGER events_attribute_value_update
AFTER UPDATE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_attribute_value_record();

CREATE OR REPLACE TRIGGER events_attribute_value_delete
AFTER DELETE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_attribute_value_record();
"""

DROP = """
DROP TRIGGER IF EXISTS events_product_insert ON products_product;
DROP TRIGGER IF EXISTS events_product_update ON products_product;
DROP TRIGGER IF EXISTS events_product_delete ON products_product;
DROP TRIGGER IF EXISTS events_variant_insert ON products_variant;
DROP TRIGGER IF EXISTS events_variant_update ON products_variant;
DROP TRIGGER IF EXISTS events_variant_delete ON products_variant;
DROP TRIGGER IF EXISTS events_category_insert ON products_category;
DROP TRIGGER IF EXISTS events_category_update ON products_category;
DROP TRIGGER IF EXISTS events_category_delete ON products_category;
DROP TRIGGER IF EXISTS events_image_insert ON products_productimage;
DROP TRIGGER IF EXISTS events_image_update ON products_productimage;
DROP TRIGGER IF EXISTS events_image_delete ON products_productimage;
DROP TRIGGER IF EXISTS events_review_update ON reviews_review;
DROP TRIGGER IF EXISTS events_attribute_value_insert ON products_productattributevalue;
DROP TRIGGER IF EXISTS events_attribute_value_update ON products_productattributevalue;
DROP TRIGGER IF EXISTS events_attribute_value_delete ON products_productattributevalue;
DROP FUNCTION IF EXISTS events_attribute_value_record();
DROP FUNCTION IF EXISTS events_review_record();
DROP FUNCTION IF EXISTS events_image_record();
DROP FUNCTION IF EXISTS events_category_record();
DROP FUNCTION IF EXISTS events_variant_record();
DROP FUNCTION IF EXISTS events_product_record();
DROP FUNCTION IF EXISTS events_emit(events_change[]);
DROP TYPE IF EXISTS events_change;
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("products", "0015_variant_options_type_lock"),
        ("reviews", "0004_product_newest_index_for_all"),
    ]

    operations = [
        migrations.CreateModel(
            name='Event',
            fields=[
                ('position', models.BigAutoField(primary_key=True, serialize=False)),
                ('id', models.UUIDField(db_default=django.contrib.postgres.functions.RandomUUID(), editable=False, unique=True)),
                ('type', models.TextField(choices=[('product.created', 'product.created'), ('product.updated', 'product.updated'), ('product.deleted', 'product.deleted'), ('variant.created', 'variant.created'), ('variant.updated', 'variant.updated'), ('variant.deleted', 'variant.deleted'), ('category.created', 'category.created'), ('category.updated', 'category.updated'), ('category.deleted', 'category.deleted'), ('image.created', 'image.created'), ('image.updated', 'image.updated'), ('image.deleted', 'image.deleted'), ('review.hidden', 'review.hidden'), ('review.shown', 'review.shown')])),
                ('entity', models.TextField(choices=[('product', 'product'), ('variant', 'variant'), ('category', 'category'), ('image', 'image'), ('review', 'review')])),
                ('entity_id', models.BigIntegerField()),
                ('product_id', models.BigIntegerField(blank=True, null=True)),
                ('changes', django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), blank=True, db_default='{}', size=None)),
                ('occurred_at', models.DateTimeField(db_default=apps.events.models.StatementTimestamp())),
                ('transaction_id', apps.events.models.TransactionIdField(db_default=apps.events.models.CurrentTransactionId())),
            ],
            options={
                'ordering': ['-position'],
                'constraints': [models.UniqueConstraint(fields=('entity_id', 'entity', 'transaction_id'), name='events_event_once_per_transaction')],
            },
        ),
        migrations.RunSQL(
            "".join([CHANGE, EMIT, PRODUCT, VARIANT, CATEGORY, IMAGE, REVIEW, ATTRIBUTE_VALUE]),
            DROP,
        ),
    ]
