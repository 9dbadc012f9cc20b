"""The product page's parts (breadcrumbs, images, variants, attribute values, axis options) come
from one PL/pgSQL function, products_product_page, instead of five subqueries of the product's
own query: PostgreSQL planned those on every request, which took longer than running them (4-6
ms against 2 ms at a million products); a PL/pgSQL function's statement is planned once a
session. A frozen copy of apps/products/sql/products_product_page.sql; reversing drops it.
"""

from django.db import migrations

PAGE = """
CREATE OR REPLACE FUNCTION products_product_page(
    page_product bigint,
    page_type bigint,
    page_path text,
    every_variant boolean,
    variant_limit integer
) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'breadcrumbs', (
            SELECT coalesce(jsonb_agg(
                jsonb_build_object('id', ancestor.id, 'name', ancestor.name, 'slug', ancestor.slug)
                ORDER BY length(ancestor.path)), '[]')
            FROM products_category ancestor
            WHERE ancestor.id = ANY(
                string_to_array(btrim(page_path, '/'), '/')::bigint[]
            )
        ),
        'images', (
            SELECT coalesce(jsonb_agg(
                jsonb_build_object(
                    'id', image.id, 'image', image.image, 'alt_text', image.alt_text,
                    'position', image.position, 'width', image.width, 'height', image.height,
                    'created_at', image.created_at
                ) ORDER BY image.position, image.id), '[]')
            FROM products_productimage image
            WHERE image.product_id = page_product
        ),
        'variants', (
            -- Prices as text, as the serializers write them ("12.50"): a JSON number would
            -- lose the places.
            SELECT coalesce(jsonb_agg(
                jsonb_build_object(
                    'id', variant.id, 'sku', variant.sku, 'price', variant.price::text,
                    'stock', variant.stock, 'in_stock', variant.stock > 0,
                    'is_active', variant.is_active, 'position', variant.position,
                    'options', (
                        SELECT coalesce(jsonb_object_agg(option_attribute.slug, option.slug), '{}')
                        FROM attributes_attributeoption option
                        JOIN attributes_attribute option_attribute
                            ON option_attribute.id = option.attribute_id
                        WHERE option.id = ANY(variant.option_ids)
                    )
                ) ORDER BY variant.position, variant.id), '[]')
            FROM (
                SELECT * FROM products_variant
                WHERE products_variant.product_id = page_product
                    AND (every_variant OR products_variant.is_active)
                ORDER BY products_variant.position, products_variant.id
                LIMIT variant_limit
            ) AS variant
        ),
        'attributes', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'attribute', jsonb_build_object(
                    'slug', attribute.slug, 'name', attribute.name, 'kind', attribute.kind,
                    'unit', attribute.unit),
                'value', CASE
                    WHEN attribute.kind = 'multiple_choice' THEN (
                        SELECT jsonb_agg(jsonb_build_object(
                            'slug', option.slug, 'value', option.value,
                            'swatch_colour', nullif(option.swatch_colour, ''),
                            'swatch_image', nullif(option.swatch_image, '')
                        ) ORDER BY option.position, option.id)
                        FROM products_productattributevalue value
                        JOIN attributes_attributeoption option ON option.id = value.option_id
                        WHERE value.product_id = page_product
                            AND value.attribute_id = attribute.id)
                    WHEN attribute.kind IN ('choice', 'swatch') THEN (
                        SELECT jsonb_build_object(
                            'slug', option.slug, 'value', option.value,
                            'swatch_colour', nullif(option.swatch_colour, ''),
                            'swatch_image', nullif(option.swatch_image, ''))
                        FROM products_productattributevalue value
                        JOIN attributes_attributeoption option ON option.id = value.option_id
                        WHERE value.product_id = page_product
                            AND value.attribute_id = attribute.id)
                    ELSE (
                        SELECT coalesce(
                            to_jsonb(value.value_text), to_jsonb(value.value_boolean),
                            to_jsonb(value.value_date),
                            to_jsonb(trim_scale(value.value_number)::text))
                        FROM products_productattributevalue value
                        WHERE value.product_id = page_product
                            AND value.attribute_id = attribute.id)
                END
            ) ORDER BY type_attribute.position, type_attribute.id), '[]')
            FROM attributes_producttypeattribute type_attribute
            JOIN attributes_attribute attribute ON attribute.id = type_attribute.attribute_id
            WHERE type_attribute.product_type_id = page_type
                AND NOT type_attribute.is_axis AND attribute.is_shown
                AND EXISTS (
                    SELECT FROM products_productattributevalue value
                    WHERE value.product_id = page_product
                        AND value.attribute_id = attribute.id)
        ),
        'options', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'attribute', jsonb_build_object(
                    'slug', attribute.slug, 'name', attribute.name, 'kind', attribute.kind,
                    'unit', attribute.unit),
                'values', (
                    SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'slug', option.slug, 'value', option.value,
                        'swatch_colour', nullif(option.swatch_colour, ''),
                        'swatch_image', nullif(option.swatch_image, '')
                    ) ORDER BY option.position, option.id), '[]')
                    FROM attributes_attributeoption option
                    WHERE option.attribute_id = attribute.id AND EXISTS (
                        SELECT FROM products_variant variant
                        WHERE variant.product_id = page_product AND variant.is_active
                            AND option.id = ANY(variant.option_ids))
                )
            ) ORDER BY type_attribute.position, type_attribute.id), '[]')
            FROM attributes_producttypeattribute type_attribute
            JOIN attributes_producttype product_type
                ON product_type.id = type_attribute.product_type_id
                    AND product_type.has_variants
            JOIN attributes_attribute attribute ON attribute.id = type_attribute.attribute_id
            WHERE type_attribute.product_type_id = page_type
                AND type_attribute.is_axis
        )
    );
END;
$$;
"""

DROP_PAGE = "DROP FUNCTION products_product_page(bigint, bigint, text, boolean, integer);"


class Migration(migrations.Migration):
    dependencies = [("products", "0017_variant_tags_created_at")]

    operations = [migrations.RunSQL(PAGE, DROP_PAGE)]
