#!/usr/bin/env bash
# What a change that many product pages show costs the outbox (docs/events.md, "Cost"): the
# sample catalogue (PRODUCTS products of one type in one category, four variants each) imported
# into a migrated database; then, each in a transaction rolled back, with the outbox's
# events_products_follow triggers enabled and then disabled: the category renamed, an option of
# an axis renamed (every product has a variant with it), an axis attribute renamed.
# Usage: benchmarks/outbox_follow_cost.sh [PRODUCTS (100000)] [ROUNDS (2)]
# Needs PostgreSQL at PGHOST (127.0.0.1), user postgres; creates and drops the database
# catalogue_outbox_follow.
set -euo pipefail
products=${1:-100000}
rounds=${2:-2}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
database=catalogue_outbox_follow
sheet=/tmp/outbox_follow_sample.csv

dropdb --if-exists "$database"
createdb "$database"
export DATABASE_URL=postgres://$PGUSER@$PGHOST:5432/$database
.venv/bin/python manage.py migrate --noinput >/dev/null
.venv/bin/python manage.py import_products "$sheet" --generate-sample "$products" >/dev/null
.venv/bin/python manage.py import_products "$sheet" >/dev/null
psql -d "$database" -qc "VACUUM ANALYZE"

follow() {
    psql -d "$database" -Atc "
        SELECT format('ALTER TABLE %I %s TRIGGER %I;', tgrelid::regclass, '$1', tgname)
        FROM pg_trigger JOIN pg_proc ON pg_proc.oid = tgfoid
        WHERE proname = 'events_products_follow'" | psql -d "$database" -q
}

declare -A changes=(
    [category]="UPDATE products_category SET name = name || ' renamed' WHERE slug = 'sample-tops'"
    [option]="UPDATE attributes_attributeoption SET value = value || ' renamed' WHERE slug = 'red'"
    [attribute]="UPDATE attributes_attribute SET name = name || ' renamed' WHERE slug = 'sample-size'"
)
for round in $(seq "$rounds"); do
    for change in category option attribute; do
        for outbox in enabled disabled; do
            [ "$outbox" = disabled ] && follow DISABLE
            # The statement's time and the events it wrote, rolled back.
            result=$(psql -d "$database" -At <<SQL
BEGIN;
SELECT clock_timestamp() AS start \gset
${changes[$change]};
SELECT round(extract(epoch FROM clock_timestamp() - :'start')::numeric, 2),
       (SELECT count(*) FROM events_event WHERE transaction_id = pg_current_xact_id());
ROLLBACK;
SQL
)
            [ "$outbox" = disabled ] && follow ENABLE
            printf 'round %s, %-9s renamed, follow %-8s: %6s s, %7s events, load %s\n' \
                "$round" "$change" "$outbox" "$(echo "$result" | grep '|' | cut -d'|' -f1)" \
                "$(echo "$result" | grep '|' | cut -d'|' -f2)" "$(cut -d' ' -f1-3 /proc/loadavg)"
        done
    done
done
dropdb "$database"
