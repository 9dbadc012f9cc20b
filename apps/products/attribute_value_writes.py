"""A small writer of a product's attribute values, for the admin's product page until the
product services offer one (helper P's ``product_update(attributes=...)``, issue 13 slice 2).

Domain code: no admin, no HTTP.
"""

from collections.abc import Iterable

from django.db import transaction

from apps.attributes.models import Attribute, ProductTypeAttribute

from .models import Product, ProductAttributeValue


@transaction.atomic
def product_attribute_values_replace(
    *, product: Product, attributes: Iterable[Attribute], values: list[ProductAttributeValue]
) -> None:
    """Replace the product's values of ``attributes`` with ``values`` (unsaved rows of those
    attributes): one DELETE, one INSERT."""
    ProductAttributeValue.objects.filter(
        product_id=product.pk, attribute_id__in=[attribute.pk for attribute in attributes]
    ).delete()
    for value in values:
        value.product_id = product.pk
    ProductAttributeValue.objects.bulk_create(values)


def product_attribute_values_drop_unfitting(
    *, product: Product, product_type_id: int | None
) -> int:
    """Delete the product's values of attributes that are not non-axis attributes of the type
    ``product_type_id`` (all of them without a type), before the product changes to it; return
    how many were deleted."""
    unfitting = ProductAttributeValue.objects.filter(product_id=product.pk)
    if product_type_id is not None:
        fitting = ProductTypeAttribute.objects.filter(
            product_type_id=product_type_id, is_axis=False
        ).values("attribute_id")
        unfitting = unfitting.exclude(attribute_id__in=fitting)
    deleted, _ = unfitting.delete()
    return deleted
