-- After each statement on product images: image.created, image.deleted (a deleted product's
-- images too), and image.updated for the images whose shown columns changed, with their names:
-- alt_text, image (the file, with its width and height), position, product (product_id). Not a
-- change: updated_at. Each event carries the image's product. The join of the old and new rows
-- is hashed, as in events_product_record.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION events_image_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('image.created', id, product_id, '{}')::events_change FROM new_rows
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_emit(ARRAY(
            SELECT ROW('image.deleted', id, product_id, '{}')::events_change FROM old_rows
        ));
    ELSE
        PERFORM events_emit(ARRAY(
            SELECT ROW('image.updated', id, product_id, changes)::events_change
            FROM (
                SELECT later.id, later.product_id, array_remove(ARRAY[
                    CASE WHEN earlier.alt_text IS DISTINCT FROM later.alt_text
                        THEN 'alt_text' END,
                    CASE WHEN (earlier.image, earlier.width, earlier.height)
                        IS DISTINCT FROM (later.image, later.width, later.height)
                        THEN 'image' END,
                    CASE WHEN earlier.position IS DISTINCT FROM later.position
                        THEN 'position' END,
                    CASE WHEN earlier.product_id IS DISTINCT FROM later.product_id
                        THEN 'product' END
                ], NULL) AS changes
                FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
            ) AS changed
            WHERE cardinality(changes) > 0
        ));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_image_insert
AFTER INSERT ON products_productimage
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_image_record();

CREATE OR REPLACE TRIGGER events_image_update
AFTER UPDATE ON products_productimage
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_image_record();

CREATE OR REPLACE TRIGGER events_image_delete
AFTER DELETE ON products_productimage
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_image_record();
