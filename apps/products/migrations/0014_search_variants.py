"""Search finds a product by its variants' option values and its attribute values (issue 13,
slice 4): Product.search_values holds them (the distinct option values of its active variants,
its text attribute values and the options of its choices, multiple choices and swatches), and
the search trigger weights them C in the document. PostgreSQL keeps the column set-based:
products_variant_summarize writes it with the variants' summary (one write of each product),
and statement triggers on attribute values and options run
products_product_search_values_refresh. The existing products' values are filled in one
statement of it; backward, their documents are rebuilt without them.

Frozen copies of apps/products/sql/ (see docs/database.md): products_product_search_document
(replacing the one of 0004_search_lexicon_deferrable, restored backward),
products_product_search_values, products_product_search_values_refresh,
products_variant_summarize (replacing the one of 0007_variants, restored backward; its
triggers stay), products_attribute_value_search_values, products_option_search_values. Their
placeholders are filled by apps.core.database_objects.fill_placeholders.
"""

from django.db import migrations, models

from apps.core.database_objects import fill_placeholders

SEARCH_DOCUMENT = """
CREATE OR REPLACE FUNCTION products_product_search_document() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    text_changed boolean;
BEGIN
    IF current_setting('${search_values_setting}', true) IS DISTINCT FROM 'on' THEN
        IF TG_OP = 'INSERT' THEN
            NEW.search_values := '';
        ELSE
            NEW.search_values := OLD.search_values;
        END IF;
    END IF;
    text_changed := TG_OP = 'INSERT'
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.description IS DISTINCT FROM OLD.description;
    IF NOT text_changed AND NEW.search_vector IS NOT NULL
        AND NEW.search_values IS NOT DISTINCT FROM OLD.search_values THEN
        -- Nothing searchable changed: keep the stored document, whatever the writer sent.
        NEW.search_vector := OLD.search_vector;
        RETURN NEW;
    END IF;
    -- New or edited text or values, or a NULL document (search_reindex sets one to rebuild it).
    NEW.search_vector :=
        setweight(to_tsvector('${search_config}', coalesce(NEW.name, '')), 'A')
        || setweight(to_tsvector('${search_config}', coalesce(NEW.description, '')), 'B')
        || setweight(to_tsvector('${search_config}', coalesce(NEW.search_values, '')), 'C');
    -- A bulk writer (the product import) may defer the lexicon for the transaction and fill it
    -- in one set-based INSERT instead: row by row, this INSERT is the trigger's main cost.
    IF text_changed
        AND current_setting('${defer_lexicon_setting}', true) IS DISTINCT FROM 'on' THEN
        -- Sorted, so that concurrent writers take the lexicon's row locks in one order.
        INSERT INTO products_searchterm (word)
        SELECT DISTINCT word
        FROM unnest(tsvector_to_array(
            to_tsvector('simple', coalesce(NEW.name, '') || ' ' || coalesce(NEW.description, ''))
        )) AS word
        -- Letters only, 3 to 100 of them. Not '^[[:alpha:]]{3,100}$': PostgreSQL's regex
        -- engine runs a bounded repetition several times slower, and this runs for every word.
        WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
        ORDER BY word
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_search
BEFORE INSERT OR UPDATE ON products_product
FOR EACH ROW EXECUTE FUNCTION products_product_search_document();
"""

SEARCH_VALUES = """
CREATE OR REPLACE FUNCTION products_product_search_values(product_ids bigint[])
RETURNS TABLE (product_id bigint, search_values text)
LANGUAGE sql STABLE AS $$
    WITH touched AS (
        SELECT DISTINCT id FROM unnest(product_ids) AS touched (id)
    ), product_words AS (
        SELECT variant.product_id, option.value
        FROM touched
        JOIN products_variant variant ON variant.product_id = touched.id AND variant.is_active
        JOIN attributes_attributeoption option ON option.id = ANY (variant.option_ids)
        UNION
        SELECT attribute_value.product_id, coalesce(option.value, attribute_value.value_text)
        FROM touched
        JOIN products_productattributevalue attribute_value
            ON attribute_value.product_id = touched.id
        LEFT JOIN attributes_attributeoption option ON option.id = attribute_value.option_id
        WHERE attribute_value.option_id IS NOT NULL OR attribute_value.value_text IS NOT NULL
    )
    SELECT touched.id,
           coalesce(string_agg(product_words.value, ' ' ORDER BY product_words.value), '')
    FROM touched
    LEFT JOIN product_words ON product_words.product_id = touched.id
    GROUP BY touched.id;
$$;
"""

SEARCH_VALUES_REFRESH = """
CREATE OR REPLACE FUNCTION products_product_search_values_refresh(product_ids bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    previous_setting text := current_setting('${search_values_setting}', true);
BEGIN
    IF cardinality(product_ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM set_config('${search_values_setting}', 'on', true);
    WITH updated AS (
        UPDATE products_product product
        SET search_values = refreshed.search_values
        FROM products_product_search_values(ARRAY(
            SELECT touched.id FROM unnest(product_ids) AS touched (id)
            WHERE EXISTS (
                SELECT FROM products_variant variant WHERE variant.product_id = touched.id
            )
        )) AS refreshed
        WHERE product.id = refreshed.product_id
            AND product.search_values IS DISTINCT FROM refreshed.search_values
        RETURNING product.search_values
    )
    -- The lexicon's rule, as in products_product_search_document; sorted, so that concurrent
    -- writers take the lexicon's row locks in one order.
    INSERT INTO products_searchterm (word)
    SELECT DISTINCT word
    FROM updated, unnest(tsvector_to_array(to_tsvector('simple', updated.search_values))) AS word
    WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
    ORDER BY word
    ON CONFLICT DO NOTHING;
    PERFORM set_config('${search_values_setting}', coalesce(previous_setting, ''), true);
END;
$$;
"""

VARIANT_SUMMARIZE = """
CREATE OR REPLACE FUNCTION products_variant_summarize() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
    searched bigint[];
    previous_setting text := current_setting('${search_values_setting}', true);
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
        searched := ARRAY(
            SELECT DISTINCT product_id FROM new_rows
            WHERE is_active AND cardinality(option_ids) > 0
        );
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
        searched := ARRAY(
            SELECT DISTINCT product_id FROM old_rows
            WHERE is_active AND cardinality(option_ids) > 0
        );
    ELSE
        touched := ARRAY(SELECT product_id FROM old_rows UNION SELECT product_id FROM new_rows);
        -- The variants whose options, activity or product changed, as they were and as they
        -- are, where their options count. By EXCEPT (hashed), not a join of the transition
        -- tables, which PostgreSQL guesses at one row each and joins in a nested loop: the
        -- square of the rows, hours for 100,000.
        searched := ARRAY(
            SELECT product_id FROM (
                SELECT id, product_id, option_ids FROM old_rows
                WHERE is_active AND cardinality(option_ids) > 0
                EXCEPT
                SELECT id, product_id, option_ids FROM new_rows
                WHERE is_active AND cardinality(option_ids) > 0
            ) AS counted_before
            UNION
            SELECT product_id FROM (
                SELECT id, product_id, option_ids FROM new_rows
                WHERE is_active AND cardinality(option_ids) > 0
                EXCEPT
                SELECT id, product_id, option_ids FROM old_rows
                WHERE is_active AND cardinality(option_ids) > 0
            ) AS counted_after
        );
    END IF;
    IF cardinality(touched) = 0 THEN
        -- A statement that changed no row still fires: without this, the write-through
        -- trigger's empty UPDATE and this one's would fire each other without end.
        RETURN NULL;
    END IF;
    PERFORM set_config('${search_values_setting}', 'on', true);
    WITH updated AS (
        UPDATE products_product AS product
        SET price = summary.price,
            price_max = summary.price_max,
            stock = summary.stock,
            sku = summary.sku,
            variant_count = summary.variant_count,
            search_values = coalesce(refreshed.search_values, product.search_values)
        FROM (
            SELECT product_id,
                   coalesce(min(price) FILTER (WHERE is_active), min(price)) AS price,
                   coalesce(max(price) FILTER (WHERE is_active), max(price)) AS price_max,
                   least(coalesce(sum(stock) FILTER (WHERE is_active), 0), 2147483647)::integer
                       AS stock,
                   (array_agg(sku ORDER BY position, id))[1] AS sku,
                   count(*)::integer AS variant_count
            FROM products_variant
            WHERE product_id = ANY (touched)
            GROUP BY product_id
        ) AS summary
        LEFT JOIN products_product_search_values(searched) AS refreshed
            ON refreshed.product_id = summary.product_id
        WHERE product.id = summary.product_id
            AND (product.price, product.price_max, product.stock, product.sku,
                 product.variant_count, product.search_values)
                IS DISTINCT FROM
                (summary.price, summary.price_max, summary.stock, summary.sku,
                 summary.variant_count, coalesce(refreshed.search_values, product.search_values))
        RETURNING product.search_values, refreshed.product_id IS NOT NULL AS is_refreshed
    )
    -- The lexicon's rule, as in products_product_search_document; sorted, so that concurrent
    -- writers take the lexicon's row locks in one order.
    INSERT INTO products_searchterm (word)
    SELECT DISTINCT word
    FROM updated, unnest(tsvector_to_array(to_tsvector('simple', updated.search_values))) AS word
    WHERE updated.is_refreshed
        AND word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
    ORDER BY word
    ON CONFLICT DO NOTHING;
    PERFORM set_config('${search_values_setting}', coalesce(previous_setting, ''), true);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_variant_summary_insert
AFTER INSERT ON products_variant
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();

CREATE OR REPLACE TRIGGER products_variant_summary_update
AFTER UPDATE ON products_variant
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();

CREATE OR REPLACE TRIGGER products_variant_summary_delete
AFTER DELETE ON products_variant
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_variant_summarize();
"""

ATTRIBUTE_VALUE_SEARCH_VALUES = """
CREATE OR REPLACE FUNCTION products_attribute_value_search_values() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(
            SELECT DISTINCT product_id FROM new_rows
            WHERE option_id IS NOT NULL OR value_text IS NOT NULL
        );
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(
            SELECT DISTINCT product_id FROM old_rows
            WHERE option_id IS NOT NULL OR value_text IS NOT NULL
        );
    ELSE
        -- The values the statement changed, as they were and as they are. By EXCEPT (hashed),
        -- not a join of the transition tables, which PostgreSQL guesses at one row each and
        -- joins in a nested loop: the square of the rows.
        touched := ARRAY(
            SELECT product_id FROM (
                SELECT id, product_id, option_id, value_text FROM old_rows
                EXCEPT
                SELECT id, product_id, option_id, value_text FROM new_rows
            ) AS changed_before
            UNION
            SELECT product_id FROM (
                SELECT id, product_id, option_id, value_text FROM new_rows
                EXCEPT
                SELECT id, product_id, option_id, value_text FROM old_rows
            ) AS changed_after
        );
    END IF;
    PERFORM products_product_search_values_refresh(touched);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_attribute_value_search_values_insert
AFTER INSERT ON products_productattributevalue
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_attribute_value_search_values();

CREATE OR REPLACE TRIGGER products_attribute_value_search_values_update
AFTER UPDATE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_attribute_value_search_values();

CREATE OR REPLACE TRIGGER products_attribute_value_search_values_delete
AFTER DELETE ON products_productattributevalue
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_attribute_value_search_values();
"""

OPTION_SEARCH_VALUES = """
CREATE OR REPLACE FUNCTION products_option_search_values() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    renamed bigint[];
BEGIN
    -- By EXCEPT (hashed), not a join of the transition tables, which PostgreSQL guesses at
    -- one row each and joins in a nested loop.
    renamed := ARRAY(
        SELECT id FROM (SELECT id, value FROM new_rows EXCEPT SELECT id, value FROM old_rows)
            AS renamed_option
    );
    IF cardinality(renamed) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM products_product_search_values_refresh(ARRAY(
        SELECT product_id FROM products_variant
        WHERE is_active AND option_ids && renamed
        UNION
        SELECT product_id FROM products_productattributevalue
        WHERE option_id = ANY (renamed)
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_option_search_values
AFTER UPDATE ON attributes_attributeoption
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION products_option_search_values();
"""

# What 0004_search_lexicon_deferrable installed: name A and description B only.
PREVIOUS_SEARCH_DOCUMENT = """
CREATE OR REPLACE FUNCTION products_product_search_document() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    text_changed boolean := TG_OP = 'INSERT'
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.description IS DISTINCT FROM OLD.description;
BEGIN
    IF NOT text_changed AND NEW.search_vector IS NOT NULL THEN
        -- Nothing searchable changed: keep the stored document, whatever the writer sent.
        NEW.search_vector := OLD.search_vector;
        RETURN NEW;
    END IF;
    -- New or edited text, or a NULL document (search_reindex sets one to rebuild it).
    NEW.search_vector :=
        setweight(to_tsvector('${search_config}', coalesce(NEW.name, '')), 'A')
        || setweight(to_tsvector('${search_config}', coalesce(NEW.description, '')), 'B');
    -- A bulk writer (the product import) may defer the lexicon for the transaction and fill it
    -- in one set-based INSERT instead: row by row, this INSERT is the trigger's main cost.
    IF text_changed
        AND current_setting('${defer_lexicon_setting}', true) IS DISTINCT FROM 'on' THEN
        -- Sorted, so that concurrent writers take the lexicon's row locks in one order.
        INSERT INTO products_searchterm (word)
        SELECT DISTINCT word
        FROM unnest(tsvector_to_array(
            to_tsvector('simple', coalesce(NEW.name, '') || ' ' || coalesce(NEW.description, ''))
        )) AS word
        -- Letters only, 3 to 100 of them. Not '^[[:alpha:]]{3,100}$': PostgreSQL's regex
        -- engine runs a bounded repetition several times slower, and this runs for every word.
        WHERE word ~ '^[[:alpha:]]+$' AND length(word) BETWEEN 3 AND 100
        ORDER BY word
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$;
"""

# What 0007_variants installed: the summary without search_values.
PREVIOUS_VARIANT_SUMMARIZE = """
CREATE OR REPLACE FUNCTION products_variant_summarize() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        touched := ARRAY(SELECT DISTINCT product_id FROM old_rows);
    ELSE
        touched := ARRAY(SELECT product_id FROM old_rows UNION SELECT product_id FROM new_rows);
    END IF;
    IF cardinality(touched) = 0 THEN
        -- A statement that changed no row still fires: without this, the write-through
        -- trigger's empty UPDATE and this one's would fire each other without end.
        RETURN NULL;
    END IF;
    UPDATE products_product AS product
    SET price = summary.price,
        price_max = summary.price_max,
        stock = summary.stock,
        sku = summary.sku,
        variant_count = summary.variant_count
    FROM (
        SELECT product_id,
               coalesce(min(price) FILTER (WHERE is_active), min(price)) AS price,
               coalesce(max(price) FILTER (WHERE is_active), max(price)) AS price_max,
               least(coalesce(sum(stock) FILTER (WHERE is_active), 0), 2147483647)::integer
                   AS stock,
               (array_agg(sku ORDER BY position, id))[1] AS sku,
               count(*)::integer AS variant_count
        FROM products_variant
        WHERE product_id = ANY (touched)
        GROUP BY product_id
    ) AS summary
    WHERE product.id = summary.product_id
        AND (product.price, product.price_max, product.stock, product.sku, product.variant_count)
            IS DISTINCT FROM
            (summary.price, summary.price_max, summary.stock, summary.sku, summary.variant_count);
    RETURN NULL;
END;
$$;
"""

FILL = "SELECT products_product_search_values_refresh(ARRAY(SELECT id FROM products_product))"

DROP = """
DROP TRIGGER products_option_search_values ON attributes_attributeoption;
DROP FUNCTION products_option_search_values();
DROP TRIGGER products_attribute_value_search_values_insert ON products_productattributevalue;
DROP TRIGGER products_attribute_value_search_values_update ON products_productattributevalue;
DROP TRIGGER products_attribute_value_search_values_delete ON products_productattributevalue;
DROP FUNCTION products_attribute_value_search_values();
DROP FUNCTION products_product_search_values_refresh(bigint[]);
DROP FUNCTION products_product_search_values(bigint[]);
"""

# Backward, with the previous function installed: the documents that held values are rebuilt
# from the name and description (a NULL document makes the trigger rebuild it).
UNFILL = "UPDATE products_product SET search_vector = NULL WHERE search_values <> ''"


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for sql in (
            SEARCH_DOCUMENT,
            SEARCH_VALUES,
            SEARCH_VALUES_REFRESH,
            VARIANT_SUMMARIZE,
            ATTRIBUTE_VALUE_SEARCH_VALUES,
            OPTION_SEARCH_VALUES,
        ):
            cursor.execute(fill_placeholders(sql, connection))
        cursor.execute(FILL)


def uninstall(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(PREVIOUS_VARIANT_SUMMARIZE)
        cursor.execute(DROP)
        cursor.execute(fill_placeholders(PREVIOUS_SEARCH_DOCUMENT, connection))
        cursor.execute(UNFILL)


class Migration(migrations.Migration):
    dependencies = [("products", "0013_variant_option_guards")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_values",
            field=models.TextField(db_default="", editable=False),
        ),
        migrations.RunPython(install, uninstall),
    ]
