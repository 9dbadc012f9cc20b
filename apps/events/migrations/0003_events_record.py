"""The outbox for every writer (issue 14): one trigger function, events_record, driven by its
triggers' arguments (the entity, its id and product columns, what an update looks at), replaces
the near-identical events_product_record, events_variant_record, events_category_record and
events_image_record; it also records reviews (created, edited, deleted: they are published when
written), attributes with their options, and product types with their attributes, and every
evented table's TRUNCATE (before it, as deletions). events_products_follow replaces
events_attribute_value_record: a product's page changes with its attribute values, and also when
its category or an ancestor is renamed or moved, or its type's attributes or their options
change; it writes product.updated for those products. events_review_record becomes
events_review_moderation, and events_emit merges an update into a moderation or a deletion.

Frozen copies of apps/events/sql (events_emit, events_record, events_review_moderation,
events_products_follow; docs/database.md, docs/events.md). Reversing restores events.0001's
functions and triggers. Nothing is backfilled.
"""

import importlib

from django.db import migrations, models

initial = importlib.import_module("apps.events.migrations.0001_initial")

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
            WHEN split_part(event.type, '.', 2) IN ('created', 'deleted') THEN event.type
            WHEN split_part(excluded.type, '.', 2) = 'updated' THEN event.type
            ELSE excluded.type
        END,
        changes = CASE
            WHEN split_part(excluded.type, '.', 2) IN ('created', 'deleted')
                OR split_part(event.type, '.', 2) IN ('created', 'deleted')
            THEN '{}'
            ELSE ARRAY(SELECT DISTINCT unnest(event.changes || excluded.changes) ORDER BY 1)
        END,
        product_id = excluded.product_id
    WHERE event.product_id IS DISTINCT FROM excluded.product_id
        OR NOT (
            (split_part(event.type, '.', 2) IN ('created', 'deleted')
                AND split_part(excluded.type, '.', 2) NOT IN ('created', 'deleted'))
            OR ((event.type = excluded.type OR split_part(excluded.type, '.', 2) = 'updated')
                AND event.changes @> excluded.changes)
        );
END;
$$;
"""

RECORD = """
CREATE OR REPLACE FUNCTION events_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
DECLARE
    entity text := TG_ARGV[0];
    id_column text := TG_ARGV[1];
    of_parts boolean := TG_ARGV[1] <> 'id';
    product text := CASE WHEN TG_ARGV[2] = '' THEN 'NULL::bigint'
                         ELSE format('%I', TG_ARGV[2]) END;
    names text[] := '{}';
    tests text[] := '{}';
    columns text[];
    rows_source text;
BEGIN
    FOR argument IN 3 .. TG_NARGS - 1 LOOP
        names := names || split_part(TG_ARGV[argument], '=', 1);
        columns := string_to_array(split_part(TG_ARGV[argument], '=', 2), ',');
        tests := tests || format(
            'CASE WHEN (%s) IS DISTINCT FROM (%s) THEN %L END',
            (SELECT string_agg(format('earlier.%I', name), ', ') FROM unnest(columns) AS name),
            (SELECT string_agg(format('later.%I', name), ', ') FROM unnest(columns) AS name),
            names[cardinality(names)]
        );
    END LOOP;

    IF TG_OP = 'UPDATE' AND NOT of_parts THEN
        EXECUTE format($sql$
            SELECT events_emit(ARRAY(
                SELECT ROW(%L, id, product_id, changes)::events_change
                FROM (
                    SELECT later.id, %s AS product_id, array_remove(ARRAY[%s], NULL) AS changes
                    FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
                ) AS changed
                WHERE cardinality(changes) > 0
            ))$sql$,
            entity || '.updated',
            CASE WHEN TG_ARGV[2] = '' THEN product ELSE 'later.' || product END,
            array_to_string(tests, ', ')
        );
    ELSIF TG_OP = 'UPDATE' THEN
        -- Set-returning functions in the select lists, not LATERAL: no nested loop at all.
        EXECUTE format($sql$
            WITH changed AS (
                SELECT earlier.%2$I AS earlier_id, later.%2$I AS later_id, ARRAY[%3$s] AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ), touched AS (
                SELECT earlier_id AS id, unnest(changes) AS change FROM changed
                UNION
                SELECT later_id, unnest(changes) FROM changed
            )
            SELECT events_emit(ARRAY(
                SELECT ROW(%1$L, id, NULL, array_agg(change ORDER BY change))::events_change
                FROM touched
                WHERE change IS NOT NULL
                GROUP BY id
            ))$sql$,
            entity || '.updated', id_column, array_to_string(tests, ', ')
        );
    ELSE
        rows_source := CASE TG_OP
            WHEN 'INSERT' THEN 'new_rows'
            WHEN 'DELETE' THEN 'old_rows'
            ELSE format('ONLY %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        END;
        IF of_parts THEN
            EXECUTE format(
                'SELECT events_emit(ARRAY(SELECT ROW(%L, part_of, NULL, %L)::events_change'
                ' FROM (SELECT DISTINCT %I AS part_of FROM %s) AS parts))',
                entity || '.updated', names, id_column, rows_source
            );
        ELSE
            EXECUTE format(
                'SELECT events_emit(ARRAY(SELECT ROW(%L, id, %s, %L)::events_change FROM %s))',
                entity || CASE TG_OP WHEN 'INSERT' THEN '.created' ELSE '.deleted' END,
                product, '{}', rows_source
            );
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- Products. Not changes: updated_at, created_by_id, variant_count (the variants' own events say
-- it), search_vector and search_values (the search's). The summary trigger's rewrite of price
-- and stock from the variants is a change of the product like any other.
CREATE OR REPLACE TRIGGER events_product_insert
AFTER INSERT ON products_product
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('product', 'id', 'id');

CREATE OR REPLACE TRIGGER events_product_update
AFTER UPDATE ON products_product
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'product', 'id', 'id',
    'category=category_id', 'description=description', 'is_active=is_active', 'name=name',
    'price=price,price_max', 'product_type=product_type_id',
    'rating=rating_1_count,rating_2_count,rating_3_count,rating_4_count,rating_5_count,review_count,rating_sum',
    'sku=sku', 'slug=slug', 'stock=stock'
);

CREATE OR REPLACE TRIGGER events_product_delete
AFTER DELETE ON products_product
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('product', 'id', 'id');

CREATE OR REPLACE TRIGGER events_product_truncate
BEFORE TRUNCATE ON products_product
FOR EACH STATEMENT EXECUTE FUNCTION events_record('product', 'id', 'id');

-- Variants, each with its product (after a move, the new one). Not a change: updated_at.
CREATE OR REPLACE TRIGGER events_variant_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('variant', 'id', 'product_id');

CREATE OR REPLACE TRIGGER events_variant_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'variant', 'id', 'product_id',
    'is_active=is_active', 'options=option_ids', 'position=position', 'price=price',
    'product=product_id', 'sku=sku', 'stock=stock'
);

CREATE OR REPLACE TRIGGER events_variant_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('variant', 'id', 'product_id');

CREATE OR REPLACE TRIGGER events_variant_truncate
BEFORE TRUNCATE ON products_variant
FOR EACH STATEMENT EXECUTE FUNCTION events_record('variant', 'id', 'product_id');

-- Categories: breadcrumbs is the path (a moved category and, rewritten by
-- products_category_subtree, each of its descendants). Not a change: updated_at.
CREATE OR REPLACE TRIGGER events_category_insert
AFTER INSERT ON products_category
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('category', 'id', '');

CREATE OR REPLACE TRIGGER events_category_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'category', 'id', '',
    'breadcrumbs=path', 'description=description', 'is_active=is_active', 'name=name',
    'parent=parent_id', 'slug=slug'
);

CREATE OR REPLACE TRIGGER events_category_delete
AFTER DELETE ON products_category
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('category', 'id', '');

CREATE OR REPLACE TRIGGER events_category_truncate
BEFORE TRUNCATE ON products_category
FOR EACH STATEMENT EXECUTE FUNCTION events_record('category', 'id', '');

-- Product images, each with its product: image is the file, with its width and height. Not a
-- change: updated_at.
CREATE OR REPLACE TRIGGER events_image_insert
AFTER INSERT ON products_productimage
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('image', 'id', 'product_id');

CREATE OR REPLACE TRIGGER events_image_update
AFTER UPDATE ON products_productimage
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'image', 'id', 'product_id',
    'alt_text=alt_text', 'image=image,width,height', 'position=position', 'product=product_id'
);

CREATE OR REPLACE TRIGGER events_image_delete
AFTER DELETE ON products_productimage
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('image', 'id', 'product_id');

CREATE OR REPLACE TRIGGER events_image_truncate
BEFORE TRUNCATE ON products_productimage
FOR EACH STATEMENT EXECUTE FUNCTION events_record('image', 'id', 'product_id');

-- Reviews, each with its product: published when written (moderation hides them afterwards),
-- so created, edited and deleted are events; hiding and restoring are review.hidden and
-- review.shown (events_review_moderation). Not changes: updated_at, the moderation's columns.
CREATE OR REPLACE TRIGGER events_review_insert
AFTER INSERT ON reviews_review
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('review', 'id', 'product_id');

CREATE OR REPLACE TRIGGER events_review_update
AFTER UPDATE ON reviews_review
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'review', 'id', 'product_id',
    'comment=comment', 'helpful_count=helpful_count', 'product=product_id', 'rating=rating',
    'user=user_id'
);

CREATE OR REPLACE TRIGGER events_review_delete
AFTER DELETE ON reviews_review
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('review', 'id', 'product_id');

CREATE OR REPLACE TRIGGER events_review_truncate
BEFORE TRUNCATE ON reviews_review
FOR EACH STATEMENT EXECUTE FUNCTION events_record('review', 'id', 'product_id');

-- Attributes, with their options as parts (options: any option added, removed or changed).
-- Not a change: updated_at.
CREATE OR REPLACE TRIGGER events_attribute_insert
AFTER INSERT ON attributes_attribute
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('attribute', 'id', '');

CREATE OR REPLACE TRIGGER events_attribute_update
AFTER UPDATE ON attributes_attribute
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'attribute', 'id', '',
    'is_filterable=is_filterable', 'is_shown=is_shown', 'kind=kind', 'name=name',
    'position=position', 'slug=slug', 'unit=unit'
);

CREATE OR REPLACE TRIGGER events_attribute_delete
AFTER DELETE ON attributes_attribute
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('attribute', 'id', '');

CREATE OR REPLACE TRIGGER events_attribute_truncate
BEFORE TRUNCATE ON attributes_attribute
FOR EACH STATEMENT EXECUTE FUNCTION events_record('attribute', 'id', '');

CREATE OR REPLACE TRIGGER events_attribute_option_insert
AFTER INSERT ON attributes_attributeoption
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('attribute', 'attribute_id', '', 'options=');

CREATE OR REPLACE TRIGGER events_attribute_option_update
AFTER UPDATE ON attributes_attributeoption
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'attribute', 'attribute_id', '',
    'options=attribute_id,position,slug,swatch_colour,swatch_image,value'
);

CREATE OR REPLACE TRIGGER events_attribute_option_delete
AFTER DELETE ON attributes_attributeoption
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('attribute', 'attribute_id', '', 'options=');

CREATE OR REPLACE TRIGGER events_attribute_option_truncate
BEFORE TRUNCATE ON attributes_attributeoption
FOR EACH STATEMENT EXECUTE FUNCTION events_record('attribute', 'attribute_id', '', 'options=');

-- Product types, with their attributes as parts (attributes: one added, removed, reordered,
-- made or unmade an axis). Not a change: updated_at.
CREATE OR REPLACE TRIGGER events_product_type_insert
AFTER INSERT ON attributes_producttype
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('product_type', 'id', '');

CREATE OR REPLACE TRIGGER events_product_type_update
AFTER UPDATE ON attributes_producttype
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'product_type', 'id', '', 'has_variants=has_variants', 'name=name', 'slug=slug'
);

CREATE OR REPLACE TRIGGER events_product_type_delete
AFTER DELETE ON attributes_producttype
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record('product_type', 'id', '');

CREATE OR REPLACE TRIGGER events_product_type_truncate
BEFORE TRUNCATE ON attributes_producttype
FOR EACH STATEMENT EXECUTE FUNCTION events_record('product_type', 'id', '');

CREATE OR REPLACE TRIGGER events_product_type_attribute_insert
AFTER INSERT ON attributes_producttypeattribute
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'product_type', 'product_type_id', '', 'attributes='
);

CREATE OR REPLACE TRIGGER events_product_type_attribute_update
AFTER UPDATE ON attributes_producttypeattribute
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'product_type', 'product_type_id', '', 'attributes=attribute_id,is_axis,position,product_type_id'
);

CREATE OR REPLACE TRIGGER events_product_type_attribute_delete
AFTER DELETE ON attributes_producttypeattribute
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'product_type', 'product_type_id', '', 'attributes='
);

CREATE OR REPLACE TRIGGER events_product_type_attribute_truncate
BEFORE TRUNCATE ON attributes_producttypeattribute
FOR EACH STATEMENT EXECUTE FUNCTION events_record(
    'product_type', 'product_type_id', '', 'attributes='
);
"""

MODERATION = """
CREATE OR REPLACE FUNCTION events_review_moderation() RETURNS trigger
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

CREATE OR REPLACE TRIGGER events_review_moderation
AFTER UPDATE ON reviews_review
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_review_moderation();
"""

FOLLOW = """
CREATE OR REPLACE FUNCTION events_products_follow() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
DECLARE
    shown text[] := TG_ARGV[2:TG_NARGS - 1];
    rows_source text;
    keys text[];
    products bigint[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        EXECUTE format($sql$
            WITH changed AS (
                SELECT earlier.%1$I AS earlier_key, later.%1$I AS later_key
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
                WHERE (%2$s) IS DISTINCT FROM (%3$s)
            )
            SELECT ARRAY(
                SELECT earlier_key::text FROM changed UNION SELECT later_key::text FROM changed
            )$sql$,
            TG_ARGV[1],
            (SELECT string_agg(format('earlier.%I', name), ', ') FROM unnest(shown) AS name),
            (SELECT string_agg(format('later.%I', name), ', ') FROM unnest(shown) AS name)
        ) INTO keys;
    ELSE
        rows_source := CASE TG_OP
            WHEN 'INSERT' THEN 'new_rows'
            WHEN 'DELETE' THEN 'old_rows'
            ELSE format('ONLY %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)
        END;
        EXECUTE format('SELECT ARRAY(SELECT DISTINCT %I::text FROM %s)', TG_ARGV[1], rows_source)
            INTO keys;
    END IF;
    IF cardinality(keys) = 0 THEN
        RETURN NULL;
    END IF;

    -- Each by = ANY or LIKE ANY, an index or one scan: not a join, which the function's
    -- enable_nestloop = off would make a hash join over every product.
    products := CASE TG_TABLE_NAME
        WHEN 'products_productattributevalue' THEN keys::bigint[]
        WHEN 'products_category' THEN ARRAY(
            SELECT product.id FROM products_product AS product
            WHERE product.category_id = ANY (ARRAY(
                SELECT category.id FROM products_category AS category
                WHERE category.path LIKE ANY (ARRAY(SELECT path || '%' FROM unnest(keys) AS path))
            ))
        )
        WHEN 'attributes_attribute' THEN ARRAY(
            SELECT value.product_id FROM products_productattributevalue AS value
            WHERE value.attribute_id = ANY (keys::bigint[])
            UNION
            SELECT product.id FROM products_product AS product
            WHERE product.product_type_id = ANY (ARRAY(
                SELECT axis.product_type_id FROM attributes_producttypeattribute AS axis
                WHERE axis.attribute_id = ANY (keys::bigint[]) AND axis.is_axis
            ))
        )
        WHEN 'attributes_attributeoption' THEN ARRAY(
            SELECT value.product_id FROM products_productattributevalue AS value
            WHERE value.option_id = ANY (keys::bigint[])
            UNION
            SELECT variant.product_id FROM products_variant AS variant
            WHERE variant.option_ids && keys::bigint[]
        )
        WHEN 'attributes_producttypeattribute' THEN ARRAY(
            SELECT product.id FROM products_product AS product
            WHERE product.product_type_id = ANY (keys::bigint[])
        )
    END;
    IF cardinality(products) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM events_emit(ARRAY(
        SELECT ROW('product.updated', locked.id, locked.id, ARRAY[TG_ARGV[0]])::events_change
        FROM (
            SELECT product.id FROM products_product AS product
            WHERE product.id = ANY (products)
            ORDER BY product.id
            FOR NO KEY UPDATE
        ) AS locked
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_products_follow_value_insert
AFTER INSERT ON products_productattributevalue
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow('attributes', 'product_id');

CREATE OR REPLACE TRIGGER events_products_follow_value_update
AFTER UPDATE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow(
    'attributes', 'product_id',
    'product_id', 'attribute_id', 'option_id', 'value_text', 'value_number', 'value_boolean',
    'value_date'
);

CREATE OR REPLACE TRIGGER events_products_follow_value_delete
AFTER DELETE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow('attributes', 'product_id');

CREATE OR REPLACE TRIGGER events_products_follow_value_truncate
BEFORE TRUNCATE ON products_productattributevalue
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow('attributes', 'product_id');

CREATE OR REPLACE TRIGGER events_products_follow_category_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow(
    'category', 'path', 'name', 'path', 'slug'
);

CREATE OR REPLACE TRIGGER events_products_follow_attribute_update
AFTER UPDATE ON attributes_attribute
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow(
    'attributes', 'id', 'is_shown', 'kind', 'name', 'slug', 'unit'
);

CREATE OR REPLACE TRIGGER events_products_follow_option_update
AFTER UPDATE ON attributes_attributeoption
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow(
    'attributes', 'id', 'attribute_id', 'position', 'slug', 'swatch_colour', 'swatch_image',
    'value'
);

CREATE OR REPLACE TRIGGER events_products_follow_type_attribute_insert
AFTER INSERT ON attributes_producttypeattribute
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow('attributes', 'product_type_id');

CREATE OR REPLACE TRIGGER events_products_follow_type_attribute_update
AFTER UPDATE ON attributes_producttypeattribute
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow(
    'attributes', 'product_type_id', 'attribute_id', 'is_axis', 'position', 'product_type_id'
);

CREATE OR REPLACE TRIGGER events_products_follow_type_attribute_delete
AFTER DELETE ON attributes_producttypeattribute
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow('attributes', 'product_type_id');

CREATE OR REPLACE TRIGGER events_products_follow_type_attribute_truncate
BEFORE TRUNCATE ON attributes_producttypeattribute
FOR EACH STATEMENT EXECUTE FUNCTION events_products_follow('attributes', 'product_type_id');
"""

DROP_PREVIOUS = """
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
"""

DROP = """
DROP TRIGGER IF EXISTS events_product_insert ON products_product;
DROP TRIGGER IF EXISTS events_product_update ON products_product;
DROP TRIGGER IF EXISTS events_product_delete ON products_product;
DROP TRIGGER IF EXISTS events_product_truncate ON products_product;
DROP TRIGGER IF EXISTS events_variant_insert ON products_variant;
DROP TRIGGER IF EXISTS events_variant_update ON products_variant;
DROP TRIGGER IF EXISTS events_variant_delete ON products_variant;
DROP TRIGGER IF EXISTS events_variant_truncate ON products_variant;
DROP TRIGGER IF EXISTS events_category_insert ON products_category;
DROP TRIGGER IF EXISTS events_category_update ON products_category;
DROP TRIGGER IF EXISTS events_category_delete ON products_category;
DROP TRIGGER IF EXISTS events_category_truncate ON products_category;
DROP TRIGGER IF EXISTS events_image_insert ON products_productimage;
DROP TRIGGER IF EXISTS events_image_update ON products_productimage;
DROP TRIGGER IF EXISTS events_image_delete ON products_productimage;
DROP TRIGGER IF EXISTS events_image_truncate ON products_productimage;
DROP TRIGGER IF EXISTS events_review_insert ON reviews_review;
DROP TRIGGER IF EXISTS events_review_update ON reviews_review;
DROP TRIGGER IF EXISTS events_review_delete ON reviews_review;
DROP TRIGGER IF EXISTS events_review_truncate ON reviews_review;
DROP TRIGGER IF EXISTS events_attribute_insert ON attributes_attribute;
DROP TRIGGER IF EXISTS events_attribute_update ON attributes_attribute;
DROP TRIGGER IF EXISTS events_attribute_delete ON attributes_attribute;
DROP TRIGGER IF EXISTS events_attribute_truncate ON attributes_attribute;
DROP TRIGGER IF EXISTS events_attribute_option_insert ON attributes_attributeoption;
DROP TRIGGER IF EXISTS events_attribute_option_update ON attributes_attributeoption;
DROP TRIGGER IF EXISTS events_attribute_option_delete ON attributes_attributeoption;
DROP TRIGGER IF EXISTS events_attribute_option_truncate ON attributes_attributeoption;
DROP TRIGGER IF EXISTS events_product_type_insert ON attributes_producttype;
DROP TRIGGER IF EXISTS events_product_type_update ON attributes_producttype;
DROP TRIGGER IF EXISTS events_product_type_delete ON attributes_producttype;
DROP TRIGGER IF EXISTS events_product_type_truncate ON attributes_producttype;
DROP TRIGGER IF EXISTS events_product_type_attribute_insert ON attributes_producttypeattribute;
DROP TRIGGER IF EXISTS events_product_type_attribute_update ON attributes_producttypeattribute;
DROP TRIGGER IF EXISTS events_product_type_attribute_delete ON attributes_producttypeattribute;
DROP TRIGGER IF EXISTS events_product_type_attribute_truncate ON attributes_producttypeattribute;
DROP TRIGGER IF EXISTS events_review_moderation ON reviews_review;
DROP TRIGGER IF EXISTS events_products_follow_value_insert ON products_productattributevalue;
DROP TRIGGER IF EXISTS events_products_follow_value_update ON products_productattributevalue;
DROP TRIGGER IF EXISTS events_products_follow_value_delete ON products_productattributevalue;
DROP TRIGGER IF EXISTS events_products_follow_value_truncate ON products_productattributevalue;
DROP TRIGGER IF EXISTS events_products_follow_category_update ON products_category;
DROP TRIGGER IF EXISTS events_products_follow_attribute_update ON attributes_attribute;
DROP TRIGGER IF EXISTS events_products_follow_option_update ON attributes_attributeoption;
DROP TRIGGER IF EXISTS events_products_follow_type_attribute_insert ON attributes_producttypeattribute;
DROP TRIGGER IF EXISTS events_products_follow_type_attribute_update ON attributes_producttypeattribute;
DROP TRIGGER IF EXISTS events_products_follow_type_attribute_delete ON attributes_producttypeattribute;
DROP TRIGGER IF EXISTS events_products_follow_type_attribute_truncate ON attributes_producttypeattribute;
DROP FUNCTION IF EXISTS events_products_follow();
DROP FUNCTION IF EXISTS events_review_moderation();
DROP FUNCTION IF EXISTS events_record();
"""

PREVIOUS = "".join(
    [
        initial.EMIT,
        initial.PRODUCT,
        initial.VARIANT,
        initial.CATEGORY,
        initial.IMAGE,
        initial.REVIEW,
        initial.ATTRIBUTE_VALUE,
    ]
)


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0002_event_relayed_at'),
        ('attributes', '0001_initial'),
        ('reviews', '0004_product_newest_index_for_all'),
        ('products', '0019_import_jobs'),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='entity',
            field=models.TextField(choices=[('product', 'product'), ('variant', 'variant'), ('category', 'category'), ('image', 'image'), ('review', 'review'), ('attribute', 'attribute'), ('product_type', 'product_type')]),
        ),
        migrations.AlterField(
            model_name='event',
            name='type',
            field=models.TextField(choices=[('product.created', 'product.created'), ('product.updated', 'product.updated'), ('product.deleted', 'product.deleted'), ('variant.created', 'variant.created'), ('variant.updated', 'variant.updated'), ('variant.deleted', 'variant.deleted'), ('category.created', 'category.created'), ('category.updated', 'category.updated'), ('category.deleted', 'category.deleted'), ('image.created', 'image.created'), ('image.updated', 'image.updated'), ('image.deleted', 'image.deleted'), ('review.created', 'review.created'), ('review.updated', 'review.updated'), ('review.deleted', 'review.deleted'), ('attribute.created', 'attribute.created'), ('attribute.updated', 'attribute.updated'), ('attribute.deleted', 'attribute.deleted'), ('product_type.created', 'product_type.created'), ('product_type.updated', 'product_type.updated'), ('product_type.deleted', 'product_type.deleted'), ('review.hidden', 'review.hidden'), ('review.shown', 'review.shown')]),
        ),
        migrations.RunSQL(
            "".join([DROP_PREVIOUS, EMIT, RECORD, MODERATION, FOLLOW]),
            "".join([DROP, PREVIOUS]),
        ),
    ]
