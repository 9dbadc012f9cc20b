"""catalogue_count_estimate(query): the planner's row estimate for a query, so that a list's
count past API_EXACT_COUNT_LIMIT takes no round trip of its own (apps.core.pagination)."""

from django.db import migrations

CREATE = """
CREATE FUNCTION catalogue_count_estimate(query text) RETURNS bigint
LANGUAGE plpgsql PARALLEL RESTRICTED AS $$
DECLARE
    plan json;
BEGIN
    -- EXPLAIN plans the query without running it (and is refused in a STABLE function).
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS catalogue_count_estimate(text);"


class Migration(migrations.Migration):
    dependencies = [("core", "0001_audit_entry")]

    operations = [migrations.RunSQL(CREATE, DROP)]
