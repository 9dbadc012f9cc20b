-- An attribute's kind does not change once products have values of it
-- (attributes_attribute_kind_keeps_values, reported by apps.core.exceptions on `kind`): the
-- values are in the old kind's column. Beside the attributes app's own kind rules, which know
-- options and axes; this one lives with the values it reads.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_attribute_check_kind_values() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM products_productattributevalue WHERE attribute_id = NEW.id) THEN
        RAISE EXCEPTION 'attribute % has product values: its kind stays %', NEW.slug, OLD.kind
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'attributes_attribute_kind_keeps_values';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_attribute_kind_values
BEFORE UPDATE OF kind ON attributes_attribute
FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind)
EXECUTE FUNCTION products_attribute_check_kind_values();
