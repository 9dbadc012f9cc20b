"""The API's pagination classes: they read the page a request asks for (``?page=``,
``?page_size=``, ``?cursor=``; a 400 names a malformed one), fetch it with the mechanics of
``page_numbers`` and ``cursors``, and render the envelope.

A view whose selector pages the list itself asks for the request (``get_page_request()``),
hands the selector's page back (``set_page()``), then renders as usual
(``get_paginated_response()``). A page past the last is Django's ``EmptyPage``, answered with a
404 by ``apps.core.exceptions``.
"""

import re
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from .counting import COUNT_ROWS, CountStrategy
from .cursors import CursorPage, CursorRequest
from .page_numbers import NumberedPage, PageRequest

# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class PageNumberPagination(pagination.PageNumberPagination):
    """Page numbers with ``count``; ``page_size`` may be asked for, up to a hard cap.

    ``counting``: how the list counts (every row it pages through, by default); set by whoever
    builds the pagination.
    """

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE
    counting: CountStrategy = COUNT_ROWS
    page: NumberedPage | None = None

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

    def get_page_request(self, request: Request) -> PageRequest | CursorRequest:
        """Return the page ``request`` asks for, or raise a ValidationError naming the
        malformed parameter."""
        page = request.query_params.get(self.page_query_param)
        if (
            page is not None
            and page not in self.last_page_strings
            and not WHOLE_NUMBER.fullmatch(page)
        ):
            raise ValidationError({self.page_query_param: ["Must be a whole number, or 'last'."]})
        number = None if page in self.last_page_strings else int(page or 1)
        return PageRequest(number, self.get_page_size(request))

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        assert isinstance(queryset, QuerySet), (
            f"{type(self).__name__} pages querysets: it counts them in SQL."
        )
        return self.set_page(self.get_page_request(request).fetch(queryset, self.counting), request)

    def set_page(self, page: NumberedPage | CursorPage, request: Request) -> list[Any]:
        """Take ``page`` of the list ``request`` asked for as the one to render; return its
        rows."""
        assert isinstance(page, NumberedPage), f"{type(self).__name__} has no cursors."
        self.page, self.request = page, request
        self.display_page_controls = self.template is not None and (
            page.number > 1 or page.has_next()
        )
        return page.rows

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        return Response(
            OrderedDict(
                [
                    ("count", self.page.paginator.count),
                    ("count_is_estimate", self.page.paginator.count_is_estimate),
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


class PageOrCursorPagination(PageNumberPagination):
    """Page numbers by default; with ``?cursor=`` (empty for the first page), keyset cursors.

    A cursor continues after the last row seen, on the queryset's own ordering (which must end
    with a unique key and sort every key the same way), so pages neither repeat nor skip rows
    while rows are inserted, and a page deep down costs what the first one does.
    """

    cursor_query_param = "cursor"
    cursor_page: CursorPage | None = None

    def get_page_request(self, request: Request) -> PageRequest | CursorRequest:
        if self.cursor_query_param not in request.query_params:
            return super().get_page_request(request)
        return CursorRequest(
            request.query_params[self.cursor_query_param],
            self.get_page_size(request),
            self.cursor_query_param,
        )

    def set_page(self, page: NumberedPage | CursorPage, request: Request) -> list[Any]:
        if not isinstance(page, CursorPage):
            return super().set_page(page, request)
        self.cursor_page, self.request = page, request
        return page.rows

    def get_paginated_response(self, data: Any) -> Response:
        if self.cursor_page is None:
            return super().get_paginated_response(data)
        return Response(
            OrderedDict([("next", self._next_link()), ("previous", None), ("results", data)])
        )

    def _next_link(self) -> str | None:
        assert self.cursor_page is not None and self.request is not None
        token = self.cursor_page.next_token()
        if token is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)

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
