-- The stored price bucket edges (products_facet_price_edges), or an error naming the command
-- that stores them.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_facet_edges() RETURNS numeric[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    stored numeric[] := (SELECT edges FROM products_facet_price_edges);
BEGIN
    IF stored IS NULL THEN
        RAISE EXCEPTION 'products_facet_price_edges is empty'
            USING HINT = 'Run manage.py rebuild_facet_counts.';
    END IF;
    RETURN stored;
END;
$$;
