-- When a category's path changes (a move), rewrite its descendants' paths in one UPDATE.
-- products_category_set_path leaves the nested UPDATE's rows alone (pg_trigger_depth() > 1).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_category_move_subtree() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE products_category
    SET path = NEW.path || substr(path, length(OLD.path) + 1)
    WHERE path LIKE OLD.path || '_%';
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER products_category_subtree
AFTER UPDATE ON products_category
FOR EACH ROW WHEN (NEW.path IS DISTINCT FROM OLD.path)
EXECUTE FUNCTION products_category_move_subtree();
