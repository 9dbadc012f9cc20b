-- The attributes a product list filters and facets by, for
-- apps.products.attribute_filters.filterable_attributes(): a JSON array, by position, name and
-- id, of each filterable attribute of one of filterable_kinds, as
-- {id, slug, name, kind, unit, options, on_variants, on_products}: options in order as
-- {id, slug, value, swatch_colour}; on_variants when some product type has it as an axis,
-- on_products when some has it as a product's own attribute.
-- PL/pgSQL, so that a session plans the statement once: every list with facets and every
-- attribute filter reads these, and as an ORM query with three subqueries, Django's compiling
-- and PostgreSQL's planning cost more than the reading (3 ms a department page).
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION products_filterable_attributes(filterable_kinds text[])
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
            'id', attribute.id, 'slug', attribute.slug, 'name', attribute.name,
            'kind', attribute.kind, 'unit', attribute.unit,
            'options', (
                SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'id', option.id, 'slug', option.slug, 'value', option.value,
                    'swatch_colour', nullif(option.swatch_colour, '')
                ) ORDER BY option.position, option.id), '[]')
                FROM attributes_attributeoption option
                WHERE option.attribute_id = attribute.id
            ),
            'on_variants', EXISTS (
                SELECT FROM attributes_producttypeattribute used
                WHERE used.attribute_id = attribute.id AND used.is_axis
            ),
            'on_products', EXISTS (
                SELECT FROM attributes_producttypeattribute used
                WHERE used.attribute_id = attribute.id AND NOT used.is_axis
            )
        ) ORDER BY attribute.position, attribute.name, attribute.id), '[]')
        FROM attributes_attribute attribute
        WHERE attribute.is_filterable AND attribute.kind = ANY(filterable_kinds)
    );
END;
$$;
