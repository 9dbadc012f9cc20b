"""Client mistakes in what a request sends are 4xx answers naming what was wrong, never 500s.

Bodies (apps.core.parsers): too large, too deeply nested, unreadable. Query parameters
(apps.core.filters): empty list members, date-times the database cannot take, cursors no page
wrote. Numbers everywhere (apps.core.fields): the digits 0-9 only.
"""

import base64
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image
from rest_framework.test import APIClient

from apps.core.parsers import MAX_JSON_DEPTH, nests_deeper_than
from apps.products.models import Category, Product, ProductImage
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.models import Review
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ERROR_FIELDS = {"status", "code", "detail", "request_id"}
PRODUCTS = reverse("v1:product-list")
CATEGORIES = reverse("v1:category-list")
REVIEWS = reverse("v1:review-list")
TOKEN = reverse("v1:auth-token")
REGISTER = reverse("v1:auth-register")
ARABIC_INDIC_ZERO = "\u0660"
FULLWIDTH_ZERO = "\uff10"


def other_digits(number: int | str, zero: str = ARABIC_INDIC_ZERO) -> str:
    """Return ``number`` written in the decimal digits that start at ``zero``."""
    return "".join(
        chr(ord(zero) + int(digit)) if digit.isdigit() else digit for digit in str(number)
    )


def refusal(response: Any, status: int, code: str) -> dict[str, Any]:
    """Return the error body of ``response`` after checking its status, shape and code."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) >= ERROR_FIELDS, body
    assert (body["status"], body["code"]) == (status, code), body
    return body


def invalid_field(response: Any, field: str) -> list[str]:
    """Return the messages for ``field`` of a 400 ``invalid`` that names only that field."""
    body = refusal(response, 400, "invalid")
    assert list(body["errors"]) == [field], body
    return body["errors"][field]


def nested(depth: int) -> Any:
    """Return ``depth`` lists, one inside the other."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def png() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (200, 150), "teal").save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def staff(client_for: Callable[[User], APIClient], staff_with_perms) -> APIClient:  # type: ignore[no-untyped-def]
    return client_for(
        staff_with_perms(
            "products.add_product",
            "products.change_product",
            "products.add_category",
            "products.change_category",
        )
    )


@pytest.fixture
def anonymous() -> APIClient:
    # Answers, not exceptions: a 500 here is what these tests exist to catch.
    return APIClient(raise_request_exception=False)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO):
        yield caplog


# --- Lists in a parameter ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids", [",", "1,,2", "1,", ",1", "1e5", "1.0", "+1", "99999999999999999999"]
)
def test_empty_or_malformed_members_of_ids_are_400s_naming_ids(
    anonymous: APIClient, ids: str
) -> None:
    ProductFactory()

    messages = invalid_field(anonymous.get(PRODUCTS, {"ids": ids}), "ids")

    assert "separated by commas" in messages[0]


# --- Date-times the database cannot take ------------------------------------------------------


@pytest.mark.parametrize("parameter", ["created_after", "created_before"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-01-01T00:00:00-17:00", "Use a UTC offset from -15:59 to +15:59."),
        ("2026-01-01T00:00:00+16:00", "Use a UTC offset from -15:59 to +15:59."),
        ("2026-01-01T00:00:00+15:59:59.500000", "Use a UTC offset from -15:59 to +15:59."),
        ("0001-01-01T00:00:00+05:00", "Give a date-time from 0001-01-01 to 9999-12-31 in UTC."),
        ("9999-12-31T23:59:59-01:00", "Give a date-time from 0001-01-01 to 9999-12-31 in UTC."),
        (f"{other_digits(2026)}-01-01T00:00:00", "Enter a valid date/time."),
    ],
)
def test_datetimes_the_database_cannot_take_are_400s_naming_the_parameter(
    anonymous: APIClient, parameter: str, value: str, message: str
) -> None:
    ProductFactory()

    assert invalid_field(anonymous.get(PRODUCTS, {parameter: value}), parameter) == [message]


def test_a_datetime_with_any_offset_the_database_takes_filters_by_its_moment_in_utc(
    anonymous: APIClient,
) -> None:
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(created_at=datetime(2026, 1, 1, 12, tzinfo=UTC))

    def listed(**params: str) -> list[int]:
        response = anonymous.get(PRODUCTS, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    # 12:00 UTC is 17:00:00.5 at +05:00:00.5 (an offset Python takes and PostgreSQL does not).
    assert listed(created_after="2026-01-01T17:00:00.4+05:00:00.5") == [product.pk]
    assert listed(created_after="2026-01-01T17:00:00.6+05:00:00.5") == []
    assert listed(created_before="2026-01-02T03:59:00.000001+15:59") == [product.pk]
    assert listed(created_before="2025-12-31T20:01:00-15:59") == []


# --- JSON bodies --------------------------------------------------------------------------------


def test_a_thousand_levels_of_json_are_a_400_parse_error_everywhere_and_store_nothing(
    anonymous: APIClient,
    staff: APIClient,
    client_for: Callable[[User], APIClient],
    logs: pytest.LogCaptureFixture,
) -> None:
    product = ProductFactory()
    image = ProductImage.objects.create(product=product, image=png())
    author = UserFactory()
    review = ReviewFactory(user=author)
    signed_in = client_for(author)
    deep = "DEEP"  # written as a thousand nested arrays: json.dumps cannot write them either
    users, reviews, products, categories = (
        User.objects.count(),
        Review.objects.count(),
        Product.objects.count(),
        Category.objects.count(),
    )
    attempts = [
        (anonymous.post, TOKEN, {"email": "a@example.com", "password": deep}),
        (anonymous.post, REGISTER, {"email": "a@example.com", "username": "a", "password": deep}),
        (staff.post, PRODUCTS, {"name": deep, "sku": "DEEP-1", "price": "1.00"}),
        (staff.post, CATEGORIES, {"name": deep}),
        (
            staff.patch,
            reverse("v1:product-image-detail", kwargs={"product_pk": product.pk, "pk": image.pk}),
            {"alt_text": deep},
        ),
        (signed_in.post, REVIEWS, {"product": product.pk, "rating": 5, "comment": deep}),
        (signed_in.patch, reverse("v1:review-detail", args=[review.pk]), {"comment": deep}),
        (signed_in.patch, reverse("v1:users-me"), {"first_name": deep}),
    ]

    for send, url, body in attempts:
        text = json.dumps(body).replace('"DEEP"', "[" * 1000 + "]" * 1000)
        response = send(url, text, content_type="application/json")
        detail = refusal(response, 400, "parse_error")["detail"]
        assert f"deeper than {MAX_JSON_DEPTH} levels" in detail, url

    assert (users, reviews, products, categories) == (
        User.objects.count(),
        Review.objects.count(),
        Product.objects.count(),
        Category.objects.count(),
    )
    review.refresh_from_db()
    image.refresh_from_db()
    assert (review.comment, image.alt_text) == ("Does what it says.", "")
    assert error_records(logs) == []


def test_json_nested_to_the_limit_reaches_the_fields_and_one_level_more_is_refused(
    client_for: Callable[[User], APIClient],
) -> None:
    product = ProductFactory()
    signed_in = client_for(UserFactory())

    # The body is one level: the comment's lists make up the rest.
    at_limit = signed_in.post(
        REVIEWS, {"product": product.pk, "rating": 5, "comment": nested(MAX_JSON_DEPTH - 1)}
    )
    past_it = signed_in.post(
        REVIEWS, {"product": product.pk, "rating": 5, "comment": nested(MAX_JSON_DEPTH)}
    )

    assert invalid_field(at_limit, "comment") == ["Not a valid string."]
    refusal(past_it, 400, "parse_error")
    assert not Review.objects.exists()


def test_what_json_does_not_allow_is_a_400_parse_error_as_with_drf(
    client_for: Callable[[User], APIClient],
) -> None:
    product = ProductFactory()
    signed_in = client_for(UserFactory())
    bodies = [
        f'{{"product": {product.pk}, "rating": NaN, "comment": "x"}}'.encode(),
        f'{{"product": {product.pk}, "rating": Infinity, "comment": "x"}}'.encode(),
        f'{{"product": {product.pk}, "rating": 5, "comment": "\xff"}}'.encode("latin-1"),
        f'{{"product": {product.pk}, "rating": 5, "comment": "x"'.encode(),  # left open
        b"[" * 5000,
        b'{"comment": "' + b"[" * 5000 + b'"' + b"]" * 40,
    ]

    for body in bodies:
        response = signed_in.post(REVIEWS, body, content_type="application/json")
        assert refusal(response, 400, "parse_error")["detail"].startswith("JSON parse error - ")
    assert not Review.objects.exists()


def json_value(depth: int) -> st.SearchStrategy[Any]:
    text = st.text(alphabet='[]{}"\\ab\u00e9\u2028/:,', max_size=6)
    scalars = st.one_of(text, st.integers(), st.none(), st.booleans())
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=depth,
    )


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


@hypothesis_settings(max_examples=300, deadline=None)
@given(value=json_value(40), limit=st.integers(min_value=0, max_value=8), ascii_only=st.booleans())
def test_the_depth_check_finds_the_real_depth_of_any_document(
    value: Any, limit: int, ascii_only: bool
) -> None:
    document = json.dumps(value, ensure_ascii=ascii_only).encode()

    assert nests_deeper_than(document, limit) == (depth_of(value) > limit)


# --- Form and multipart bodies ------------------------------------------------------------------


def test_form_and_multipart_bodies_with_too_many_fields_are_400_parse_errors(
    staff: APIClient, logs: pytest.LogCaptureFixture
) -> None:
    product = ProductFactory()
    url = reverse("v1:product-image-list", kwargs={"product_pk": product.pk})
    fields = {f"field{number}": "1" for number in range(1_100)}

    multipart = staff.post(url, {"image": png(), **fields}, format="multipart")
    form = staff.post(
        url,
        "&".join(f"{name}=1" for name in fields),
        content_type="application/x-www-form-urlencoded",
    )

    for response in (multipart, form):
        detail = refusal(response, 400, "parse_error")["detail"]
        assert detail == "The request has more than 1,000 parameters or form fields."
    assert not ProductImage.objects.exists()
    assert error_records(logs) == []


# --- Bodies over the size limit -----------------------------------------------------------------


@pytest.fixture
def small_limit(settings) -> int:  # type: ignore[no-untyped-def]
    # A small limit keeps the bodies small; the default is Django's 2.5 MB.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    return 1_000


TOO_LARGE = "The request body is larger than the limit of 1,000 bytes."


def test_a_body_over_the_size_limit_is_a_413_naming_the_limit_and_stores_nothing(
    small_limit: int,
    staff: APIClient,
    client_for: Callable[[User], APIClient],
    logs: pytest.LogCaptureFixture,
) -> None:
    product = ProductFactory()
    images = reverse("v1:product-image-list", kwargs={"product_pk": product.pk})
    signed_in = client_for(UserFactory())
    long = "x" * 2_000

    answers = [
        staff.post(PRODUCTS, {"name": long, "sku": "BIG-1", "price": "1.00", "stock": 1}),
        signed_in.post(REVIEWS, {"product": product.pk, "rating": 5, "comment": long}),
        staff.post(images, f"alt_text={long}", content_type="application/x-www-form-urlencoded"),
        staff.post(images, {"image": png(), "alt_text": long}, format="multipart"),
    ]

    for response in answers:
        assert refusal(response, 413, "request_too_large")["detail"] == TOO_LARGE
    assert Product.objects.count() == 1
    assert not Review.objects.exists()
    assert not ProductImage.objects.exists()
    assert error_records(logs) == []


def assert_not_a_throttle_outage(response: Any, logs: pytest.LogCaptureFixture) -> None:
    assert "Retry-After" not in response
    assert not User.objects.filter(email="new@example.com").exists()
    assert error_records(logs) == []


# The per-account throttle of these endpoints reads the email from the body, before the view.
@pytest.mark.parametrize("url", [TOKEN, REGISTER])
def test_an_oversized_body_to_the_account_endpoints_is_a_413_not_a_throttle_outage(
    small_limit: int, anonymous: APIClient, logs: pytest.LogCaptureFixture, url: str
) -> None:
    body = {"email": "new@example.com", "username": "new", "password": "x" * 2_000}

    response = anonymous.post(url, body)

    assert refusal(response, 413, "request_too_large")["detail"] == TOO_LARGE
    assert_not_a_throttle_outage(response, logs)


@pytest.mark.parametrize("url", [TOKEN, REGISTER])
def test_a_too_deeply_nested_body_to_the_account_endpoints_is_a_400_not_a_throttle_outage(
    anonymous: APIClient, logs: pytest.LogCaptureFixture, url: str
) -> None:
    body = '{"email": "new@example.com", "username": "new", "password": '
    body += "[" * 1_000 + "]" * 1_000 + "}"

    response = anonymous.post(url, body, content_type="application/json")

    refusal(response, 400, "parse_error")
    assert_not_a_throttle_outage(response, logs)


def test_an_oversized_form_post_to_the_admin_is_a_413_page_and_stores_nothing(
    small_limit: int, superuser: User, logs: pytest.LogCaptureFixture
) -> None:
    category = CategoryFactory()
    # The CSRF middleware reads the form first, before any view, when it checks the token.
    checked = Client(enforce_csrf_checks=True, raise_request_exception=False)
    checked.cookies["csrftoken"] = "a" * 32
    login = checked.post(reverse("admin:login"), {"username": "x", "password": "x" * 2_000})
    # Without the check, the admin's view reads it.
    browser = Client(raise_request_exception=False)
    browser.force_login(superuser)
    add = browser.post(
        reverse("admin:products_product_add"),
        {"name": "x" * 2_000, "sku": "ADMIN-1", "price": "1.00", "category": category.pk},
    )

    for response in (login, add):
        assert response.status_code == 413
        assert response["Content-Type"].startswith("text/html")
        assert TOO_LARGE.encode() in response.content
    assert not Product.objects.exists()
    # Django logs a SuspiciousOperation as an ERROR; this is the client's mistake.
    assert error_records(logs) == []


def test_an_oversized_form_post_with_a_session_is_a_413_in_the_error_shape(
    small_limit: int, user: User, logs: pytest.LogCaptureFixture
) -> None:
    product = ProductFactory()
    # CSRF is checked for session users, and reads the form before the view does.
    browser = Client(enforce_csrf_checks=True, raise_request_exception=False)
    browser.force_login(user)
    browser.cookies["csrftoken"] = "a" * 32

    response = browser.post(
        REVIEWS,
        f"product={product.pk}&rating=5&comment={'x' * 2_000}",
        content_type="application/x-www-form-urlencoded",
    )

    assert refusal(response, 413, "request_too_large")["detail"] == TOO_LARGE
    assert not Review.objects.exists()
    assert error_records(logs) == []


# --- Digits other than 0-9 ----------------------------------------------------------------------


def test_an_id_in_the_path_in_other_digits_matches_no_route(
    anonymous: APIClient, staff: APIClient, client_for: Callable[[User], APIClient]
) -> None:
    product = ProductFactory()
    author, voter = UserFactory(), UserFactory()
    review = ReviewFactory(product=product, user=author)
    images_of = reverse("v1:product-image-list", kwargs={"product_pk": 0})
    reviews_of = reverse("v1:product-review-list", args=[0])
    other = other_digits(product.pk)
    requests = [
        (anonymous.get, f"{PRODUCTS}{other}/", None),
        (anonymous.get, f"{PRODUCTS}{other_digits(product.pk, FULLWIDTH_ZERO)}/", None),
        (anonymous.get, f"{CATEGORIES}{other_digits(product.category_id)}/", None),
        (anonymous.get, f"{REVIEWS}{other_digits(review.pk)}/", None),
        (anonymous.get, images_of.replace("/0/", f"/{other}/"), None),
        (anonymous.get, reviews_of.replace("/0/", f"/{other}/"), None),
        (staff.patch, f"{PRODUCTS}{other}/", {"stock": 0}),
        (client_for(author).delete, f"{REVIEWS}{other_digits(review.pk)}/", None),
        (client_for(voter).post, f"{REVIEWS}{other_digits(review.pk)}/helpful/", None),
    ]

    for send, url, body in requests:
        response = send(url, body)
        assert refusal(response, 404, "not_found")["detail"] == "Not found.", url

    product.refresh_from_db()
    review.refresh_from_db()
    assert (product.stock, review.helpful_count) == (10, 0)


@pytest.mark.parametrize(
    ("list_name", "parameter", "value"),
    [
        ("products", "price_min", other_digits(5)),
        ("products", "price_max", other_digits("19.99")),
        ("products", "price_max", other_digits(20, FULLWIDTH_ZERO)),
        ("products", "price_min", "1_0"),
        ("products", "rating_min", other_digits(4)),
        ("products", "ids", "product"),
        ("categories", "parent", "category"),
        ("reviews", "product", "product"),
        ("reviews", "rating", other_digits(4)),
        ("reviews", "rating_min", other_digits(4)),
        ("product-reviews", "rating", other_digits(4)),
    ],
)
def test_numbers_in_query_parameters_in_other_digits_are_400s_naming_them(
    anonymous: APIClient, list_name: str, parameter: str, value: str
) -> None:
    category = CategoryFactory()
    product = ProductFactory(category=CategoryFactory(parent=category))
    ReviewFactory(product=product)
    value = {"product": other_digits(product.pk), "category": other_digits(category.pk)}.get(
        value, value
    )
    url = {
        "products": PRODUCTS,
        "categories": CATEGORIES,
        "reviews": REVIEWS,
        "product-reviews": reverse("v1:product-review-list", args=[product.pk]),
    }[list_name]

    invalid_field(anonymous.get(url, {parameter: value}), parameter)


def test_numbers_in_bodies_in_other_digits_are_400s_naming_the_field_and_store_nothing(
    staff: APIClient, client_for: Callable[[User], APIClient]
) -> None:
    category = CategoryFactory()
    product = ProductFactory(category=category)
    image = ProductImage.objects.create(product=product, image=png())
    author = UserFactory()
    review = ReviewFactory(product=product, user=author, rating=4)
    reviewer = client_for(UserFactory())
    new_product = {
        "name": "New",
        "sku": "NEW-1",
        "price": "1.00",
        "stock": 1,
        "category": category.pk,
    }
    attempts = [
        (reviewer.post, REVIEWS, {"product": product.pk, "rating": other_digits(5)}, "rating"),
        (reviewer.post, REVIEWS, {"product": other_digits(product.pk), "rating": 5}, "product"),
        (
            reviewer.post,
            reverse("v1:product-review-list", args=[product.pk]),
            {"rating": other_digits(5, FULLWIDTH_ZERO)},
            "rating",
        ),
        (
            client_for(author).patch,
            reverse("v1:review-detail", args=[review.pk]),
            {"rating": other_digits(2)},
            "rating",
        ),
        (staff.post, PRODUCTS, {**new_product, "price": other_digits("19.99")}, "price"),
        (staff.post, PRODUCTS, {**new_product, "stock": other_digits(7)}, "stock"),
        (staff.post, PRODUCTS, {**new_product, "stock": "1_000"}, "stock"),
        (staff.post, PRODUCTS, {**new_product, "category": other_digits(category.pk)}, "category"),
        (
            staff.patch,
            reverse("v1:product-detail", args=[product.pk]),
            {"stock": other_digits(3, FULLWIDTH_ZERO)},
            "stock",
        ),
        (staff.post, CATEGORIES, {"name": "Sub", "parent": other_digits(category.pk)}, "parent"),
        (
            staff.patch,
            reverse("v1:product-image-detail", kwargs={"product_pk": product.pk, "pk": image.pk}),
            {"position": other_digits(3)},
            "position",
        ),
    ]

    for send, url, body, field in attempts:
        messages = invalid_field(send(url, body), field)
        assert "digits 0-9" in messages[0], (url, field, messages)

    assert list(Review.objects.values_list("pk", "rating")) == [(review.pk, 4)]
    assert list(Product.objects.values_list("pk", "stock")) == [(product.pk, 10)]
    assert list(Category.objects.values_list("pk", flat=True)) == [category.pk]
    image.refresh_from_db()
    assert image.position == 0
    # The same in the digits 0-9 is read (as text from a form: a JSON body gives whole numbers
    # as numbers), whole numbers with what DRF has always allowed around them; a decimal as
    # text is digits and a point, as the schema's pattern writes it (test_json_types.py).
    edit = staff.patch(
        reverse("v1:product-detail", args=[product.pk]),
        {"stock": " 7 ", "price": "15."},
        format="multipart",
    )
    added = reviewer.post(
        REVIEWS, {"product": f" {product.pk} ", "rating": "5.0"}, format="multipart"
    )
    assert (edit.status_code, added.status_code) == (200, 201), (edit.json(), added.json())
    product.refresh_from_db()
    assert (product.stock, product.price) == (7, Decimal("15.00"))
    assert Review.objects.get(pk=added.json()["id"]).rating == 5


def test_a_fractional_id_is_refused_not_cut_to_a_whole_one(
    client_for: Callable[[User], APIClient],
) -> None:
    product = ProductFactory()
    reviewer = client_for(UserFactory())

    response = reviewer.post(REVIEWS, {"product": product.pk + 0.5, "rating": 5})

    invalid_field(response, "product")
    assert not Review.objects.exists()


# --- Cursors ------------------------------------------------------------------------------------


def cursor(ordering: list[str], values: list[Any]) -> str:
    """Return a cursor as the list writes them, for ``values`` of its ``ordering``."""
    state = {"o": ordering, "v": values}
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


@pytest.mark.parametrize(
    ("params", "values"),
    [
        ({}, ["2026-01-01T00:00:00+17:00", 5]),
        ({}, ["0001-01-01T00:00:00+05:00", 5]),
        ({}, [f"{other_digits(2026)}-01-01T00:00:00Z", 5]),
        ({}, ["2026-01-01T00:00:00Z", 10**30]),
        ({}, ["2026-01-01T00:00:00Z", 2.5]),
        ({}, ["2026-01-01T00:00:00Z", other_digits(5)]),
        ({"ordering": "price"}, ["1e999999", 1]),
        ({"ordering": "price"}, [other_digits(5), 1]),
        ({"ordering": "name"}, ["a\x00b", 1]),
        ({"ordering": "name"}, ["\ud800", 1]),
        ({"search": "chair"}, [10**400, 1]),
        ({"search": "chair"}, ["0.5", 1]),
    ],
)
def test_a_cursor_that_no_page_wrote_is_a_400_naming_cursor(
    anonymous: APIClient, params: dict[str, str], values: list[Any]
) -> None:
    ProductFactory.create_batch(2, name="Chair")
    first = anonymous.get(PRODUCTS, {**params, "cursor": "", "page_size": 1}).json()
    written = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    ordering = json.loads(base64.urlsafe_b64decode(written))["o"]
    assert len(ordering) == len(values)

    response = anonymous.get(PRODUCTS, {**params, "cursor": cursor(ordering, values)})

    assert invalid_field(response, "cursor") == ["Invalid cursor."]
