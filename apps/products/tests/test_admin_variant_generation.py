"""Generating variants from chosen axis options: the plan, the write, its limits and audit
(the domain code behind the admin's "Generate variants" page)."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings

from apps.attributes.models import AttributeKind, AttributeOption
from apps.attributes.tests.factories import AttributeFactory, AttributeOptionFactory
from apps.core.models import AuditEntry
from apps.products.models import Product, Variant
from apps.products.tests.factories import ProductFactory, VariantFactory
from apps.products.variant_generation import variants_generate, variants_plan

pytestmark = pytest.mark.django_db


def axis(slug: str, *values: str, kind: str = AttributeKind.CHOICE) -> list[AttributeOption]:
    attribute = AttributeFactory(slug=slug, name=slug.title(), kind=kind)
    return [
        AttributeOptionFactory(attribute=attribute, value=value, slug=value.lower(), position=n)
        for n, value in enumerate(values)
    ]


@pytest.fixture
def sizes() -> list[AttributeOption]:
    return axis("size", "S", "M", "L")


@pytest.fixture
def colours() -> list[AttributeOption]:
    return axis("colour", "Red", "Blue", kind=AttributeKind.SWATCH)


def test_the_plan_lists_every_combination_and_skips_the_existing(
    sizes: list[AttributeOption], colours: list[AttributeOption]
) -> None:
    product = ProductFactory(sku="TEE")
    small_red = sorted([sizes[0].pk, colours[0].pk])
    VariantFactory(product=product, sku="TEE-OLD", option_ids=small_red)

    plan = variants_plan(product=product, chosen=[sizes[:2], colours])

    assert [c.sku for c in plan.new] == ["TEE-s-blue", "TEE-m-red", "TEE-m-blue"]
    assert [c.label for c in plan.existing] == ["S / Red"]
    assert plan.new[0].option_ids == sorted([sizes[0].pk, colours[1].pk])


def test_generating_creates_the_new_combinations_in_one_insert_and_audits_them(
    sizes: list[AttributeOption],
    colours: list[AttributeOption],
    django_assert_max_num_queries: object,
) -> None:
    product = ProductFactory(sku="TEE", price=Decimal("20.00"))
    VariantFactory(product=product, sku="TEE-OLD", option_ids=sorted([sizes[0].pk, colours[0].pk]))

    # Lock, read, check, INSERT, touch, audit (and savepoints): as many for 5 as for 500.
    with django_assert_max_num_queries(12) as queries:  # type: ignore[operator]
        plan = variants_generate(
            user=None,
            product=product,
            chosen=[sizes, colours],
            price=Decimal("15.00"),
            stock=3,
            sku_pattern="{sku}/{options}",
        )

    assert (len(plan.new), len(plan.existing)) == (5, 1)
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "products_variant"' in q["sql"]]
    assert len(inserts) == 1
    created = list(product.variants.filter(sku__startswith="TEE/").order_by("position"))
    assert [v.sku for v in created] == [
        "TEE/s-blue",
        "TEE/m-red",
        "TEE/m-blue",
        "TEE/l-red",
        "TEE/l-blue",
    ]
    assert all(v.price == Decimal("15.00") and v.stock == 3 for v in created)
    assert len({v.position for v in created}) == 5
    product.refresh_from_db()
    assert product.variant_count == 7
    assert product.price == Decimal("15.00")
    entries = AuditEntry.objects.filter(action="products.variants_generate")
    assert entries.count() == 5
    assert len(set(entries.values_list("batch", flat=True))) == 1
    assert entries.get(object_id=str(created[0].pk)).after["sku"] == "TEE/s-blue"


def test_nothing_new_writes_nothing(sizes: list[AttributeOption]) -> None:
    product = ProductFactory(sku="TEE")
    variants_generate(user=None, product=product, chosen=[sizes[:1]], price=Decimal("1.00"))

    plan = variants_generate(user=None, product=product, chosen=[sizes[:1]], price=Decimal("1.00"))

    assert (plan.new, len(plan.existing)) == ([], 1)
    assert product.variants.count() == 2


def test_over_the_cap_nothing_is_created_and_the_error_says_how_many_fit(
    sizes: list[AttributeOption], colours: list[AttributeOption]
) -> None:
    product = ProductFactory(sku="TEE")

    with (
        override_settings(CATALOGUE_MAX_VARIANTS_PER_PRODUCT=6),
        pytest.raises(ValidationError) as raised,
    ):
        variants_generate(user=None, product=product, chosen=[sizes, colours], price=Decimal(1))

    assert "this one has 1, so 5 more fit, and these choices make 6 new ones" in str(raised.value)
    assert product.variants.count() == 1
    assert not AuditEntry.objects.exists()

    # More combinations than any product holds: refused before they are listed.
    with (
        override_settings(CATALOGUE_MAX_VARIANTS_PER_PRODUCT=5),
        pytest.raises(ValidationError, match="These choices make 6 combinations"),
    ):
        variants_plan(product=product, chosen=[sizes, colours])


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{sku}", "needs {options}"),
        ("{sku}-{options}-" + "x" * 64, "at most 64 characters: TEE-s-xxx"),
        ("TAKEN-{options}", "These SKUs are taken: TAKEN-s"),
    ],
)
def test_a_bad_or_taken_sku_refuses_everything(
    sizes: list[AttributeOption], pattern: str, message: str
) -> None:
    VariantFactory(sku="TAKEN-s")
    product = ProductFactory(sku="TEE")

    with pytest.raises(ValidationError) as raised:
        variants_generate(
            user=None, product=product, chosen=[sizes], price=Decimal(1), sku_pattern=pattern
        )

    assert message in str(raised.value.message_dict["sku_pattern"])
    assert product.variants.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_generations_at_once_create_each_combination_once(
    sizes: list[AttributeOption],
) -> None:
    product = ProductFactory(sku="TEE")
    barrier = threading.Barrier(2)
    results: list[object] = []

    def generate() -> None:
        try:
            barrier.wait()
            plan = variants_generate(user=None, product=product, chosen=[sizes], price=Decimal(1))
            results.append(len(plan.new))
        except Exception as error:  # reported by the assertion below
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=generate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The product's lock puts one after the other: the second finds them all made.
    assert sorted(results, key=str) == [0, 3]
    assert Variant.objects.filter(product=product).count() == 4
    assert Product.objects.get(pk=product.pk).variant_count == 4
