"""Pagination for every list: page numbers with a count (estimated on large results), and, where
a view allows it, keyset cursors for infinite scroll.

- ``counting``: the count's SQL (exact up to a limit, then PostgreSQL's estimate) and the count
  strategies a list is paged with; ``EstimatingPaginator``, Django's paginator counting so (the
  admin's changelists use it).
- ``page_numbers`` and ``cursors``: fetching a page, without a request, for the API and for
  selectors alike.
- ``api``: the API's pagination classes, which read the request and render the envelope.
"""

from .api import PageNumberPagination, PageOrCursorPagination
from .counting import EstimatingPaginator

__all__ = ["EstimatingPaginator", "PageNumberPagination", "PageOrCursorPagination"]
