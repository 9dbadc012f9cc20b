"""What else a product page shows (its category and ancestors, its type's attributes and their
options) is an event of its own (category.*, attribute.*, product_type.*) and a product.updated
of each product whose page it changed; TRUNCATE is recorded as deletions. Each test runs in one
transaction: its set-up's events are emptied first (helpers.empty_the_outbox)."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.attributes.models import AttributeKind, AttributeOption, ProductTypeAttribute
from apps.attributes.tests.factories import (
    AttributeFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)
from apps.events.tests.helpers import empty_the_outbox, recorded, recorded_of
from apps.products.models import ProductAttributeValue, Variant
from apps.products.tests.factories import CategoryFactory, ProductFactory, typed_product
from apps.products.tests.helpers import stored_image
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db


def products_updated(change: str, *products: object) -> set[tuple[str, int, tuple[str, ...]]]:
    return {("product.updated", product.pk, (change,)) for product in products}  # type: ignore[attr-defined]


# --- categories ----------------------------------------------------------------------------------


def test_renaming_a_category_changes_the_products_of_its_subtree(
    client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> None:
    root, elsewhere = CategoryFactory(), CategoryFactory()
    child = CategoryFactory(parent=root)
    in_root, in_child = ProductFactory(category=root), ProductFactory(category=child)
    ProductFactory(category=elsewhere)
    editor = client_for(staff_with_perms("products.change_category"))
    url = reverse("v1:category-detail", args=[root.pk])
    empty_the_outbox()

    renamed = editor.patch(url, {"name": "Renamed"})

    # Each product's category and breadcrumbs show the name.
    assert renamed.status_code == 200, renamed.data
    assert recorded() == {
        ("category.updated", root.pk, ("name",)),
        *products_updated("category", in_root, in_child),
    }

    empty_the_outbox()
    assert editor.patch(url, {"description": "Not on a product page"}).status_code == 200
    assert recorded() == {("category.updated", root.pk, ("description",))}


def test_moving_a_category_changes_the_breadcrumbs_of_its_subtrees_products() -> None:
    root, other = CategoryFactory(), CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    products = [ProductFactory(category=child), ProductFactory(category=grandchild)]
    ProductFactory(category=root)
    empty_the_outbox()

    with connection.cursor() as cursor:  # raw SQL: the path triggers move the subtree
        cursor.execute(
            "UPDATE products_category SET parent_id = %s WHERE id = %s", [other.pk, child.pk]
        )

    assert recorded() == {
        ("category.updated", child.pk, ("breadcrumbs", "parent")),
        ("category.updated", grandchild.pk, ("breadcrumbs",)),
        *products_updated("category", *products),
    }


# --- attributes, options, product types ----------------------------------------------------------


def test_renaming_an_option_changes_the_products_showing_it(
    client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> None:
    with_variant, unrelated = typed_product(), typed_product()  # an option of their own each
    option = AttributeOption.objects.get(
        pk=Variant.objects.filter(product=with_variant)[0].option_ids[0]
    )
    axis = option.attribute
    editor = client_for(staff_with_perms("attributes.change_attribute"))
    options = [
        {
            "value": "Renamed" if each.pk == option.pk else each.value,
            "slug": each.slug,
            "position": each.position,
        }
        for each in axis.options.all()
    ]
    empty_the_outbox()

    changed = editor.patch(
        reverse("v1:attribute-detail", args=[axis.pk]), {"options": options}, format="json"
    )

    assert changed.status_code == 200, changed.data
    # One event for the attribute, however many options changed; unrelated is not touched.
    assert recorded() == {
        ("attribute.updated", axis.pk, ("options",)),
        *products_updated("attributes", with_variant),
    }
    assert unrelated.pk not in {event[1] for event in recorded_of("product")}


def test_an_attribute_changes_its_products_only_by_what_their_pages_show() -> None:
    product_type = ProductTypeFactory()
    material = AttributeFactory(kind=AttributeKind.TEXT)
    ProductTypeAttributeFactory(product_type=product_type, attribute=material)
    with_value = ProductFactory(product_type=product_type)
    ProductFactory(product_type=product_type)  # no value of it: its page does not show it
    ProductAttributeValue.objects.create(product=with_value, attribute=material, value_text="Oak")
    empty_the_outbox()

    with connection.cursor() as cursor:
        cursor.execute("UPDATE attributes_attribute SET name = 'Wood' WHERE id = %s", [material.pk])
    assert recorded() == {
        ("attribute.updated", material.pk, ("name",)),
        *products_updated("attributes", with_value),
    }

    empty_the_outbox()
    with connection.cursor() as cursor:  # the filters use it; no page shows it
        cursor.execute(
            "UPDATE attributes_attribute SET is_filterable = NOT is_filterable WHERE id = %s",
            [material.pk],
        )
    assert recorded() == {("attribute.updated", material.pk, ("is_filterable",))}


def test_a_types_attributes_change_its_products(
    client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> None:
    product_type = ProductTypeFactory()
    first, second = AttributeFactory(kind=AttributeKind.TEXT), AttributeFactory(kind="number")
    products = ProductFactory.create_batch(2, product_type=product_type)
    ProductFactory()  # of another type
    editor = client_for(staff_with_perms("attributes.change_producttype"))
    url = reverse("v1:product-type-detail", args=[product_type.pk])
    empty_the_outbox()

    changed = editor.patch(
        url, {"attributes": [{"slug": first.slug}, {"slug": second.slug}]}, format="json"
    )

    assert changed.status_code == 200, changed.data
    assert recorded() == {
        ("product_type.updated", product_type.pk, ("attributes",)),
        *products_updated("attributes", *products),
    }

    empty_the_outbox()
    assert editor.patch(url, {"name": "Renamed"}, format="json").status_code == 200
    # A product shows no more of its type than its attributes.
    assert recorded() == {("product_type.updated", product_type.pk, ("name",))}


def test_attributes_and_types_are_created_and_deleted() -> None:
    empty_the_outbox()
    attribute = AttributeFactory()
    option = AttributeOption.objects.create(attribute=attribute, value="Red", slug="red")
    product_type = ProductTypeFactory()
    ProductTypeAttribute.objects.create(product_type=product_type, attribute=attribute)
    # Created, then given options or attributes: created.
    assert recorded() == {
        ("attribute.created", attribute.pk, ()),
        ("product_type.created", product_type.pk, ()),
    }
    ids = attribute.pk, option.pk, product_type.pk

    empty_the_outbox()
    product_type.delete()
    attribute.delete()
    # Its options and attributes went first (Django's cascade): deleted all the same.
    assert recorded() == {("attribute.deleted", ids[0], ()), ("product_type.deleted", ids[2], ())}


def test_an_admin_save_of_an_attribute_and_its_options_is_one_event(admin_client: Client) -> None:
    attribute = AttributeFactory()
    option = AttributeOption.objects.create(attribute=attribute, value="Red", slug="red")
    change_url = reverse("admin:attributes_attribute_change", args=[attribute.pk])
    empty_the_outbox()

    saved_fields = {"slug": attribute.slug, "kind": attribute.kind, "is_shown": "on"}
    data = saved_fields | {"name": "Colour", "position": "0"}
    data |= {"options-TOTAL_FORMS": "1", "options-INITIAL_FORMS": "1"}
    data |= {"options-0-id": option.pk, "options-0-attribute": attribute.pk}
    data |= {"options-0-value": "Crimson", "options-0-slug": "red", "options-0-position": "0"}
    saved = admin_client.post(change_url, data)

    assert saved.status_code == 302, saved.context["errors"]
    assert recorded() == {("attribute.updated", attribute.pk, ("name", "options"))}


# --- TRUNCATE ------------------------------------------------------------------------------------


def truncate(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks, or no TRUNCATE
        cursor.execute(statement)


def test_truncating_the_products_deletes_each_with_what_went_with_it() -> None:
    product = ProductFactory()
    (variant_id,) = Variant.objects.filter(product=product).values_list("pk", flat=True)
    image, review = stored_image(product), ReviewFactory(product=product)
    empty_the_outbox()

    truncate("TRUNCATE products_product CASCADE")

    # A consumer keeping a copy learns that each is gone, as from a DELETE.
    assert recorded() == {
        ("product.deleted", product.pk, ()),
        ("variant.deleted", variant_id, ()),
        ("image.deleted", image.pk, ()),
        ("review.deleted", review.pk, ()),
    }


def test_truncating_attribute_values_and_type_attributes_changes_their_products() -> None:
    product_type = ProductTypeFactory()
    material = AttributeFactory(kind=AttributeKind.TEXT)
    ProductTypeAttributeFactory(product_type=product_type, attribute=material)
    with_value, without = (ProductFactory(product_type=product_type) for _ in range(2))
    ProductAttributeValue.objects.create(product=with_value, attribute=material, value_text="Oak")
    empty_the_outbox()

    truncate("TRUNCATE products_productattributevalue")
    assert recorded() == products_updated("attributes", with_value)

    empty_the_outbox()
    truncate("TRUNCATE attributes_producttypeattribute")
    assert recorded() == {
        ("product_type.updated", product_type.pk, ("attributes",)),
        *products_updated("attributes", with_value, without),
    }
