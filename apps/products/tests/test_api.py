from collections.abc import Callable
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.products.models import Category, Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")
CATEGORIES = reverse("v1:category-list")

PRODUCT_READ_FIELDS = {
    "id", "name", "slug", "sku", "description", "price", "price_range", "stock", "in_stock",
    "is_active",
    "category", "average_rating", "review_count", "created_at", "updated_at",
}  # fmt: skip
# A list row also says which variant's SKU a search matched (null without a search).
PRODUCT_LIST_ROW_FIELDS = {*PRODUCT_READ_FIELDS, "matched_variant"}


def product_url(product: Product) -> str:
    return reverse("v1:product-detail", args=[product.pk])


def category_url(category: Category) -> str:
    return reverse("v1:category-detail", args=[category.pk])


def valid_product_payload(in_category: Category, **overrides: object) -> dict[str, object]:
    return {
        "name": "Trail Running Shoe",
        "sku": "RUN-001",
        "description": "Grippy.",
        "price": "129.90",
        "stock": 12,
        "category": in_category.pk,
        **overrides,
    }


# --- reads ------------------------------------------------------------------------------------


def test_product_list_shows_active_products_in_the_documented_shape(api_client: APIClient) -> None:
    shown = ProductFactory(price=Decimal("9.50"), stock=0)
    ProductFactory(is_active=False)
    ProductFactory(category=CategoryFactory(is_active=False))
    ReviewFactory(product=shown, rating=5)
    ReviewFactory(product=shown, rating=2)

    response = api_client.get(PRODUCTS)

    assert response.status_code == 200
    assert response.data["count"] == 1
    row = response.data["results"][0]
    assert set(row) == PRODUCT_LIST_ROW_FIELDS
    assert row["matched_variant"] is None
    assert row["price"] == "9.50"
    assert row["in_stock"] is False
    assert row["category"] == {
        "id": shown.category.pk,
        "name": shown.category.name,
        "slug": shown.category.slug,
    }
    assert row["average_rating"] == 3.5
    assert row["review_count"] == 2


def test_product_without_reviews_has_null_average(api_client: APIClient) -> None:
    product = ProductFactory()

    response = api_client.get(product_url(product))

    assert response.status_code == 200
    assert response.data["average_rating"] is None
    assert response.data["review_count"] == 0


@pytest.mark.parametrize("page_size", [1, 10, 100])
def test_product_list_query_count_does_not_grow_with_page_size(
    api_client: APIClient,
    django_assert_num_queries,
    page_size: int,  # type: ignore[no-untyped-def]
) -> None:
    for category in CategoryFactory.create_batch(3):
        ProductFactory.create_batch(4, category=category)

    with django_assert_num_queries(1):  # the page with its count, category joined
        response = api_client.get(PRODUCTS, {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.data["results"]) == min(page_size, 12)


def test_product_detail_takes_one_query(api_client: APIClient, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(
        category=CategoryFactory(parent=CategoryFactory(parent=CategoryFactory()))
    )

    with django_assert_num_queries(1):  # product with category, breadcrumbs and images
        response = api_client.get(product_url(product))

    assert response.data["id"] == product.pk


def test_page_size_is_capped_at_100(api_client: APIClient) -> None:
    ProductFactory.create_batch(101, category=CategoryFactory())

    response = api_client.get(PRODUCTS, {"page_size": 1000})

    assert len(response.data["results"]) == 100
    assert response.data["next"] is not None


def test_default_page_size_is_24(api_client: APIClient) -> None:
    ProductFactory.create_batch(25, category=CategoryFactory())

    assert len(api_client.get(PRODUCTS).data["results"]) == 24


def test_list_filters_by_category(api_client: APIClient) -> None:
    wanted = ProductFactory()
    ProductFactory()

    response = api_client.get(PRODUCTS, {"category": wanted.category.pk})

    assert [row["id"] for row in response.data["results"]] == [wanted.pk]


@pytest.mark.parametrize("value", ["abc", "999999"])
def test_list_refuses_a_malformed_or_unknown_category(api_client: APIClient, value: str) -> None:
    response = api_client.get(PRODUCTS, {"category": value})

    assert response.status_code == 400
    assert "category" in response.data["errors"]


def test_inactive_product_is_404_to_shoppers_but_visible_to_staff_who_edit(
    api_client: APIClient, client_for: Callable[[User], APIClient], staff_with_perms
) -> None:  # type: ignore[no-untyped-def]
    hidden = ProductFactory(is_active=False)

    assert api_client.get(product_url(hidden)).status_code == 404
    editor = client_for(staff_with_perms("products.change_product"))
    assert editor.get(product_url(hidden)).status_code == 200


def test_unknown_product_is_a_json_404(api_client: APIClient) -> None:
    response = api_client.get(reverse("v1:product-detail", args=[987654]))

    assert response.status_code == 404
    assert response.data["code"] == "not_found"


# --- writes and permissions -------------------------------------------------------------------


def test_anonymous_cannot_create_a_product(api_client: APIClient) -> None:
    response = api_client.post(PRODUCTS, valid_product_payload(CategoryFactory()))

    assert response.status_code == 401
    assert not Product.objects.exists()


@pytest.mark.parametrize("perms", [(), ("products.change_product",)])
def test_customers_and_staff_without_add_permission_cannot_create(
    client_for,
    staff_with_perms,
    user: User,
    perms: tuple[str, ...],  # type: ignore[no-untyped-def]
) -> None:
    category = CategoryFactory()

    assert client_for(user).post(PRODUCTS, valid_product_payload(category)).status_code == 403
    staff = client_for(staff_with_perms(*perms))
    assert staff.post(PRODUCTS, valid_product_payload(category)).status_code == 403
    assert not Product.objects.exists()


def test_staff_with_add_permission_creates_a_product(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    staff = staff_with_perms("products.add_product")
    category = CategoryFactory()

    response = client_for(staff).post(PRODUCTS, valid_product_payload(category))

    assert response.status_code == 201, response.data
    assert set(response.data) == PRODUCT_READ_FIELDS
    assert response.data["category"]["id"] == category.pk
    assert response.data["slug"] == "trail-running-shoe"
    product = Product.objects.get(pk=response.data["id"])
    assert product.created_by == staff
    assert product.price == Decimal("129.90")


def test_created_by_cannot_be_forged(client_for, staff_with_perms, other_user: User) -> None:  # type: ignore[no-untyped-def]
    staff = staff_with_perms("products.add_product")

    response = client_for(staff).post(
        PRODUCTS,
        valid_product_payload(CategoryFactory(), created_by=other_user.pk, review_count=99),
    )

    product = Product.objects.get(pk=response.data["id"])
    assert product.created_by == staff
    assert product.review_count == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": "-1.00"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": "123456789.00"}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": "many"}, "stock"),
        ({"category": 987654}, "category"),
        ({"category": "first"}, "category"),
        ({"name": ""}, "name"),
        ({"sku": None}, "sku"),
        ({"is_active": "perhaps"}, "is_active"),
        ({"slug": "not a slug"}, "slug"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(
    client_for,
    staff_with_perms,
    overrides: dict[str, object],
    field: str,  # type: ignore[no-untyped-def]
) -> None:
    staff = client_for(staff_with_perms("products.add_product"))

    response = staff.post(PRODUCTS, valid_product_payload(CategoryFactory(), **overrides))

    assert response.status_code == 400
    assert list(response.data["errors"]) == [field]
    assert not Product.objects.exists()


def test_create_refuses_missing_fields(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    response = client_for(staff_with_perms("products.add_product")).post(PRODUCTS, {})

    assert response.status_code == 400
    assert set(response.data["errors"]) == {"name", "sku", "price", "category"}


def test_create_refuses_a_duplicate_sku_or_slug(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    existing = ProductFactory()
    staff = client_for(staff_with_perms("products.add_product"))

    by_sku = staff.post(PRODUCTS, valid_product_payload(existing.category, sku=existing.sku))
    by_slug = staff.post(PRODUCTS, valid_product_payload(existing.category, slug=existing.slug))

    assert by_sku.status_code == 400 and "sku" in by_sku.data["errors"]
    assert by_slug.status_code == 400 and "slug" in by_slug.data["errors"]
    assert Product.objects.count() == 1


def test_malformed_json_is_a_400(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    staff = client_for(staff_with_perms("products.add_product"))

    response = staff.post(PRODUCTS, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.data["code"] == "parse_error"


def test_staff_with_change_permission_updates_a_product(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(price=Decimal("10.00"))
    staff = client_for(staff_with_perms("products.change_product"))

    response = staff.patch(product_url(product), {"price": "12.50", "stock": 0})

    assert response.status_code == 200
    assert response.data["price"] == "12.50"
    assert response.data["in_stock"] is False
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("12.50"), 0)


def test_bad_update_changes_nothing(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(price=Decimal("10.00"), stock=5)
    staff = client_for(staff_with_perms("products.change_product"))

    response = staff.patch(product_url(product), {"price": "11.00", "stock": -3})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["stock"]
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("10.00"), 5)


def test_delete_needs_the_delete_permission(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory()

    editor = client_for(staff_with_perms("products.change_product"))
    assert editor.delete(product_url(product)).status_code == 403
    deleter = client_for(staff_with_perms("products.delete_product"))
    assert deleter.delete(product_url(product)).status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()


# --- categories -------------------------------------------------------------------------------


def test_category_list_and_detail(api_client: APIClient, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    CategoryFactory(is_active=False)

    with django_assert_num_queries(1):  # the page with its count
        listed = api_client.get(CATEGORIES, {"page_size": 50})
    with django_assert_num_queries(4):  # category, breadcrumbs, children, product count
        detail = api_client.get(category_url(child))

    assert {row["id"] for row in listed.data["results"]} == {root.pk, child.pk}
    assert detail.data["parent"] == root.pk
    assert set(detail.data) == {
        "id", "name", "slug", "description", "parent", "is_active", "created_at", "updated_at",
        "breadcrumbs", "children", "product_count",
    }  # fmt: skip


def test_category_filters_roots_and_children(api_client: APIClient) -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)

    roots = api_client.get(CATEGORIES, {"is_root": "true"})
    children = api_client.get(CATEGORIES, {"parent": root.pk})

    assert [row["id"] for row in roots.data["results"]] == [root.pk]
    assert [row["id"] for row in children.data["results"]] == [child.pk]


def test_staff_creates_a_category_with_a_derived_slug(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    CategoryFactory(slug="garden-tools")
    staff = client_for(staff_with_perms("products.add_category"))

    response = staff.post(CATEGORIES, {"name": "Garden Tools"})

    assert response.status_code == 201, response.data
    assert response.data["slug"] == "garden-tools-2"


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_a_category_cannot_become_its_own_ancestor(
    client_for, staff_with_perms, depth: int
) -> None:  # type: ignore[no-untyped-def]
    top = CategoryFactory()
    bottom = top
    for _ in range(depth):
        bottom = CategoryFactory(parent=bottom)
    staff = client_for(staff_with_perms("products.change_category"))

    response = staff.patch(category_url(top), {"parent": bottom.pk})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["parent"]
    top.refresh_from_db()
    assert top.parent is None


def test_moving_a_subtree_is_one_request(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    old_root, new_root = CategoryFactory(), CategoryFactory()
    branch = CategoryFactory(parent=old_root)
    leaf = CategoryFactory(parent=branch)
    staff = client_for(staff_with_perms("products.change_category"))

    response = staff.patch(category_url(branch), {"parent": new_root.pk})

    assert response.status_code == 200
    assert Category.objects.ancestor_ids(leaf.pk) == [branch.pk, new_root.pk]


def test_deleting_a_category_in_use_is_a_409_and_deletes_nothing(
    client_for, staff_with_perms
) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory()
    parent = CategoryFactory()
    CategoryFactory(parent=parent)
    staff = client_for(staff_with_perms("products.delete_category"))

    with_products = staff.delete(category_url(product.category))
    with_children = staff.delete(category_url(parent))

    assert with_products.status_code == 409 and with_products.data["code"] == "protected"
    assert with_children.status_code == 409
    assert Category.objects.count() == 3


def test_category_writes_need_staff_permission(
    api_client: APIClient, user_client: APIClient
) -> None:
    assert api_client.post(CATEGORIES, {"name": "X"}).status_code == 401
    assert user_client.post(CATEGORIES, {"name": "X"}).status_code == 403
    assert not Category.objects.exists()


def test_browsable_api_renders_for_developers(api_client: APIClient) -> None:
    ProductFactory()

    root = api_client.get(reverse("v1:api-root"), HTTP_ACCEPT="text/html")
    listing = api_client.get(PRODUCTS, HTTP_ACCEPT="text/html")

    assert root.status_code == 200 and b"/api/v1/products/" in root.content
    assert listing.status_code == 200 and listing["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/products/abc/", "/api/v1/categories/1.5/"])
def test_a_malformed_id_is_a_json_404_not_a_500(api_client: APIClient, path: str) -> None:
    response = api_client.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_body_that_is_not_json_is_a_415(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    staff = client_for(staff_with_perms("products.add_product"))

    response = staff.post(PRODUCTS, "name=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.data["code"] == "unsupported_media_type"
    assert not Product.objects.exists()


def test_a_json_body_that_is_not_an_object_is_a_400(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    staff = client_for(staff_with_perms("products.add_product"))

    response = staff.post(PRODUCTS, [1, 2], format="json")

    assert response.status_code == 400
    assert "non_field_errors" in response.data["errors"]
