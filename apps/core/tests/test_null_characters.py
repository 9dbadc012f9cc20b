"""A NUL character in a query string is a 400 naming the parameter, wherever it is sent."""

import pytest
from django.test import Client

from apps.products.tests.factories import CategoryFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/products/?search=a%00b", "search"),
        ("/api/v1/products/?page=1&sku=%00", "sku"),
        ("/api/v1/reviews/?ordering=%00", "ordering"),
        ("/api/v1/categories/?x%00y=1", "xy"),
    ],
)
def test_an_api_query_with_nul_is_a_400_naming_the_parameter(
    client: Client, path: str, parameter: str
) -> None:
    response = client.get(path)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {parameter: ["Null characters are not allowed."]}
    assert body["request_id"] == response["X-Request-ID"]


def test_the_admin_autocomplete_refuses_nul_instead_of_failing(
    client: Client, superuser: User
) -> None:
    # Before: PostgreSQL's "text fields cannot contain NUL" reached the staff as a 500.
    CategoryFactory(name="Tents")
    client.force_login(superuser)
    client.raise_request_exception = False

    response = client.get(
        "/admin/autocomplete/",
        {
            "term": "te\x00",
            "app_label": "products",
            "model_name": "product",
            "field_name": "category",
        },
    )
    plain = client.get(
        "/admin/autocomplete/",
        {"term": "te", "app_label": "products", "model_name": "product", "field_name": "category"},
    )

    assert response.status_code == 400
    assert plain.status_code == 200
    assert [result["text"] for result in plain.json()["results"]] == ["Tents"]
