-- One change of a number summary row's count (products_categorynumbercount), as
-- products_tag_count_change is for tags.
-- A change of this file needs a migration: see docs/database.md.

CREATE TYPE products_number_count_change AS (
    category_id bigint,
    attribute_id bigint,
    value numeric(18, 6),
    products integer
);
