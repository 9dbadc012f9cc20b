-- Options belong to choice, multiple choice and swatch attributes, and only a swatch's options
-- have a swatch colour or image (attributes_option_of_choice_attribute,
-- attributes_option_swatch_of_swatch_attribute, reported on ``options`` by
-- apps.core.exceptions). The attribute row is read FOR SHARE, so that a concurrent change of
-- its kind (attributes_attribute_check_kind) waits for this write or this write for it.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION attributes_option_check_attribute() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    attribute_kind text;
BEGIN
    SELECT kind INTO attribute_kind FROM attributes_attribute
    WHERE id = NEW.attribute_id FOR SHARE;
    IF attribute_kind NOT IN ('choice', 'multiple_choice', 'swatch') THEN
        RAISE EXCEPTION 'attribute % is a % attribute: it has no options',
            NEW.attribute_id, attribute_kind
            USING ERRCODE = 'check_violation', CONSTRAINT = 'attributes_option_of_choice_attribute';
    END IF;
    IF attribute_kind <> 'swatch' AND (NEW.swatch_colour <> '' OR NEW.swatch_image <> '') THEN
        RAISE EXCEPTION 'attribute % is a % attribute: its options have no swatch',
            NEW.attribute_id, attribute_kind
            USING ERRCODE = 'check_violation',
                CONSTRAINT = 'attributes_option_swatch_of_swatch_attribute';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER attributes_option_attribute_kind
BEFORE INSERT OR UPDATE ON attributes_attributeoption
FOR EACH ROW EXECUTE FUNCTION attributes_option_check_attribute();
