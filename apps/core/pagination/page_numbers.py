"""Pages by number, with the count: the page's rows and their count in one query.

No request here: whoever pages a list (the API's pagination, a selector) asks for a page with a
``PageRequest``; a page below the first or past the last raises Django's ``EmptyPage``, which the
API answers with a 404.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.paginator import EmptyPage, Page
from django.db.models import BigIntegerField, QuerySet
from django.db.models.expressions import RawSQL

from .counting import COUNT_ROWS, CountStrategy, EstimatingPaginator, RowCount


@dataclass(frozen=True)
class PageRequest:
    """The page of ``size`` rows numbered ``number`` (from 1), or with None the last page."""

    number: int | None
    size: int

    @property
    def is_first(self) -> bool:
        """Return whether this is the first page: if that is empty, nothing matched."""
        return self.number == 1

    def fetch(self, rows: QuerySet[Any], counting: CountStrategy = COUNT_ROWS) -> "NumberedPage":
        """Return this page of ``rows`` (see ``numbered_page()``)."""
        return numbered_page(rows, self, counting)


class NumberedPage(Page):
    """A page of rows and their count, fetched with one extra row, so that whether a next page
    exists is known exactly even when the count is an estimate."""

    paginator: EstimatingPaginator

    def __init__(
        self, rows: list[Any], number: int, paginator: EstimatingPaginator, *, has_next: bool
    ) -> None:
        super().__init__(rows, number, paginator)
        self._has_next = has_next

    @property
    def rows(self) -> list[Any]:
        return self.object_list  # type: ignore[return-value]  # always a list here

    @property
    def row_count(self) -> RowCount:
        """Return the count of the list's rows, and whether it is an estimate."""
        return self.paginator.row_count

    def has_next(self) -> bool:
        return self._has_next

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def numbered_page(
    rows: QuerySet[Any], request: PageRequest, counting: CountStrategy = COUNT_ROWS
) -> NumberedPage:
    """Return the page of ``rows`` that ``request`` asks for, with the count ``counting`` gives.

    One query: the count is a subquery that PostgreSQL evaluates once (an InitPlan), beside the
    page's rows. The last page takes two, as its number needs the count first. Raise
    ``EmptyPage`` for a page below the first, or past the last.
    """
    if request.number is None:
        return _last_page(rows, request.size, counting)
    number, size = request.number, request.size
    if number < 1:
        raise EmptyPage("That page number is less than 1.")
    sql, params = counting.count_sql(rows)
    figures = RawSQL(f"({sql})", params, output_field=ArrayField(BigIntegerField()))  # noqa: S611
    offset = (number - 1) * size
    fetched = list(rows.annotate(pagination_count=figures)[offset : offset + size + 1])
    if not fetched and number > 1:
        raise EmptyPage("That page is empty.")
    count = (
        RowCount.from_figures(row_value(fetched[0], "pagination_count"))
        if fetched
        else RowCount(0, is_estimate=False)
    )
    if fetched and isinstance(fetched[0], dict):
        for row in fetched:  # values() rows: as asked for, without the count each one carries
            del row["pagination_count"]
    paginator = EstimatingPaginator(rows, size, counting=counting, known=count)
    return NumberedPage(fetched[:size], number, paginator, has_next=len(fetched) > size)


def found_page(
    rows: list[Any],
    request: "PageRequest",
    *,
    listed: QuerySet[Any],
    count: RowCount,
    has_next: bool,
) -> NumberedPage:
    """Return the page ``request`` asks for made of ``rows``, found by the caller (the page's
    own rows, in order) with the ``count`` of ``listed``, the list they are a page of, and
    whether a next page exists. Raise ``EmptyPage`` for a page below the first, or past the
    last."""
    assert request.number is not None
    if request.number < 1:
        raise EmptyPage("That page number is less than 1.")
    if not rows and request.number > 1:
        raise EmptyPage("That page is empty.")
    paginator = EstimatingPaginator(listed, request.size, known=count)
    return NumberedPage(rows, request.number, paginator, has_next=has_next)


def _last_page(rows: QuerySet[Any], size: int, counting: CountStrategy) -> NumberedPage:
    paginator = EstimatingPaginator(rows, size, counting=counting)
    page = paginator.page(paginator.num_pages)
    return NumberedPage(list(page.object_list), page.number, paginator, has_next=False)


def row_value(row: Any, key: str) -> Any:
    """Return ``key`` of a page's row: a model instance, or a dict from ``values()``."""
    return row[key] if isinstance(row, dict) else getattr(row, key)
