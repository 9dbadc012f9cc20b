-- After each statement on an evented table, and before each TRUNCATE of one: the events of the
-- rows it wrote, as its trigger's arguments describe them:
--   TG_ARGV[0]     the entity, the events' type prefix (product, variant, ...)
--   TG_ARGV[1]     the column of the entity's id: id, or for a table of the entity's parts (an
--                  attribute's options: attribute_id) the column of the entity they belong to
--   TG_ARGV[2]     the column of the entity's product (id, product_id), '' for none
--   TG_ARGV[3...]  what an UPDATE looks at, each 'change=column[,column...]': the change is
--                  named in the event when any of its columns is distinct; in the order of the
--                  names (events_emit keeps changes sorted). Any other column is no change.
-- A table of the entity itself: INSERT gives <entity>.created, DELETE and TRUNCATE
-- <entity>.deleted (TRUNCATE reads the rows before they go, a BEFORE trigger: it fires no DELETE
-- trigger and has no transition tables), UPDATE <entity>.updated with the changes, for the rows
-- with at least one. A table of parts: each part inserted, deleted, truncated or changed is an
-- <entity>.updated of the entity it belongs to (both, for a part moved from one to another),
-- with every change name for an insert or a deletion; an entity of parts has no product.
-- The statements are built from the arguments (EXECUTE), so planned for each statement's own
-- transition tables; the old and new rows are joined by a hash (or merge) join all the same
-- (SET enable_nestloop = off): a nested loop the planner picked on a wrong estimate would cost
-- the square of 100,000 rows.
-- A change of this file needs a migration: see docs/database.md.

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
