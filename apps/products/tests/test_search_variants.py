"""Search over variants and attribute values (issue 13 slice 4): the document holds the option
values of a product's active variants and its text and option attribute values, kept by the
database's statement triggers whoever writes; an exact SKU of any variant finds its product and
the list row names that variant (``matched_variant``)."""

import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from apps.attributes.models import Attribute, AttributeKind, AttributeOption
from apps.products.models import Product, ProductAttributeValue, SearchTerm, Variant
from apps.products.tests.factories import (
    ProductFactory,
    choice_attribute,
    option_id,
    product_type_of,
    product_with_options,
)

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("v1:product-list")
# The statement with which products.0014 fills the existing products' values.
FILL = importlib.import_module("apps.products.migrations.0014_search_variants").FILL


def found(api_client: APIClient, search: str) -> list[int]:
    # .json(): a repeated anonymous read is the response cache's (an HttpResponse).
    response = api_client.get(PRODUCTS, {"search": search})
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


class Jumper:
    """A jumper type: axes colour (a swatch: Crimson, Navy) and size (Small, XL); attributes
    material (text), fit (choice: Slim, Relaxed) and care (multiple choice: Handwash, Tumble)."""

    def __init__(self) -> None:
        self.colour = Attribute.objects.create(
            name="Colour", slug="colour", kind=AttributeKind.SWATCH
        )
        for position, value in enumerate(["Crimson", "Navy"]):
            AttributeOption.objects.create(
                attribute=self.colour, slug=value.lower(), value=value, position=position
            )
        self.size = choice_attribute("size", ["small", "xl"])
        AttributeOption.objects.filter(attribute=self.size, slug="small").update(value="Small")
        self.material = Attribute.objects.create(name="Material", slug="material", kind="text")
        self.fit = choice_attribute("fit", ["slim", "relaxed"])
        self.care = choice_attribute(
            "care", ["handwash", "tumble"], kind=AttributeKind.MULTIPLE_CHOICE
        )
        self.type = product_type_of(
            "jumper",
            axes=(self.colour, self.size),
            attributes=(self.material, self.fit, self.care),
        )

    def options(self, colour: str, size: str) -> list[int]:
        return sorted([option_id(self.colour, colour), option_id(self.size, size)])

    def product(self, name: str = "Lambswool jumper", **kwargs: Any) -> Product:
        """Return a jumper whose first variant is crimson and small."""
        crimson_small = self.options("crimson", "small")
        return product_with_options(self.type, crimson_small, name=name, **kwargs)

    def add_variant(self, product: Product, colour: str, size: str, **kwargs: Any) -> Variant:
        return Variant.objects.create(
            product=product,
            sku=kwargs.pop("sku", f"{product.sku}-{colour}-{size}"),
            price=Decimal("40.00"),
            option_ids=self.options(colour, size),
            **kwargs,
        )


@pytest.fixture
def jumper() -> Jumper:
    return Jumper()


def search_values(product: Product) -> str:
    return Product.objects.values_list("search_values", flat=True).get(pk=product.pk)


def test_an_active_variants_option_value_finds_its_product(
    api_client: APIClient, jumper: Jumper
) -> None:
    product = jumper.product()
    by_name = ProductFactory(name="Crimson Tide DVD")  # a name ranks above an option value
    navy = jumper.add_variant(product, "navy", "xl", is_active=False)

    assert found(api_client, "crimson") == [by_name.pk, product.pk]
    assert found(api_client, "Crimson small") == [product.pk]
    # An inactive variant's options are not offered: not found by them.
    assert found(api_client, "navy") == []

    Variant.objects.filter(pk=navy.pk).update(is_active=True)
    assert found(api_client, "navy") == [product.pk]
    assert search_values(product) == "Crimson Navy Small XL"

    # A variant's new options replace its old ones; a deleted variant's go.
    Variant.objects.filter(pk=navy.pk).update(option_ids=jumper.options("navy", "small"))
    assert found(api_client, "xl") == []
    Variant.objects.filter(pk=navy.pk).delete()
    assert found(api_client, "navy") == []
    assert found(api_client, "crimson") == [by_name.pk, product.pk]


def test_text_and_option_attribute_values_find_their_product(
    api_client: APIClient, jumper: Jumper
) -> None:
    product = jumper.product(name="Plain jumper")
    other = jumper.product(name="Other jumper", sku="OTHER-1")
    ProductAttributeValue.objects.bulk_create(
        [
            ProductAttributeValue(product=product, attribute=jumper.material, value_text="Merino"),
            ProductAttributeValue(
                product=product, attribute=jumper.fit, option_id=option_id(jumper.fit, "relaxed")
            ),
            ProductAttributeValue(
                product=product,
                attribute=jumper.care,
                option_id=option_id(jumper.care, "handwash"),
            ),
        ]
    )

    assert found(api_client, "merino") == [product.pk]
    assert found(api_client, "relaxed") == [product.pk]
    assert found(api_client, "handwash") == [product.pk]
    assert other.pk not in found(api_client, "merino")

    ProductAttributeValue.objects.filter(product=product, attribute=jumper.material).update(
        value_text="Cashmere"
    )
    assert found(api_client, "merino") == []
    assert found(api_client, "cashmere") == [product.pk]

    ProductAttributeValue.objects.filter(product=product).delete()
    assert found(api_client, "cashmere") == []
    assert found(api_client, "handwash") == []


def test_renaming_an_option_refreshes_the_documents_of_the_products_using_it(
    api_client: APIClient, jumper: Jumper
) -> None:
    by_variant = jumper.product(name="Cable jumper")
    by_value = jumper.product(name="Fisherman jumper", sku="FISH-1")
    ProductAttributeValue.objects.create(
        product=by_value, attribute=jumper.fit, option_id=option_id(jumper.fit, "slim")
    )

    crimson = AttributeOption.objects.get(attribute=jumper.colour, slug="crimson")
    crimson.value = "Scarlet"
    crimson.save()  # the admin's write
    AttributeOption.objects.filter(attribute=jumper.fit, slug="slim").update(value="Skinny")

    assert sorted(found(api_client, "scarlet")) == sorted([by_variant.pk, by_value.pk])
    assert found(api_client, "crimson") == []
    assert found(api_client, "skinny") == [by_value.pk]
    assert found(api_client, "slim") == []
    # The new words are in the lexicon for misspellings too.
    assert SearchTerm.objects.filter(word__in=["scarlet", "skinny"]).count() == 2


def test_a_misspelled_option_value_is_corrected(api_client: APIClient, jumper: Jumper) -> None:
    product = jumper.product(name="Ribbed jumper")

    response = api_client.get(PRODUCTS, {"search": "crimsen"})

    assert [row["id"] for row in response.json()["results"]] == [product.pk]
    assert response.json()["search"]["mode"] == "corrected"
    assert response.json()["search"]["corrected_terms"]["crimsen"][0] == "crimson"
    assert response.json()["results"][0]["matched_variant"] is None


def test_an_exact_sku_of_any_variant_finds_its_product_and_names_the_variant(
    api_client: APIClient, jumper: Jumper, django_assert_num_queries: Any
) -> None:
    product = jumper.product(name="Cable knit", sku="CK-CRIMSON-S")
    jumper.add_variant(product, "crimson", "xl", sku="CK-CRIMSON-XL", position=1)
    third = jumper.add_variant(product, "navy", "xl", sku="CK-NAVY-XL", position=2)
    # A product whose words include the SKU's ranks below the one with the SKU.
    ProductFactory(name="ck navy xl lookalike")

    with django_assert_num_queries(1):  # the page with its count, as any search
        response = api_client.get(PRODUCTS, {"search": "ck-navy-xl"})

    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["id"] == product.pk
    assert first["sku"] == "CK-CRIMSON-S"  # the product's own: its first variant's
    assert first["matched_variant"] == {"id": third.pk, "sku": "CK-NAVY-XL"}
    assert all(row["matched_variant"] is None for row in response.json()["results"][1:])

    # Found by its words, no variant is named; nor on a list without a search.
    by_words = api_client.get(PRODUCTS, {"search": "cable knit"}).json()["results"]
    assert [(row["id"], row["matched_variant"]) for row in by_words] == [(product.pk, None)]
    listed = api_client.get(PRODUCTS).json()["results"]
    assert {row["matched_variant"] for row in listed} == {None}
    # With cursors too.
    by_cursor = api_client.get(PRODUCTS, {"search": "CK-NAVY-XL", "cursor": ""})
    matched = by_cursor.json()["results"][0]["matched_variant"]
    assert matched == {"id": third.pk, "sku": "CK-NAVY-XL"}


def test_a_search_by_sku_takes_one_query_and_a_misspelling_three(
    api_client: APIClient, jumper: Jumper, django_assert_num_queries: Any
) -> None:
    product = jumper.product(name="Aran jumper", sku="AR-1")
    jumper.add_variant(product, "navy", "xl", sku="AR-2", position=1)

    for ordering in ("-relevance", "price"):
        with django_assert_num_queries(1):
            response = api_client.get(PRODUCTS, {"search": "ar-2", "ordering": ordering})
        assert response.json()["results"][0]["matched_variant"]["sku"] == "AR-2"
    # The page as typed (empty), the lexicon lookup for corrections, the corrected page.
    with django_assert_num_queries(3):
        api_client.get(PRODUCTS, {"search": "navvy"})


def test_only_the_database_writes_the_search_values(api_client: APIClient, jumper: Jumper) -> None:
    # A product saved again from a stale instance (created before its variants had options)
    # keeps its values, as does a writer that sends its own.
    with transaction.atomic():
        product = ProductFactory(product_type=jumper.type, name="Stale jumper")
        Variant.objects.filter(product=product).update(option_ids=jumper.options("navy", "small"))
    product.name = "Fresh jumper"
    product.save()
    Product.objects.filter(pk=product.pk).update(search_values="Bogus")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE products_product SET search_values = 'Bogus', name = 'Fresh jumper'"
            " WHERE id = %s",
            [product.pk],
        )
    injected = ProductFactory(name="Raw product", search_values="Injected")

    assert search_values(product) == "Navy Small"
    assert found(api_client, "fresh navy") == [product.pk]
    assert found(api_client, "bogus") == []
    assert found(api_client, "injected") == []
    assert search_values(injected) == ""


def test_a_bulk_insert_of_variants_refreshes_every_product_in_its_statement(
    api_client: APIClient, jumper: Jumper, django_assert_max_num_queries: Any
) -> None:
    products = [jumper.product(name=f"Bulk jumper {n}", sku=f"BULK-{n}") for n in range(20)]
    navy_xl = jumper.options("navy", "xl")

    with django_assert_max_num_queries(1):  # one INSERT: the triggers run inside it
        Variant.objects.bulk_create(
            [
                Variant(
                    product=product,
                    sku=f"BULK-{n}-NAVY",
                    price=Decimal("5.00"),
                    option_ids=navy_xl,
                )
                for n, product in enumerate(products)
            ]
        )

    assert sorted(found(api_client, "navy")) == sorted(product.pk for product in products)
    assert {search_values(product) for product in products} == {"Crimson Navy Small XL"}
    # A price change is not a change of the document.
    before = list(Product.objects.values_list("search_vector", flat=True).order_by("pk"))
    Variant.objects.filter(sku__endswith="-NAVY").update(price=Decimal("6.00"))
    after = list(Product.objects.values_list("search_vector", flat=True).order_by("pk"))
    assert before == after


def test_the_schema_documents_matched_variant(api_client: APIClient) -> None:
    response = api_client.get(reverse("schema"), {"format": "json"})

    row = response.json()["components"]["schemas"]["ProductList"]
    matched = row["properties"]["matched_variant"]
    assert matched["nullable"] is True
    assert matched["properties"] == {"id": {"type": "integer"}, "sku": {"type": "string"}}
    assert matched["example"] == {"id": 5127, "sku": "OX-M-RED"}
    assert "matched_variant" in row["required"]


def test_the_migrations_fill_brings_every_products_values_back(
    api_client: APIClient, jumper: Jumper
) -> None:
    product = jumper.product(name="Guernsey")
    ProductAttributeValue.objects.create(
        product=product, attribute=jumper.material, value_text="Worsted"
    )
    with connection.cursor() as cursor:
        # As before products.0014: no values in the documents (written under the setting that
        # lets a writer set them).
        cursor.execute("SET LOCAL catalogue.search_values_refresh = 'on'")
        cursor.execute("UPDATE products_product SET search_values = ''")
        cursor.execute("SET LOCAL catalogue.search_values_refresh = ''")
    assert found(api_client, "worsted") == []

    with connection.cursor() as cursor:
        cursor.execute(FILL)

    assert search_values(product) == "Crimson Small Worsted"
    assert found(api_client, "worsted crimson") == [product.pk]
