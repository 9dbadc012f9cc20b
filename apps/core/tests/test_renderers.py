import datetime
import uuid
from collections import OrderedDict
from decimal import Decimal

from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from apps.core.renderers import ORJSONRenderer

PAYLOAD = OrderedDict(
    [
        ("text", 'Ünïcode ☃, "quotes", back\\slash, line\u2028and\u2029paragraph'),
        ("decimal", Decimal("4.13")),
        ("float", 0.1),
        ("int", 2**53),
        ("none", None),
        ("bools", [True, False]),
        ("lazy", gettext_lazy("Not found.")),
        ("utc", datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.UTC)),
        ("date", datetime.date(2026, 1, 2)),
        ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ("nested", ReturnList([ReturnDict({"a": 1}, serializer=None)], serializer=None)),
        ("int_keys", {1: "one"}),
    ]
)


def test_orjson_renderer_gives_the_bytes_of_drfs_json_renderer() -> None:
    assert ORJSONRenderer().render(PAYLOAD) == JSONRenderer().render(PAYLOAD)


def test_indented_output_is_still_available() -> None:
    rendered = ORJSONRenderer().render({"a": 1}, "application/json; indent=2")

    assert rendered == b'{\n  "a": 1\n}'
