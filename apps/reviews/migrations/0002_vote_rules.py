"""A vote for one's own review is refused by the database too (reviews_vote_not_own_review)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION reviews_vote_refuse_own_review() RETURNS trigger
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

CREATE TRIGGER reviews_vote_not_own_review
BEFORE INSERT OR UPDATE ON reviews_reviewvote
FOR EACH ROW EXECUTE FUNCTION reviews_vote_refuse_own_review();
"""

DROP = """
DROP TRIGGER IF EXISTS reviews_vote_not_own_review ON reviews_reviewvote;
DROP FUNCTION IF EXISTS reviews_vote_refuse_own_review();
"""


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
