"""Row counts PostgreSQL keeps: read, not counted."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from apps.core.estimates import table_row_estimate

pytestmark = pytest.mark.django_db


def test_table_row_estimate_is_postgresqls_figure_in_one_query(
    django_assert_num_queries,
) -> None:  # type: ignore[no-untyped-def]
    with connection.cursor() as cursor:
        # A small table is read whole by ANALYZE: its estimate is then exact.
        cursor.execute("ANALYZE django_content_type")

    with django_assert_num_queries(1):
        estimate = table_row_estimate(ContentType)

    assert estimate == ContentType.objects.count()
