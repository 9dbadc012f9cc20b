"""A JSON body's fields take the JSON types the schema gives them (apps.core.serializers)."""

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apps.products.models import ProductImage
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.models import User


@pytest.fixture
def catalogue_staff(
    staff_with_perms: Callable[..., User], client_for: Callable[[User], APIClient]
) -> APIClient:
    return client_for(
        staff_with_perms("products.add_category", "products.change_product", "products.add_product")
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("name", 12), ("is_active", 0), ("is_active", "true"), ("parent", "1"), ("parent", 1.5)],
)
def test_a_value_of_another_json_type_is_refused_naming_its_field(
    catalogue_staff: APIClient, field: str, value: object
) -> None:
    CategoryFactory(pk=1)
    body = {"name": "Tents", "is_active": True, field: value}

    response = catalogue_staff.post(reverse("v1:category-list"), body, format="json")

    assert response.status_code == 400, response.json()
    assert set(response.json()["errors"]) == {field}


@pytest.mark.django_db
def test_a_signed_in_user_cannot_set_a_text_field_to_a_number(user_client: APIClient) -> None:
    response = user_client.patch(reverse("v1:users-me"), {"phone_number": 0}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"phone_number": ["Must be a string."]}


@pytest.mark.django_db
def test_a_field_that_refuses_the_value_anyway_keeps_its_own_message(
    catalogue_staff: APIClient,
) -> None:
    body = {"name": "Tents", "parent": "٢"}

    response = catalogue_staff.post(reverse("v1:category-list"), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["parent"] != ["Must be a whole number."]


@pytest.mark.django_db
@pytest.mark.parametrize("price", [12.5, "12.50", 12])
def test_a_price_is_a_number_or_its_digits_as_a_string(
    catalogue_staff: APIClient, price: object
) -> None:
    product = ProductFactory()
    url = reverse("v1:product-detail", kwargs={"pk": product.pk})

    response = catalogue_staff.patch(url, {"price": price, "stock": 3.0}, format="json")

    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    assert product.price == Decimal(str(price))
    assert product.stock == 3


@pytest.mark.django_db
@pytest.mark.parametrize("price", ["", ".", "+5", " 5", "5 ", "5e0", "1_0", "-0", "1.2.3"])
def test_a_price_as_text_is_only_what_the_schema_pattern_admits(
    catalogue_staff: APIClient, price: str
) -> None:
    # The schema writes a decimal string as digits and at most one point (no sign: prices are
    # not negative); Decimal() reads far more, which a fuzzer sending what the schema refuses
    # found accepted.
    product = ProductFactory(price=Decimal("9.99"))
    url = reverse("v1:product-detail", kwargs={"pk": product.pk})

    response = catalogue_staff.patch(url, {"price": price}, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == ["price"]
    product.refresh_from_db()
    assert product.price == Decimal("9.99")


@pytest.mark.django_db
@pytest.mark.parametrize(("price", "stored"), [("5.", "5"), (".5", "0.5"), ("0012.30", "12.3")])
def test_a_price_as_text_may_leave_out_digits_around_the_point(
    catalogue_staff: APIClient, price: str, stored: str
) -> None:
    product = ProductFactory()
    url = reverse("v1:product-detail", kwargs={"pk": product.pk})

    response = catalogue_staff.patch(url, {"price": price}, format="json")

    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    assert product.price == Decimal(stored)


@pytest.mark.django_db
def test_a_form_body_is_text_and_read_by_the_fields(
    catalogue_staff: APIClient, settings: Settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    product = ProductFactory()
    picture = io.BytesIO()
    Image.new("RGB", (200, 150), (10, 120, 200)).save(picture, "PNG")
    picture.name = "tent.png"
    picture.seek(0)
    url = reverse("v1:product-image-list", kwargs={"product_pk": product.pk})

    response = catalogue_staff.post(
        url, {"image": picture, "position": "2", "alt_text": "Pitched"}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    assert ProductImage.objects.get(product=product).position == 2


@pytest.mark.django_db
def test_a_signed_in_user_asking_for_a_link_again_has_the_body_checked(
    user_client: APIClient,
) -> None:
    url = reverse("v1:auth-verify-email-resend")

    too_long = user_client.post(url, {"email": f"{'a' * 250}@example.com"}, format="json")
    empty = user_client.post(url, {}, format="json")

    assert too_long.status_code == 400
    assert set(too_long.json()["errors"]) == {"email"}
    assert empty.status_code == 202
