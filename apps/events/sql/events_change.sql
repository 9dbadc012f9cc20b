-- One event as a trigger function hands it to events_emit: its type (product.updated, ...),
-- the entity's id, its product's id (NULL for a category) and, for an update, the names of what
-- changed. The entity is the type's first part.
-- A change of this file needs a migration: see docs/database.md.

CREATE TYPE events_change AS (
    type text,
    entity_id bigint,
    product_id bigint,
    changes text[]
);
