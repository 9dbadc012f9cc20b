-- Product.search_vector (name weighted A, description B, search_values C) and the SearchTerm
-- lexicon, written in the statement that inserts or edits a product: searchable in its own
-- transaction.
--
-- search_values holds the product's variants' option values and its attribute values (text,
-- and the options of choices, multiple choices and swatches). Only
-- products_product_search_values_refresh and products_variant_summarize write it, set-based,
-- with ${search_values_setting} 'on' for their UPDATE; from any other writer the column is
-- ignored (kept, or '' for a new product, which nothing refers to yet), so that a stale value (a
-- Django instance saved again) cannot undo the triggers' work. They fill the lexicon with those
-- words themselves.
--
-- Placeholders (apps.core.database_objects), filled by apps.products.search:
--   ${search_config}          settings.CATALOGUE_SEARCH_CONFIG, a text-search configuration
--   ${defer_lexicon_setting}  the setting with which a bulk writer (the import) defers the
--                             lexicon to one set-based INSERT of its own
--   ${search_values_setting}  the setting under which search_values may be written
-- The import's INSERT (apps.products.sheets.writing) applies the same word rule and order.
-- A change of this file needs a migration: see docs/database.md.

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
