"""The list's filterable attributes (with their options, and whether they are axes or
products' own) come from one PL/pgSQL function, products_filterable_attributes, instead of an
ORM query with three subqueries that Django compiled and PostgreSQL planned on every list with
facets or attribute filters (3 ms of a department page). A frozen copy of
apps/products/sql/products_filterable_attributes.sql; reversing drops it.
"""

from django.db import migrations

FILTERABLE = """
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
"""

DROP_FILTERABLE = "DROP FUNCTION products_filterable_attributes(text[])"


class Migration(migrations.Migration):
    dependencies = [("products", "0020_category_summary_function")]

    operations = [migrations.RunSQL(FILTERABLE, DROP_FILTERABLE)]
