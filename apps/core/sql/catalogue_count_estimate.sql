-- catalogue_count_estimate(query): the planner's row estimate for a query, without running it.
-- A list's count past API_EXACT_COUNT_LIMIT reads it in the page's own query
-- (apps.core.pagination), so that a deep count costs no round trip of its own.
-- A change of this file needs a migration: see docs/database.md.

CREATE OR REPLACE FUNCTION catalogue_count_estimate(query text) RETURNS bigint
LANGUAGE plpgsql PARALLEL RESTRICTED AS $$
DECLARE
    plan json;
BEGIN
    -- EXPLAIN plans the query without running it (and is refused in a STABLE function).
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
END;
$$;
