-- Writes the events of one statement into the outbox (events_event), one per entity per
-- transaction: an entity that an earlier statement of the transaction already has an event for
-- is merged into that event (the unique constraint events_event_once_per_transaction on
-- entity_id, entity and transaction_id), which keeps its position, id and time:
--   then deleted                   deleted (created then deleted as well: a consumer that
--                                  never saw the entity ignores it)
--   then created                   created (only after a deletion: the id inserted anew)
--   created, then anything else    created
--   deleted, then anything else    deleted (an update of a deleted entity's part, by a
--                                  cascade that ran after it)
--   updated, then updated          updated, the changes of both
--   hidden or shown, then the other  the later
--   hidden or shown, and updated   hidden or shown (whichever came first), the changes of both
-- A merge that changes nothing (a created product updated by the summary trigger) writes
-- nothing. The caller gives each entity once: one row per statement.
-- A statement that writes an event also sends a NOTIFY on the channel events_outbox (no
-- payload): PostgreSQL delivers it when the transaction commits, once however many statements
-- sent it, and never for one that rolls back. Job workers listen and wake the webhook relay
-- (apps.core.jobs.job_wake_on, docs/webhooks.md); nothing depends on it but the relay's lag.
-- A change of this file needs a migration: see docs/database.md.

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
