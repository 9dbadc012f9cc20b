"""What PostgreSQL's column types hold, for every app to check input against before it writes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import models

# PostgreSQL's integer (Django's IntegerField).
INTEGER_MAX = 2_147_483_647
# PostgreSQL's limit for a UTC offset in a timestamp ("+15:59", "-15:59:59").
MAX_UTC_OFFSET = timedelta(hours=16) - timedelta(seconds=1)


def largest_decimal(field: "models.DecimalField[Any, Any] | Any") -> Decimal:
    """Return the largest value a decimal column (or form or serializer field) with
    ``max_digits`` and ``decimal_places`` holds: 99999999.99 for numeric(10, 2)."""
    assert field.max_digits is not None and field.decimal_places is not None, (
        "largest_decimal needs a field with max_digits and decimal_places"
    )
    step = Decimal(1).scaleb(-field.decimal_places)
    return Decimal(10) ** (field.max_digits - field.decimal_places) - step


def utc_for_database(moment: datetime) -> datetime:
    """Return an aware ``moment`` in UTC, or raise ``ValueError`` for one whose UTC offset
    PostgreSQL refuses (beyond 15:59) or that falls outside the years 1 to 9999 in UTC."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("UTC offset beyond 15:59")
    try:
        # In UTC, so that the database receives an offset it accepts, whatever the client's.
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("outside the years 1 to 9999 in UTC") from error
