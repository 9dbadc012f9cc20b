import pytest
from django.db import IntegrityError
from django.test import Client
from rest_framework.test import APIClient

from apps.core.exceptions import integrity_error_to_validation_error
from apps.products.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_unknown_api_url_is_a_json_404_with_request_id(client: Client) -> None:
    response = client.get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="trace-me-1")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "Not found.",
        "request_id": "trace-me-1",
    }


def test_unknown_page_outside_the_api_stays_html(client: Client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unexpected_error_in_the_api_is_a_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("apps.products.views.ProductViewSet.list", explode)
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/v1/products/")

    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "server_error"
    assert body["request_id"] == response["X-Request-ID"]


def test_request_id_is_echoed_or_generated(client: Client) -> None:
    echoed = client.get("/api/v1/products/", HTTP_X_REQUEST_ID="abc-123")
    generated = client.get("/api/v1/products/")
    forged = client.get("/api/v1/products/", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert echoed["X-Request-ID"] == "abc-123"
    assert len(generated["X-Request-ID"]) == 32
    assert forged["X-Request-ID"] != "bad id\nwith newline"


def test_a_constraint_violation_is_named_after_its_field() -> None:
    existing = ProductFactory()
    try:
        ProductFactory(sku=existing.sku)
    except IntegrityError as error:
        reported = integrity_error_to_validation_error(error)
    assert reported.status_code == 400
    assert reported.detail == {"sku": ["Product with this SKU already exists."]}


@pytest.mark.parametrize(
    "path", ["/api/v1/products/", "/api/v1/categories/tree/", "/api/v1/reviews/"]
)
def test_catalogue_reads_are_served_when_throttle_counters_fail(
    settings,
    path: str,  # type: ignore[no-untyped-def]
) -> None:
    # The throttles count in process memory meanwhile (apps.core.throttling.FallbackMixin);
    # only the account endpoints refuse (apps/users/tests/test_throttling.py).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    client = APIClient(raise_request_exception=False)

    responses = [client.get(path) for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]
