"""Every writer fills the outbox: the API, the admin, a queryset's update(), raw SQL and the
import; one event per entity per transaction with the changes merged; no event for a write that
changes nothing shown. Each test runs in one transaction: its set-up's events are emptied first
(helpers.empty_the_outbox). Commits, rollbacks and races: test_transactions.py."""

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.attributes.models import AttributeKind
from apps.attributes.tests.factories import (
    AttributeFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)
from apps.events.models import Event
from apps.events.tests.helpers import empty_the_outbox, recorded, recorded_of
from apps.products.models import Category, Product, ProductAttributeValue, ProductImage, Variant
from apps.products.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from apps.products.tests.helpers import image_upload, stored_image
from apps.products.tests.test_variants_admin import form_data
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def editor(client_for: Callable[[User], APIClient], staff_with_perms) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(
        staff_with_perms(
            "products.add_product",
            "products.change_product",
            "products.delete_product",
            "products.add_variant",
            "products.change_variant",
            "products.delete_variant",
            "products.add_category",
            "products.change_category",
        )
    )


def product_url(product_id: int) -> str:
    return reverse("v1:product-detail", args=[product_id])


def variant_ids(product_id: int) -> list[int]:
    return list(Variant.objects.filter(product_id=product_id).values_list("pk", flat=True))


# --- the API -------------------------------------------------------------------------------------


def test_the_products_api_emits_created_updated_and_deleted(editor: APIClient) -> None:
    category = CategoryFactory()
    empty_the_outbox()

    created = editor.post(
        PRODUCTS,
        {"name": "Lamp", "sku": "LAMP-1", "price": "10.00", "stock": 3, "category": category.pk},
    )
    assert created.status_code == 201, created.data
    product_id = created.data["id"]
    (variant_id,) = variant_ids(product_id)
    assert recorded() == {
        ("product.created", product_id, ()),
        ("variant.created", variant_id, ()),
    }

    empty_the_outbox()
    changed = editor.patch(product_url(product_id), {"price": "12.50", "name": "Desk lamp"})
    assert changed.status_code == 200, changed.data
    # The product's price goes through to its only variant (products_product_variant_write_through).
    assert recorded() == {
        ("product.updated", product_id, ("name", "price")),
        ("variant.updated", variant_id, ("price",)),
    }

    empty_the_outbox()
    assert editor.delete(product_url(product_id)).status_code == 204
    assert recorded() == {
        ("product.deleted", product_id, ()),
        ("variant.deleted", variant_id, ()),
    }


def test_the_variants_api_emits_and_the_summary_updates_the_product(editor: APIClient) -> None:
    product = ProductFactory(price=Decimal("20.00"), stock=5)
    variants = reverse("v1:product-variant-list", args=[product.pk])
    empty_the_outbox()

    created = editor.post(
        variants, {"sku": "V-2", "price": "30.00", "stock": 4, "options": {}}, format="json"
    )
    # A product without a type takes one variant: a second is refused, nothing is recorded.
    assert created.status_code == 400
    assert recorded() == set()

    typed = VariantFactory(product=product, price=Decimal("30.00"), stock=4)
    product.refresh_from_db()
    empty_the_outbox()

    url = reverse("v1:product-variant-detail", args=[product.pk, typed.pk])
    changed = editor.patch(url, {"price": "8.00", "stock": 6}, format="json")

    assert changed.status_code == 200, changed.data
    assert recorded() == {
        ("variant.updated", typed.pk, ("price", "stock")),
        # The product's price and stock summarise its variants: it changed too.
        ("product.updated", product.pk, ("price", "stock")),
    }

    empty_the_outbox()
    assert editor.delete(url).status_code == 204
    assert recorded() == {
        ("variant.deleted", typed.pk, ()),
        ("product.updated", product.pk, ("price", "stock")),
    }
    assert Event.objects.get(entity="variant").product_id == product.pk


def test_the_request_path_runs_no_query_for_the_outbox(editor: APIClient) -> None:
    product = ProductFactory()
    empty_the_outbox()

    with CaptureQueriesContext(connection) as queries:
        response = editor.patch(product_url(product.pk), {"stock": 9})

    assert response.status_code == 200
    assert not [query for query in queries if "events_event" in query["sql"]]
    assert ("product.updated", product.pk, ("stock",)) in recorded()


def test_the_categories_api_emits_and_a_move_changes_the_descendants_breadcrumbs(
    editor: APIClient,
) -> None:
    root, other = CategoryFactory(), CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    empty_the_outbox()

    response = editor.patch(reverse("v1:category-detail", args=[child.pk]), {"parent": other.pk})

    assert response.status_code == 200, response.data
    assert recorded() == {
        ("category.updated", child.pk, ("breadcrumbs", "parent")),
        ("category.updated", grandchild.pk, ("breadcrumbs",)),
    }


def test_the_images_api_emits(editor: APIClient) -> None:
    product = ProductFactory()
    images = reverse("v1:product-image-list", kwargs={"product_pk": product.pk})
    empty_the_outbox()

    created = editor.post(
        images, {"image": image_upload(), "alt_text": "Front"}, format="multipart"
    )
    assert created.status_code == 201, created.data
    image_id = created.data["id"]
    url = reverse("v1:product-image-detail", kwargs={"product_pk": product.pk, "pk": image_id})
    assert editor.patch(url, {"alt_text": "Side", "position": 2}).status_code == 200
    # Created, then changed, in two transactions that the test's transaction holds as one.
    assert recorded() == {("image.created", image_id, ())}

    empty_the_outbox()
    assert editor.patch(url, {"alt_text": "Back"}).status_code == 200
    assert recorded() == {("image.updated", image_id, ("alt_text",))}
    assert Event.objects.get().product_id == product.pk

    empty_the_outbox()
    assert editor.delete(url).status_code == 204
    assert recorded() == {("image.deleted", image_id, ())}


# --- the admin, bulk updates, raw SQL, the import -------------------------------------------------


def test_an_admin_save_emits_and_an_unchanged_one_does_not(admin_client: Client) -> None:
    product = ProductFactory(name="Old name")
    change_url = reverse("admin:products_product_change", args=[product.pk])
    data = form_data(admin_client.get(change_url))
    empty_the_outbox()

    unchanged = admin_client.post(change_url, data)
    assert unchanged.status_code == 302, unchanged.context["errors"]
    assert recorded() == set()

    changed = admin_client.post(change_url, data | {"name": "New name"})
    assert changed.status_code == 302, changed.context["errors"]
    assert recorded() == {("product.updated", product.pk, ("name",))}


def test_a_querysets_update_emits_one_event_per_changed_row() -> None:
    shown = ProductFactory.create_batch(3, is_active=True)
    already = ProductFactory(is_active=False)
    empty_the_outbox()

    Product.objects.filter(pk__in=[p.pk for p in [*shown, already]]).update(is_active=False)

    assert recorded() == {("product.updated", p.pk, ("is_active",)) for p in shown}


def test_raw_sql_emits() -> None:
    product = ProductFactory(stock=5)
    (variant_id,) = variant_ids(product.pk)
    empty_the_outbox()

    with connection.cursor() as cursor:
        cursor.execute("UPDATE products_variant SET stock = stock + 1 WHERE id = %s", [variant_id])
        cursor.execute("DELETE FROM products_product WHERE id = %s", [product.pk])

    # Updated, then deleted (with its product, by the foreign key's cascade): deleted.
    assert recorded() == {
        ("variant.deleted", variant_id, ()),
        ("product.deleted", product.pk, ()),
    }


def test_the_import_emits_for_every_product_and_variant(tmp_path: Path) -> None:
    sheet = tmp_path / "sample.csv"
    call_command("import_products", str(sheet), generate_sample=3, stdout=io.StringIO())
    empty_the_outbox()

    call_command("import_products", str(sheet), stdout=io.StringIO())

    products = list(Product.objects.filter(slug__startswith="sample-").values_list("pk", flat=True))
    variants = Variant.objects.filter(product_id__in=products).values_list("pk", flat=True)
    assert len(products) == 3 and len(variants) == 12
    # Created, then given variants, attribute values and a summary: still created.
    assert recorded() == {
        *(("product.created", pk, ()) for pk in products),
        *(("variant.created", pk, ()) for pk in variants),
    }

    empty_the_outbox()
    sheet.write_text(sheet.read_text().replace(",10.00,", ",11.00,", 1))
    call_command("import_products", str(sheet), stdout=io.StringIO())

    (changed,) = recorded_of("variant")
    assert changed[0] == "variant.updated" and changed[2] == ("price",)
    assert recorded_of("product") <= {("product.updated", pk, ("price",)) for pk in products}


# --- merging, and what counts as a change ---------------------------------------------------------


def test_several_statements_make_one_event_per_entity_with_their_changes() -> None:
    product = ProductFactory(price=Decimal("10.00"), stock=1)
    empty_the_outbox()
    first_position = None

    for update in [{"name": "A"}, {"stock": 2}, {"name": "B"}, {"description": "New"}]:
        Product.objects.filter(pk=product.pk).update(**update)
        first_position = first_position or Event.objects.get(entity="product").position

    event = Event.objects.get(entity="product")
    assert (event.type, event.changes) == ("product.updated", ["description", "name", "stock"])
    # The first statement's position, id and time stay.
    assert event.position == first_position


def test_created_then_changed_is_created_and_anything_then_deleted_is_deleted() -> None:
    category = CategoryFactory()
    empty_the_outbox()
    product = ProductFactory(category=category)
    Product.objects.filter(pk=product.pk).update(name="Renamed")
    assert recorded_of("product") == {("product.created", product.pk, ())}

    empty_the_outbox()
    category = CategoryFactory()
    category_id = category.pk
    Category.objects.filter(pk=category_id).update(name="Renamed")
    category.delete()
    assert recorded() == {("category.deleted", category_id, ())}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE products_product SET updated_at = now() WHERE id = %(id)s",
        "UPDATE products_product SET name = name, price = price, stock = stock WHERE id = %(id)s",
        # The search's own columns are not the product as anyone sees it.
        "UPDATE products_product SET search_values = 'other words' WHERE id = %(id)s",
        "UPDATE products_variant SET updated_at = now() WHERE product_id = %(id)s",
        "UPDATE products_category SET updated_at = now()"
        " WHERE id = (SELECT category_id FROM products_product WHERE id = %(id)s)",
        "UPDATE reviews_review SET updated_at = now() WHERE product_id = %(id)s",
        # What an attribute, an option or a type shows of itself did not change.
        "UPDATE attributes_attribute SET updated_at = now()",
        "UPDATE attributes_attributeoption SET value = value",
        "UPDATE attributes_producttypeattribute SET position = position",
        "UPDATE products_productattributevalue SET value_text = value_text",
    ],
)
def test_a_write_that_changes_nothing_shown_emits_nothing(statement: str) -> None:
    product = ProductFactory()
    ReviewFactory(product=product)
    empty_the_outbox()

    with connection.cursor() as cursor:
        cursor.execute(statement, {"id": product.pk})

    assert recorded() == set()


def test_a_new_review_is_an_event_and_its_rating_a_product_change(
    client_for: Callable[[User], APIClient], user: User
) -> None:
    product = ProductFactory()
    empty_the_outbox()

    created = client_for(user).post(
        reverse("v1:product-review-list", args=[product.pk]), {"rating": 4, "comment": "Good"}
    )

    # Published when written (moderation hides afterwards): an integration hears of it now.
    assert created.status_code == 201, created.data
    assert recorded() == {
        ("review.created", created.data["id"], ()),
        ("product.updated", product.pk, ("rating",)),
    }
    assert Event.objects.get(entity="review").product_id == product.pk


def test_editing_and_deleting_a_review_emit(
    client_for: Callable[[User], APIClient], user: User
) -> None:
    product = ProductFactory()
    review = ReviewFactory(product=product, user=user, rating=4)
    author = client_for(user)
    url = reverse("v1:review-detail", args=[review.pk])
    empty_the_outbox()

    edited = author.patch(url, {"rating": 2, "comment": "Broke after a week"})

    assert edited.status_code == 200, edited.data
    assert recorded() == {
        ("review.updated", review.pk, ("comment", "rating")),
        ("product.updated", product.pk, ("rating",)),
    }

    empty_the_outbox()
    assert author.delete(url).status_code == 204
    assert recorded() == {
        ("review.deleted", review.pk, ()),
        ("product.updated", product.pk, ("rating",)),
    }

    empty_the_outbox()
    with connection.cursor() as cursor:  # raw SQL too (the product's figures are the service's)
        other = ReviewFactory(product=product)
        empty_the_outbox()
        cursor.execute("UPDATE reviews_review SET comment = 'Raw' WHERE id = %s", [other.pk])
    assert recorded() == {("review.updated", other.pk, ("comment",))}


def test_attribute_values_are_a_product_change() -> None:
    product_type = ProductTypeFactory()
    material = AttributeFactory(kind=AttributeKind.TEXT)
    ProductTypeAttributeFactory(product_type=product_type, attribute=material)
    product = ProductFactory(product_type=product_type)
    empty_the_outbox()

    value = ProductAttributeValue.objects.create(
        product=product, attribute=material, value_text="Linen"
    )
    assert recorded() == {("product.updated", product.pk, ("attributes",))}

    empty_the_outbox()
    ProductAttributeValue.objects.filter(pk=value.pk).update(value_text="Linen")
    assert recorded() == set()


# --- review moderation ----------------------------------------------------------------------------


def test_hiding_and_restoring_a_review_emit(
    client_for: Callable[[User], APIClient], staff_with_perms: Callable[..., User]
) -> None:
    product = ProductFactory()
    review = ReviewFactory(product=product, rating=1)
    moderator = client_for(staff_with_perms("reviews.moderate_review"))
    empty_the_outbox()

    hidden = moderator.post(reverse("v1:review-hide", args=[review.pk]), {"reason": "Spam"})

    assert hidden.status_code == 200, hidden.data
    assert recorded() == {
        ("review.hidden", review.pk, ()),
        ("product.updated", product.pk, ("rating",)),
    }
    assert Event.objects.get(entity="review").product_id == product.pk

    empty_the_outbox()
    restored = moderator.post(reverse("v1:review-restore", args=[review.pk]))

    assert restored.status_code == 200, restored.data
    assert recorded() == {
        ("review.shown", review.pk, ()),
        ("product.updated", product.pk, ("rating",)),
    }


@pytest.mark.parametrize(
    "statements",
    [
        # One statement, and two in either order: hidden stays the type, with the edit's change.
        ["UPDATE reviews_review SET comment = 'Spam', {hide} WHERE id = %(id)s"],
        [
            "UPDATE reviews_review SET comment = 'Spam' WHERE id = %(id)s",
            "UPDATE reviews_review SET {hide} WHERE id = %(id)s",
        ],
        [
            "UPDATE reviews_review SET {hide} WHERE id = %(id)s",
            "UPDATE reviews_review SET comment = 'Spam' WHERE id = %(id)s",
        ],
    ],
)
def test_a_review_edited_and_hidden_in_one_transaction_is_hidden_with_the_edit(
    statements: list[str],
) -> None:
    review = ReviewFactory()
    empty_the_outbox()
    hide = "is_hidden = true, hidden_at = now(), hidden_reason = 'Spam'"

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.replace("{hide}", hide), {"id": review.pk})

    assert recorded_of("review") == {("review.hidden", review.pk, ("comment",))}


def test_an_image_row_written_by_the_orm_emits() -> None:
    product = ProductFactory()
    empty_the_outbox()

    image = stored_image(product, alt_text="Front")
    ProductImage.objects.filter(pk=image.pk).update(position=3)

    assert recorded() == {("image.created", image.pk, ())}


def event_fields(event: Event) -> dict[str, Any]:
    return {field.name: getattr(event, field.name) for field in Event._meta.fields}


def test_an_event_has_an_id_a_time_and_its_transaction() -> None:
    empty_the_outbox()
    product = ProductFactory()

    event = Event.objects.get(entity="product")

    fields = event_fields(event)
    assert fields["id"] is not None and fields["occurred_at"] is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        assert fields["transaction_id"] == cursor.fetchone()[0]
    assert (event.entity, event.entity_id, event.product_id) == ("product", product.pk, product.pk)


# --- plans ----------------------------------------------------------------------------------------


def test_the_old_and_new_rows_are_never_joined_in_a_nested_loop() -> None:
    """PL/pgSQL plans a trigger's statement once per session, with the row counts of the first
    transition tables: a nested loop planned for one row would cost the square of 100,000. The
    functions' enable_nestloop = off makes the join a hash (or merge) join, whatever the counts
    (auto_explain shows the plans of the statements the triggers run)."""
    product = ProductFactory()
    plans: list[str] = []
    raw = connection.connection
    assert raw is not None

    def keep(diagnostic: Any) -> None:
        plans.append(diagnostic.message_primary or "")

    raw.add_notice_handler(keep)
    try:
        with connection.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            for setting in ["log_min_duration = 0", "log_nested_statements = on"]:
                cursor.execute(f"SET LOCAL auto_explain.{setting}")
            cursor.execute("SET LOCAL auto_explain.log_level = notice")
            cursor.execute(
                "UPDATE products_product SET name = 'One row' WHERE id = %s", [product.pk]
            )
            cursor.execute("UPDATE products_category SET name = 'One row'")
    finally:
        raw.remove_notice_handler(keep)

    # The statements the functions EXECUTE (not the format() calls that build them).
    joins = [
        plan
        for plan in plans
        if "FROM old_rows AS earlier JOIN new_rows AS later" in plan and "format(" not in plan
    ]
    # products, the write-through's variant, categories (their events, their products')
    assert len(joins) >= 4
    for plan in joins:
        assert "Nested Loop" not in plan and ("Hash Join" in plan or "Merge Join" in plan), plan
