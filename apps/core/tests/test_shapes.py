"""Shapes: one declaration of a JSON object, its columns, its renderers and the serializer check."""

import inspect
import traceback
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework import serializers

from apps.core.shapes import Field, Shape, assert_serializer_matches


def joined(*values: object) -> str:
    return "+".join(map(str, values))


def with_host(path: str, request: Any) -> str:
    return f"{request.host}{path}"


ORDER = Shape(
    Field("id"),
    Field("total", "price", "quantity", convert=lambda price, quantity: price * quantity),
    Field("customer", shape=Shape(Field("id", "customer_id"), Field("name", "customer__name"))),
    Field("quantity"),
    Field(
        "lines",
        "lines_data",
        many=True,
        shape=Shape(Field("sku"), Field("link", "path", convert=with_host, takes_request=True)),
    ),
)
ROW = {
    "id": 7,
    "price": 3,
    "quantity": 2,
    "customer_id": 11,
    "customer__name": "Ada",
    "lines_data": [{"sku": "A-1", "path": "/a"}, {"sku": "B-2", "path": "/b"}],
}
EXPECTED = {
    "id": 7,
    "total": 6,
    "customer": {"id": 11, "name": "Ada"},
    "quantity": 2,
    "lines": [{"sku": "A-1", "link": "shop/a"}, {"sku": "B-2", "link": "shop/b"}],
}
REQUEST = SimpleNamespace(host="shop")


def test_a_shape_lists_its_keys_and_the_columns_a_values_query_selects() -> None:
    assert ORDER.keys == ("id", "total", "customer", "quantity", "lines")
    # Each column once, in the order the fields read them; a list's objects are its column's.
    assert ORDER.columns == (
        "id",
        "price",
        "quantity",
        "customer_id",
        "customer__name",
        "lines_data",
    )


def test_the_row_renderer_reads_a_values_row_by_key() -> None:
    render = ORDER.row_renderer("render_order")

    assert render(ROW, REQUEST) == EXPECTED
    assert list(render(ROW, REQUEST)) == list(ORDER.keys)


def test_the_instance_renderer_reads_attributes_along_the_column_path() -> None:
    instance = SimpleNamespace(
        id=7,
        price=3,
        quantity=2,
        customer_id=11,
        customer=SimpleNamespace(name="Ada"),
        lines_data=ROW["lines_data"],
    )
    render = ORDER.instance_renderer("render_order", parameter="order")

    assert render(instance, REQUEST) == EXPECTED
    assert list(inspect.signature(render).parameters) == ["order", "request"]


def test_a_renderer_takes_the_request_only_when_a_converter_does() -> None:
    render = Shape(Field("id"), Field("label", "id", "name", convert=joined)).row_renderer(
        "render", doc="Render one."
    )

    assert render({"id": 1, "name": "a"}) == {"id": 1, "label": "1+a"}
    assert list(inspect.signature(render).parameters) == ["row"]
    assert render.__doc__ == "Render one."


def test_the_generated_source_reads_as_written_by_hand_and_shows_in_tracebacks() -> None:
    def refuse(value: object) -> object:
        raise ValueError(value)

    render = Shape(Field("id"), Field("name", "customer__name", convert=refuse)).row_renderer(
        "render_customer"
    )

    assert inspect.getsource(render) == (
        "def render_customer(row):\n"
        "    return {\n"
        "        'id': row['id'],\n"
        "        'name': convert_name(row['customer__name']),\n"
        "    }\n"
    )
    with pytest.raises(ValueError, match="Ada") as raised:
        render({"id": 1, "customer__name": "Ada"})
    assert "convert_name(row['customer__name'])" in "".join(traceback.format_tb(raised.tb))


def test_extend_appends_keys_and_extends_nested_objects() -> None:
    detail = ORDER.extend(
        Field("customer", shape=Shape(Field("email", "customer__email"))),
        Field("note"),
    )

    assert detail.keys == (*ORDER.keys, "note")
    customer = detail.fields[2].shape
    assert customer is not None
    assert customer.keys == ("id", "name", "email")
    assert detail.columns == (
        *("id", "price", "quantity", "customer_id", "customer__name", "customer__email"),
        *("lines_data", "note"),
    )
    assert ORDER.keys == ("id", "total", "customer", "quantity", "lines")  # unchanged


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda: Field("total", "price", "quantity"), "give a converter"),
        (lambda: Field("lines", many=True), "give it a shape"),
        (lambda: Field("id", takes_request=True), "only a converter takes the request"),
        (lambda: Shape(Field("id"), Field("id", "pk")), "repeated: \\['id'\\]"),
        (lambda: ORDER.extend(Field("quantity", "amount")), "only a nested object"),
        (lambda: ORDER.row_renderer("render", parameter="request"), "call the parameter"),
        (
            lambda: Shape(Field("id", "order__class")).instance_renderer("render"),
            "no attribute path",
        ),
    ],
)
def test_a_declaration_that_cannot_render_is_refused_with_the_fix(
    declare: Any, message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        declare()


class CustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LineSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    link = serializers.CharField()


class OrderSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    total = serializers.IntegerField()
    customer = CustomerSerializer()
    quantity = serializers.IntegerField()
    lines = LineSerializer(many=True)


def test_a_serializer_with_the_shapes_keys_at_every_level_matches() -> None:
    assert_serializer_matches(OrderSerializer, ORDER, shape_name="ORDER")


def test_a_serializer_missing_a_key_is_named_with_the_fix() -> None:
    class ShortOrderSerializer(OrderSerializer):
        quantity = None  # type: ignore[assignment]

    with pytest.raises(AssertionError, match="ShortOrderSerializer has the fields") as raised:
        assert_serializer_matches(ShortOrderSerializer, ORDER, shape_name="ORDER")
    assert "declare the same keys in the same order in both" in str(raised.value)


def test_a_nested_serializer_that_differs_is_named_by_its_path() -> None:
    class NamelessCustomerSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()

    class OtherOrderSerializer(OrderSerializer):
        customer = NamelessCustomerSerializer()

    with pytest.raises(AssertionError, match=r"OtherOrderSerializer\.customer has the fields"):
        assert_serializer_matches(OtherOrderSerializer, ORDER, shape_name="ORDER")


def test_a_list_declared_as_one_object_is_refused() -> None:
    class OneLineOrderSerializer(OrderSerializer):
        lines = LineSerializer()  # type: ignore[assignment]

    with pytest.raises(AssertionError, match="same many="):
        assert_serializer_matches(OneLineOrderSerializer, ORDER, shape_name="ORDER")
