-- After each statement that updates reviews: review.hidden or review.shown for the reviews
-- whose is_hidden changed (moderation). Nothing else of a review is an event: its rating's
-- effect on the product is the product's (product.updated, rating). Each event carries the
-- review's product. The join of the old and new rows is hashed, as in events_product_record.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION events_review_record() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
BEGIN
    PERFORM events_emit(ARRAY(
        SELECT ROW(
            CASE WHEN later.is_hidden THEN 'review.hidden' ELSE 'review.shown' END,
            later.id, later.product_id, '{}'
        )::events_change
        FROM old_rows AS earlier JOIN new_rows AS later ON later.id = earlier.id
        WHERE earlier.is_hidden IS DISTINCT FROM later.is_hidden
    ));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_review_update
AFTER UPDATE ON reviews_review
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_review_record();
