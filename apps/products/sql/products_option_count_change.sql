-- One change of an option summary row's count (products_categoryoptioncount): the read model's
-- refresh passes them to itself as an array of these before it applies them.
-- A change of this file needs a migration: see docs/database.md.

CREATE TYPE products_option_count_change AS (
    category_id bigint,
    option_id bigint,
    products integer
);
