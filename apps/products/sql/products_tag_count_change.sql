-- One change of a tag summary row's count (products_categorytagcount): the read model's
-- refresh counts them before and after it rewrites its products, and applies the difference.
-- A change of this file needs a migration: see docs/database.md.

CREATE TYPE products_tag_count_change AS (
    category_id bigint,
    tag bigint,
    products integer
);
