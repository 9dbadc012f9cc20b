"""Pagination for every list: page numbers with a count (estimated on large results), and, where
a view allows it, keyset cursors for infinite scroll."""

import base64
import binascii
import json
import re
from collections import OrderedDict
from datetime import datetime
from functools import cached_property, partial
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import (
    BigIntegerField,
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
from django.db.models.expressions import RawSQL
from psycopg import ClientCursor
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from .filters import utc_for_database

# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def counted(rows: QuerySet[Any], limit: int | None = None) -> tuple[str, list[Any]]:
    """Return SQL (and its parameters) for a row ``ARRAY[count, estimate]`` of ``rows``.

    ``count`` is exact up to ``API_EXACT_COUNT_LIMIT``: the COUNT runs over a LIMIT, so at most
    ``limit + 1`` rows are read, whatever the table's size. Past the limit, ``estimate`` is
    PostgreSQL's planner estimate (``catalogue_count_estimate()``, an EXPLAIN in the database),
    else null. Either way it is one round trip, and it can be a subquery of the page's query.
    """
    limit = settings.API_EXACT_COUNT_LIMIT if limit is None else limit
    # Only the keys, unordered: annotations and ORDER BY would be computed for every row.
    keys = rows.order_by().values("pk")
    capped_sql, capped_params = keys[: limit + 1].query.sql_with_params()
    full_sql, full_params = keys.query.sql_with_params()
    # The estimate EXPLAINs the query as text: psycopg quotes the parameters into it.
    connection = connections[rows.db]
    connection.ensure_connection()
    query_text = ClientCursor(connection.connection).mogrify(full_sql, full_params)
    figures = "ARRAY[n, CASE WHEN n > %s THEN greatest(catalogue_count_estimate(%s::text), n) END]"
    # capped_sql is the ORM's own SQL, with its values as parameters.
    sql = f"SELECT {figures} FROM (SELECT count(*) AS n FROM ({capped_sql}) AS capped) AS c"  # noqa: S608
    return sql, [limit, query_text, *capped_params]


def _count_and_flag(figures: list[int]) -> tuple[int, bool]:
    """Return the count from ``counted()``'s row, and whether it is an estimate."""
    exact, estimate = figures
    return (exact, False) if estimate is None else (estimate, True)


def count_sql(
    queryset: QuerySet[Any], view: APIView | None, *, listed_only: bool = False
) -> tuple[str, list[Any]]:
    """Return SQL for the row ``ARRAY[count, estimate]`` that a list of ``queryset`` shows.

    A view may supply it (``get_count_sql(queryset)``, e.g. from a summary table, returning
    None where it cannot), or say what to count (``get_count_queryset(queryset)``: a search
    counts more matches than it pages through) and how far exactly (``exact_count_limit``);
    else ``counted(queryset)``. ``listed_only``: count only the rows the pages go through.
    """
    own = getattr(view, "get_count_sql", lambda rows: None)(queryset)
    if own is not None:
        return own
    if listed_only:
        return counted(queryset)
    count_queryset = getattr(view, "get_count_queryset", lambda rows: rows)(queryset)
    return counted(count_queryset, getattr(view, "exact_count_limit", None))


class EstimatingPaginator(Paginator):
    """Count exactly up to a limit; past it, take PostgreSQL's planner estimate instead of
    scanning every matching row (one query either way). ``count_is_estimate`` says which.

    ``view``: the list's view, which may supply the count (see ``count_sql()``). It counts the
    rows the pages go through: the paginator numbers its pages by it (``?page=last``).
    """

    count_is_estimate = False

    def __init__(self, *args: Any, view: APIView | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.view = view

    @cached_property
    def count(self) -> int:
        rows: QuerySet[Any] = self.object_list  # type: ignore[assignment]  # always a queryset here
        sql, params = count_sql(rows, self.view, listed_only=True)
        with connections[rows.db].cursor() as cursor:
            cursor.execute(sql, params)
            count, self.count_is_estimate = _count_and_flag(cursor.fetchone()[0])
        return count


class CountedPage(Page):
    """A page fetched with one extra row, so that whether a next page exists is known exactly
    even when the count is an estimate."""

    def __init__(
        self, rows: list[Any], number: int, paginator: Paginator, *, has_next: bool
    ) -> None:
        super().__init__(rows, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


class PageNumberPagination(pagination.PageNumberPagination):
    """Page numbers with ``count``; ``page_size`` may be asked for, up to a hard cap."""

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    django_paginator_class = EstimatingPaginator

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"Must be a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return min(int(raw), self.max_page_size)

    def is_first_page(self, request: Request) -> bool:
        """Return whether ``request`` asks for the first page: if that is empty, nothing matched."""
        page = request.query_params.get(self.page_query_param)
        return page is None or (WHOLE_NUMBER.fullmatch(page) is not None and int(page) == 1)

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        page = request.query_params.get(self.page_query_param)
        if page is not None and page != "last" and not WHOLE_NUMBER.fullmatch(page):
            raise ValidationError({self.page_query_param: ["Must be a whole number, or 'last'."]})
        if page == "last" or not isinstance(queryset, QuerySet):
            # The last page's number needs the count first: two queries.
            self.django_paginator_class = partial(EstimatingPaginator, view=view)  # type: ignore[assignment]
            return super().paginate_queryset(queryset, request, view)
        return self._page_with_count(queryset, request, int(page or 1), view)

    def _page_with_count(
        self, queryset: QuerySet[Any], request: Request, number: int, view: APIView | None
    ) -> list[Any]:
        """Fetch the page and the count in one query: the count is a subquery that PostgreSQL
        evaluates once (an InitPlan), beside the page's rows."""
        size = self.get_page_size(request)
        if number < 1:
            raise NotFound(self.invalid_page_message.format(page_number=number, message=""))
        sql, params = count_sql(queryset, view)
        figures = RawSQL(f"({sql})", params, output_field=ArrayField(BigIntegerField()))  # noqa: S611
        offset = (number - 1) * size
        rows = list(queryset.annotate(pagination_count=figures)[offset : offset + size + 1])
        if not rows and number > 1:
            raise NotFound(
                self.invalid_page_message.format(page_number=number, message="That page is empty.")
            )
        paginator = self.django_paginator_class(queryset, size)
        count, is_estimate = (
            _count_and_flag(_get(rows[0], "pagination_count")) if rows else (0, False)
        )
        # Set what the paginator would otherwise count with a query of its own.
        paginator.__dict__["count"] = count
        paginator.count_is_estimate = is_estimate
        self.page = CountedPage(rows[:size], number, paginator, has_next=len(rows) > size)
        self.request = request
        self.display_page_controls = self.template is not None and (
            number > 1 or self.page.has_next()
        )
        return list(self.page)

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("count_is_estimate", getattr(self.page.paginator, "count_is_estimate", False)),
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_is_estimate"] = {
            "type": "boolean",
            "description": "True when `count` is PostgreSQL's estimate: results past "
            f"{settings.API_EXACT_COUNT_LIMIT:,} are not counted one by one.",
        }
        response["required"] = ["count", "count_is_estimate", "results"]
        return response


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


class PageOrCursorPagination(PageNumberPagination):
    """Page numbers by default; with ``?cursor=`` (empty for the first page), keyset cursors.

    A cursor continues after the last row seen, on the queryset's own ordering (which must end
    with a unique key and sort every key the same way), so pages neither repeat nor skip rows
    while rows are inserted, and a page deep down costs what the first one does.
    """

    cursor_query_param = "cursor"

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self.cursor_mode = self.cursor_query_param in request.query_params
        if not self.cursor_mode:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        size = self.get_page_size(request)
        ordering = [str(key) for key in queryset.query.order_by]
        after = self._decode(request.query_params[self.cursor_query_param], ordering)
        if after is not None:
            descending = ordering[0].startswith("-")
            keys = [key.lstrip("-") for key in ordering]
            try:
                typed = [
                    _from_cursor(queryset.model, key, value)
                    for key, value in zip(keys, after, strict=True)
                ]
            except (DjangoValidationError, ValueError, TypeError, OverflowError) as error:
                raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from error
            queryset = queryset.filter(RowComparison(keys, "<" if descending else ">", typed))
        rows = list(queryset[: size + 1])
        self.has_next = len(rows) > size
        self.rows = rows[:size]
        self.ordering = ordering
        return self.rows

    def is_first_page(self, request: Request) -> bool:
        if self.cursor_query_param in request.query_params:
            return not request.query_params[self.cursor_query_param]
        return super().is_first_page(request)

    def get_paginated_response(self, data: Any) -> Response:
        if not self.cursor_mode:
            return super().get_paginated_response(data)
        return Response(
            OrderedDict([("next", self._next_link()), ("previous", None), ("results", data)])
        )

    def _next_link(self) -> str | None:
        if not self.has_next:
            return None
        last = self.rows[-1]
        values = [_cursor_value(_get(last, key.lstrip("-"))) for key in self.ordering]
        token = base64.urlsafe_b64encode(
            json.dumps({"o": self.ordering, "v": values}).encode()
        ).decode()
        assert self.request is not None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)

    def _decode(self, token: str, ordering: list[str]) -> list[Any] | None:
        if not token:
            return None
        invalid = ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode()))
            values = state["v"]
        except (binascii.Error, ValueError, TypeError, KeyError) as error:
            raise invalid from error
        if state.get("o") != ordering or not isinstance(values, list):
            raise ValidationError(
                {self.cursor_query_param: ["This cursor belongs to another ordering."]}
            )
        return values

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Cursor pagination for infinite scroll: send it empty for the "
                "first page, then follow `next`. Stable while products are added.",
                "schema": {"type": "string"},
            },
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["results"]
        response["description"] = "With `cursor`, only `next`, `previous` and `results`."
        return response


def _get(row: Any, key: str) -> Any:
    """Return ``key`` of a page's row: a model instance, or a dict from ``values()``."""
    return row[key] if isinstance(row, dict) else getattr(row, key)


def _from_cursor(model: Any, key: str, value: Any) -> Any:
    """Return a cursor's value as the Python type of ``key`` (a model field or an annotation).

    A cursor is the client's to send back, and to forge: a value that no page of ours writes
    (one the database refuses, or Unicode digits, or a fraction for an id) raises an error.
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
