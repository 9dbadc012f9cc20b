-- Category.path, e.g. '/3/17/42/', set from the parent on insert and on a move; a write of any
-- other path is ignored. A move that would make a category its own ancestor is refused
-- (products_category_no_cycle, reported on ``parent`` by apps.core.exceptions). The advisory
-- lock serialises tree changes, so that two concurrent moves (A under B, B under A) cannot close
-- a loop together; apps.products.services takes the same lock before moving a subtree.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_category_set_path() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent_path text;
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;  -- the subtree rewrite below sets descendants' paths itself
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id THEN
        NEW.path := OLD.path;  -- not moved: the stored path stands, whatever was sent
        RETURN NEW;
    END IF;
    IF NEW.parent_id IS NULL THEN
        NEW.path := '/' || NEW.id || '/';
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('products_category_tree'));
    SELECT path INTO parent_path FROM products_category WHERE id = NEW.parent_id;
    IF parent_path LIKE '%/' || NEW.id || '/%' THEN
        RAISE EXCEPTION 'category % would become its own ancestor', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_category_no_cycle';
    END IF;
    NEW.path := parent_path || NEW.id || '/';
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_category_path
BEFORE INSERT OR UPDATE ON products_category
FOR EACH ROW EXECUTE FUNCTION products_category_set_path();
