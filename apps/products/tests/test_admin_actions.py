"""Product bulk actions in the admin: confirmation page, exact changes, audit, permissions."""

from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.contrib.admin import site
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.models import AuditEntry
from apps.core.tests.helpers import post_bulk_action
from apps.products.models import Category, Product
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.users.models import User

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.staff_permissions("products.view_product", "products.change_product"),
]

CHANGELIST = "admin:products_product_changelist"


# Post a bulk action to this changelist (see post_bulk_action).
run_action = partial(post_bulk_action, changelist=CHANGELIST)


def values(products: list[Product], field: str) -> list[Any]:
    return [getattr(Product.objects.get(pk=product.pk), field) for product in products]


@pytest.fixture
def destination() -> Category:
    return CategoryFactory(name="Tents")


# (action, input, field, value before, display before, display after, stored after, audit)
CASES = {
    "activate": ("bulk_activate", {}, "is_active", False, "no", "yes", True, (False, True)),
    "deactivate": ("bulk_deactivate", {}, "is_active", True, "yes", "no", False, (True, False)),
    "set_price": (
        "bulk_set_price",
        {"price": "12.50"},
        "price",
        Decimal("19.99"),
        "19.99",
        "12.50",
        Decimal("12.50"),
        ("19.99", "12.50"),
    ),
    "change_price": (
        "bulk_change_price_by_percentage",
        {"percentage": "-10"},
        "price",
        Decimal("19.99"),
        "19.99",
        "17.99",
        Decimal("17.99"),
        ("19.99", "17.99"),
    ),
    "set_stock": ("bulk_set_stock", {"stock": "3"}, "stock", 10, "10", "3", 3, (10, 3)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_confirmation_page_shows_before_and_after_and_changes_nothing(
    staff_client: Client, case: tuple[Any, ...]
) -> None:
    action, data, field, before, shown_before, shown_after, _, _ = case
    products = ProductFactory.create_batch(3, **{field: before})

    response = run_action(staff_client, action, products, step="preview" if data else None, **data)

    assert response.status_code == 200
    content = response.content.decode()
    assert f"{shown_before} → <strong>{shown_after}</strong>" in content
    assert "3 products selected:\n    3 will change" in content
    assert 'name="apply"' in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert values(products, field) == [before] * 3
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_apply_changes_exactly_the_selected_products_and_audits_each(
    staff_client: Client, staff: User, case: tuple[Any, ...]
) -> None:
    action, data, field, before, _, _, after, (audit_before, audit_after) = case
    selected = ProductFactory.create_batch(3, **{field: before})
    others = ProductFactory.create_batch(2, **{field: before})
    updated_at = Product.objects.get(pk=selected[0].pk).updated_at

    response = run_action(staff_client, action, selected, step="apply", **data)

    assert response.status_code == 302
    assert values(selected, field) == [after] * 3
    assert values(others, field) == [before] * 2
    assert Product.objects.get(pk=selected[0].pk).updated_at > updated_at
    entries = list(AuditEntry.objects.order_by("object_id"))
    assert len(entries) == 3
    assert {entry.object_id for entry in entries} == {str(product.pk) for product in selected}
    assert len({entry.batch for entry in entries}) == 1
    assert entries[0].batch is not None
    for entry in entries:
        assert entry.user == staff
        assert entry.username == staff.email
        assert entry.action.startswith("products.")
        assert entry.content_type == ContentType.objects.get_for_model(Product)
        assert entry.before == {field: audit_before}
        assert entry.after == {field: audit_after}
    product = Product.objects.get(pk=selected[0].pk)
    assert str(product) in {entry.object_repr for entry in entries}


def test_move_to_category_confirms_and_applies(staff_client: Client, destination: Category) -> None:
    origin = CategoryFactory(name="Backpacks")
    selected = ProductFactory.create_batch(2, category=origin)
    other = ProductFactory(category=origin)

    form_page = run_action(staff_client, "bulk_move_to_category", selected)
    preview = run_action(
        staff_client, "bulk_move_to_category", selected, "preview", category=destination.pk
    )
    response = run_action(
        staff_client, "bulk_move_to_category", selected, "apply", category=destination.pk
    )

    assert form_page.status_code == 200
    # The category is chosen with the admin's autocomplete.
    assert b"admin-autocomplete" in form_page.content
    assert b"admin/js/autocomplete.js" in form_page.content
    assert preview.status_code == 200
    assert "Backpacks → <strong>Tents</strong>" in preview.content.decode()
    assert response.status_code == 302
    assert values(selected, "category_id") == [destination.pk] * 2
    assert values([other], "category_id") == [origin.pk]
    entry = AuditEntry.objects.get(object_id=str(selected[0].pk))
    assert entry.before == {"category": {"id": origin.pk, "name": "Backpacks"}}
    assert entry.after == {"category": {"id": destination.pk, "name": "Tents"}}


def test_products_already_as_asked_are_left_alone_and_not_audited(
    staff_client: Client,
) -> None:
    inactive = ProductFactory(is_active=False)
    active = ProductFactory(is_active=True)
    updated_at = Product.objects.get(pk=active.pk).updated_at

    preview = run_action(staff_client, "bulk_activate", [inactive, active])
    response = run_action(staff_client, "bulk_activate", [inactive, active], "apply")

    assert "1 will change, 1 already as asked" in preview.content.decode()
    assert "yes (unchanged)" in preview.content.decode()
    assert response.status_code == 302
    assert values([inactive, active], "is_active") == [True, True]
    assert Product.objects.get(pk=active.pk).updated_at == updated_at
    assert list(AuditEntry.objects.values_list("object_id", flat=True)) == [str(inactive.pk)]


@pytest.mark.parametrize(
    ("percentage", "prices", "expected"),
    [
        ("-10", ["19.99", "0.05"], ["17.99", "0.05"]),  # 0.045 rounds half away from zero
        ("5", ["10.10", "0.01"], ["10.61", "0.01"]),  # 10.605 -> 10.61
        ("-100", ["19.99", "3.00"], ["0.00", "0.00"]),
        ("-99.99", ["0.01", "100.00"], ["0.00", "0.01"]),
    ],
)
def test_percentage_change_rounds_to_cents_and_never_goes_below_zero(
    staff_client: Client, percentage: str, prices: list[str], expected: list[str]
) -> None:
    products = [ProductFactory(price=Decimal(price)) for price in prices]

    run_action(
        staff_client,
        "bulk_change_price_by_percentage",
        products,
        "apply",
        percentage=percentage,
    )

    assert values(products, "price") == [Decimal(price) for price in expected]
    changed = {str(p.pk) for p, a, b in zip(products, prices, expected, strict=True) if a != b}
    assert set(AuditEntry.objects.values_list("object_id", flat=True)) == changed


INVALID = {
    "negative price": ("bulk_set_price", {"price": "-1"}, "price"),
    "price not a number": ("bulk_set_price", {"price": "abc"}, "price"),
    "price too large": ("bulk_set_price", {"price": "100000000"}, "price"),
    "price missing": ("bulk_set_price", {}, "price"),
    "percentage below -100": (
        "bulk_change_price_by_percentage",
        {"percentage": "-101"},
        "percentage",
    ),
    "percentage zero": ("bulk_change_price_by_percentage", {"percentage": "0"}, "percentage"),
    "negative stock": ("bulk_set_stock", {"stock": "-3"}, "stock"),
    "fractional stock": ("bulk_set_stock", {"stock": "1.5"}, "stock"),
    "unknown category": ("bulk_move_to_category", {"category": "999999"}, "category"),
    "no category": ("bulk_move_to_category", {}, "category"),
}


@pytest.mark.parametrize("step", ["preview", "apply"])
@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_invalid_input_rerenders_the_page_with_the_error_and_changes_nothing(
    staff_client: Client, case: tuple[str, dict[str, str], str], step: str
) -> None:
    action, data, field = case
    products = ProductFactory.create_batch(2)
    before = list(Product.objects.order_by("pk").values("price", "stock", "category_id"))

    response = run_action(staff_client, action, products, step, **data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert b"errornote" in response.content
    assert b'name="preview"' in response.content  # the input is asked for again
    assert list(Product.objects.order_by("pk").values("price", "stock", "category_id")) == before
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("step", ["preview", "apply"])
def test_a_percentage_that_would_overflow_a_price_is_refused(
    staff_client: Client, step: str
) -> None:
    dear = ProductFactory(price=Decimal("99999999.00"))
    cheap = ProductFactory(price=Decimal("10.00"))

    response = run_action(
        staff_client, "bulk_change_price_by_percentage", [dear, cheap], step, percentage="10"
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "1 of the selected products would" in content
    assert "99999999.99" in content
    assert b'name="preview"' in response.content  # the input is asked for again
    assert values([dear, cheap], "price") == [Decimal("99999999.00"), Decimal("10.00")]
    assert not AuditEntry.objects.exists()


def test_a_price_raised_after_the_preview_is_a_form_error_on_apply(
    staff_client: Client,
) -> None:
    product = ProductFactory(price=Decimal("90000000.00"))
    preview = run_action(
        staff_client, "bulk_change_price_by_percentage", [product], "preview", percentage="10"
    )
    assert preview.context["confirming"]  # 99,000,000.00 fits
    # Someone raises the price between the preview and the confirmation.
    Product.objects.filter(pk=product.pk).update(price=Decimal("95000000.00"))

    response = run_action(
        staff_client, "bulk_change_price_by_percentage", [product], "apply", percentage="10"
    )

    assert response.status_code == 200
    assert not response.context["confirming"]
    assert response.context["form"].non_field_errors() == [
        "1 of the selected products would have a price over 99999999.99; nothing was changed."
    ]
    assert b"errornote" in response.content
    assert values([product], "price") == [Decimal("95000000.00")]
    assert not AuditEntry.objects.exists()


def test_change_the_values_goes_back_to_the_filled_in_form(staff_client: Client) -> None:
    products = ProductFactory.create_batch(2)

    response = run_action(staff_client, "bulk_set_price", products, "edit", price="7.00")

    assert response.status_code == 200
    assert not response.context["confirming"]
    assert b'value="7.00"' in response.content
    assert b'name="preview"' in response.content


def test_confirmation_page_re_posts_the_selection_and_keeps_the_filters(
    staff_client: Client,
) -> None:
    products = ProductFactory.create_batch(2)

    response = run_action(staff_client, "bulk_set_stock", products, query="?is_active__exact=1")

    content = response.content.decode()
    for product in products:
        assert f'name="{ACTION_CHECKBOX_NAME}" value="{product.pk}"' in content
    assert 'name="action" value="bulk_set_stock"' in content
    assert 'action="/admin/products/product/?is_active__exact=1"' in content
    assert 'href="/admin/products/product/?is_active__exact=1" class="closelink cancel-link"' in (
        content
    )
    assert '<div class="breadcrumbs">' in content


def test_select_across_changes_every_product_of_the_filtered_changelist(
    staff_client: Client,
) -> None:
    inactive = ProductFactory.create_batch(3, is_active=False, stock=1)
    active = ProductFactory(is_active=True, stock=1)

    response = staff_client.post(
        reverse(CHANGELIST) + "?is_active__exact=0",
        {
            "action": "bulk_set_stock",
            # The page's checkboxes, and "all 3 selected" across pages.
            ACTION_CHECKBOX_NAME: [inactive[0].pk],
            "select_across": "1",
            "stock": "0",
            "apply": "1",
        },
    )

    assert response.status_code == 302
    assert values(inactive, "stock") == [0, 0, 0]
    assert values([active], "stock") == [1]
    assert AuditEntry.objects.count() == 3


def test_the_preview_lists_the_first_50_and_counts_them_all(staff_client: Client) -> None:
    products = ProductFactory.create_batch(60, stock=4)

    response = run_action(staff_client, "bulk_set_stock", products, "preview", stock="9")

    assert response.status_code == 200
    assert len(response.context["preview"].rows) == 50
    content = response.content.decode()
    assert "60 products selected:\n    60 will change" in content
    assert "… and 10 more." in content
    assert content.count("4 → <strong>9</strong>") == 50


ACTIONS = [case[0] for case in CASES.values()] + ["bulk_move_to_category"]


def test_staff_without_change_permission_are_not_offered_the_actions(
    client: Client, staff_with_perms
) -> None:  # type: ignore[no-untyped-def]
    deleter = staff_with_perms("products.view_product", "products.delete_product")
    client.force_login(deleter)
    ProductFactory()

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    offered = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert "delete_selected" in offered
    assert offered.isdisjoint(ACTIONS)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("step", [None, "preview", "apply"])
def test_staff_without_change_permission_cannot_run_the_actions(
    client: Client, staff_with_perms, destination: Category, action: str, step: str | None
) -> None:  # type: ignore[no-untyped-def]
    viewer = staff_with_perms("products.view_product")
    client.force_login(viewer)
    products = ProductFactory.create_batch(2, is_active=True, stock=5)
    before = list(Product.objects.order_by("pk").values())
    data = {"price": "1.00", "percentage": "50", "stock": "0", "category": destination.pk}

    response = run_action(client, action, products, step, **data)

    # Django's actions machinery does not know the action: back to the changelist, unchanged.
    assert response.status_code in (200, 302)
    assert b"bulk-action-confirmation" not in response.content
    assert list(Product.objects.order_by("pk").values()) == before
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_called_directly_refuses_staff_without_change_permission(
    rf, staff_with_perms, action: str
) -> None:  # type: ignore[no-untyped-def]
    model_admin = site._registry[Product]
    request = rf.post(reverse(CHANGELIST), {"apply": "1", "stock": "0"})
    request.user = staff_with_perms("products.view_product")
    products = ProductFactory.create_batch(2, stock=5)
    run, name, _ = model_admin.get_action(action)

    # Past Django's actions machinery (which does not offer it), the action still refuses.
    with pytest.raises(PermissionDenied):
        run(model_admin, request, Product.objects.filter(pk__in=[p.pk for p in products]))
    assert name == action
    assert values(products, "stock") == [5, 5]
    assert not AuditEntry.objects.exists()


def _apply_queries(client: Client, products: list[Product]) -> list[str]:
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        response = run_action(
            client, "bulk_change_price_by_percentage", products, "apply", percentage="-10"
        )
    assert response.status_code == 302
    return [query["sql"] for query in queries.captured_queries]


def test_a_bulk_price_change_runs_the_same_queries_for_2_or_30_products(
    staff_client: Client,
) -> None:
    few = ProductFactory.create_batch(2, price=Decimal("50.00"))
    many = ProductFactory.create_batch(30, price=Decimal("50.00"))
    unchanged = ProductFactory(price=Decimal("0.00"))  # -10 % of 0 is 0: no entry

    queries_for_few = _apply_queries(staff_client, few)
    queries_for_many = _apply_queries(staff_client, [*many, unchanged])

    # Session, user, permissions (2), the changelist's category, type and option filters and
    # count, then
    # SAVEPOINT, SELECT ... FOR UPDATE of the products, their variants' new prices (the
    # overflow check reads them), UPDATE of the variants, content type, one statement that
    # touches the products' updated_at and INSERTs their audit entries, RELEASE.
    assert len(queries_for_few) == len(queries_for_many) == 15, [
        sql[:80] for sql in queries_for_many
    ]
    inserts = [sql for sql in queries_for_many if "INSERT INTO core_auditentry" in sql]
    assert len(inserts) == 1
    assert set(values(many, "price")) == {Decimal("45.00")}
    entries = AuditEntry.objects.filter(action="products.change_price_by_percentage")
    assert entries.count() == 32
    entry = entries.get(object_id=str(many[0].pk))
    assert (entry.object_repr, entry.before, entry.after) == (
        str(many[0]),
        {"price": "50.00"},
        {"price": "45.00"},
    )
    assert entry.batch == entries.get(object_id=str(many[-1].pk)).batch


def test_the_preview_of_200_products_runs_a_fixed_number_of_queries(
    staff_client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    products = ProductFactory.create_batch(200)

    # Session, user, permissions (2), the changelist's filters (category, type, options) and
    # count, then the selection's count, the count of those that change, and the first 50 rows.
    with django_assert_max_num_queries(11):
        response = run_action(staff_client, "bulk_set_price", products, "preview", price="1.00")

    assert response.status_code == 200
