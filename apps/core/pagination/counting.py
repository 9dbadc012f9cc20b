"""How a list counts its rows: exactly up to a limit, past it PostgreSQL's planner estimate, in
one round trip that can be a subquery of the page's own query.

A count strategy gives the SQL of that count for the rows a list pages through. Whoever pages a
list hands one over (``CountRows()`` by default); a list may count something else (a search
counts every match, also those past the ones it ranks) or read its count from elsewhere (a
summary table).
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from psycopg import ClientCursor

# SQL and its parameters.
SQL = tuple[str, list[Any]]


def counted(rows: QuerySet[Any], limit: int | None = None) -> SQL:
    """Return SQL (and its parameters) for a row ``ARRAY[count, estimate]`` of ``rows``.

    ``count`` is exact up to ``limit`` (``API_EXACT_COUNT_LIMIT`` by default): the COUNT runs
    over a LIMIT, so at most ``limit + 1`` rows are read, whatever the table's size. Past the
    limit, ``estimate`` is PostgreSQL's planner estimate (``catalogue_count_estimate()``, an
    EXPLAIN in the database), else null. Either way it is one round trip, and it can be a
    subquery of the page's query.
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


@dataclass(frozen=True)
class RowCount:
    """A list's count, and whether it is PostgreSQL's estimate rather than exact."""

    value: int
    is_estimate: bool

    @classmethod
    def from_figures(cls, figures: list[int | None]) -> "RowCount":
        """Return the count in a row ``ARRAY[count, estimate]`` (see ``counted()``)."""
        exact, estimate = figures
        if estimate is None:
            assert exact is not None
            return cls(exact, is_estimate=False)
        return cls(estimate, is_estimate=True)


class CountStrategy(Protocol):
    """How a list counts: SQL for its row ``ARRAY[count, estimate]`` (see ``counted()``)."""

    def count_sql(self, rows: QuerySet[Any]) -> SQL:
        """Return SQL for the count a page of ``rows`` shows."""
        ...

    def listed_count_sql(self, rows: QuerySet[Any]) -> SQL:
        """Return SQL for the count of ``rows`` themselves, the ones the pages go through: the
        pages are numbered by it (``?page=last``)."""
        ...


@dataclass(frozen=True)
class CountRows:
    """Count the rows a list pages through, or ``covering`` (a search's every match, also
    those past the ones it ranks and lists); exactly up to ``limit`` (``API_EXACT_COUNT_LIMIT``
    by default), past it PostgreSQL's estimate."""

    covering: QuerySet[Any] | None = None
    limit: int | None = None

    def count_sql(self, rows: QuerySet[Any]) -> SQL:
        return counted(rows if self.covering is None else self.covering, self.limit)

    def listed_count_sql(self, rows: QuerySet[Any]) -> SQL:
        return counted(rows)


# Every list's unless its pagination is handed another strategy.
COUNT_ROWS = CountRows()


class EstimatingPaginator(Paginator):
    """Count exactly up to a limit; past it, take PostgreSQL's planner estimate instead of
    scanning every matching row (one query either way). ``count_is_estimate`` says which.

    ``counting`` counts the rows the pages go through (its ``listed_count_sql()``): the
    paginator numbers its pages by them. ``known``: the count, when the page's own query
    fetched it already.
    """

    def __init__(
        self,
        object_list: Any,
        per_page: int | str,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
        *,
        counting: CountStrategy = COUNT_ROWS,
        known: RowCount | None = None,
    ) -> None:
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.counting = counting
        self.known = known

    @cached_property
    def row_count(self) -> RowCount:
        """Return the count, read in one query unless it is known already."""
        if self.known is not None:
            return self.known
        rows: QuerySet[Any] = self.object_list  # type: ignore[assignment]  # always a queryset here
        sql, params = self.counting.listed_count_sql(rows)
        with connections[rows.db].cursor() as cursor:
            cursor.execute(sql, params)
            return RowCount.from_figures(cursor.fetchone()[0])

    @cached_property
    def count(self) -> int:
        return self.row_count.value

    @property
    def count_is_estimate(self) -> bool:
        return self.row_count.is_estimate
