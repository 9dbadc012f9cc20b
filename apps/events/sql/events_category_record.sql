-- After each statement on categories: category.created, category.deleted, and
-- category.updated for the categories whose shown columns changed, with their names:
-- breadcrumbs (path: a moved category and, rewritten by products_category_subtree, each of its
-- descendants), description, is_active, name, parent (parent_id), slug. Not a change:
-- updated_at. The join of the old and new rows is hashed, as in events_product_record.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION events_category_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('category.created', id, NULL, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('category.deleted', id, NULL, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('category.updated', id, NULL, changes)::events_change
            FROM (
                SELECT later.id, array_remove(ARRAY[
                    CASE WHEN earlier.path IS DISTINCT FROM later.path THEN 'breadcrumbs' END,
                    CASE WHEN earlier.description IS DISTINCT FROM later.description
                        THEN 'description' END,
                    CASE WHEN earlier.is_active IS DISTINCT FROM later.is_active
                        THEN 'is_active' END,
                    CASE WHEN earlier.name IS DISTINCT FROM later.name THEN 'name' END,
                    CASE WHEN earlier.parent_id IS DISTINCT FROM later.parent_id
                        THEN 'parent' END,
                    CASE WHEN earlier.slug IS DISTINCT FROM later.slug THEN 'slug' END
                ], NULL) AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ) AS changed
            WHERE cardinality(changes) > 0
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_category_insert
AFTER INSERT ON products_category
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_category_record();

CREATE OR REPLACE TRIGGER events_category_update
AFTER UPDATE ON products_category
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_category_record();

CREATE OR REPLACE TRIGGER events_category_delete
AFTER DELETE ON products_category
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_category_record();
