-- One change of a facet summary row's count: the facet triggers pass theirs to
-- products_facet_counts_apply as an array of these.
-- A change of this file needs a migration: see docs/database.md.

CREATE TYPE products_facet_change AS (
    category_id bigint,
    in_stock boolean,
    rating_floor smallint,
    price_bucket smallint,
    products integer
);
