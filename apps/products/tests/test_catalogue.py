"""The storefront's product list and category reads: filters, search, ordering, pagination,
conditional GET and the category tree."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.products.models import Category, Product
from apps.products.services import category_update, product_create, product_update
from apps.products.tests.factories import CategoryFactory, ProductFactory
from apps.reviews.tests.factories import ReviewFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.data
    return [row["id"] for row in response.data["results"]]


@pytest.fixture
def tree() -> dict[str, Category]:
    """electronics > audio > headphones, electronics > phones, and garden (another root)."""
    electronics = CategoryFactory(name="Electronics", slug="electronics")
    audio = CategoryFactory(name="Audio", slug="audio", parent=electronics)
    headphones = CategoryFactory(name="Headphones", slug="headphones", parent=audio)
    phones = CategoryFactory(name="Phones", slug="phones", parent=electronics)
    garden = CategoryFactory(name="Garden", slug="garden")
    return {
        "electronics": electronics,
        "audio": audio,
        "headphones": headphones,
        "phones": phones,
        "garden": garden,
    }


# --- category filter and the tree ---------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "slug"])
def test_category_filter_includes_every_descendant(
    api_client: APIClient, tree: dict[str, Category], by: str
) -> None:
    deep = ProductFactory(category=tree["headphones"])
    middle = ProductFactory(category=tree["audio"])
    sibling = ProductFactory(category=tree["phones"])
    ProductFactory(category=tree["garden"])
    electronics = tree["electronics"]
    value = electronics.pk if by == "id" else electronics.slug

    response = api_client.get(PRODUCTS, {"category": value})

    assert sorted(ids(response)) == sorted([deep.pk, middle.pk, sibling.pk])
    audio = api_client.get(PRODUCTS, {"category": "audio"})
    assert sorted(ids(audio)) == sorted([middle.pk, deep.pk])


def test_a_moved_subtree_takes_its_products_along(
    api_client: APIClient, tree: dict[str, Category]
) -> None:
    deep = ProductFactory(category=tree["headphones"])

    category_update(category=tree["audio"], parent=tree["garden"])

    assert ids(api_client.get(PRODUCTS, {"category": "garden"})) == [deep.pk]
    assert ids(api_client.get(PRODUCTS, {"category": "electronics"})) == []
    tree["headphones"].refresh_from_db()
    garden, audio, headphones = tree["garden"], tree["audio"], tree["headphones"]
    assert headphones.path == f"/{garden.pk}/{audio.pk}/{headphones.pk}/"


def test_category_paths_cannot_be_written_by_clients(tree: dict[str, Category]) -> None:
    audio = tree["audio"]
    Category.objects.filter(pk=audio.pk).update(path="/forged/")

    audio.refresh_from_db()
    assert audio.path == f"/{tree['electronics'].pk}/{audio.pk}/"


def test_tree_is_nested_active_and_takes_one_query(
    api_client: APIClient,
    tree: dict[str, Category],
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    CategoryFactory(name="Hidden", is_active=False, parent=tree["electronics"])
    hidden_root = CategoryFactory(name="Archive", is_active=False)
    CategoryFactory(name="Under hidden", parent=hidden_root)

    with django_assert_num_queries(1):
        response = api_client.get(reverse("v1:category-tree"))

    assert response.status_code == 200
    assert [node["slug"] for node in response.data] == ["electronics", "garden"]
    electronics = response.data[0]
    assert [node["slug"] for node in electronics["children"]] == ["audio", "phones"]
    assert electronics["children"][0]["children"][0]["slug"] == "headphones"


def test_category_by_slug_has_breadcrumbs_children_and_subtree_count(
    api_client: APIClient,
    tree: dict[str, Category],
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    ProductFactory(category=tree["headphones"])
    ProductFactory(category=tree["audio"])
    ProductFactory(category=tree["audio"], is_active=False)

    with django_assert_num_queries(4):
        response = api_client.get(reverse("v1:category-by-slug", args=["audio"]))

    assert response.status_code == 200
    assert [crumb["slug"] for crumb in response.data["breadcrumbs"]] == ["electronics", "audio"]
    assert [child["slug"] for child in response.data["children"]] == ["headphones"]
    assert response.data["product_count"] == 2
    assert api_client.get(reverse("v1:category-by-slug", args=["nope"])).status_code == 404


# --- the other filters ----------------------------------------------------------------------------


def test_price_range_is_inclusive(api_client: APIClient) -> None:
    category = CategoryFactory()
    cheap, middle, dear = (
        ProductFactory(category=category, price=Decimal(price))
        for price in ("5.00", "10.00", "20.00")
    )

    assert sorted(ids(api_client.get(PRODUCTS, {"price_min": "10"}))) == sorted(
        [middle.pk, dear.pk]
    )
    assert sorted(ids(api_client.get(PRODUCTS, {"price_max": "10.00"}))) == sorted(
        [cheap.pk, middle.pk]
    )
    assert ids(api_client.get(PRODUCTS, {"price_min": "6", "price_max": "19.99"})) == [middle.pk]


def test_in_stock_filter(api_client: APIClient) -> None:
    category = CategoryFactory()
    stocked = ProductFactory(category=category, stock=3)
    empty = ProductFactory(category=category, stock=0)

    assert ids(api_client.get(PRODUCTS, {"in_stock": "true"})) == [stocked.pk]
    assert ids(api_client.get(PRODUCTS, {"in_stock": "false"})) == [empty.pk]
    assert sorted(ids(api_client.get(PRODUCTS))) == sorted([stocked.pk, empty.pk])


def test_rating_min_uses_the_average(api_client: APIClient) -> None:
    category = CategoryFactory()
    good, poor = ProductFactory(category=category), ProductFactory(category=category)
    ProductFactory(category=category)  # no reviews: average 0
    ReviewFactory(product=good, rating=5)
    ReviewFactory(product=good, rating=4)
    ReviewFactory(product=poor, rating=2)

    assert ids(api_client.get(PRODUCTS, {"rating_min": "4.5"})) == [good.pk]
    assert sorted(ids(api_client.get(PRODUCTS, {"rating_min": "2"}))) == sorted([good.pk, poor.pk])


def test_created_range(api_client: APIClient) -> None:
    old, new = ProductFactory(), ProductFactory()
    Product.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    since = (timezone.now() - timedelta(days=1)).date().isoformat()

    assert ids(api_client.get(PRODUCTS, {"created_after": since})) == [new.pk]
    assert ids(api_client.get(PRODUCTS, {"created_before": since})) == [old.pk]


def test_sku_and_ids_filters(api_client: APIClient) -> None:
    first, second, third = ProductFactory(sku="AB-1"), ProductFactory(), ProductFactory()

    assert ids(api_client.get(PRODUCTS, {"sku": "ab-1"})) == [first.pk]
    listed = api_client.get(PRODUCTS, {"ids": f"{first.pk},{third.pk},999999"})
    assert sorted(ids(listed)) == sorted([first.pk, third.pk])
    assert second.pk not in ids(listed)


def test_filters_combine(api_client: APIClient, tree: dict[str, Category]) -> None:
    wanted = ProductFactory(category=tree["headphones"], price=Decimal("50"), stock=2)
    ProductFactory(category=tree["headphones"], price=Decimal("50"), stock=0)
    ProductFactory(category=tree["headphones"], price=Decimal("500"), stock=2)
    ProductFactory(category=tree["garden"], price=Decimal("50"), stock=2)
    ReviewFactory(product=wanted, rating=4)

    response = api_client.get(
        PRODUCTS,
        {"category": "electronics", "price_max": "100", "in_stock": "true", "rating_min": "3"},
    )

    assert ids(response) == [wanted.pk]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"category": "no-such-category"}, "category"),
        ({"category": "999999"}, "category"),
        ({"price_min": "cheap"}, "price_min"),
        ({"price_min": "-1"}, "price_min"),
        ({"price_min": "20", "price_max": "10"}, "price_max"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"rating_min": "0"}, "rating_min"),
        ({"rating_min": "6"}, "rating_min"),
        ({"created_after": "last tuesday"}, "created_after"),
        ({"created_after": "2025-02-01", "created_before": "2025-01-01"}, "created_before"),
        ({"sku": "x" * 65}, "sku"),
        ({"ids": "1,two"}, "ids"),
        ({"ids": ",".join(str(n) for n in range(1, 102))}, "ids"),
        ({"ids": "0"}, "ids"),
        ({"ordering": "colour"}, "ordering"),
        ({"ordering": "relevance"}, "ordering"),
        ({"facets": "please"}, "facets"),
        ({"page": "two"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page": "²"}, "page"),
        ({"page_size": "²"}, "page_size"),
        ({"page": "99999999999999999999"}, "page"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"search": "x" * 201}, "search"),
        ({"search": " ".join(["word"] * 11)}, "search"),
        ({"search": "nul\x00byte"}, "search"),
    ],
)
def test_malformed_parameters_are_400s_naming_them(
    api_client: APIClient, params: dict[str, str], parameter: str
) -> None:
    ProductFactory()

    response = api_client.get(PRODUCTS, params)

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [parameter]


def test_a_page_past_the_end_is_a_404(api_client: APIClient) -> None:
    ProductFactory()

    assert api_client.get(PRODUCTS, {"page": "5"}).status_code == 404


# --- search -------------------------------------------------------------------------------------


@pytest.fixture
def audio_catalogue() -> dict[str, Product]:
    category = CategoryFactory()
    return {
        "headphones": ProductFactory(
            category=category,
            name="Wireless Headphones",
            description="Over-ear, noise cancelling, with a carrying case.",
        ),
        "speaker": ProductFactory(
            category=category,
            name="Bluetooth Speaker",
            description="Pairs with wireless headphones and phones.",
        ),
        "kettle": ProductFactory(
            category=category, name="Steel Kettle", description="Boils water.", sku="KT-900"
        ),
    }


def test_search_ranks_name_matches_above_description_matches(
    api_client: APIClient, audio_catalogue: dict[str, Product]
) -> None:
    response = api_client.get(PRODUCTS, {"search": "wireless headphones"})

    assert ids(response) == [audio_catalogue["headphones"].pk, audio_catalogue["speaker"].pk]
    assert response.data["search"] == {
        "query": "wireless headphones",
        "mode": "fulltext",
        "corrected_terms": {},
    }


def test_search_stems_words(api_client: APIClient, audio_catalogue: dict[str, Product]) -> None:
    assert ids(api_client.get(PRODUCTS, {"search": "boiling"})) == [audio_catalogue["kettle"].pk]


def test_search_matches_a_sku_exactly(
    api_client: APIClient, audio_catalogue: dict[str, Product]
) -> None:
    assert ids(api_client.get(PRODUCTS, {"search": "kt-900"})) == [audio_catalogue["kettle"].pk]


def test_search_corrects_typos_when_full_text_finds_nothing(
    api_client: APIClient, audio_catalogue: dict[str, Product]
) -> None:
    response = api_client.get(PRODUCTS, {"search": "wireles hedphones"})

    assert ids(response)[0] == audio_catalogue["headphones"].pk
    assert response.data["search"]["mode"] == "corrected"
    assert response.data["search"]["corrected_terms"]["wireles"][0] == "wireless"


def test_search_finds_nothing_for_gibberish(
    api_client: APIClient, audio_catalogue: dict[str, Product]
) -> None:
    assert ids(api_client.get(PRODUCTS, {"search": "qzxv"})) == []


@pytest.mark.django_db(transaction=True)
def test_a_product_is_searchable_inside_the_transaction_that_creates_or_edits_it(
    api_client: APIClient,
) -> None:
    category = CategoryFactory()
    with transaction.atomic():
        product = product_create(
            created_by=None,
            name="Obsidian Teapot",
            sku="TP-1",
            price=Decimal("30"),
            category=category,
        )
        assert ids(api_client.get(PRODUCTS, {"search": "obsidian"})) == [product.pk]
        product_update(product=product, name="Granite Teapot")
        assert ids(api_client.get(PRODUCTS, {"search": "granite"})) == [product.pk]
        assert ids(api_client.get(PRODUCTS, {"search": "obsidian"})) == []
        # Brand-new words are in the typo lexicon at once too.
        assert ids(api_client.get(PRODUCTS, {"search": "granit"})) == [product.pk]


def test_an_edit_that_does_not_touch_the_text_keeps_the_document(api_client: APIClient) -> None:
    product = ProductFactory(name="Copper Whistle")
    stale = Product.objects.get(pk=product.pk)

    product_update(product=stale, stock=0)
    Product.objects.filter(pk=product.pk).update(price=Decimal("1.00"))

    assert ids(api_client.get(PRODUCTS, {"search": "whistle"})) == [product.pk]


def test_search_query_count_is_fixed(
    api_client: APIClient,
    audio_catalogue: dict[str, Product],
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    with django_assert_num_queries(1):  # the page with its count
        api_client.get(PRODUCTS, {"search": "headphones"})
    # The page as typed (empty), the lexicon lookup for corrections, the corrected page.
    with django_assert_num_queries(3):
        api_client.get(PRODUCTS, {"search": "hedphones"})


def test_later_pages_of_a_corrected_search_are_its_corrected_results(
    api_client: APIClient,
    audio_catalogue: dict[str, Product],
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    first = api_client.get(PRODUCTS, {"search": "wireles", "page_size": 1})
    # Past the end of the words as typed: a check that they match nothing, then as page one.
    with django_assert_num_queries(4):
        second = api_client.get(PRODUCTS, {"search": "wireles", "page_size": 1, "page": 2})
    by_cursor = api_client.get(PRODUCTS, {"search": "wireles", "page_size": 1, "cursor": ""})
    after_cursor = api_client.get(by_cursor.data["next"])

    assert second.status_code == 200
    assert second.data["search"]["mode"] == "corrected"
    assert [ids(first), ids(second)] == [
        [audio_catalogue["headphones"].pk],
        [audio_catalogue["speaker"].pk],
    ]
    assert after_cursor.data["search"]["mode"] == "corrected"
    assert ids(by_cursor) + ids(after_cursor) == ids(first) + ids(second)


def test_a_page_past_the_end_of_a_search_is_not_found_and_not_corrected(
    api_client: APIClient, audio_catalogue: dict[str, Product]
) -> None:
    response = api_client.get(PRODUCTS, {"search": "headphones", "page": 5})

    assert response.status_code == 404


def test_relevance_ranks_only_the_most_reviewed_matches_but_counts_them_all(
    api_client: APIClient, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOGUE_SEARCH_RANKED_MATCHES = 3
    category = CategoryFactory()
    by_reviews = {
        reviews: ProductFactory(name=f"Kettle {reviews}", category=category) for reviews in range(6)
    }
    for reviews, product in by_reviews.items():
        ReviewFactory.create_batch(reviews, product=product)

    response = api_client.get(PRODUCTS, {"search": "kettle"})
    by_price = api_client.get(PRODUCTS, {"search": "kettle", "ordering": "price"})

    assert response.data["count"] == 6
    assert {row["id"] for row in response.data["results"]} == {
        by_reviews[reviews].pk for reviews in (3, 4, 5)
    }
    assert len(by_price.data["results"]) == 6  # ranked only when ordered by relevance


def test_a_search_counts_exactly_only_up_to_its_own_limit(api_client: APIClient, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOGUE_SEARCH_EXACT_COUNT_LIMIT = 2
    ProductFactory.create_batch(4, name="Teapot", category=CategoryFactory())

    searched = api_client.get(PRODUCTS, {"search": "teapot"})
    listed = api_client.get(PRODUCTS)

    assert searched.data["count_is_estimate"] is True
    assert listed.data["count_is_estimate"] is False
    assert listed.data["count"] == 4


# --- ordering and pagination --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("price", lambda p: (p.price, p.pk)),
        ("-price", lambda p: (-p.price, -p.pk)),
        ("name", lambda p: (p.name, p.pk)),
        ("-name", lambda p: (tuple(-ord(c) for c in p.name), -p.pk)),
        ("created_at", lambda p: (p.created_at, p.pk)),
        ("-review_count", lambda p: (-p.review_count, -p.pk)),
        ("-rating", lambda p: (-(p.average_rating or 0), -p.pk)),
    ],
)
def test_ordering_with_ties_never_repeats_or_skips_across_pages(
    api_client: APIClient, ordering: str, key: Any
) -> None:
    category = CategoryFactory()
    # Many ties on every sort key: pages must still partition the list.
    products = [
        ProductFactory(category=category, price=Decimal(n % 3), name=f"Item {n % 2}")
        for n in range(11)
    ]
    for product in products[:4]:
        ReviewFactory(product=product, rating=3)
    expected = [p.pk for p in sorted(Product.objects.all(), key=key)]

    seen = []
    for page in (1, 2, 3):
        seen += ids(api_client.get(PRODUCTS, {"ordering": ordering, "page": page, "page_size": 4}))

    assert seen == expected


def test_cursor_pages_stay_stable_while_products_are_inserted(api_client: APIClient) -> None:
    category = CategoryFactory()
    originals = [ProductFactory(category=category, price=Decimal(n % 2)) for n in range(7)]

    first = api_client.get(PRODUCTS, {"cursor": "", "ordering": "-price", "page_size": 3})
    ProductFactory(category=category, price=Decimal("1"))  # lands among the ties, at the top
    ProductFactory(category=category, price=Decimal("0"))
    second = api_client.get(first.data["next"])
    third = api_client.get(second.data["next"])

    walked = ids(first) + ids(second) + ids(third)
    assert len(walked) == len(set(walked))
    assert set(walked) >= {product.pk for product in originals}
    assert first.data["previous"] is None
    assert set(first.data) == {"next", "previous", "results"}


def test_cursor_for_another_ordering_is_refused(api_client: APIClient) -> None:
    ProductFactory.create_batch(3, category=CategoryFactory())
    first = api_client.get(PRODUCTS, {"cursor": "", "ordering": "price", "page_size": 1})
    token = first.data["next"].split("cursor=")[1].split("&")[0]

    response = api_client.get(PRODUCTS, {"cursor": token, "ordering": "name"})

    assert response.status_code == 400
    assert list(response.data["errors"]) == ["cursor"]


@pytest.mark.parametrize("page_size", [1, 50])
def test_cursor_page_query_count_is_one(
    api_client: APIClient,
    django_assert_num_queries,
    page_size: int,  # type: ignore[no-untyped-def]
) -> None:
    ProductFactory.create_batch(60, category=CategoryFactory())
    first = api_client.get(PRODUCTS, {"cursor": "", "page_size": page_size})

    with django_assert_num_queries(1):
        api_client.get(first.data["next"])


def test_large_results_report_an_estimated_count(api_client: APIClient, settings) -> None:  # type: ignore[no-untyped-def]
    ProductFactory.create_batch(12, category=CategoryFactory())
    settings.API_EXACT_COUNT_LIMIT = 10

    # A filter other than the category: counted, not read from the facet summary.
    estimated = api_client.get(PRODUCTS, {"page_size": 5, "price_min": "0"})
    exact = api_client.get(PRODUCTS, {"page_size": 5, "price_min": "100000"})

    assert estimated.data["count_is_estimate"] is True
    assert estimated.data["count"] >= 11
    assert exact.data["count_is_estimate"] is False
    assert exact.data["count"] == 0


def test_category_pages_count_exactly_from_the_facet_summary_past_the_limit(
    api_client: APIClient, settings, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    root = CategoryFactory()
    ProductFactory.create_batch(7, category=CategoryFactory(parent=root))
    ProductFactory.create_batch(5, category=root)
    ProductFactory(category=root, is_active=False)
    ProductFactory(category=CategoryFactory(parent=root, is_active=False))
    settings.API_EXACT_COUNT_LIMIT = 3

    with django_assert_num_queries(2):  # the category, the page with the summary's count
        by_category = api_client.get(PRODUCTS, {"category": root.pk, "page_size": 5})
    everything = api_client.get(PRODUCTS, {"page_size": 5})
    last = api_client.get(PRODUCTS, {"category": root.pk, "page_size": 5, "page": "last"})

    for response in (by_category, everything):
        assert response.data["count"] == 12
        assert response.data["count_is_estimate"] is False
    assert last.data["count"] == 12
    assert len(last.data["results"]) == 2


def test_staff_who_see_inactive_products_count_them(client_for, staff_with_perms) -> None:  # type: ignore[no-untyped-def]
    editor = client_for(staff_with_perms("products.change_product"))
    category = CategoryFactory()
    ProductFactory.create_batch(2, category=category)
    ProductFactory(category=category, is_active=False)

    response = editor.get(PRODUCTS, {"category": category.pk})

    assert response.data["count"] == 3


def test_an_estimated_count_takes_no_query_of_its_own(
    api_client: APIClient, settings, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    ProductFactory.create_batch(12, category=CategoryFactory())
    settings.API_EXACT_COUNT_LIMIT = 10

    with django_assert_num_queries(1):  # the page, with the capped count and the estimate
        response = api_client.get(PRODUCTS, {"page_size": 5, "price_min": "0"})

    assert response.data["count_is_estimate"] is True


def test_pages_followed_by_next_links_end_exactly_when_the_count_is_estimated(
    api_client: APIClient, settings
) -> None:  # type: ignore[no-untyped-def]
    created = ProductFactory.create_batch(12, category=CategoryFactory())
    settings.API_EXACT_COUNT_LIMIT = 3
    seen: list[int] = []

    url: str | None = PRODUCTS + "?page_size=5&price_min=0"
    while url:
        response = api_client.get(url)
        assert response.status_code == 200
        seen += [row["id"] for row in response.data["results"]]
        url = response.data["next"]

    assert sorted(seen) == sorted(product.pk for product in created)


def test_a_page_past_the_end_is_a_404_and_the_last_page_can_be_asked_for(
    api_client: APIClient,
) -> None:
    ProductFactory.create_batch(7, category=CategoryFactory())

    past = api_client.get(PRODUCTS, {"page_size": 5, "page": 3})
    last = api_client.get(PRODUCTS, {"page_size": 5, "page": "last"})
    zero = api_client.get(PRODUCTS, {"page_size": 5, "page": 0})

    assert past.status_code == 404
    assert past.data["code"] == "not_found"
    assert zero.status_code == 404
    assert last.status_code == 200
    assert len(last.data["results"]) == 2
    assert last.data["next"] is None
    assert last.data["previous"] is not None


# --- conditional GET ----------------------------------------------------------------------------


def test_list_and_detail_answer_304_to_a_matching_etag(api_client: APIClient) -> None:
    product = ProductFactory()
    detail_url = reverse("v1:product-detail", args=[product.pk])

    listed = api_client.get(PRODUCTS)
    detail = api_client.get(detail_url)

    assert listed.status_code == 200 and listed["ETag"]
    assert detail["Last-Modified"]
    assert api_client.get(PRODUCTS, HTTP_IF_NONE_MATCH=listed["ETag"]).status_code == 304
    assert api_client.get(detail_url, HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 304
    product_update(product=product, price=Decimal("1.23"))
    assert api_client.get(detail_url, HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 200


def test_product_detail_by_slug_matches_detail_by_id(
    api_client: APIClient, tree: dict[str, Category]
) -> None:
    product = ProductFactory(category=tree["headphones"])
    ReviewFactory(product=product, rating=5)
    ReviewFactory(product=product, rating=3)

    by_id = api_client.get(reverse("v1:product-detail", args=[product.pk]))
    by_slug = api_client.get(reverse("v1:product-by-slug", args=[product.slug]))

    assert by_id.data == by_slug.data
    assert [c["slug"] for c in by_id.data["category"]["breadcrumbs"]] == [
        "electronics",
        "audio",
        "headphones",
    ]
    assert by_id.data["rating"] == {
        "average": 4.0,
        "count": 2,
        "histogram": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1},
    }


def test_search_reindex_switches_the_language(api_client: APIClient, settings) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(name="Mug", description="Made for them")
    settings.CATALOGUE_SEARCH_CONFIG = "simple"
    # "them" is an English stop word: not in the stored English document.
    assert ids(api_client.get(PRODUCTS, {"search": "them"})) == []

    call_command("search_reindex", stdout=StringIO())

    assert ids(api_client.get(PRODUCTS, {"search": "them"})) == [product.pk]


def test_search_reindex_refuses_an_unknown_language(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATALOGUE_SEARCH_CONFIG = "klingon"

    with pytest.raises(ValueError, match="no text-search configuration"):
        call_command("search_reindex", stdout=StringIO())


def test_facets_count_only_what_the_search_matches(
    api_client: APIClient, tree: dict[str, Category]
) -> None:
    ProductFactory(category=tree["headphones"], name="Walnut Headphones", stock=0)
    ProductFactory(category=tree["phones"], name="Walnut Phone Case", price=Decimal("30"))
    ProductFactory(category=tree["phones"], name="Steel Phone Case", price=Decimal("30"))

    response = api_client.get(PRODUCTS, {"search": "walnut", "facets": "true"})

    facets = response.data["facets"]
    assert response.data["count"] == 2
    assert [(node["slug"], node["count"]) for node in facets["categories"]] == [
        ("electronics", 2),
        ("garden", 0),
    ]
    assert facets["stock"] == {"in_stock": 1, "out_of_stock": 1}
    assert sum(bucket["count"] for bucket in facets["prices"]) == 2
