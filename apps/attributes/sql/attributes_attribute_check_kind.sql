-- An attribute's kind changes only to one its options and axes allow: an attribute with options
-- stays a kind with options (a swatch while an option has a swatch), and a variant axis stays a
-- choice or swatch (attributes_attribute_kind_keeps_options, attributes_attribute_kind_keeps_axis,
-- reported on ``kind`` by apps.core.exceptions). The row is locked by the UPDATE, and the
-- writers of options and axes read it FOR SHARE: they wait for each other.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION attributes_attribute_check_kind() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind NOT IN ('choice', 'multiple_choice', 'swatch') AND EXISTS (
        SELECT 1 FROM attributes_attributeoption WHERE attribute_id = NEW.id
    ) OR NEW.kind <> 'swatch' AND EXISTS (
        SELECT 1 FROM attributes_attributeoption
        WHERE attribute_id = NEW.id AND (swatch_colour <> '' OR swatch_image <> '')
    ) THEN
        RAISE EXCEPTION 'attribute % has options: it cannot become a % attribute', NEW.id, NEW.kind
            USING ERRCODE = 'check_violation',
                CONSTRAINT = 'attributes_attribute_kind_keeps_options';
    END IF;
    IF NEW.kind NOT IN ('choice', 'swatch') AND EXISTS (
        SELECT 1 FROM attributes_producttypeattribute WHERE attribute_id = NEW.id AND is_axis
    ) THEN
        RAISE EXCEPTION 'attribute % is a variant axis: it cannot become a % attribute',
            NEW.id, NEW.kind
            USING ERRCODE = 'check_violation', CONSTRAINT = 'attributes_attribute_kind_keeps_axis';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER attributes_attribute_kind_change
BEFORE UPDATE OF kind ON attributes_attribute
FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind)
EXECUTE FUNCTION attributes_attribute_check_kind();
