"""The outbox wakes the webhook relay: events_emit sends a NOTIFY on the channel events_outbox
when a statement writes an event, delivered at the commit (and never for a rolled-back
transaction); job workers listen and defer the relay at once instead of at its next periodic run
(docs/webhooks.md). A frozen copy of apps/events/sql/events_emit.sql; reversing restores the
function without the NOTIFY.
"""

import importlib

from django.db import migrations

EMIT = """
CREATE OR REPLACE FUNCTION events_emit(emitted events_change[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(emitted) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO events_event AS event (type, entity, entity_id, product_id, changes)
    SELECT change.type, split_part(change.type, '.', 1), change.entity_id, change.product_id,
           change.changes
    FROM unnest(emitted) AS change
    ON CONFLICT (entity_id, entity, transaction_id) DO UPDATE
    SET type = CASE
            WHEN split_part(excluded.type, '.', 2) IN ('created', 'deleted') THEN excluded.type
            WHEN split_part(event.type, '.', 2) IN ('created', 'deleted') THEN event.type
            WHEN split_part(excluded.type, '.', 2) = 'updated' THEN event.type
            ELSE excluded.type
        END,
        changes = CASE
            WHEN split_part(excluded.type, '.', 2) IN ('created', 'deleted')
                OR split_part(event.type, '.', 2) IN ('created', 'deleted')
            THEN '{}'
            ELSE ARRAY(SELECT DISTINCT unnest(event.changes || excluded.changes) ORDER BY 1)
        END,
        product_id = excluded.product_id
    WHERE event.product_id IS DISTINCT FROM excluded.product_id
        OR NOT (
            (split_part(event.type, '.', 2) IN ('created', 'deleted')
                AND split_part(excluded.type, '.', 2) NOT IN ('created', 'deleted'))
            OR ((event.type = excluded.type OR split_part(excluded.type, '.', 2) = 'updated')
                AND event.changes @> excluded.changes)
        );
    IF FOUND THEN
        PERFORM pg_notify('events_outbox', '');
    END IF;
END;
$$;
"""

# Reversing restores events_emit as events.0003 made it.
EMIT_BEFORE = importlib.import_module("apps.events.migrations.0003_events_record").EMIT


class Migration(migrations.Migration):

    dependencies = [("events", "0003_events_record")]

    operations = [
        migrations.RunSQL(EMIT, reverse_sql=EMIT_BEFORE),
    ]
