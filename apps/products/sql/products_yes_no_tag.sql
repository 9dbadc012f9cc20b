-- The tag that stands for a yes-or-no value in the read model (products_variant_tags_refresh):
-- 2^60 + 2 * the attribute's id, + 1 for yes. Option ids (the other positive tags) stay far
-- below, category ids are the negative ones. apps.products.attribute_filters.yes_no_tag is
-- the same in Python.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_yes_no_tag(attribute_id bigint, value boolean)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 1152921504606846976 + 2 * attribute_id + value::integer
$$;
