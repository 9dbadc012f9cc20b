-- TRUNCATE fires no DELETE trigger: the products are all gone, and so are the counts.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_product_facet_counts_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM products_categoryfacetcount;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_product_facet_counts_truncate
AFTER TRUNCATE ON products_product
FOR EACH STATEMENT EXECUTE FUNCTION products_product_facet_counts_truncate();
