"""Every admin page renders for a superuser, and admin writes keep the catalogue's rules."""

import io

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from apps.products.models import Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.models import Review
from apps.reviews.tests.factories import ReviewFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db


# The management form of the product page's images inline, with no image.
EMPTY_IMAGES_INLINE = {"images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0"}


@pytest.fixture
def catalogue() -> Review:
    return ReviewFactory(product=ProductFactory(category=CategoryFactory(parent=CategoryFactory())))


@pytest.mark.parametrize(
    "model",
    sorted(site._registry, key=lambda model: model._meta.label),
    ids=lambda m: m._meta.label,
)
def test_every_changelist_add_and_change_page_renders(
    admin_client: Client,
    superuser: User,
    catalogue: Review,
    rf,
    model,  # type: ignore[no-untyped-def]
) -> None:
    opts = model._meta
    request = rf.get("/")
    request.user = superuser
    may_add = site._registry[model].has_add_permission(request)
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    search = admin_client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "x"}
    )
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))

    assert changelist.status_code == 200
    assert search.status_code == 200
    assert add.status_code == (200 if may_add else 403)
    instance = model.objects.first()
    if instance is not None:
        change = admin_client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
        )
        assert change.status_code == 200


def test_product_changelist_query_count_is_flat(
    admin_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    ProductFactory.create_batch(30)

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("admin:products_product_changelist"))

    assert response.status_code == 200


def test_product_created_in_the_admin_records_its_creator(
    admin_client: Client, superuser: User
) -> None:
    category = CategoryFactory()

    response = admin_client.post(
        reverse("admin:products_product_add"),
        {
            "name": "Desk Lamp",
            "slug": "desk-lamp",
            "sku": "LAMP-1",
            "category": category.pk,
            "description": "",
            "price": "25.00",
            "stock": "3",
            "is_active": "on",
            **EMPTY_IMAGES_INLINE,
        },
    )

    assert response.status_code == 302, response.content[:2000]
    assert Product.objects.get(sku="LAMP-1").created_by == superuser


def test_negative_price_in_the_admin_is_a_form_error(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:products_product_add"),
        {
            "name": "X",
            "slug": "x",
            "sku": "X-1",
            "category": CategoryFactory().pk,
            "price": "-1",
            "stock": "0",
        },
    )

    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors
    assert not Product.objects.exists()


def test_review_edits_and_deletes_in_the_admin_keep_figures_exact(
    admin_client: Client, catalogue: Review
) -> None:
    product = catalogue.product
    change_url = reverse("admin:reviews_review_change", args=[catalogue.pk])

    admin_client.post(change_url, {"rating": "1", "comment": "changed my mind"})
    product.refresh_from_db()
    assert (product.review_count, product.rating_sum) == (1, 1)

    admin_client.post(reverse("admin:reviews_review_delete", args=[catalogue.pk]), {"post": "yes"})
    product.refresh_from_db()
    assert (product.review_count, product.rating_sum) == (0, 0)


def test_staff_without_superuser_cannot_raise_their_own_privileges(
    client: Client, staff_with_perms
) -> None:  # type: ignore[no-untyped-def]
    staff = staff_with_perms("users.change_user", "users.view_user")
    client.force_login(staff)

    response = client.post(
        reverse("admin:users_user_change", args=[staff.pk]),
        {
            "first_name": "Changed",
            "email": staff.email,
            "username": staff.username,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "user_permissions": [p.pk for p in Permission.objects.all()[:20]],
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    staff.refresh_from_db()
    assert staff.first_name == "Changed"
    assert not staff.is_superuser
    assert staff.user_permissions.count() == 2


def test_staff_cannot_change_a_superusers_account(
    client: Client, superuser: User, staff_with_perms
) -> None:  # type: ignore[no-untyped-def]
    staff = staff_with_perms("users.change_user", "users.view_user")
    client.force_login(staff)

    password_page = client.get(reverse("admin:auth_user_password_change", args=[superuser.pk]))
    response = client.post(
        reverse("admin:users_user_change", args=[superuser.pk]),
        {"email": "mine@example.com", "username": superuser.username, "is_active": "on"},
    )

    assert password_page.status_code == 403
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.email != "mine@example.com"


def test_admin_is_branded(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))

    assert b"Catalogue admin" in response.content
    assert b"css/admin.css" in response.content


# --- the product changelist ---------------------------------------------------------------------


def changelist_ids(client: Client, **params: str) -> list[int]:
    response = client.get(reverse("admin:products_product_changelist"), params)
    assert response.status_code == 200
    return sorted(product.pk for product in response.context["cl"].result_list)


def test_changelist_filters_by_category_subtree_stock_level_and_rating(
    admin_client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOGUE_LOW_STOCK_THRESHOLD = 5
    root = CategoryFactory()
    leaf = CategoryFactory(parent=CategoryFactory(parent=root))
    deep = ProductFactory(category=leaf, stock=0)
    low = ProductFactory(category=root, stock=3)
    plenty = ProductFactory(stock=50)
    ReviewFactory(product=plenty, rating=5)

    assert changelist_ids(admin_client, category=str(root.pk)) == sorted([deep.pk, low.pk])
    assert changelist_ids(admin_client, stock_level="out") == [deep.pk]
    assert changelist_ids(admin_client, stock_level="low") == [low.pk]
    assert changelist_ids(admin_client, stock_level="in") == [plenty.pk]
    assert changelist_ids(admin_client, rating="4") == [plenty.pk]
    assert changelist_ids(admin_client, rating="none") == sorted([deep.pk, low.pk])


def test_changelist_search_uses_full_text_and_exact_sku(admin_client: Client) -> None:
    lamp = ProductFactory(name="Brass Reading Lamp", sku="LMP-7")
    ProductFactory(name="Oak Table")

    assert changelist_ids(admin_client, q="lamps") == [lamp.pk]
    assert changelist_ids(admin_client, q="lmp-7") == [lamp.pk]
    assert changelist_ids(admin_client, q="walnut") == []


def test_changelist_shows_category_path_stock_highlight_and_thumbnail(
    admin_client: Client, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    root = CategoryFactory(name="Home")
    product = ProductFactory(category=CategoryFactory(name="Lamps", parent=root), stock=2)
    picture = io.BytesIO()
    Image.new("RGB", (120, 120), "navy").save(picture, format="PNG")
    image = product.images.create(image=SimpleUploadedFile("x.png", picture.getvalue()), position=0)

    page = admin_client.get(reverse("admin:products_product_changelist")).content.decode()

    assert "Home</a> &rsaquo; <a" in page and "Lamps</a>" in page
    assert 'class="stock stock-low"' in page
    assert f"/media/{image.image.name}" in page


def test_changelist_counts_are_estimated_past_the_limit(
    admin_client: Client, settings, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    settings.API_EXACT_COUNT_LIMIT = 5
    ProductFactory.create_batch(8)

    with django_assert_max_num_queries(9):
        response = admin_client.get(reverse("admin:products_product_changelist"))

    assert response.context["cl"].paginator.count_is_estimate is True


def test_category_admin_lists_the_tree_and_refuses_a_cycle(admin_client: Client) -> None:
    root = CategoryFactory(name="Root")
    child = CategoryFactory(name="Child", parent=root)

    listing = admin_client.get(reverse("admin:products_category_changelist")).content.decode()
    response = admin_client.post(
        reverse("admin:products_category_change", args=[root.pk]),
        {
            "name": "Root",
            "slug": root.slug,
            "parent": child.pk,
            "is_active": "on",
            "description": "",
        },
    )

    assert listing.index("Root") < listing.index("Child")
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    root.refresh_from_db()
    assert root.parent is None


def test_product_page_shows_its_latest_reviews(admin_client: Client, catalogue: Review) -> None:
    page = admin_client.get(reverse("admin:products_product_change", args=[catalogue.product.pk]))

    assert reverse("admin:reviews_review_change", args=[catalogue.pk]) in page.content.decode()


def test_review_queue_filters_by_stars_without_scanning_for_distinct_values(
    admin_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    low, high = ReviewFactory(rating=1), ReviewFactory(rating=5)

    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("admin:reviews_review_changelist"), {"rating": "5"})

    assert [review.pk for review in response.context["cl"].result_list] == [high.pk]
    assert low.pk not in [review.pk for review in response.context["cl"].result_list]
