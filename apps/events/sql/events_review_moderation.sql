-- After each statement that updates reviews: review.hidden or review.shown for the reviews
-- whose is_hidden changed (moderation), each with its product. The review's other changes are
-- events_record's review.updated, which events_emit merges into this event (hidden or shown
-- stays the type). The join of the old and new rows is hashed, as in events_record.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION events_review_moderation() RETURNS trigger
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

CREATE OR REPLACE TRIGGER events_review_moderation
AFTER UPDATE ON reviews_review
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION events_review_moderation();
