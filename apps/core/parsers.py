"""Request body parsers: bounded and strict, and every failure an API error (400 or 413).

Every way a body can be wrong is the client's mistake, and answers as one:

- larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (bytes; Django's default, 2,621,440): 413
  ``request_too_large``;
- not JSON, not UTF-8 (or the declared charset), ``NaN``/``Infinity``, arrays and objects
  nested deeper than ``MAX_JSON_DEPTH``; more than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` form
  fields or ``DATA_UPLOAD_MAX_NUMBER_FILES`` files; a malformed multipart body, or one the
  client stopped sending: 400 ``parse_error``.

They are ``APIException``s raised while ``request.data`` is read, so that whoever reads it first
(a view, or a throttle that counts per account named in the body) passes them on as the
client's error, never as an outage of its own. ``as_parse_exception`` maps the same Django
errors where they surface outside these parsers (``apps.core.exceptions``, ``apps.core.views``).

JSON is parsed by DRF's own ``json`` (strict: no ``NaN`` nor ``Infinity``), after a check that
it nests arrays and objects at most ``MAX_JSON_DEPTH`` levels deep. On a thousand nested arrays
the parser raised ``RecursionError`` (a 500); nesting that deep, passed on, would recurse again
in fields and error messages (``str()`` of a nested list). No body of this API nests more than
two levels. The check reads the raw bytes with a few ``bytes`` methods: two ``count()`` calls
for a body with fewer brackets than the limit, about what parsing costs for a body near the size
limit. orjson (the renderer's) would parse a small body about 10 us faster, a large one no
faster, and it refuses what ``json`` lets through to the fields, which then name the field
(``1e400``, lone surrogate escapes), and reads integers past 64 bits as floats.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, QueryDict, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, parsers, renderers, status
from rest_framework.utils import json

# Arrays and objects inside one another, the outermost counting 1.
MAX_JSON_DEPTH = 32

_NOT_A_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
_ONE_KIND_OF_BRACKET = bytes.maketrans(b"{}", b"[]")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(
            f"The request body is larger than the limit of {limit:,} bytes."
            if limit is not None
            else "The request body is too large."
        )


def as_parse_exception(error: BaseException) -> exceptions.APIException | None:
    """Return the API error for Django's failure to read a request body (a 413 or a 400
    ``parse_error``), or None for any other error."""
    if isinstance(error, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(error, TooManyFieldsSent):
        return exceptions.ParseError(
            # Query parameters count too: Django parses them with the same limit.
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} parameters or "
            "form fields."
        )
    if isinstance(error, TooManyFilesSent):
        return exceptions.ParseError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files."
        )
    if isinstance(error, MultiPartParserError):
        return exceptions.ParseError(f"Multipart form parse error - {error}")
    if isinstance(error, UnreadablePostError):
        return exceptions.ParseError("The request body could not be read to its end.")
    return None


def _refused(error: BaseException) -> exceptions.APIException:
    refusal = as_parse_exception(error)
    assert refusal is not None, f"{type(error).__name__} is not a body error"
    return refusal


def read_body(stream: IO[Any] | HttpRequest) -> bytes:
    """Return the whole body from the stream DRF hands a parser, refusing one over the limit."""
    try:
        # The request itself (DRF passes it when nothing has read the body yet): its ``body``
        # checks the declared length against DATA_UPLOAD_MAX_MEMORY_SIZE before reading.
        return stream.body if isinstance(stream, HttpRequest) else stream.read()
    except (RequestDataTooBig, UnreadablePostError) as error:
        raise _refused(error) from error


def nests_deeper_than(document: bytes, limit: int) -> bool:
    """Return whether the JSON ``document`` (UTF-8) nests arrays and objects deeper than
    ``limit``, or leaves more than ``limit`` of them open.

    Exact for valid JSON. For any other document, False still means that no prefix of it that
    a parser reads nests deeper than ``limit``: its strings end where a parser's do.
    """
    if document.count(b"[") + document.count(b"{") <= limit:
        return False  # it cannot nest deeper than it has brackets
    # Drop the strings, whose brackets do not nest: first every escaped backslash, then every
    # escaped quote, so that the quotes left are exactly the strings' ends.
    unescaped = document.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(_ONE_KIND_OF_BRACKET, _NOT_A_BRACKET)
    # Each pass removes the innermost level; what is left after ``limit`` passes is deeper.
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


class JSONParser(parsers.BaseParser):
    """Parse a JSON body as DRF's ``JSONParser`` does, at most ``MAX_JSON_DEPTH`` levels deep.

    Not a subclass of it: DRF reads the body for those before calling them, and a body over the
    size limit would raise there, as Django's error rather than the API's.
    """

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer  # the browsable API's raw data form
    max_depth = MAX_JSON_DEPTH

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = read_body(stream)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = body.decode(encoding)
        except (UnicodeError, LookupError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from error
        # Checked before parsing, which recurses once per level.
        if nests_deeper_than(body if _is_utf8(encoding) else text.encode(), self.max_depth):
            raise exceptions.ParseError(
                f"JSON parse error - arrays and objects nest deeper than {self.max_depth} "
                "levels, or are left open."
            )
        try:
            return json.loads(text)  # DRF's: NaN and Infinity refused
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from error


class FormParser(parsers.BaseParser):
    """Parse an ``application/x-www-form-urlencoded`` body, within Django's limits."""

    media_type = "application/x-www-form-urlencoded"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> QueryDict:
        body = read_body(stream)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return QueryDict(body, encoding=encoding)
        except TooManyFieldsSent as error:
            raise _refused(error) from error


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, with Django's limits (size, fields, files) answered as API
    errors."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> parsers.DataAndFiles[Any, Any]:
        try:
            return super().parse(stream, media_type, parser_context)
        except (
            RequestDataTooBig,
            TooManyFieldsSent,
            TooManyFilesSent,
            UnreadablePostError,
        ) as error:
            raise _refused(error) from error


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False
