"""Least privilege on every write route: who may do what, asked of five kinds of caller.

"customer" owns the review under test; "other" is another signed-in customer; "staff" is staff
without any permission; "permitted" is staff holding exactly the permission the route needs.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from apps.events.models import Event
from apps.products.models import Category, Product, ProductImage
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.models import Review
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory
from apps.webhooks.tests.factories import SubscriptionFactory
from apps.webhooks.tests.helpers import delivery_make

pytestmark = pytest.mark.django_db

CALLERS = ["anonymous", "customer", "other", "staff", "permitted"]


@dataclass
class World:
    category: Category
    product: Product
    review: Review
    image: ProductImage


@dataclass(frozen=True)
class Route:
    name: str
    permission: str | None  # what "permitted" holds
    call: Callable[[APIClient, World], Any]
    expected: dict[str, int]  # status per caller


def png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 120), "teal").save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "pixel.png"
    return buffer


STAFF_ONLY = {"anonymous": 401, "customer": 403, "other": 403, "staff": 403}


def staff_only(ok: int) -> dict[str, int]:
    return {**STAFF_ONLY, "permitted": ok}


ROUTES = [
    Route(
        "create product",
        "products.add_product",
        lambda c, w: c.post(
            reverse("v1:product-list"),
            {"name": "N", "sku": "NEW-1", "price": "1.00", "category": w.category.pk},
        ),
        staff_only(201),
    ),
    Route(
        "edit product",
        "products.change_product",
        lambda c, w: c.patch(reverse("v1:product-detail", args=[w.product.pk]), {"stock": 1}),
        staff_only(200),
    ),
    Route(
        "delete product",
        "products.delete_product",
        lambda c, w: c.delete(reverse("v1:product-detail", args=[w.product.pk])),
        staff_only(204),
    ),
    Route(
        "create category",
        "products.add_category",
        lambda c, w: c.post(reverse("v1:category-list"), {"name": "New"}),
        staff_only(201),
    ),
    Route(
        "edit category",
        "products.change_category",
        lambda c, w: c.patch(reverse("v1:category-detail", args=[w.category.pk]), {"name": "X"}),
        staff_only(200),
    ),
    Route(
        "delete category",
        "products.delete_category",
        # Still holds the product: the permitted caller gets past the permission, to a 409.
        lambda c, w: c.delete(reverse("v1:category-detail", args=[w.category.pk])),
        staff_only(409),
    ),
    Route(
        "upload image",
        "products.change_product",
        lambda c, w: c.post(
            reverse("v1:product-image-list", args=[w.product.pk]),
            {"image": png()},
            format="multipart",
        ),
        staff_only(201),
    ),
    Route(
        "edit image",
        "products.change_product",
        lambda c, w: c.patch(
            reverse("v1:product-image-detail", args=[w.product.pk, w.image.pk]), {"alt_text": "x"}
        ),
        staff_only(200),
    ),
    Route(
        "delete image",
        "products.change_product",
        lambda c, w: c.delete(reverse("v1:product-image-detail", args=[w.product.pk, w.image.pk])),
        staff_only(204),
    ),
    Route(
        "hide review",
        "reviews.moderate_review",
        lambda c, w: c.post(reverse("v1:review-hide", args=[w.review.pk]), {"reason": "x"}),
        staff_only(200),
    ),
    Route(
        "restore review",
        "reviews.moderate_review",
        lambda c, w: c.post(reverse("v1:review-restore", args=[w.review.pk])),
        staff_only(200),
    ),
    # Reviews belong to their author: nobody else, staff included, can even see them to edit.
    Route(
        "edit review",
        "reviews.change_review",
        lambda c, w: c.patch(reverse("v1:review-detail", args=[w.review.pk]), {"rating": 1}),
        {"anonymous": 401, "customer": 200, "other": 404, "staff": 404, "permitted": 404},
    ),
    Route(
        "delete review",
        "reviews.delete_review",
        lambda c, w: c.delete(reverse("v1:review-detail", args=[w.review.pk])),
        {"anonymous": 401, "customer": 204, "other": 404, "staff": 404, "permitted": 404},
    ),
    # The customer already reviewed the product: a second review is refused by the rule.
    Route(
        "add review",
        None,
        lambda c, w: c.post(reverse("v1:product-review-list", args=[w.product.pk]), {"rating": 4}),
        {"anonymous": 401, "customer": 400, "other": 201, "staff": 201, "permitted": 201},
    ),
    Route(
        "mark review helpful",
        None,
        lambda c, w: c.post(reverse("v1:review-helpful", args=[w.review.pk])),
        {"anonymous": 401, "customer": 400, "other": 200, "staff": 200, "permitted": 200},
    ),
    Route(
        "edit own profile",
        None,
        lambda c, w: c.patch(reverse("v1:users-me"), {"first_name": "Ada"}),
        {"anonymous": 401, "customer": 200, "other": 200, "staff": 200, "permitted": 200},
    ),
    Route(
        "create webhook subscription",
        "webhooks.add_subscription",
        lambda c, w: c.post(
            reverse("v1:webhook-subscription-list"),
            {"target_url": "http://127.0.0.1/hook", "event_types": ["product.updated"]},
            format="json",
        ),
        staff_only(201),
    ),
    Route(
        "edit webhook subscription",
        "webhooks.change_subscription",
        lambda c, w: c.patch(
            reverse("v1:webhook-subscription-detail", args=[SubscriptionFactory().pk]),
            {"is_active": False},
            format="json",
        ),
        staff_only(200),
    ),
    Route(
        "delete webhook subscription",
        "webhooks.delete_subscription",
        lambda c, w: c.delete(
            reverse("v1:webhook-subscription-detail", args=[SubscriptionFactory().pk])
        ),
        staff_only(204),
    ),
    Route(
        "rotate webhook secret",
        "webhooks.change_subscription",
        lambda c, w: c.post(
            reverse("v1:webhook-subscription-rotate-secret", args=[SubscriptionFactory().pk])
        ),
        staff_only(200),
    ),
    Route(
        "resend webhook delivery",
        "webhooks.add_delivery",
        lambda c, w: c.post(reverse("v1:webhook-delivery-resend", args=_a_delivery(w))),
        staff_only(201),
    ),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_write_route_permissions(
    route: Route,
    caller: str,
    staff_with_perms: Callable[..., User],
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    settings.MEDIA_ROOT = tmp_path
    customer = UserFactory()
    category = CategoryFactory()
    product = ProductFactory(category=category)
    image = ProductImage.objects.create(product=product, image=_stored_png(), position=0)
    world = World(category, product, ReviewFactory(product=product, user=customer), image)
    users: dict[str, User | None] = {
        "anonymous": None,
        "customer": customer,
        "other": UserFactory(),
        "staff": staff_with_perms(),
        "permitted": staff_with_perms(route.permission)
        if route.permission
        else UserFactory(is_staff=True),
    }
    client = APIClient()
    if users[caller] is not None:
        client.force_authenticate(users[caller])

    response = route.call(client, world)

    assert response.status_code == route.expected[caller], response.data


def _a_delivery(world: World) -> list[int]:
    """Return the URL arguments of a delivery of the world's product's creation."""
    event = Event.objects.of_entity("product", world.product.pk).get()
    delivery = delivery_make(SubscriptionFactory(), event)
    return [delivery.subscription_id, delivery.pk]


def _stored_png() -> Any:
    return SimpleUploadedFile("pixel.png", png().getvalue(), content_type="image/png")
