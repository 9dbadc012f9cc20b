#!/usr/bin/env bash
# The outbox's cost on an import (docs/events.md, "Cost"): the same sample sheet imported into
# fresh copies of one migrated database, with the outbox's triggers enabled and disabled, in
# turns; then, in each copy, the same sheet with every price changed (updates, not inserts).
# Usage: benchmarks/outbox_import_cost.sh [PRODUCTS (25000: 100,000 variant rows)] [ROUNDS (2)]
# Needs PostgreSQL at PGHOST (127.0.0.1), user postgres; creates and drops the databases
# catalogue_outbox_cost_template and catalogue_outbox_cost.
set -euo pipefail
products=${1:-25000}
rounds=${2:-2}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
base=postgres://$PGUSER@$PGHOST:5432
template=catalogue_outbox_cost_template
copy=catalogue_outbox_cost
sheet=/tmp/outbox_sample.csv

dropdb --if-exists "$copy"
dropdb --if-exists "$template"
createdb "$template"
DATABASE_URL=$base/$template .venv/bin/python manage.py migrate --noinput >/dev/null
# Writes the sheet and creates the sample's type, attributes and category in the template.
DATABASE_URL=$base/$template .venv/bin/python manage.py import_products "$sheet" \
    --generate-sample "$products"
psql -d "$template" -qc "VACUUM ANALYZE"
# The same sheet with every price one more.
.venv/bin/python - "$sheet" "${sheet%.csv}_prices.csv" <<'PYTHON'
import csv, decimal, sys
with open(sys.argv[1], newline="") as source, open(sys.argv[2], "w", newline="") as target:
    rows = csv.reader(source)
    writer = csv.writer(target)
    header = next(rows)
    price = header.index("price")
    writer.writerow(header)
    for row in rows:
        row[price] = str(decimal.Decimal(row[price]) + 1)
        writer.writerow(row)
PYTHON

# Every trigger of the outbox: those of its trigger functions (events_record and the two others).
toggle() {
    psql -d "$copy" -Atc "
        SELECT format('ALTER TABLE %I %s TRIGGER %I;', tgrelid::regclass, '$1', tgname)
        FROM pg_trigger JOIN pg_proc ON pg_proc.oid = tgfoid
        WHERE proname IN ('events_record', 'events_review_moderation', 'events_products_follow')" | psql -d "$copy" -q
}

for round in $(seq "$rounds"); do
    for outbox in enabled disabled; do
        createdb -T "$template" "$copy"
        [ "$outbox" = disabled ] && toggle DISABLE
        for phase in new prices; do
            file=$sheet
            [ "$phase" = prices ] && file=${sheet%.csv}_prices.csv
            start=$(date +%s.%N)
            DATABASE_URL=$base/$copy .venv/bin/python manage.py import_products "$file" >/dev/null
            end=$(date +%s.%N)
            events=$(psql -d "$copy" -Atc "SELECT count(*) FROM events_event")
            printf 'round %s, %-6s rows, outbox %-8s: %6.1f s, %6s events, load %s\n' \
                "$round" "$phase" "$outbox" "$(echo "$end - $start" | bc)" "$events" \
                "$(cut -d' ' -f1-3 /proc/loadavg)"
        done
        dropdb "$copy"
    done
done
dropdb "$template"
