"""The pagination's mechanics without a request: pages by number with their count, keyset
cursors, count strategies; and how the API answers what they raise.

Over Django's permissions, which every database has: the mechanics page any queryset.
"""

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from apps.core.exceptions import as_api_exception
from apps.core.pagination import EstimatingPaginator
from apps.core.pagination.counting import SQL, CountRows, RowCount
from apps.core.pagination.cursors import CursorRequest
from apps.core.pagination.page_numbers import PageRequest

pytestmark = pytest.mark.django_db


def permissions() -> QuerySet[Permission]:
    return Permission.objects.order_by("-codename", "-id")


def ids(rows: list[Permission]) -> list[int]:
    return [row.pk for row in rows]


class FixedCount:
    """A count strategy that reads its count from elsewhere (as the facet summary does)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def count_sql(self, rows: QuerySet[Any]) -> SQL:
        return "SELECT ARRAY[%s, NULL]::bigint[]", [self.count]

    def listed_count_sql(self, rows: QuerySet[Any]) -> SQL:
        return self.count_sql(rows)


def test_a_numbered_page_comes_with_its_count_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    everything = ids(list(permissions()))

    with django_assert_num_queries(1):
        page = PageRequest(2, 10).fetch(permissions())

    assert ids(page.rows) == everything[10:20]
    assert page.row_count == RowCount(len(everything), is_estimate=False)
    assert page.has_next() and page.has_previous()
    assert page.paginator.num_pages == -(-len(everything) // 10)


def test_the_last_page_needs_the_count_first(django_assert_num_queries: Any) -> None:
    everything = ids(list(permissions()))

    with django_assert_num_queries(2):
        page = PageRequest(None, 10).fetch(permissions())

    assert ids(page.rows) == everything[(page.number - 1) * 10 :]
    assert page.number == page.paginator.num_pages
    assert not page.has_next()


@pytest.mark.parametrize("number", [0, 1000])
def test_a_page_below_the_first_or_past_the_last_is_empty_page(number: int) -> None:
    with pytest.raises(EmptyPage):
        PageRequest(number, 10).fetch(permissions())


def test_an_empty_first_page_is_a_page() -> None:
    page = PageRequest(1, 10).fetch(permissions().filter(codename="no such permission"))

    assert page.rows == []
    assert page.row_count == RowCount(0, is_estimate=False)


def test_the_count_strategy_decides_the_count_a_page_shows(settings: Any) -> None:
    settings.API_EXACT_COUNT_LIMIT = 5
    total = permissions().count()

    estimated = PageRequest(1, 10).fetch(permissions())
    exact = PageRequest(1, 10).fetch(permissions(), CountRows(limit=total))
    listed = permissions().filter(pk__in=ids(list(permissions()[:3])))
    covering = PageRequest(1, 10).fetch(listed, CountRows(covering=permissions(), limit=total))
    fixed = PageRequest(1, 10).fetch(permissions(), FixedCount(12345))
    last = PageRequest(None, 10).fetch(permissions(), FixedCount(25))

    assert estimated.row_count.is_estimate
    assert exact.row_count == RowCount(total, is_estimate=False)
    assert len(covering.rows) == 3 and covering.row_count.value == total
    assert fixed.row_count == RowCount(12345, is_estimate=False)
    # The strategy's count of the listed rows numbers the pages.
    assert (last.number, last.paginator.count) == (3, 25)


def test_a_paginator_told_its_count_does_not_count_again(django_assert_num_queries: Any) -> None:
    paginator = EstimatingPaginator(permissions(), 10, known=RowCount(7, is_estimate=True))

    with django_assert_num_queries(0):
        assert (paginator.count, paginator.count_is_estimate, paginator.num_pages) == (7, True, 1)


def test_cursors_walk_every_row_once(django_assert_num_queries: Any) -> None:
    walked: list[int] = []
    request = CursorRequest("", 25)
    while True:
        with django_assert_num_queries(1):
            page = request.fetch(permissions())
        walked += ids(page.rows)
        token = page.next_token()
        if token is None:
            break
        request = CursorRequest(token, 25)

    assert walked == ids(list(permissions()))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-cursor", "Invalid cursor."),
        # Written for another ordering: ["id"] instead of ["-codename", "-id"].
        ("eyJvIjogWyJpZCJdLCAidiI6IFsxXX0=", "This cursor belongs to another ordering."),
        # The right ordering, with an id that is no whole number.
        (
            "eyJvIjogWyItY29kZW5hbWUiLCAiLWlkIl0sICJ2IjogWyJhIiwgMi41XX0=",
            "Invalid cursor.",
        ),
    ],
)
def test_a_cursor_no_page_wrote_is_a_validation_error_naming_its_parameter(
    token: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        CursorRequest(token, 10, parameter="after").fetch(permissions())

    assert raised.value.message_dict == {"after": [message]}


def test_the_api_answers_a_page_past_the_end_with_drfs_404() -> None:
    answer = as_api_exception(EmptyPage("That page is empty."))

    assert isinstance(answer, NotFound)
    assert str(answer.detail) == "Invalid page."
