-- A vote for one's own review is refused by the database too (reviews_vote_not_own_review,
-- reported on ``review`` by apps.core.exceptions).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION reviews_vote_refuse_own_review() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM reviews_review WHERE id = NEW.review_id AND user_id = NEW.user_id
    ) THEN
        RAISE EXCEPTION 'user % cannot vote for their own review %', NEW.user_id, NEW.review_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'reviews_vote_not_own_review';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER reviews_vote_not_own_review
BEFORE INSERT OR UPDATE ON reviews_reviewvote
FOR EACH ROW EXECUTE FUNCTION reviews_vote_refuse_own_review();
