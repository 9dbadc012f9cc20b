"""What PostgreSQL's column types hold, for every app to check input against before it writes."""

from decimal import Decimal
from typing import Any

from django.db import models

# PostgreSQL's integer (Django's IntegerField).
INTEGER_MAX = 2_147_483_647


def largest_decimal(field: "models.DecimalField[Any, Any] | Any") -> Decimal:
    """Return the largest value a decimal column (or form or serializer field) with
    ``max_digits`` and ``decimal_places`` holds: 99999999.99 for numeric(10, 2)."""
    assert field.max_digits is not None and field.decimal_places is not None, (
        "largest_decimal needs a field with max_digits and decimal_places"
    )
    step = Decimal(1).scaleb(-field.decimal_places)
    return Decimal(10) ** (field.max_digits - field.decimal_places) - step
