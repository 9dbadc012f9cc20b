"""The API's JSON renderer: DRF's ``JSONRenderer`` output, serialised by orjson."""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# What orjson does not know (Decimal, lazy strings, datetimes in DRF's "Z" form) goes through
# DRF's own encoder, so that the bytes are the same as JSONRenderer's.
_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class ORJSONRenderer(JSONRenderer):
    """Render compact JSON with orjson; indented output (``; indent=4``) is left to DRF."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", dict(renderer_context or {})) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        rendered = orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS)
        # Like DRF: U+2028 and U+2029 escaped, so that the JSON is also valid JavaScript.
        if b"\xe2\x80\xa8" in rendered or b"\xe2\x80\xa9" in rendered:
            rendered = rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(
                b"\xe2\x80\xa9", b"\\u2029"
            )
        return rendered
