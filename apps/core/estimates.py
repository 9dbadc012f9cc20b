"""Row counts PostgreSQL already keeps, for figures that need no exact count of a large table."""

from django.db import connection, models


def table_row_estimate(model: type[models.Model]) -> int:
    """Return PostgreSQL's row estimate for a model's table (``pg_class.reltuples``, kept by
    ANALYZE and autovacuum): no scan of a million rows. A table never analysed yet is small
    enough to count, so it is counted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    estimate = int(row[0]) if row else -1
    # -1 until the table is first analysed.
    return estimate if estimate >= 0 else int(model._default_manager.count())
