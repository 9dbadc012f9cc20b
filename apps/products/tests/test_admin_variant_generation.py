"""Generating variants from chosen axis options: the plan, the write, its limits and audit
(the domain code behind the admin's "Generate variants" page)."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse

from apps.attributes.models import AttributeKind, AttributeOption
from apps.attributes.tests.factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)
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


def shirt(sizes: list[AttributeOption], colours: list[AttributeOption], **kwargs: Any) -> Product:
    """Return a product of a type with the axes size and colour, sold in S / Red (one
    transaction: the database checks its variant's options at commit)."""
    with transaction.atomic():
        product_type = ProductTypeFactory(has_variants=True)
        for position, options in enumerate([sizes, colours]):
            ProductTypeAttributeFactory(
                product_type=product_type,
                attribute=options[0].attribute,
                is_axis=True,
                position=position,
            )
        product = ProductFactory(product_type=product_type, **kwargs)
        product.variants.update(option_ids=sorted([sizes[0].pk, colours[0].pk]))
    return product


@pytest.fixture
def sizes() -> list[AttributeOption]:
    return axis("size", "S", "M", "L")


@pytest.fixture
def colours() -> list[AttributeOption]:
    return axis("colour", "Red", "Blue", kind=AttributeKind.SWATCH)


def test_the_plan_lists_every_combination_and_skips_the_existing(
    sizes: list[AttributeOption], colours: list[AttributeOption]
) -> None:
    product = shirt(sizes, colours, sku="TEE")

    plan = variants_plan(product=product, chosen=[sizes[:2], colours])

    assert [c.sku for c in plan.new] == ["TEE-s-blue", "TEE-m-red", "TEE-m-blue"]
    assert [c.label for c in plan.existing] == ["S / Red"]
    assert plan.new[0].option_ids == sorted([sizes[0].pk, colours[1].pk])


def test_generating_creates_the_new_combinations_in_one_insert_and_audits_them(
    sizes: list[AttributeOption],
    colours: list[AttributeOption],
    django_assert_max_num_queries: object,
) -> None:
    product = shirt(sizes, colours, sku="TEE", price=Decimal("20.00"))

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
    assert product.variant_count == 6
    assert product.price == Decimal("15.00")
    entries = AuditEntry.objects.filter(action="products.variants_generate")
    assert entries.count() == 5
    assert len(set(entries.values_list("batch", flat=True))) == 1
    assert entries.get(object_id=str(created[0].pk)).after["sku"] == "TEE/s-blue"


def test_nothing_new_writes_nothing(
    sizes: list[AttributeOption], colours: list[AttributeOption]
) -> None:
    product = shirt(sizes, colours, sku="TEE")
    medium_red = [sizes[1:2], colours[:1]]
    variants_generate(user=None, product=product, chosen=medium_red, price=Decimal("1.00"))

    plan = variants_generate(user=None, product=product, chosen=medium_red, price=Decimal("1.00"))

    assert (plan.new, len(plan.existing)) == ([], 1)
    assert product.variants.count() == 2


def test_over_the_cap_nothing_is_created_and_the_error_says_how_many_fit(
    sizes: list[AttributeOption], colours: list[AttributeOption]
) -> None:
    product = shirt(sizes, colours, sku="TEE")
    chosen = [sizes, colours[1:]]

    with (
        override_settings(CATALOGUE_MAX_VARIANTS_PER_PRODUCT=3),
        pytest.raises(ValidationError) as raised,
    ):
        variants_generate(user=None, product=product, chosen=chosen, price=Decimal(1))

    assert "this one has 1, so 2 more fit, and these choices make 3 new ones" in str(raised.value)
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
        ("{sku}-{options}-" + "x" * 64, "at most 64 characters: TEE-s-blue-xxx"),
        ("TAKEN-{options}", "These SKUs are taken: TAKEN-s-blue"),
    ],
)
def test_a_bad_or_taken_sku_refuses_everything(
    sizes: list[AttributeOption], colours: list[AttributeOption], pattern: str, message: str
) -> None:
    VariantFactory(sku="TAKEN-s-blue")
    product = shirt(sizes, colours, sku="TEE")

    with pytest.raises(ValidationError) as raised:
        variants_generate(
            user=None,
            product=product,
            chosen=[sizes, colours[1:]],
            price=Decimal(1),
            sku_pattern=pattern,
        )

    assert message in str(raised.value.message_dict["sku_pattern"])
    assert product.variants.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_generations_at_once_create_each_combination_once(
    sizes: list[AttributeOption], colours: list[AttributeOption]
) -> None:
    product = shirt(sizes, colours, sku="TEE")
    barrier = threading.Barrier(2)
    results: list[object] = []

    def generate() -> None:
        try:
            barrier.wait()
            chosen = [sizes, colours[:1]]
            plan = variants_generate(user=None, product=product, chosen=chosen, price=Decimal(1))
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
    assert sorted(results, key=str) == [0, 2]
    assert Variant.objects.filter(product=product).count() == 3
    assert Product.objects.get(pk=product.pk).variant_count == 3


# --- the admin's "Generate variants" page ------------------------------------------------------

ADMIN_PERMISSIONS = ("products.view_product", "products.change_product", "products.add_variant")


@pytest.fixture
def tee(sizes: list[AttributeOption], colours: list[AttributeOption]) -> Product:
    """A T-shirt of a type with two axes (size, colour), sold in S / Red."""
    product_type = ProductTypeFactory(name="T-shirt", has_variants=True)
    for position, options in enumerate([sizes, colours]):
        ProductTypeAttributeFactory(
            product_type=product_type,
            attribute=options[0].attribute,
            is_axis=True,
            position=position,
        )
    product = ProductFactory(sku="TEE", price=Decimal("20.00"), product_type=product_type)
    product.variants.update(option_ids=sorted([sizes[0].pk, colours[0].pk]))
    return product


def generate_url(product: Product) -> str:
    return reverse("admin:products_product_generate_variants", args=[product.pk])


def ticked(sizes: list[AttributeOption], colours: list[AttributeOption]) -> dict[str, Any]:
    return {
        "axis_size": [str(sizes[0].pk), str(sizes[1].pk)],
        "axis_colour": [str(colour.pk) for colour in colours],
        "sku_pattern": "{sku}-{options}",
        "price": "18.00",
        "stock": "4",
    }


@pytest.mark.staff_permissions(*ADMIN_PERMISSIONS)
def test_the_product_page_links_to_generate_variants(staff_client: Client, tee: Product) -> None:
    response = staff_client.get(reverse("admin:products_product_change", args=[tee.pk]))

    assert generate_url(tee) in response.content.decode()
    untyped = ProductFactory()
    page = staff_client.get(reverse("admin:products_product_change", args=[untyped.pk]))
    assert "Generate variants" not in page.content.decode()


@pytest.mark.staff_permissions(*ADMIN_PERMISSIONS)
def test_the_form_has_a_checkbox_per_option_of_each_axis(
    staff_client: Client,
    tee: Product,
    sizes: list[AttributeOption],
    django_assert_max_num_queries: Any,
) -> None:
    with django_assert_max_num_queries(8):
        response = staff_client.get(generate_url(tee))

    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('type="checkbox" name="axis_size"') == 3
    assert content.count('type="checkbox" name="axis_colour"') == 2
    assert 'value="{sku}-{options}"' in content
    assert "<script>" not in content.replace(" ", "")


@pytest.mark.staff_permissions(*ADMIN_PERMISSIONS)
def test_the_confirmation_lists_new_and_skipped_combinations_and_writes_nothing(
    staff_client: Client,
    tee: Product,
    sizes: list[AttributeOption],
    colours: list[AttributeOption],
) -> None:
    response = staff_client.post(generate_url(tee), {**ticked(sizes, colours), "preview": "1"})

    assert response.status_code == 200
    plan = response.context["plan"]
    assert [c.sku for c in plan.new] == ["TEE-s-blue", "TEE-m-red", "TEE-m-blue"]
    assert [c.label for c in plan.existing] == ["S / Red"]
    content = response.content.decode()
    assert "3 variants to create" in content and "1 already exists (skipped)" in content
    assert 'name="apply"' in content
    assert tee.variants.count() == 1


@pytest.mark.staff_permissions(*ADMIN_PERMISSIONS)
def test_confirming_creates_the_variants_audits_them_and_says_so(
    staff_client: Client,
    tee: Product,
    sizes: list[AttributeOption],
    colours: list[AttributeOption],
) -> None:
    response = staff_client.post(
        generate_url(tee), {**ticked(sizes, colours), "apply": "1"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("admin:products_product_change", args=[tee.pk])
    assert "3 variants created, 1 skipped (they exist)." in response.content.decode()
    assert sorted(tee.variants.values_list("sku", flat=True)) == [
        "TEE",
        "TEE-m-blue",
        "TEE-m-red",
        "TEE-s-blue",
    ]
    assert set(tee.variants.exclude(sku="TEE").values_list("price", "stock")) == {
        (Decimal("18.00"), 4)
    }
    assert AuditEntry.objects.filter(action="products.variants_generate").count() == 3
    tee.refresh_from_db()
    assert (tee.variant_count, tee.price) == (4, Decimal("18.00"))


@pytest.mark.staff_permissions(*ADMIN_PERMISSIONS)
def test_errors_come_back_on_the_form_and_nothing_is_created(
    staff_client: Client,
    tee: Product,
    sizes: list[AttributeOption],
    colours: list[AttributeOption],
) -> None:
    nothing_ticked = {**ticked(sizes, colours), "axis_size": [], "preview": "1"}
    no_placeholder = {**ticked(sizes, colours), "sku_pattern": "{sku}", "preview": "1"}

    first = staff_client.post(generate_url(tee), nothing_ticked)
    second = staff_client.post(generate_url(tee), no_placeholder)
    for colour in colours:  # L / Red and L / Blue: the product has 3 variants
        VariantFactory(product=tee, option_ids=sorted([sizes[2].pk, colour.pk]))
    with override_settings(CATALOGUE_MAX_VARIANTS_PER_PRODUCT=5):
        third = staff_client.post(generate_url(tee), {**ticked(sizes, colours), "apply": "1"})

    assert first.context["form"].errors["axis_size"] == ["Tick at least one Size."]
    assert "needs {options}" in second.context["form"].errors["sku_pattern"][0]
    assert third.status_code == 200
    assert "has 3, so 2 more fit, and these choices make 3 new ones" in third.content.decode()
    assert tee.variants.count() == 3
    assert not AuditEntry.objects.exists()


@pytest.mark.staff_permissions("products.view_product", "products.change_product")
def test_staff_who_cannot_add_variants_cannot_generate(staff_client: Client, tee: Product) -> None:
    page = staff_client.get(reverse("admin:products_product_change", args=[tee.pk]))

    assert "Generate variants" not in page.content.decode()
    assert staff_client.get(generate_url(tee)).status_code == 403
    assert staff_client.post(generate_url(tee), {"apply": "1"}).status_code == 403


@pytest.mark.staff_permissions(*ADMIN_PERMISSIONS)
def test_a_product_whose_type_has_no_axes_is_sent_back(staff_client: Client) -> None:
    product = ProductFactory(product_type=ProductTypeFactory(has_variants=False))

    response = staff_client.get(generate_url(product), follow=True)

    assert "no variant axes" in response.content.decode()
    assert staff_client.get(
        reverse("admin:products_product_generate_variants", args=[10**9])
    ).status_code in (302, 404)
