-- An option that a variant carries stays: deleting it, or moving it to another attribute, is
-- refused while some variant's option_ids holds its id (products_option_used_by_variants,
-- reported on `options` by apps.core.exceptions). option_ids is an array, which no foreign key
-- can guard; the GIN index products_variant_option_ids makes this an index scan. Whoever
-- deletes (the staff API's nested write, the admin's inline, an attribute's deletion, SQL).
-- A variant written at the same time reads its options FOR KEY SHARE at commit
-- (products_variant_check_options): the DELETE waits for it, then sees it.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_option_check_variants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM products_variant WHERE option_ids @> ARRAY[OLD.id]) THEN
        RAISE EXCEPTION 'variants have option % of attribute %', OLD.slug, OLD.attribute_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'products_option_used_by_variants';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER products_option_variants_delete
BEFORE DELETE ON attributes_attributeoption
FOR EACH ROW EXECUTE FUNCTION products_option_check_variants();

CREATE OR REPLACE TRIGGER products_option_variants_update
BEFORE UPDATE OF attribute_id ON attributes_attributeoption
FOR EACH ROW WHEN (OLD.attribute_id IS DISTINCT FROM NEW.attribute_id)
EXECUTE FUNCTION products_option_check_variants();
