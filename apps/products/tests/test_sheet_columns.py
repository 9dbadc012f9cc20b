"""The product sheet's column declarations: the format they define, and cells that read back
what the export writes of them."""

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.attributes.models import Attribute
from apps.products.limits import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PRICE_MAX,
    SKU_MAX_LENGTH,
    SLUG_MAX_LENGTH,
    STOCK_MAX,
)
from apps.products.sheets import (
    HEADERS,
    REQUIRED_HEADERS,
    REQUIRED_VARIANT_HEADERS,
    VARIANT_HEADERS,
    ImportFileError,
)
from apps.products.sheets.columns import CHANGES_ORDER, COLUMNS_BY_HEADER, KEY
from apps.products.sheets.errors import CellError
from apps.products.sheets.typed_cells import StoredValue, attribute_raw, attribute_text
from apps.products.sheets.variant_columns import normalise_header, variant_sheet_layout


def test_the_sheet_format() -> None:
    assert HEADERS == (
        "sku",
        "name",
        "slug",
        "description",
        "price",
        "stock",
        "is_active",
        "category",
    )
    assert REQUIRED_HEADERS == ("sku", "name", "price", "category")
    # The dry-run report lists a changed product's fields in an order of its own: each once,
    # the key (never changed) aside.
    assert sorted(CHANGES_ORDER) == sorted(set(HEADERS) - {KEY.header})


def stripped_text(max_size: int) -> st.SearchStrategy[str]:
    # Any character a database text column holds (no NUL); surrounding space is not part of
    # such a value.
    characters = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
    return st.text(characters, min_size=1, max_size=max_size).map(str.strip).filter(bool)


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "sku": stripped_text(SKU_MAX_LENGTH),
    "name": stripped_text(NAME_MAX_LENGTH),
    "slug": st.from_regex(rf"[-a-zA-Z0-9_]{{0,{SLUG_MAX_LENGTH}}}", fullmatch=True),
    "description": st.text(
        st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
        max_size=min(DESCRIPTION_MAX_LENGTH, 500),
    ),
    "price": st.decimals(min_value=0, max_value=PRICE_MAX, places=2),
    "stock": st.integers(min_value=0, max_value=STOCK_MAX),
    "is_active": st.booleans(),
    "category": st.from_regex(r"[-a-z0-9_]{1,140}", fullmatch=True),  # a slug, as exported
}


@pytest.mark.parametrize("header", HEADERS)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_value_rendered_as_text_parses_back_the_same(header: str, data: st.DataObject) -> None:
    cell = COLUMNS_BY_HEADER[header].cell
    value = data.draw(VALUES[header])

    assert cell.parse(cell.render(value)) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("100000000", "Price must be less than 100,000,000."),
        ("100000000.5", "Price must be less than 100,000,000."),
        ("1e30", "Price must be less than 100,000,000."),
        ("99999999.999", "Use at most 2 decimal places."),
        ("1.005", "Use at most 2 decimal places."),
        ("-0.001", "Price cannot be negative."),
        ("", "The price is required."),
        ("NaN", "“NaN” is not a number: write a price like 19.99."),
    ],
)
def test_price_bounds_and_their_messages(text: str, message: str) -> None:
    with pytest.raises(CellError) as raised:
        COLUMNS_BY_HEADER["price"].cell.parse(text)

    assert str(raised.value) == message


def test_the_largest_price_and_stock_are_accepted() -> None:
    assert COLUMNS_BY_HEADER["price"].cell.parse("99999999.99") == Decimal("99999999.99")
    assert COLUMNS_BY_HEADER["stock"].cell.parse("2147483647") == STOCK_MAX
    with pytest.raises(CellError, match=r"^Stock must be at most 2,147,483,647\.$"):
        COLUMNS_BY_HEADER["stock"].cell.parse("2147483648")


def test_the_variant_sheet_format() -> None:
    assert VARIANT_HEADERS == (
        "product",
        "sku",
        "name",
        "description",
        "category",
        "is_active",
        "product_type",
        "price",
        "stock",
        "active",
        "position",
    )
    assert REQUIRED_VARIANT_HEADERS == ("product", "sku", "name", "category", "price")


def test_a_variant_sheets_header_keeps_the_slugs_of_its_typed_columns() -> None:
    names = [
        normalise_header(cell)
        for cell in [
            " Product",
            "SKU",
            "Name",
            "Category",
            "Price",
            "Option:Screen-Size",
            "attribute: Max-Power",
        ]
    ]
    layout = variant_sheet_layout(names)
    assert layout.fixed == {"product": 0, "sku": 1, "name": 2, "category": 3, "price": 4}
    assert layout.options == {"Screen-Size": 5}
    assert layout.attributes == {"Max-Power": 6}


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["product", "sku", "name", "category"], "Missing columns: price."),
        (["product", "sku", "name", "category", "price", "colour"], "Unknown columns: colour."),
        (["product", "sku", "name", "category", "price", "option:"], "Unknown columns: option:."),
    ],
)
def test_a_variant_sheets_header_names_what_is_wrong(names: list[str], message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        variant_sheet_layout(names)


@pytest.mark.parametrize(
    ("kind", "stored", "text"),
    [
        ("number", (None, None, Decimal("180.500000"), None, None), "180.5"),
        ("number", (None, None, Decimal("100.000000"), None, None), "100"),
        ("boolean", (None, None, None, False, None), "false"),
        ("text", (None, " Ivory ", None, None, None), " Ivory "),
    ],
)
def test_an_attribute_value_is_written_as_the_import_reads_it(
    kind: str, stored: StoredValue, text: str
) -> None:
    attribute = Attribute(slug="a", kind=kind)
    assert attribute_text(attribute, [stored], {}) == text
    if kind == "boolean":
        assert attribute_raw(attribute, text) is False
    else:
        assert attribute_raw(attribute, text) == (text if kind == "text" else text.strip())
