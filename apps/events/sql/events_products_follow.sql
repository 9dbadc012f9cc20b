-- After each statement (and before each TRUNCATE) on a table that the product page reads
-- besides the product's own row: product.updated, with the change TG_ARGV[0], for each product
-- whose page it changed. A product page shows its attribute values, its category's name and
-- slug and its ancestors' (breadcrumbs), and its type's attributes and their options by name,
-- slug, kind, unit, order and swatch. What the page shows of each table is TG_ARGV[2...]: an
-- UPDATE that changes none of those columns concerns no product; an INSERT, DELETE or TRUNCATE
-- concerns the products of every row. TG_ARGV[1] is the column that leads to the products:
--   products_productattributevalue   product_id    the product                   attributes
--   products_category                path          the products of its subtree   category
--   attributes_attribute             id            the products with a value of  attributes
--                                                  it, or of a type with it as axis
--   attributes_attributeoption       id            the products with a value or  attributes
--                                                  a variant of the option
--   attributes_producttypeattribute  product_type_id  the products of the type  attributes
-- A new category, attribute or option is on no page yet: those tables have no INSERT trigger
-- here; their deletion takes the rows of the pages with it (the foreign keys protect or cascade,
-- and those rows have their own events). The products are locked FOR NO KEY UPDATE in id order
-- first (as products_variant_tags_refresh locks them): these writes do not lock the products,
-- and the position of a product's event must be drawn under the product's lock
-- (docs/events.md, "Order"); a product deleted meanwhile is skipped. A change that reaches
-- 100,000 products writes 100,000 events (docs/events.md, "Cost").
-- A change of this file needs a migration: see docs/database.md.

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
