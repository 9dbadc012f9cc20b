"""Keyset cursors for infinite scroll: each page continues after the last row seen, on the
queryset's own ordering, so pages neither repeat nor skip rows while rows are inserted, and a
page deep down costs what the first one does.

No request here: whoever pages a list asks with a ``CursorRequest``. A cursor is the client's to
send back, and to forge: one that no page of ours wrote raises Django's ``ValidationError``
naming the cursor's parameter, which the API answers with a 400.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import (
    BooleanField,
    CharField,
    Expression,
    F,
    GeneratedField,
    IntegerField,
    QuerySet,
    TextField,
    Value,
)

from apps.core.limits import utc_for_database

from .counting import CountStrategy
from .page_numbers import row_value


@dataclass(frozen=True)
class CursorRequest:
    """The page of ``size`` rows after the one ``token`` names (empty: the first page).
    ``parameter`` is the token's query parameter, which errors name."""

    token: str
    size: int
    parameter: str = "cursor"

    @property
    def is_first(self) -> bool:
        """Return whether this is the first page: if that is empty, nothing matched."""
        return not self.token

    def fetch(self, rows: QuerySet[Any], counting: CountStrategy | None = None) -> "CursorPage":
        """Return this page of ``rows`` (see ``cursor_page()``); a cursor page has no count."""
        return cursor_page(rows, self)


class CursorPage:
    """A page of rows, whether another follows, and the ordering the next cursor continues."""

    def __init__(self, rows: list[Any], ordering: list[str], *, has_next: bool) -> None:
        self.rows = rows
        self.ordering = ordering
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def next_token(self) -> str | None:
        """Return the cursor of the next page, or None on the last one."""
        if not self._has_next:
            return None
        last = self.rows[-1]
        values = [_cursor_value(row_value(last, key.lstrip("-"))) for key in self.ordering]
        return base64.urlsafe_b64encode(
            json.dumps({"o": self.ordering, "v": values}).encode()
        ).decode()


def cursor_page(rows: QuerySet[Any], request: CursorRequest) -> CursorPage:
    """Return the page of ``rows`` after the cursor of ``request``, in one query.

    ``rows``' ordering must end with a unique key and sort every key the same way. Raise
    ``ValidationError`` for a cursor that no page of ``rows``' ordering wrote.
    """
    ordering = [str(key) for key in rows.query.order_by]
    after = _decode(request, ordering)
    if after is not None:
        descending = ordering[0].startswith("-")
        keys = [key.lstrip("-") for key in ordering]
        try:
            typed = [
                _from_cursor(rows.model, key, value) for key, value in zip(keys, after, strict=True)
            ]
        except (ValidationError, ValueError, TypeError, OverflowError) as error:
            raise _invalid(request, "Invalid cursor.") from error
        rows = rows.filter(RowComparison(keys, "<" if descending else ">", typed))
    fetched = list(rows[: request.size + 1])
    return CursorPage(fetched[: request.size], ordering, has_next=len(fetched) > request.size)


class RowComparison(Expression):
    """``(a, b) < (x, y)``: a keyset condition PostgreSQL answers from a composite index."""

    output_field = BooleanField()

    def __init__(self, left: list[Any], operator: str, right: list[Any]) -> None:
        assert operator in ("<", ">"), "RowComparison compares with < or >"
        super().__init__()
        self.left = [F(item) if isinstance(item, str) else item for item in left]
        self.right = [Value(item) for item in right]
        self.operator = operator

    def get_source_expressions(self) -> list[Any]:
        return [*self.left, *self.right]

    def set_source_expressions(self, expressions: Any) -> None:
        self.left, self.right = expressions[: len(self.left)], expressions[len(self.left) :]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        left = [compiler.compile(expression) for expression in self.left]
        right = [compiler.compile(expression) for expression in self.right]
        sql = "({}) {} ({})".format(
            ", ".join(sql for sql, _ in left), self.operator, ", ".join(sql for sql, _ in right)
        )
        return sql, [param for _, params in left + right for param in params]


def _invalid(request: CursorRequest, message: str) -> ValidationError:
    return ValidationError({request.parameter: [message]})


def _decode(request: CursorRequest, ordering: list[str]) -> list[Any] | None:
    """Return the values of the row a cursor names, or None for the first page."""
    if not request.token:
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(request.token.encode()))
        values = state["v"]
    except (binascii.Error, ValueError, TypeError, KeyError) as error:
        raise _invalid(request, "Invalid cursor.") from error
    if state.get("o") != ordering or not isinstance(values, list):
        raise _invalid(request, "This cursor belongs to another ordering.")
    return values


def _from_cursor(model: Any, key: str, value: Any) -> Any:
    """Return a cursor's value as the Python type of ``key`` (a model field or an annotation).

    A value that no page of ours writes (one the database refuses, or Unicode digits, or a
    fraction for an id) raises an error.
    """
    try:
        field = model._meta.get_field("id" if key == "pk" else key)
    except FieldDoesNotExist:
        field = None
    if field is None:
        # An annotation, the search rank: a JSON number.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("the rank is a number")
        return float(value)
    if isinstance(field, GeneratedField):
        field = field.output_field
    if isinstance(value, str):
        value.encode()  # a lone surrogate: a UnicodeEncodeError
        if "\x00" in value or not (value.isascii() or isinstance(field, CharField | TextField)):
            raise ValueError("text PostgreSQL refuses, or digits other than 0-9")
    elif isinstance(field, IntegerField) and value is not None and type(value) is not int:
        raise TypeError("an id or count is a whole number")
    typed = field.to_python(value)
    field.run_validators(typed)  # a number's digits, an integer's range
    return utc_for_database(typed) if isinstance(typed, datetime) else typed


def _cursor_value(value: Any) -> Any:
    """Return ``value`` in a form JSON keeps exactly and PostgreSQL compares back correctly."""
    if isinstance(value, int | float | str) or value is None:
        return value
    return str(value)  # Decimal, datetime (ISO 8601 with offset)
