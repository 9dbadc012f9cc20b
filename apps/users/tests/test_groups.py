"""The staff groups of migrations users.0002-0004: exact permissions, idempotent, reversible."""

import importlib
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.models import Review
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MIGRATION = "0004_staff_groups_event_log"
staff_groups = importlib.import_module(f"apps.users.migrations.{MIGRATION}")
first_staff_groups = importlib.import_module("apps.users.migrations.0002_staff_groups")
variants_staff_groups = importlib.import_module("apps.users.migrations.0003_staff_groups_variants")

EXPECTED = {
    "Catalogue managers": {
        "products.view_product",
        "products.add_product",
        "products.change_product",
        "products.delete_product",
        "products.view_category",
        "products.add_category",
        "products.change_category",
        "products.delete_category",
        "products.view_productimage",
        "products.add_productimage",
        "products.change_productimage",
        "products.delete_productimage",
        "products.view_variant",
        "products.add_variant",
        "products.change_variant",
        "products.delete_variant",
        *(
            f"attributes.{action}_{model}"
            for model in ("attribute", "attributeoption", "producttype", "producttypeattribute")
            for action in ("view", "add", "change", "delete")
        ),
        "reviews.view_review",
        "core.view_auditentry",
        "events.view_event",
    },
    "Review moderators": {
        "reviews.view_review",
        "reviews.change_review",
        "reviews.moderate_review",
        "products.view_product",
        "products.view_category",
        "core.view_auditentry",
    },
}


def group_permissions() -> dict[str, set[str]]:
    return {
        group.name: {
            f"{permission.content_type.app_label}.{permission.codename}"
            for permission in group.permissions.select_related("content_type")
        }
        for group in Group.objects.filter(name__in=EXPECTED)
    }


class SchemaEditor:
    """What the migration's functions use of a schema editor."""

    connection = connection


def migration_state_apps():  # type: ignore[no-untyped-def]
    loader = MigrationLoader(connection)
    return loader.project_state(("users", MIGRATION), at_end=True).apps


def test_the_groups_hold_exactly_their_permissions() -> None:
    assert group_permissions() == EXPECTED


def test_running_the_migration_again_restores_exactly_the_permissions() -> None:
    managers = Group.objects.get(name="Catalogue managers")
    managers.permissions.clear()
    Group.objects.get(name="Review moderators").permissions.add(
        *Permission.objects.filter(codename="delete_review")
    )
    apps = migration_state_apps()

    staff_groups.create_staff_groups(apps, SchemaEditor())
    staff_groups.create_staff_groups(apps, SchemaEditor())

    assert group_permissions() == EXPECTED
    assert Group.objects.filter(name__in=EXPECTED).count() == 2


def test_reversing_the_event_log_migration_takes_back_only_what_it_gave() -> None:
    variants_staff_groups.create_staff_groups(migration_state_apps(), SchemaEditor())

    permissions = group_permissions()

    assert permissions["Catalogue managers"] == EXPECTED["Catalogue managers"] - {
        "events.view_event"
    }
    assert permissions["Review moderators"] == EXPECTED["Review moderators"]


def test_reversing_the_variants_migration_takes_back_only_what_it_gave() -> None:
    first_staff_groups.create_staff_groups(migration_state_apps(), SchemaEditor())

    permissions = group_permissions()

    assert permissions["Catalogue managers"] == {
        permission
        for permission in EXPECTED["Catalogue managers"]
        if not permission.startswith("attributes.")
        and not permission.endswith("_variant")
        and permission != "events.view_event"
    }
    assert permissions["Review moderators"] == EXPECTED["Review moderators"]


def test_reversing_the_migration_deletes_the_groups() -> None:
    member = UserFactory(is_staff=True)
    member.groups.add(Group.objects.get(name="Catalogue managers"))

    first_staff_groups.delete_staff_groups(migration_state_apps(), SchemaEditor())

    assert not Group.objects.filter(name__in=EXPECTED).exists()
    assert User.objects.filter(pk=member.pk).exists()


def member_of(name: str) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=name))
    return User.objects.get(pk=user.pk)


def test_a_catalogue_manager_changes_products_but_cannot_moderate_reviews(
    client: Client,
) -> None:
    manager = member_of("Catalogue managers")
    client.force_login(manager)
    product = ProductFactory(price=Decimal("10.00"))
    review = ReviewFactory(product=product)

    price = client.post(
        reverse("admin:products_product_changelist"),
        {
            "action": "bulk_set_price",
            ACTION_CHECKBOX_NAME: [product.pk],
            "price": "12.00",
            "apply": "1",
        },
    )
    hide = client.post(
        reverse("admin:reviews_review_changelist"),
        {"action": "bulk_hide", ACTION_CHECKBOX_NAME: [review.pk], "reason": "x", "apply": "1"},
    )
    reviews_page = client.get(reverse("admin:reviews_review_changelist"))
    trail = client.get(reverse("admin:core_auditentry_changelist"))

    assert price.status_code == 302
    assert Product.objects.get(pk=product.pk).price == Decimal("12.00")
    assert manager.has_perm("products.change_product")
    assert not manager.has_perm("reviews.moderate_review")
    assert hide.status_code in (200, 302)
    assert not Review.objects.get(pk=review.pk).is_hidden
    assert reviews_page.status_code == 200
    assert reviews_page.context["action_form"] is None  # nothing to do to reviews in bulk
    assert trail.status_code == 200
    assert AuditEntry.objects.filter(action="products.set_price").count() == 1


def test_a_review_moderator_hides_reviews_but_cannot_change_products(client: Client) -> None:
    moderator = member_of("Review moderators")
    client.force_login(moderator)
    product = ProductFactory(price=Decimal("10.00"))
    review = ReviewFactory(product=product)

    hide = client.post(
        reverse("admin:reviews_review_changelist"),
        {"action": "bulk_hide", ACTION_CHECKBOX_NAME: [review.pk], "reason": "x", "apply": "1"},
    )
    price = client.post(
        reverse("admin:products_product_changelist"),
        {
            "action": "bulk_set_price",
            ACTION_CHECKBOX_NAME: [product.pk],
            "price": "12.00",
            "apply": "1",
        },
    )

    assert hide.status_code == 302
    assert Review.objects.get(pk=review.pk).is_hidden
    assert price.status_code in (200, 302)
    assert Product.objects.get(pk=product.pk).price == Decimal("10.00")


def test_a_catalogue_manager_manages_attributes_types_and_variants(client: Client) -> None:
    client.force_login(member_of("Catalogue managers"))

    attribute = client.post(
        reverse("v1:attribute-list"),
        {
            "name": "Size",
            "slug": "size",
            "kind": "choice",
            "options": [{"value": "S", "slug": "s"}, {"value": "M", "slug": "m"}],
        },
        content_type="application/json",
    )
    product_type = client.post(
        reverse("v1:product-type-list"),
        {
            "name": "Apparel",
            "slug": "apparel",
            "has_variants": True,
            "attributes": [{"slug": "size", "is_axis": True}],
        },
        content_type="application/json",
    )
    product = client.post(
        reverse("v1:product-list"),
        {
            "name": "Tee",
            "category": CategoryFactory().pk,
            "product_type": "apparel",
            "variants": [{"sku": "TEE-S", "price": "12.00", "stock": 3, "options": {"size": "s"}}],
        },
        content_type="application/json",
    )
    variant = client.post(
        reverse("v1:product-variant-list", args=[product.json().get("id", 0)]),
        {"sku": "TEE-M", "price": "14.00", "stock": 1, "options": {"size": "m"}},
        content_type="application/json",
    )

    assert (attribute.status_code, product_type.status_code) == (201, 201), (
        attribute.content,
        product_type.content,
    )
    assert (product.status_code, variant.status_code) == (201, 201), (
        product.content,
        variant.content,
    )
    assert Product.objects.get(pk=product.json()["id"]).variant_count == 2


def test_a_catalogue_manager_reads_the_event_log_and_a_review_moderator_does_not(
    client: Client,
) -> None:
    ProductFactory()
    events = reverse("admin:events_event_changelist")

    client.force_login(member_of("Catalogue managers"))
    manager_page = client.get(events)
    client.force_login(member_of("Review moderators"))
    moderator_page = client.get(events)

    assert manager_page.status_code == 200
    assert "product.created" in manager_page.content.decode()
    assert moderator_page.status_code == 403
