import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from apps.attributes.models import (
    ATTRIBUTE_KIND_AXIS_RULE,
    ATTRIBUTE_KIND_OPTIONS_RULE,
    AXIS_KIND_RULE,
    AXIS_VARIANTS_RULE,
    OPTION_KIND_RULE,
    OPTION_SWATCH_RULE,
    TYPE_VARIANTS_RULE,
    Attribute,
    AttributeKind,
    AttributeOption,
    ProductTypeAttribute,
)

from .factories import (
    AttributeFactory,
    AttributeOptionFactory,
    ProductTypeAttributeFactory,
    ProductTypeFactory,
)

pytestmark = pytest.mark.django_db


def constraint_of(error: pytest.ExceptionInfo[IntegrityError]) -> str:
    return error.value.__cause__.diag.constraint_name  # type: ignore[union-attr]


def test_the_database_refuses_an_unknown_kind() -> None:
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        AttributeFactory(kind="colourful")
    assert constraint_of(error) == "attributes_attribute_kind_valid"


def test_only_a_number_has_a_unit() -> None:
    AttributeFactory(kind=AttributeKind.NUMBER, unit="GB")
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        AttributeFactory(kind=AttributeKind.TEXT, unit="GB")
    assert constraint_of(error) == "attributes_attribute_unit_only_for_numbers"


@pytest.mark.parametrize("colour", ["red", "#FF0000", "#ff00", "ff0000", "#gg0000"])
def test_the_database_refuses_a_swatch_colour_that_is_not_lower_case_rrggbb(colour: str) -> None:
    attribute = AttributeFactory(kind=AttributeKind.SWATCH)
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        AttributeOptionFactory(attribute=attribute, swatch_colour=colour)
    assert constraint_of(error) == "attributes_option_swatch_colour_format"


def test_an_option_slug_is_unique_per_attribute() -> None:
    first, second = AttributeFactory(), AttributeFactory()
    AttributeOptionFactory(attribute=first, slug="red")
    AttributeOptionFactory(attribute=second, slug="red")
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        AttributeOptionFactory(attribute=first, slug="red")
    assert constraint_of(error) == "attributes_option_slug_unique_per_attribute"


@pytest.mark.parametrize(
    "kind", [AttributeKind.TEXT, AttributeKind.NUMBER, AttributeKind.BOOLEAN, AttributeKind.DATE]
)
def test_the_database_refuses_options_of_an_attribute_without_options(kind: str) -> None:
    attribute = AttributeFactory(kind=kind)
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        AttributeOptionFactory(attribute=attribute)
    assert constraint_of(error) == OPTION_KIND_RULE
    with pytest.raises(ValidationError):
        AttributeOptionFactory.build(attribute=attribute).full_clean()


@pytest.mark.parametrize("kind", [AttributeKind.CHOICE, AttributeKind.MULTIPLE_CHOICE])
def test_the_database_refuses_a_swatch_on_a_non_swatch_option(kind: str) -> None:
    attribute = AttributeFactory(kind=kind)
    AttributeOptionFactory(attribute=attribute)
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        AttributeOptionFactory(attribute=attribute, swatch_colour="#ff0000")
    assert constraint_of(error) == OPTION_SWATCH_RULE
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        AttributeOptionFactory(attribute=attribute, swatch_image="swatches/1/red.png")
    assert constraint_of(error) == OPTION_SWATCH_RULE
    option = AttributeOptionFactory.build(attribute=attribute, swatch_colour="#ff0000")
    with pytest.raises(ValidationError) as invalid:
        option.full_clean()
    assert "swatch_colour" in invalid.value.message_dict


def test_a_swatch_option_has_a_colour() -> None:
    option = AttributeOptionFactory(
        attribute=AttributeFactory(kind=AttributeKind.SWATCH), swatch_colour="#1a2b3c"
    )
    option.full_clean()


def test_the_database_keeps_the_kind_of_an_attribute_with_options() -> None:
    attribute = AttributeFactory(kind=AttributeKind.SWATCH)
    AttributeOptionFactory(attribute=attribute, swatch_colour="#ff0000")
    Attribute.objects.filter(pk=attribute.pk).update(kind=AttributeKind.SWATCH)  # unchanged
    for kind in (AttributeKind.CHOICE, AttributeKind.TEXT):
        with pytest.raises(IntegrityError) as error, transaction.atomic():
            Attribute.objects.filter(pk=attribute.pk).update(kind=kind)
        assert constraint_of(error) == ATTRIBUTE_KIND_OPTIONS_RULE
    AttributeOption.objects.update(swatch_colour="")
    Attribute.objects.filter(pk=attribute.pk).update(kind=AttributeKind.MULTIPLE_CHOICE)
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        Attribute.objects.filter(pk=attribute.pk).update(kind=AttributeKind.NUMBER)
    assert constraint_of(error) == ATTRIBUTE_KIND_OPTIONS_RULE
    AttributeOption.objects.all().delete()
    Attribute.objects.filter(pk=attribute.pk).update(kind=AttributeKind.NUMBER)


def test_the_database_refuses_an_axis_that_is_not_a_choice() -> None:
    product_type = ProductTypeFactory(has_variants=True)
    for kind in (AttributeKind.CHOICE, AttributeKind.SWATCH):
        ProductTypeAttributeFactory(
            product_type=product_type, attribute=AttributeFactory(kind=kind), is_axis=True
        )
    for kind in (AttributeKind.MULTIPLE_CHOICE, AttributeKind.TEXT):
        attribute = AttributeFactory(kind=kind)
        with pytest.raises(IntegrityError) as error, transaction.atomic():
            ProductTypeAttributeFactory(
                product_type=product_type, attribute=attribute, is_axis=True
            )
        assert constraint_of(error) == AXIS_KIND_RULE
        link = ProductTypeAttributeFactory.build(
            product_type=product_type, attribute=attribute, is_axis=True
        )
        with pytest.raises(ValidationError) as invalid:
            link.full_clean()
        assert "is_axis" in invalid.value.message_dict
        # Not an axis: any kind describes a type.
        ProductTypeAttributeFactory(product_type=product_type, attribute=attribute)


def test_the_database_refuses_an_axis_of_a_type_without_variants() -> None:
    product_type = ProductTypeFactory(has_variants=False)
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        ProductTypeAttributeFactory(product_type=product_type, is_axis=True)
    assert constraint_of(error) == AXIS_VARIANTS_RULE


def test_the_database_keeps_the_variants_of_a_type_with_axes() -> None:
    product_type = ProductTypeFactory(has_variants=True)
    link = ProductTypeAttributeFactory(product_type=product_type, is_axis=True)
    product_type.has_variants = False
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        product_type.save()
    assert constraint_of(error) == TYPE_VARIANTS_RULE
    ProductTypeAttribute.objects.filter(pk=link.pk).update(is_axis=False)
    product_type.save()


def test_the_database_keeps_the_kind_of_an_axis() -> None:
    link = ProductTypeAttributeFactory(
        product_type=ProductTypeFactory(has_variants=True),
        attribute=AttributeFactory(kind=AttributeKind.CHOICE),
        is_axis=True,
    )
    Attribute.objects.filter(pk=link.attribute_id).update(kind=AttributeKind.SWATCH)
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        Attribute.objects.filter(pk=link.attribute_id).update(kind=AttributeKind.MULTIPLE_CHOICE)
    assert constraint_of(error) == ATTRIBUTE_KIND_AXIS_RULE


def test_an_attribute_is_once_per_type_and_protected_while_a_type_uses_it() -> None:
    link = ProductTypeAttributeFactory()
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        ProductTypeAttributeFactory(product_type=link.product_type, attribute=link.attribute)
    assert constraint_of(error) == "attributes_type_attribute_once"
    with pytest.raises(ProtectedError):
        link.attribute.delete()
    link.product_type.delete()
    link.attribute.delete()


@pytest.mark.django_db(transaction=True)
def test_an_option_added_while_the_kind_changes_cannot_break_the_rule() -> None:
    """Two transactions race: one adds an option, the other makes the attribute a text. One of
    them fails, whichever comes second; the database never holds an option of a text."""
    attribute = AttributeFactory(kind=AttributeKind.CHOICE)
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def add_option() -> None:
        try:
            with transaction.atomic():
                barrier.wait()
                AttributeOptionFactory(attribute=attribute)
        except IntegrityError as error:
            errors.append(error.__cause__.diag.constraint_name)  # type: ignore[union-attr]
        finally:
            connection.close()

    def make_text() -> None:
        try:
            with transaction.atomic():
                barrier.wait()
                Attribute.objects.filter(pk=attribute.pk).update(kind=AttributeKind.TEXT)
        except IntegrityError as error:
            errors.append(error.__cause__.diag.constraint_name)  # type: ignore[union-attr]
        finally:
            connection.close()

    threads = [threading.Thread(target=add_option), threading.Thread(target=make_text)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    attribute.refresh_from_db()
    options = AttributeOption.objects.filter(attribute=attribute).count()
    assert len(errors) == 1
    assert errors[0] in (OPTION_KIND_RULE, ATTRIBUTE_KIND_OPTIONS_RULE)
    assert (attribute.kind, options) in ((AttributeKind.CHOICE, 1), (AttributeKind.TEXT, 0))


def test_querysets_prefetch_in_order(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    attribute = AttributeFactory(is_filterable=True)
    AttributeOptionFactory(attribute=attribute, slug="b", position=2)
    AttributeOptionFactory(attribute=attribute, slug="a", position=1)
    AttributeFactory(is_filterable=False)
    with django_assert_num_queries(2):
        attributes = list(Attribute.objects.filterable().for_detail())
        assert [[option.slug for option in item.options.all()] for item in attributes] == [
            ["a", "b"]
        ]
