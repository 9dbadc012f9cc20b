"""The product changelist's category filter: the tree read once per request, whatever the admin
rebuilds its filters for (an action's selection, facet counts)."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.products.models import Category
from apps.products.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:products_product_changelist")


@pytest.fixture
def tree() -> dict[str, Category]:
    garden = CategoryFactory(name="Garden")
    tools = CategoryFactory(name="Tools", parent=garden)
    kitchen = CategoryFactory(name="Kitchen")
    ProductFactory.create_batch(2, category=tools)
    ProductFactory(category=kitchen)
    return {"garden": garden, "tools": tools, "kitchen": kitchen}


def category_queries(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('SELECT "products_category"')
    ]


def choices(response: object) -> list[str]:
    changelist = response.context["cl"]  # type: ignore[attr-defined]
    spec = next(spec for spec in changelist.filter_specs if spec.parameter_name == "category")
    return [choice["display"] for choice in spec.choices(changelist)][1:]  # after "All"


def test_an_action_reads_the_root_categories_once(admin_client: Client, tree) -> None:  # type: ignore[no-untyped-def]
    products = list(tree["tools"].products.all())

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(
            CHANGELIST,
            {
                "action": "bulk_set_stock",
                ACTION_CHECKBOX_NAME: [product.pk for product in products],
                "index": "0",
            },
        )

    assert response.status_code == 200
    # The changelist builds its filters, then again for the action's selection.
    assert len(category_queries(queries)) == 1
    assert '"products_category"."parent_id" IS NULL' in category_queries(queries)[0]


def test_facet_counts_read_the_categories_once_and_count_each_choice(
    admin_client: Client,
    tree,  # type: ignore[no-untyped-def]
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    # Session, user, the roots, the product types, the attribute options, the count, the page,
    # and one facet count per filter (none for the options).
    with (
        CaptureQueriesContext(connection) as queries,
        django_assert_max_num_queries(12),
    ):
        response = admin_client.get(CHANGELIST, {"_facets": "1"})

    assert len(category_queries(queries)) == 1
    assert choices(response) == ["Garden (2)", "Kitchen (1)"]


def test_a_chosen_category_lists_its_ancestors_and_children_in_two_queries(
    admin_client: Client,
    tree,  # type: ignore[no-untyped-def]
) -> None:
    CategoryFactory(name="Shovels", parent=tree["tools"])
    CategoryFactory(name="Hoses", parent=tree["tools"])

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST, {"category": tree["tools"].pk, "_facets": "1"})

    # The chosen category, then its ancestors and children together.
    assert len(category_queries(queries)) == 2
    assert [name.split(" (")[0].strip() for name in choices(response)] == [
        "Garden",
        "Tools",
        "Hoses",
        "Shovels",
    ]
    assert choices(response)[1].endswith("(2)")
    assert {product.pk for product in response.context["cl"].result_list} == {
        product.pk for product in tree["tools"].products.all()
    }
