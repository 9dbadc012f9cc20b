"""The filtering read model's rows carry their product's created_at
(``VariantTags.created_at``): a shopper's page filtered by tags, newest first, is then the
newest products of the matching rows, and only that page's products are read (at a million
products, a department filtered by one genre read its 30,000 matching products to sort them).

The column is added and the rows rewritten with it in one statement (the read model is derived:
emptied and filled again from the variants and ``ProductTags``, the GIN index built afresh after,
which is faster than updating it row by row and leaves no dead rows); the summaries do not
change. Frozen copies of apps/products/sql/products_variant_tags_refresh.sql's function (which
writes the column) and products_variant_tags_follow.sql's (which refreshes a product whose
created_at changes), and of the ones they replace; reversing drops the column.
"""

from django.db import migrations, models

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
    INSERT INTO products_variant_tags
        (variant_id, product_id, listed, created_at, option_ids, tags)
    SELECT variant.id, product.product_id, product.listed, own.created_at, variant.option_ids,
           variant.option_ids || product.tags
    FROM products_product_tags product
    JOIN products_product own ON own.id = product.product_id
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

REFRESH_BEFORE = """
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
    -- An update's changed rows are found by EXCEPT of the transition tables, both ways (the
    -- old row's product and the new row's), never by joining old_rows to new_rows on id:
    -- PostgreSQL guesses a transition table at a few rows and joins them in a nested loop,
    -- quadratic in the statement's rows (an import's UPDATE of 100,000 variants took minutes).
    -- EXCEPT is hashed.
    IF TG_TABLE_NAME = 'products_variant' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT product_id FROM (
                    (SELECT id, is_active, option_ids, product_id FROM new_rows
                     EXCEPT SELECT id, is_active, option_ids, product_id FROM old_rows)
                    UNION ALL
                    (SELECT id, is_active, option_ids, product_id FROM old_rows
                     EXCEPT SELECT id, is_active, option_ids, product_id FROM new_rows)
                ) AS changed
                GROUP BY product_id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_productattributevalue' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT product_id FROM (
                    (SELECT id, product_id, option_id, value_boolean, value_number FROM new_rows
                     EXCEPT
                     SELECT id, product_id, option_id, value_boolean, value_number FROM old_rows)
                    UNION ALL
                    (SELECT id, product_id, option_id, value_boolean, value_number FROM old_rows
                     EXCEPT
                     SELECT id, product_id, option_id, value_boolean, value_number FROM new_rows)
                ) AS changed
                GROUP BY product_id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_product' THEN
        touched := ARRAY(
            SELECT id FROM (
                SELECT id, category_id, is_active, created_at FROM new_rows
                EXCEPT SELECT id, category_id, is_active, created_at FROM old_rows
            ) AS changed
        );
    ELSE
        touched := ARRAY(
            SELECT product.id
            FROM (
                SELECT id, path, is_active FROM new_rows
                EXCEPT SELECT id, path, is_active FROM old_rows
            ) AS changed
            JOIN products_product product ON product.category_id = changed.id
        );
    END IF;
    PERFORM products_variant_tags_refresh(touched);
    RETURN NULL;
END;
$$;
"""

FOLLOW_BEFORE = """
CREATE OR REPLACE FUNCTION products_variant_tags_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    -- An update's changed rows are found by EXCEPT of the transition tables, both ways (the
    -- old row's product and the new row's), never by joining old_rows to new_rows on id:
    -- PostgreSQL guesses a transition table at a few rows and joins them in a nested loop,
    -- quadratic in the statement's rows (an import's UPDATE of 100,000 variants took minutes).
    -- EXCEPT is hashed.
    IF TG_TABLE_NAME = 'products_variant' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT product_id FROM (
                    (SELECT id, is_active, option_ids, product_id FROM new_rows
                     EXCEPT SELECT id, is_active, option_ids, product_id FROM old_rows)
                    UNION ALL
                    (SELECT id, is_active, option_ids, product_id FROM old_rows
                     EXCEPT SELECT id, is_active, option_ids, product_id FROM new_rows)
                ) AS changed
                GROUP BY product_id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_productattributevalue' THEN
        IF TG_OP = 'INSERT' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN
            touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        ELSE
            touched := ARRAY(
                SELECT product_id FROM (
                    (SELECT id, product_id, option_id, value_boolean, value_number FROM new_rows
                     EXCEPT
                     SELECT id, product_id, option_id, value_boolean, value_number FROM old_rows)
                    UNION ALL
                    (SELECT id, product_id, option_id, value_boolean, value_number FROM old_rows
                     EXCEPT
                     SELECT id, product_id, option_id, value_boolean, value_number FROM new_rows)
                ) AS changed
                GROUP BY product_id
            );
        END IF;
    ELSIF TG_TABLE_NAME = 'products_product' THEN
        touched := ARRAY(
            SELECT id FROM (
                SELECT id, category_id, is_active FROM new_rows
                EXCEPT SELECT id, category_id, is_active FROM old_rows
            ) AS changed
        );
    ELSE
        touched := ARRAY(
            SELECT product.id
            FROM (
                SELECT id, path, is_active FROM new_rows
                EXCEPT SELECT id, path, is_active FROM old_rows
            ) AS changed
            JOIN products_product product ON product.category_id = changed.id
        );
    END IF;
    PERFORM products_variant_tags_refresh(touched);
    RETURN NULL;
END;
$$;
"""

ADD_COLUMN = """
ALTER TABLE products_variant_tags ADD COLUMN created_at timestamp with time zone;
DROP INDEX variant_tags_gin;
TRUNCATE products_variant_tags;
INSERT INTO products_variant_tags (variant_id, product_id, listed, created_at, option_ids, tags)
SELECT variant.id, product.product_id, product.listed, own.created_at, variant.option_ids,
       variant.option_ids || product.tags
FROM products_product_tags product
JOIN products_product own ON own.id = product.product_id
JOIN products_variant variant ON variant.product_id = product.product_id AND variant.is_active;
ALTER TABLE products_variant_tags ALTER COLUMN created_at SET NOT NULL;
CREATE INDEX variant_tags_gin ON products_variant_tags USING gin (tags);
ANALYZE products_variant_tags;
"""

DROP_COLUMN = "ALTER TABLE products_variant_tags DROP COLUMN created_at;"


class Migration(migrations.Migration):
    dependencies = [("products", "0016_variant_tags_follow_except")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(ADD_COLUMN, DROP_COLUMN)],
            state_operations=[
                migrations.AddField(
                    model_name="varianttags",
                    name="created_at",
                    field=models.DateTimeField(),
                    preserve_default=False,
                )
            ],
        ),
        migrations.RunSQL(REFRESH, REFRESH_BEFORE),
        migrations.RunSQL(FOLLOW, FOLLOW_BEFORE),
    ]
